// Which ACL token each part of a node uses (docs/acl.md), and the spec's secret values. Pure
// functions of the spec: rendering, the orchestration and the log redaction all ask here.
import type { GatewaySpec, NodeSpec, ServiceSpec } from './schema.ts';

/** The token meshvisor's own HTTP calls carry: tokens.meshvisor, else the agent's. */
export function apiToken(spec: NodeSpec): string | undefined {
  const acl = spec.consul.acl;
  if (!acl?.enabled) return undefined;
  return acl.tokens.meshvisor ?? acl.tokens.agent;
}

/** What a service (and its sidecar) registers with and its proxy gets. */
export function serviceToken(spec: NodeSpec, service: ServiceSpec): string | undefined {
  const acl = spec.consul.acl;
  if (!acl?.enabled) return undefined;
  return service.token ?? acl.tokens.service ?? apiToken(spec);
}

/** What a gateway registers with (`consul connect envoy -register`) and its Envoy gets. */
export function gatewayToken(spec: NodeSpec, gateway: GatewaySpec): string | undefined {
  const acl = spec.consul.acl;
  if (!acl?.enabled) return undefined;
  return gateway.token ?? acl.tokens.service ?? apiToken(spec);
}

/** Every secret the spec holds: the gossip key and every ACL token. */
export function secretValues(spec: NodeSpec): string[] {
  const tokens = spec.consul.acl?.tokens ?? {};
  const values = [
    spec.consul.encrypt,
    ...Object.values(tokens),
    ...spec.services.map((s) => s.token),
    ...spec.gateways.map((g) => g.token),
  ];
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v !== ''))];
}

/**
 * The variables of `env` no child may inherit: each one carrying a secret of the spec (one that
 * fed `${...}` in a secret field, an inline MESHVISOR_CONFIG_JSON), and CONSUL_HTTP_TOKEN (a
 * proxy gets exactly its own token). `run` removes them from its children, `doctor` from the
 * binaries it asks for their version.
 */
export function secretVariables(spec: NodeSpec, env: NodeJS.ProcessEnv): string[] {
  const secrets = secretValues(spec);
  return Object.entries(env)
    .filter(
      ([name, value]) =>
        name === 'CONSUL_HTTP_TOKEN' ||
        (value !== undefined && secrets.some((secret) => value.includes(secret))),
    )
    .map(([name]) => name);
}

/** `env` less every secret-carrying variable: what a child of this node may see. */
export function withoutSecrets(spec: NodeSpec, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const dropped = new Set(secretVariables(spec, env));
  return Object.fromEntries(Object.entries(env).filter(([name]) => !dropped.has(name)));
}
