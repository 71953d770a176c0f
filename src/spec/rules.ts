// Cross-field rules: the mistakes a user would otherwise discover at 3 a.m. on ECS, when Consul
// or Envoy refuses to start, or starts and silently does the wrong thing.
import type { z } from 'zod';
import { parseListenAddress } from './listen.ts';
// binds.ts itself, not consul/index.ts: the rest of consul/ imports the spec's own index.
import { consulBinds } from '../consul/binds.ts';
import { envoyAdminPorts } from '../envoy/index.ts';
import type { ParsedNodeSpec } from './schema.ts';

type Path = (string | number)[];

/**
 * Agent config keys meshvisor renders from spec fields, and the field that sets each one.
 * `consul.extraConfig` may not set them: the orchestration relies on the spec's values (it dials
 * `consul.ports.http`, it supervises the sidecars of `services`), so a silent override would
 * break it in ways that are hard to see.
 */
export const AGENT_KEYS_SET_BY_SPEC: Readonly<Record<string, string>> = {
  datacenter: 'datacenter',
  node_name: 'nodeName',
  server: 'role',
  data_dir: 'consul.dataDir',
  bind_addr: 'address',
  advertise_addr: 'address',
  client_addr: 'consul.clientAddr',
  'addresses.http': 'address',
  'addresses.grpc': 'address',
  'ports.http': 'consul.ports.http',
  'ports.grpc': 'consul.ports.grpc',
  'ports.sidecar_min_port': 'consul.ports.sidecarMinPort',
  'ports.sidecar_max_port': 'consul.ports.sidecarMaxPort',
  retry_join: 'consul.retryJoin',
  retry_interval: 'consul.retryInterval',
  log_level: 'consul.logLevel',
  bootstrap_expect: 'consul.server.bootstrapExpect',
  ui: 'consul.server.ui',
  ui_config: 'consul.server.ui',
  'performance.raft_multiplier': 'consul.server.raftMultiplier',
  encrypt: 'consul.encrypt',
  ca_file: 'consul.tls.caFile',
  cert_file: 'consul.tls.certFile',
  key_file: 'consul.tls.keyFile',
  verify_incoming: 'consul.tls.verifyIncoming',
  verify_outgoing: 'consul.tls.verifyOutgoing',
  'tls.defaults': 'consul.tls',
  'auto_encrypt.tls': 'consul.tls.autoEncrypt',
  'auto_encrypt.allow_tls': 'consul.tls.autoEncrypt',
  acl: 'consul.acl',
  'acl.tokens.agent': 'consul.acl.tokens.agent',
  'connect.enabled': '(always true: the mesh needs Connect)',
  services: 'services',
  service: 'services',
};

export function checkNode(spec: ParsedNodeSpec, ctx: z.RefinementCtx): void {
  const problem = (path: Path, message: string) =>
    ctx.addIssue({ code: 'custom', path, message, input: undefined });
  checkRole(spec, problem);
  checkTls(spec, problem);
  checkAcl(spec, problem);
  checkNames(spec, problem);
  checkPorts(spec, problem);
  checkGateways(spec, problem);
  checkConfigEntries(spec, problem);
  checkExtraConfig(spec, problem);
  if (spec.timeouts.drainSeconds >= spec.timeouts.stopSeconds) {
    problem(
      ['timeouts', 'drainSeconds'],
      `must be shorter than timeouts.stopSeconds (${spec.timeouts.stopSeconds}): the drain happens inside the stop deadline`,
    );
  }
}

type Report = (path: Path, message: string) => void;

function checkRole(spec: ParsedNodeSpec, problem: Report): void {
  const { consul } = spec;
  if (spec.role === 'client' && consul.server) {
    problem(['consul', 'server'], 'only allowed with role: server');
  }
  if (spec.role === 'client' && consul.retryJoin.length === 0) {
    problem(
      ['consul', 'retryJoin'],
      'a client needs at least one server address to join (it would never find the cluster)',
    );
  }
  const expect = consul.server?.bootstrapExpect ?? 1;
  if (spec.role === 'server' && expect > 1 && consul.retryJoin.length === 0) {
    problem(
      ['consul', 'retryJoin'],
      `bootstrapExpect is ${expect}: list the other servers here so they can find each other`,
    );
  }
}

