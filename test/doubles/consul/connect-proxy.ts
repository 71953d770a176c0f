// `consul connect proxy`, the built-in L4 proxy (contract §6, recordings 06-builtin-proxy):
//   ==> Consul Connect proxy starting...
//       Configuration mode: Agent API
//           Sidecar for ID: users-1
//                 Proxy ID: users-1-sidecar-proxy
// then hclog lines indented by 4; SIGINT/SIGTERM → `==> Consul Connect proxy shutdown`, exit 0.
// It really carries bytes, over plain TCP instead of mTLS (see connect/mesh.ts): a public
// listener (the sidecar's Port, on its Address or 0.0.0.0) to LocalServiceAddress:Port, and per
// upstream a listener on LocalBindAddress(127.0.0.1):LocalBindPort to a healthy
// `<dest>-sidecar-proxy` from the agent's /v1/health/connect/<dest>?passing.
import type { Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentService, Upstream } from './api-client.ts';
import { ConsulApi, httpAddr } from './api-client.ts';
import type { HostPort } from './connect/bootstrap.ts';
import type { FlagSpecs } from './connect/flags.ts';
import { FlagError, HTTP_FLAGS, parseGoFlags } from './connect/flags.ts';
import { CommandError, fetchProxyService, lookupProxyIdForSidecar } from './connect/lookup.ts';
import type { MeshLog } from './connect/mesh.ts';
import { publicListener, spiffeUri, trustDomain, upstreamListener } from './connect/mesh.ts';
import { Logger, parseLevel } from './log.ts';

const FLAGS: FlagSpecs = {
  ...HTTP_FLAGS,
  'proxy-id': 'string',
  'sidecar-for': 'string',
  service: 'string',
  upstream: 'list',
  'service-addr': 'string',
  listen: 'string',
  register: 'bool',
  'register-id': 'string',
  'log-level': 'string',
  'log-json': 'bool',
  'pprof-addr': 'string',
};

const out = (line: string) => process.stdout.write(line + '\n');

function hostPort(s: string, flag: string): HostPort {
  const m = /^(.*):(\d+)$/.exec(s);
  if (!m) throw new CommandError(`Error parsing ${flag} ${s}: missing port in address`);
  return { address: m[1] || '127.0.0.1', port: Number(m[2]) };
}

/** What the proxy serves, from the agent (Agent API mode) or from flags (Flags mode). */
interface ProxyPlan {
  service: string;
  datacenter: string;
  publicBind?: HostPort;
  local?: HostPort;
  upstreams: Upstream[];
}

function planFromService(svc: AgentService): ProxyPlan {
  const p = svc.Proxy ?? {};
  return {
    service: p.DestinationServiceName ?? svc.Service,
    datacenter: svc.Datacenter ?? 'dc1',
    publicBind: { address: svc.Address || '0.0.0.0', port: svc.Port },
    local: { address: p.LocalServiceAddress || '127.0.0.1', port: p.LocalServicePort ?? 0 },
    upstreams: p.Upstreams ?? [],
  };
}

export async function runConnectProxy(args: string[]): Promise<number> {
  try {
    return await connectProxy(args);
  } catch (e) {
    if (e instanceof FlagError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    if (e instanceof CommandError) {
      process.stderr.write(`==> Error preparing configuration: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

async function connectProxy(args: string[]): Promise<number> {
  const f = parseGoFlags(args, FLAGS);
  const str = (k: string) => f.strings.get(k);
  const logger = new Logger(parseLevel(str('log-level')), f.bools.get('log-json') ?? false, (l) =>
    out(`    ${l}`),
  );
  const log: MeshLog = (level, module, msg, fields) => logger.log(level, module, msg, fields);
  const api = new ConsulApi(
    httpAddr(str('http-addr')),
    str('token') ?? process.env.CONSUL_HTTP_TOKEN ?? '',
  );

  out('==> Consul Connect proxy starting...');
  let proxyId = str('proxy-id') ?? process.env.CONNECT_PROXY_ID ?? '';
  const sidecarFor = str('sidecar-for') ?? process.env.CONNECT_SIDECAR_FOR ?? '';
  let plan: ProxyPlan;
  if (proxyId || sidecarFor) {
    if (!proxyId) proxyId = await lookupProxyIdForSidecar(api, sidecarFor);
    out('    Configuration mode: Agent API');
    if (sidecarFor && !str('proxy-id')) out(`        Sidecar for ID: ${sidecarFor}`);
    out(`              Proxy ID: ${proxyId}`);
    plan = planFromService(await watchProxyConfig(api, proxyId, log));
  } else {
    const service = str('service');
    if (!service) {
      throw new CommandError(
        '-service or -proxy-id must be specified so that proxy can configure itself.',
      );
    }
    out('    Configuration mode: Flags');
    out(`               Service: ${service}`);
    plan = {
      service,
      datacenter: 'dc1',
      publicBind: str('listen') ? hostPort(str('listen') as string, '-listen') : undefined,
      local: str('service-addr')
        ? hostPort(str('service-addr') as string, '-service-addr')
        : undefined,
      upstreams: (f.lists.get('upstream') ?? []).map((u) => {
        const [name, port] = u.split(':');
        return { DestinationName: name ?? '', LocalBindPort: Number(port) };
      }),
    };
  }
  out('');
  out('==> Log data will now stream in as it occurs:');
  out('');

  const servers: Server[] = [];
  const identity = { trustDomain: await trustDomain(api), datacenter: plan.datacenter };
  const uri = spiffeUri(identity, plan.service);
  for (const u of plan.upstreams) {
    const bind = { address: u.LocalBindAddress || '127.0.0.1', port: u.LocalBindPort };
    const name = `${bind.address}:${bind.port}->service:default/${u.DestinationName}`;
    log('INFO', 'proxy', 'Starting listener', {
      listener: name,
      bind_addr: `${bind.address}:${bind.port}`,
    });
    servers.push(
      await upstreamListener({
        bind,
        destination: u.DestinationName,
        datacenter: u.Datacenter,
        sourceUri: uri,
        api,
        log,
      }),
    );
  }
  log('INFO', 'proxy', 'Proxy loaded config and ready to serve');
  log('INFO', 'proxy', 'Parsed TLS identity', {
    uri,
    roots: `[pri-double.consul.ca.${identity.trustDomain.split('.')[0]?.slice(0, 8)}.consul]`,
  });
  if (plan.publicBind && plan.local) {
    const bind = plan.publicBind;
    log('INFO', 'proxy', 'Starting listener', {
      listener: 'public listener',
      bind_addr: `${bind.address}:${bind.port}`,
    });
    servers.push(
      await publicListener({ bind, local: plan.local, service: plan.service, api, log }),
    );
  }

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  for (const s of servers) s.close();
  out('==> Consul Connect proxy shutdown');
  process.exit(0);
}

/** The agent config watcher: the proxy's registration, retried (with an error) until it exists. */
async function watchProxyConfig(
  api: ConsulApi,
  proxyId: string,
  log: MeshLog,
): Promise<AgentService> {
  for (;;) {
    try {
      return await fetchProxyService(api, proxyId);
    } catch (e) {
      log('ERROR', 'proxy.watch', 'failed to fetch proxy config', { error: (e as Error).message });
      await sleep(1000);
    }
  }
}
