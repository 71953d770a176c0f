export { ConsulClient, ConsulError } from './client.ts';
export type {
  ConsulApi,
  AgentService,
  AgentSelf,
  Member,
  ConsulClientOptions,
  BlockingOptions,
  HealthCheck,
  HealthEntry,
  Indexed,
  Intention,
} from './client.ts';
export { pollUntil, LogWake, NotYet, StageError, isRetryable } from './poll.ts';
export type { PollOptions, Waker } from './poll.ts';
export { READINESS_STAGES, StageMemory } from './readiness.ts';
export type { ReadinessStage, ReadinessTarget } from './readiness.ts';
export { applyConfigEntry, entryMatches } from './config-entries.ts';
export type { ConfigEntryBody, ConfigEntryOutcome } from './config-entries.ts';
export { answeringJoinEntries, parseJoinEntry, serfLanPort } from './join.ts';
export type { JoinTarget } from './join.ts';
export { entryWriteRight, proxyTokenHint, ruleText, tokenNeeds, TOKEN_SOURCES } from './rights.ts';
export type { Grant, Right, TokenNeed } from './rights.ts';
export {
  compareLines,
  ENVOY_CHECK_SINCE,
  ENVOY_LINES_BY_CONSUL,
  GRPC_TLS_PORT_SINCE,
  grpcTlsPort,
  line,
  lineAtLeast,
  OLDEST_CONSUL_LINE,
  renderedLine,
  VERSIONED_KEYS,
} from './versions.ts';
export type { VersionedKey } from './versions.ts';
export { consulBinds } from './binds.ts';
export type { ConsulBind, ConsulBindsSpec } from './binds.ts';