function checkTls(spec: ParsedNodeSpec, problem: Report): void {
  const tls = spec.consul.tls;
  if (!tls) return;
  const at = (field: string): Path => ['consul', 'tls', field];
  if (tls.certFile && !tls.keyFile) problem(at('keyFile'), 'required when certFile is set');
  if (tls.keyFile && !tls.certFile) problem(at('certFile'), 'required when keyFile is set');
  if ((tls.verifyIncoming || tls.verifyOutgoing) && !tls.caFile) {
    problem(at('caFile'), 'required when verifyIncoming or verifyOutgoing is true');
  }
  if (spec.role === 'server' && tls.verifyIncoming && !tls.certFile) {
    problem(at('certFile'), 'a server that verifies incoming TLS needs its own certificate');
  }
  if (spec.role === 'client' && tls.verifyIncoming && !tls.certFile && !tls.autoEncrypt) {
    problem(at('certFile'), 'verifyIncoming needs a certificate: set certFile or autoEncrypt');
  }
}

function checkAcl(spec: ParsedNodeSpec, problem: Report): void {
  const acl = spec.consul.acl;
  if (!acl?.enabled) {
    spec.services.forEach((s, i) => {
      if (s.token) problem(['services', i, 'token'], 'needs consul.acl (ACLs are off)');
    });
    spec.gateways.forEach((g, i) => {
      if (g.token) problem(['gateways', i, 'token'], 'needs consul.acl (ACLs are off)');
    });
    return;
  }
  const at = (field: string): Path => ['consul', 'acl', 'tokens', field];
  if (spec.role === 'client' && acl.tokens.initialManagement) {
    problem(at('initialManagement'), 'only servers bootstrap ACLs; a client never holds it');
  }
  if (acl.defaultPolicy === 'deny' && acl.tokens.agent === undefined) {
    problem(
      at('agent'),
      'required with defaultPolicy deny: the agent registers its node with it (docs/acl.md)',
    );
  }
}

/** Service ids and gateway names are Consul service ids and program names: they must be unique. */
function checkNames(spec: ParsedNodeSpec, problem: Report): void {
  const seen = new Map<string, string>();
  spec.services.forEach((service, i) => {
    const first = seen.get(service.id);
    if (first) {
      problem(['services', i, 'id'], `duplicate service id "${service.id}" (also ${first})`);
    } else seen.set(service.id, `services[${i}]`);
  });
  spec.gateways.forEach((gateway, i) => {
    const first = seen.get(gateway.name);
    if (first) {
      problem(['gateways', i, 'name'], `"${gateway.name}" is already the id of ${first}`);
    } else seen.set(gateway.name, `gateways[${i}]`);
  });
}

interface PortClaim {
  port: number;
  path: Path | null;
  what: string;
}

/** Every port this node binds, so that two things never fight over one. */
function checkPorts(spec: ParsedNodeSpec, problem: Report): void {
  const claims: PortClaim[] = [];
  const claim = (port: number, path: Path | null, what: string) =>
    claims.push({ port, path, what });
  // The agent's binds first: a spec field that collides with one is the one to move. Two of the
  // agent's own only collide through extraConfig.
  for (const bind of consulBinds(spec, { address: null })) {
    claim(bind.port, bind.path, `Consul's ${bind.what} port`);
  }
  // A bad status.listen is that field's own problem (these rules run over it too): no claim then.
  const statusPort = portOfListen(spec.status.listen);
  if (statusPort !== null) claim(statusPort, ['status', 'listen'], 'the status endpoint');
  // Services first: when an upstream and a service want one port, the upstream is the one to move.
  spec.services.forEach((service, i) => {
    claim(service.port, ['services', i, 'port'], `service ${service.id}`);
  });
  spec.services.forEach((service, i) => {
    service.sidecar?.upstreams.forEach((upstream, j) => {
      claim(
        upstream.localPort,
        ['services', i, 'sidecar', 'upstreams', j, 'localPort'],
        `the upstream ${upstream.service} of ${service.id}`,
      );
    });
  });
  envoyAdminPorts(spec).forEach(({ name, port }, i) => {
    claim(
      port,
      ['proxy', 'adminPortBase'],
      `the Envoy admin port of ${name} (adminPortBase + ${i})`,
    );
  });
  spec.gateways.forEach((gateway, i) => {
    claim(gateway.port, ['gateways', i, 'port'], `gateway ${gateway.name}`);
    gateway.listeners.forEach((listener, j) => {
      claim(
        listener.port,
        ['gateways', i, 'listeners', j, 'port'],
        `listener ${j} of gateway ${gateway.name}`,
      );
    });
  });

  const owners = new Map<number, PortClaim>();
  for (const c of claims) {
    const owner = owners.get(c.port);
    if (owner && c.path) {
      const ownerName = owner.path ? `${owner.what} (${formatPath(owner.path)})` : owner.what;
      problem(c.path, `port ${c.port} is already taken by ${ownerName}`);
    } else if (!owner) owners.set(c.port, c);
  }

  checkSidecarRange(spec, claims, problem);
}

