// `consul connect envoy` as 1.10.12 behaves (contract §6, recordings 05-connect-envoy):
// resolve the proxy over the agent's HTTP API (no retries), optionally register a gateway, build
// the bootstrap, then print it (-bootstrap) or exec Envoy in place through a FIFO.
// `consul connect envoy pipe-bootstrap <fifo>` is the helper child of that exec.
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import { ConsulApi, httpAddr } from './api-client.ts';
import type { HostPort } from './connect/bootstrap.ts';
import { bootstrapText } from './connect/bootstrap.ts';
import {
  assertExecutable,
  envoyArgv,
  execEnvoy,
  findEnvoyBinary,
  makeBootstrapPipe,
} from './connect/exec.ts';
import type { FlagSpecs } from './connect/flags.ts';
import { FlagError, HTTP_FLAGS, parseGoFlags } from './connect/flags.ts';
import {
  CommandError,
  fetchProxyService,
  GATEWAY_KINDS,
  lookupGatewayProxyId,
  lookupProxyIdForSidecar,
} from './connect/lookup.ts';
import { runPipeBootstrap } from './connect/pipe-bootstrap.ts';

const FLAGS: FlagSpecs = {
  ...HTTP_FLAGS,
  'proxy-id': 'string',
  'sidecar-for': 'string',
  gateway: 'string',
  register: 'bool',
  service: 'string',
  address: 'string',
  'wan-address': 'string',
  'bind-address': 'list',
  'deregister-after-critical': 'string',
  'admin-bind': 'string',
  'admin-access-log-path': 'string',
  bootstrap: 'bool',
  'envoy-binary': 'string',
  'envoy-version': 'string',
  'grpc-addr': 'string',
  'no-central-config': 'bool',
  'mesh-gateway': 'bool',
  'expose-servers': 'bool',
  'omit-deprecated-tags': 'bool',
};

/** host:port → {address, port}, `localhost` (or a name) resolved to its IPv4 address. */
async function resolveHostPort(addr: string, defaultHost: string): Promise<HostPort> {
  const m = /^(?:\[(.*)\]|(.*)):(\d+)$/.exec(addr);
  if (!m) throw new CommandError(`Failed to parse address ${addr}: missing port in address`);
  let host = m[1] ?? m[2] ?? '';
  if (host === '') host = defaultHost;
  if (!/^[\d.]+$/.test(host) && !host.includes(':')) {
    try {
      host = (await lookup(host, { family: 4 })).address;
    } catch (e) {
      throw new CommandError(`Failed to resolve ${host}: ${(e as Error).message}`);
    }
  }
  return { address: host, port: Number(m[3]) };
}

function isLocalAddress(ip: string): boolean {
  return Object.values(networkInterfaces()).some((list) =>
    (list ?? []).some((i) => i.address === ip),
  );
}

