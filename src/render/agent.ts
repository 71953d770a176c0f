// The agent config file, <configDir>/meshvisor.json: a view of the spec, the agent template,
// a check against the keys Consul accepts, then consul.extraConfig merged over it.
import type { NodeSpec, ServiceSpec } from '../spec/index.ts';
import { ServerOptionsSchema, serviceToken } from '../spec/index.ts';
import {
  grpcTlsPort,
  lineAtLeast,
  renderedLine,
  VERSIONED_KEYS,
  type VersionedKey,
} from '../consul/index.ts';
import { AgentConfigSchema } from './agent-schema.ts';
import { renderTemplate } from './templates.ts';

export function renderAgentConfig(spec: NodeSpec, address: string): Record<string, unknown> {
  const { consul } = spec;
  const isServer = spec.role === 'server';
  const view = {
    datacenter: spec.datacenter,
    nodeName: spec.nodeName,
    isServer,
    serverOptions: isServer ? (consul.server ?? ServerOptionsSchema.parse({})) : undefined,
    dataDir: consul.dataDir,
    address,
    clientAddr: consul.clientAddr,
    ports: consul.ports,
    grpcTlsPort: grpcTlsPort(renderedLine(consul.version), {
      isServer,
      tls: consul.tls !== undefined,
    }),
    retryJoin: consul.retryJoin,
    retryInterval: consul.retryInterval,
    logLevel: consul.logLevel,
    encrypt: consul.encrypt,
    tls: consul.tls && {
      ...consul.tls,
      nested: lineAtLeast(renderedLine(consul.version), VERSIONED_KEYS.tlsDefaults.since),
    },
    acl: aclView(spec),
    services: spec.services.map((service) => serviceView(service, serviceToken(spec, service))),
    // Clients leave on SIGTERM too (Consul's default, made explicit): if meshvisor itself is
    // killed mid-stop, the node still shows "left" and its services leave the catalog. A server
    // does not: leaving shrinks the raft quorum, and a restarted server task must rejoin as the
    // same peer. The orchestration's ordered stop runs `consul leave` for every role anyway.
    leaveOnTerminate: !isServer,
  };
  const rendered = AgentConfigSchema.parse(renderTemplate('agent.json', view));
  return mergeConfig(rendered, consul.extraConfig);
}

/** The acl block; token keys as the agent's version spells them (recording 11/00). */
function aclView(spec: NodeSpec) {
  const acl = spec.consul.acl;
  if (!acl) return undefined;
  const consulLine = renderedLine(spec.consul.version);
  // The key's last segment, as this line spells it.
  const named = (k: VersionedKey) =>
    (lineAtLeast(consulLine, k.since) ? k.key : k.before).split('.').pop() ?? k.key;
  const { initialManagement, agentRecovery, agent, default: anonymous } = acl.tokens;
  const tokens = Object.fromEntries(
    Object.entries({
      [named(VERSIONED_KEYS.initialManagement)]: initialManagement,
      [named(VERSIONED_KEYS.agentRecovery)]: agentRecovery,
      agent,
      default: anonymous,
    }).filter(([, value]) => value !== undefined),
  );
  return { enabled: acl.enabled, defaultPolicy: acl.defaultPolicy, tokens };
}

function serviceView(service: ServiceSpec, token: string | undefined) {
  return {
    id: service.id,
    name: service.name,
    port: service.port,
    // The sidecar inherits its service's token (recording 11, fact 8).
    token,
    check: service.check && {
      ...service.check,
      // A path is a path on the service itself, reached on loopback as Consul's checks are.
      http: service.check.http.startsWith('/')
        ? `http://127.0.0.1:${service.port}${service.check.http}`
        : service.check.http,
    },
    sidecar: service.sidecar,
  };
}

/** Objects merge key by key; anything else in `extra` replaces what was there. */
function mergeConfig(
  base: Record<string, unknown>,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const previous = merged[key];
    merged[key] = isRecord(previous) && isRecord(value) ? mergeConfig(previous, value) : value;
  }
  return merged;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
