// The ports a consul agent binds for a spec, and where: the spec's rules check them against every
// other port of the node, and the doctor tries each on the address it will bind.
//   client_addr (servers: HTTP and gRPC too; clients bind those on the node address, as rendered):
//     HTTP, gRPC, DNS, HTTPS, gRPC TLS
//   bind_addr (the node address): serf LAN, and on servers serf WAN and server RPC
// consul.extraConfig.ports.<key> moves a port (a negative one turns it off), addresses.<key> moves
// a bind.
import type { NodeSpec } from '../spec/index.ts';
import { GRPC_TLS_PORT, GRPC_TLS_PORT_SINCE, grpcTlsPort, renderedLine } from './versions.ts';

export interface ConsulBind {
  what: string;
  /** The spec field that sets the port, or where Consul's default comes from (for messages). */
  field: string;
  /** The spec path of the port when the spec sets it; null for a Consul default. */
  path: (string | number)[] | null;
  port: number;
  protocols: ('tcp' | 'udp')[];
  /** The hosts it binds; null when they are not known before the node runs (`unknownWhy`). */
  hosts: string[] | null;
  unknownWhy: string;
}

/** What a spec says about the agent's binds (a parsed spec, or one still being validated). */
export interface ConsulBindsSpec {
  role: NodeSpec['role'];
  consul: Pick<NodeSpec['consul'], 'ports' | 'clientAddr' | 'extraConfig' | 'version' | 'tls'>;
}

export interface ConsulBindsContext {
  /** The node's address, when known. */
  address: string | null;
  /** The consul binary's line ("1.22") when known; else consul.version's. */
  consulLine?: string;
}

export function consulBinds(spec: ConsulBindsSpec, ctx: ConsulBindsContext): ConsulBind[] {
  const { consul } = spec;
  const extra = consul.extraConfig;
  const extraPorts = isRecord(extra.ports) ? extra.ports : {};
  const extraAddresses = isRecord(extra.addresses) ? extra.addresses : {};
  const noAddress = 'no node address (above)';
  const clientHosts = consul.clientAddr.split(/\s+/).filter(Boolean);
  const templated = clientHosts.some((h) => h.includes('{{'));
  const clientWhy = templated ? 'consul.clientAddr is a template' : noAddress;
  const isServer = spec.role === 'server';
  const consulLine = ctx.consulLine ?? renderedLine(consul.version);

  const binds: ConsulBind[] = [];
  /** `onClientAddr`: binds client_addr unless addresses.<key> says otherwise; else the node address. */
  const add = (
    what: string,
    key: string,
    fallback: { port: number | null; field: string; path?: (string | number)[] },
    onClientAddr: boolean,
    protocols: ConsulBind['protocols'],
  ) => {
    const extraPort = extraPorts[key];
    const fromExtra = typeof extraPort === 'number' && fallback.path === undefined;
    const port = fromExtra ? extraPort : fallback.port;
    if (port === null || port <= 0) return;
    const explicit = extraAddresses[key];
    let hosts: string[] | null;
    if (typeof explicit === 'string' && !explicit.includes('{{')) hosts = explicit.split(/\s+/);
    else if (!onClientAddr) hosts = ctx.address ? [ctx.address] : null;
    else hosts = templated ? null : clientHosts;
    binds.push({
      what,
      field: fallback.field,
      path: fromExtra ? ['consul', 'extraConfig', 'ports', key] : (fallback.path ?? null),
      port,
      protocols,
      hosts,
      unknownWhy: onClientAddr ? clientWhy : noAddress,
    });
  };
  const fromSpec = (key: 'http' | 'grpc') => ({
    port: consul.ports[key],
    field: `consul.ports.${key}`,
    path: ['consul', 'ports', key],
  });
  const orDefault = (key: string, port: number) => ({
    port,
    field: `consul.extraConfig.ports.${key}, else ${port}`,
  });
  add('HTTP API', 'http', fromSpec('http'), isServer, ['tcp']);
  add('gRPC (xDS)', 'grpc', fromSpec('grpc'), isServer, ['tcp']);
  add('DNS', 'dns', orDefault('dns', 8600), true, ['tcp', 'udp']);
  add('HTTPS API', 'https', { port: null, field: 'consul.extraConfig.ports.https' }, true, ['tcp']);
  add(
    'gRPC TLS',
    'grpc_tls',
    {
      port: grpcTlsPort(consulLine, { isServer, tls: consul.tls !== undefined }),
      field: `consul.extraConfig.ports.grpc_tls, else ${GRPC_TLS_PORT} on servers and with TLS from ${GRPC_TLS_PORT_SINCE}`,
    },
    true,
    ['tcp'],
  );
  add('serf LAN', 'serf_lan', orDefault('serf_lan', 8301), false, ['tcp', 'udp']);
  if (isServer) {
    add('serf WAN', 'serf_wan', orDefault('serf_wan', 8302), false, ['tcp', 'udp']);
    add('server RPC', 'server', orDefault('server', 8300), false, ['tcp']);
  }
  return binds;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