export async function runConnectEnvoy(args: string[]): Promise<number> {
  if (args[0] === 'pipe-bootstrap') return runPipeBootstrap(args.slice(1));
  try {
    return await connectEnvoy(args);
  } catch (e) {
    if (e instanceof CommandError || e instanceof FlagError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

async function connectEnvoy(args: string[]): Promise<number> {
  const f = parseGoFlags(args, FLAGS);
  const str = (k: string) => f.strings.get(k);
  const gatewayFlag = str('gateway') ?? (f.bools.get('mesh-gateway') ? 'mesh' : undefined);
  let gatewayKind: string | undefined;
  if (gatewayFlag !== undefined) {
    gatewayKind = GATEWAY_KINDS[gatewayFlag];
    if (!gatewayKind)
      throw new CommandError('Gateway must be one of: terminating, mesh, or ingress');
  }
  const register = f.bools.get('register') ?? false;
  if (register && !gatewayKind) {
    throw new CommandError('Auto-Registration can only be used for gateways');
  }
  const bootstrapOnly = f.bools.get('bootstrap') ?? false;
  const token = str('token') ?? process.env.CONSUL_HTTP_TOKEN ?? '';
  const api = new ConsulApi(httpAddr(str('http-addr')), token);

  // The gateway's LAN address (-address, default :8443): registration and envoy_ready_listener.
  const addressFlag = str('address');
  const lan = await resolveHostPort(addressFlag ?? ':8443', '127.0.0.1');
  if (gatewayKind && addressFlag !== undefined && !isLocalAddress(lan.address)) {
    throw new CommandError(
      `The LAN address "${lan.address}" will not be bindable. Either set a bindable address or ` +
        'override the bind address with -bind-address',
    );
  }

  let proxyId = str('proxy-id') ?? process.env.CONNECT_PROXY_ID ?? '';
  const sidecarFor = str('sidecar-for') ?? process.env.CONNECT_SIDECAR_FOR ?? '';
  const serviceName = str('service') ?? gatewayKind ?? '';
  if (!proxyId && sidecarFor) proxyId = await lookupProxyIdForSidecar(api, sidecarFor);
  if (!proxyId && gatewayKind) {
    proxyId = register ? serviceName : await lookupGatewayProxyId(api, gatewayKind);
  }
  if (!proxyId) {
    throw new CommandError(
      'No proxy ID specified. One of -proxy-id, -sidecar-for, or -gateway is required',
    );
  }

  if (register && gatewayKind) {
    const registration = {
      Kind: gatewayKind,
      ID: proxyId,
      Name: serviceName,
      Address: addressFlag !== undefined ? lan.address : '',
      Port: lan.port,
      TaggedAddresses:
        addressFlag !== undefined ? { lan: { Address: lan.address, Port: lan.port } } : {},
      Check: {
        Name: `${gatewayKind} listening`,
        TCP: `${lan.address}:${lan.port}`,
        Interval: '10s',
        DeregisterCriticalServiceAfter: str('deregister-after-critical') ?? '6h',
      },
    };
    try {
      await api.put('/v1/agent/service/register', registration);
    } catch (e) {
      throw new CommandError(`Error registering service "${serviceName}": ${(e as Error).message}`);
    }
    if (!bootstrapOnly) process.stdout.write(`Registered service: ${serviceName}\n`);
  }

  const grpcAddr = str('grpc-addr') ?? process.env.CONSUL_GRPC_ADDR ?? (await agentGrpcAddr(api));
  const agentGrpc = await resolveHostPort(grpcAddr.replace(/^[a-z]+:\/\//i, ''), '127.0.0.1');
  const svc = await fetchProxyService(api, proxyId);
  const admin = await resolveHostPort(str('admin-bind') ?? 'localhost:19000', '127.0.0.1');
  const text = bootstrapText({
    admin,
    cluster:
      svc.Kind === 'connect-proxy'
        ? (svc.Proxy?.DestinationServiceName ?? svc.Service)
        : svc.Service,
    proxyId,
    agentGrpc,
    token,
    datacenter: svc.Datacenter ?? 'dc1',
    readyListener: gatewayKind ? lan : undefined,
  });
  if (bootstrapOnly) {
    process.stdout.write(text + '\n');
    return 0;
  }
  const binary = findEnvoyBinary(str('envoy-binary'));
  // checked before leaving a FIFO and a waiting child behind
  assertExecutable(binary);
  const fifo = await makeBootstrapPipe(text);
  return execEnvoy(envoyArgv(binary, fifo, f.rest));
}

/**
 * No -grpc-addr: 1.10 asks the agent for DebugConfig.GRPCPort and uses localhost:<port>, or
 * localhost:8502 when that is ≤ 0 (INDEX fact 10: the HTTP address's host is not used).
 */
async function agentGrpcAddr(api: ConsulApi): Promise<string> {
  let port = 0;
  try {
    const self = await api.get<{ DebugConfig?: { GRPCPort?: number } }>('/v1/agent/self');
    port = self?.DebugConfig?.GRPCPort ?? 0;
  } catch (e) {
    process.stderr.write(`Error connecting to Consul agent: ${(e as Error).message}\n`);
  }
  return `localhost:${port > 0 ? port : 8502}`;
}