function checkSidecarRange(spec: ParsedNodeSpec, claims: PortClaim[], problem: Report): void {
  const { sidecarMinPort: min, sidecarMaxPort: max } = spec.consul.ports;
  const sidecars = spec.services.filter((s) => s.sidecar).length;
  const maxPath: Path = ['consul', 'ports', 'sidecarMaxPort'];
  const minPath: Path = ['consul', 'ports', 'sidecarMinPort'];
  if ((min === 0) !== (max === 0)) {
    problem(min === 0 ? minPath : maxPath, 'set both sidecar ports to 0 to disable the range');
    return;
  }
  if (min === 0) {
    if (sidecars > 0)
      problem(minPath, 'the sidecar port range is disabled but services have sidecars');
    return;
  }
  if (min > max) {
    problem(maxPath, `must be at least sidecarMinPort (${min})`);
    return;
  }
  if (max - min + 1 < sidecars) {
    problem(
      maxPath,
      `the range ${min}-${max} has room for ${max - min + 1} sidecars, not ${sidecars}`,
    );
  }
  for (const c of claims) {
    if (c.path && c.port >= min && c.port <= max) {
      problem(
        c.path,
        `port ${c.port} is inside the sidecar port range ${min}-${max}, which Consul hands out to sidecars`,
      );
    }
  }
}

function checkGateways(spec: ParsedNodeSpec, problem: Report): void {
  const protocols = knownProtocols(spec);
  spec.gateways.forEach((gateway, i) => {
    gateway.listeners.forEach((listener, j) => {
      const at: Path = ['gateways', i, 'listeners', j];
      if (listener.protocol === 'tcp' && listener.services.length !== 1) {
        problem([...at, 'services'], 'a tcp listener takes exactly one service');
      }
      listener.services.forEach((service, k) => {
        const sat: Path = [...at, 'services', k];
        if (service.name === '*' && listener.protocol === 'tcp') {
          problem([...sat, 'name'], 'a tcp listener needs a named service, not "*"');
        }
        if (service.hosts && listener.protocol === 'tcp') {
          problem([...sat, 'hosts'], 'a tcp listener takes no hosts');
        } else if (service.hosts && service.name === '*') {
          problem([...sat, 'hosts'], 'the "*" service takes no hosts');
        }
        const known = protocols.get(service.name);
        if (known && known.protocol !== listener.protocol) {
          problem(
            [...sat, 'name'],
            `${service.name} has protocol ${known.protocol} (${known.where}), which does not match the listener protocol ${listener.protocol}`,
          );
        }
      });
    });
  });
}

/** Service protocols this spec sets, from services[].protocol and service-defaults entries. */
function knownProtocols(spec: ParsedNodeSpec): Map<string, { protocol: string; where: string }> {
  const protocols = new Map<string, { protocol: string; where: string }>();
  spec.services.forEach((service, i) => {
    if (service.protocol) {
      protocols.set(service.name, {
        protocol: service.protocol,
        where: `services[${i}].protocol`,
      });
    }
  });
  spec.configEntries.forEach((entry, i) => {
    if (entry.Kind === 'service-defaults' && typeof entry.Protocol === 'string') {
      protocols.set(entry.Name, {
        protocol: entry.Protocol,
        where: `configEntries[${i}].Protocol`,
      });
    }
  });
  return protocols;
}

