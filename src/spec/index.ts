// The node spec: schema and types, loading, errors, JSON Schema.
export {
  NodeSpecSchema,
  ServiceSchema,
  GatewaySchema,
  ConfigEntrySchema,
  CONFIG_ENTRY_KINDS,
  ServerOptionsSchema,
  type NodeSpec,
  type NodeSpecInput,
  type ServiceSpec,
  type UpstreamSpec,
  type GatewaySpec,
  type ListenerSpec,
  type ConfigEntrySpec,
  type ConsulSpec,
  type ServerOptions,
} from './schema.ts';
export {
  describeSpecSource,
  loadSpec,
  loadSpecTraced,
  parseSpec,
  specJsonSchema,
  type SpecOrigin,
  type SpecSource,
  type TracedSpec,
} from './load.ts';
export type { InterpolationReference, VariableUse } from './interpolate.ts';
export {
  DEFAULT_STATUS_LISTEN,
  IPV4_PATTERN,
  listenUrl,
  parseListenAddress,
  type ListenAddress,
} from './listen.ts';
export { SpecError, type SpecProblem } from './errors.ts';
export { AGENT_KEYS_SET_BY_SPEC, formatPath } from './rules.ts';
export {
  apiToken,
  gatewayToken,
  secretValues,
  secretVariables,
  serviceToken,
  withoutSecrets,
} from './tokens.ts';