function checkConfigEntries(spec: ParsedNodeSpec, problem: Report): void {
  // Entries meshvisor generates; a spec entry with the same Kind and Name would overwrite one.
  const generated = new Map<string, string>();
  spec.services.forEach((service, i) => {
    if (service.protocol)
      generated.set(`service-defaults/${service.name}`, `services[${i}].protocol`);
  });
  spec.gateways.forEach((gateway, i) =>
    generated.set(`ingress-gateway/${gateway.name}`, `gateways[${i}]`),
  );

  const seen = new Map<string, string>();
  spec.configEntries.forEach((entry, i) => {
    const at: Path = ['configEntries', i];
    const key = `${entry.Kind}/${entry.Name}`;
    const from = generated.get(key) ?? seen.get(key);
    if (from) {
      const how = generated.has(key) ? 'meshvisor writes it from' : 'already defined at';
      problem([...at, 'Name'], `duplicate config entry ${key}: ${how} ${from}`);
    }
    seen.set(key, `configEntries[${i}]`);
    if (entry.Name === '*' && entry.Kind !== 'service-intentions') {
      problem([...at, 'Name'], '"*" is only allowed for service-intentions');
    }
    if (entry.Kind === 'proxy-defaults' && entry.Name !== 'global') {
      problem([...at, 'Name'], 'a proxy-defaults entry must be named "global"');
    }
    if (entry.Kind === 'service-defaults' && entry.Protocol !== undefined) {
      if (!['tcp', 'http', 'http2', 'grpc'].includes(String(entry.Protocol))) {
        problem([...at, 'Protocol'], 'must be one of tcp, http, http2, grpc');
      }
    }
    if (entry.Kind === 'service-intentions') checkIntentionSources(entry.Sources, at, problem);
  });
}

function checkIntentionSources(sources: unknown, at: Path, problem: Report): void {
  if (sources === undefined) return;
  if (!Array.isArray(sources)) {
    problem([...at, 'Sources'], 'must be a list of { Name, Action }');
    return;
  }
  sources.forEach((source: unknown, k) => {
    const sat: Path = [...at, 'Sources', k];
    if (!isRecord(source)) {
      problem(sat, 'must be an object such as { Name: users, Action: allow }');
      return;
    }
    if (typeof source.Name !== 'string' || source.Name === '')
      problem([...sat, 'Name'], 'required');
    // L7 intentions carry Permissions instead of an Action.
    if (source.Permissions === undefined && source.Action !== 'allow' && source.Action !== 'deny') {
      problem([...sat, 'Action'], 'must be "allow" or "deny"');
    }
  });
}

function checkExtraConfig(spec: ParsedNodeSpec, problem: Report): void {
  for (const key of leafPaths(spec.consul.extraConfig)) {
    const modeled = Object.keys(AGENT_KEYS_SET_BY_SPEC).find(
      (k) => key === k || key.startsWith(`${k}.`) || k.startsWith(`${key}.`),
    );
    if (modeled) {
      problem(
        ['consul', 'extraConfig', ...key.split('.')],
        `meshvisor sets ${modeled} from ${AGENT_KEYS_SET_BY_SPEC[modeled]}; set it there`,
      );
    }
  }
}

/** Dotted paths of the leaves of a JSON object (an empty object or a list counts as a leaf). */
function leafPaths(value: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(value).flatMap(([k, v]) =>
    isRecord(v) && Object.keys(v).length > 0 ? leafPaths(v, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `services[0].sidecar.upstreams[1].localPort`: the path format of every spec problem. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(String(part)))
      out += out ? `.${String(part)}` : String(part);
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out || '(root)';
}

function portOfListen(listen: string): number | null {
  try {
    return parseListenAddress(listen).port;
  } catch {
    return null;
  }
}
