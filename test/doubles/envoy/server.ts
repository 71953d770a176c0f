// The envoy double's server: the admin API on the bootstrap's admin address, the static
// envoy_ready_listener of a gateway, other static HTTP listeners (static-listeners.ts), and the
// listeners Consul's xDS would deliver, emulated by reading the proxy's registration over the
// agent's HTTP API (no real xDS, no mTLS). Held to test/recordings/envoy-1.36.4 by
// test/contract/envoy-admin.test.ts.
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import type { Server as NetServer } from 'node:net';
import { connect } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { ConsulApi, type AgentService } from '../consul/api-client.ts';
import type { HostPort } from '../consul/connect/bootstrap.ts';
import type { MeshLog } from '../consul/connect/mesh.ts';
import {
  publicListener,
  spiffeUri,
  trustDomain,
  upstreamListener,
} from '../consul/connect/mesh.ts';
import type { EventLog } from './events.ts';
import type { EnvoyOptions } from './options.ts';
import { field, hcmRoutes, httpListenerServer } from './static-listeners.ts';

export type ServerState = 'LIVE' | 'DRAINING' | 'PRE_INITIALIZING' | 'INITIALIZING';
const STATE_NUMBER: Record<ServerState, number> = {
  LIVE: 0,
  DRAINING: 1,
  PRE_INITIALIZING: 2,
  INITIALIZING: 3,
};

type SocketAddress = { socket_address: { address: string; port_value: number } };

/** Keys as Consul writes them; proto3 JSON's other spelling (`load_assignment`) is read too. */
export interface BootstrapConfig {
  admin: { address: SocketAddress };
  node: { id: string; cluster: string; metadata?: Record<string, string> };
  static_resources: {
    clusters?: {
      name: string;
      loadAssignment?: { endpoints: { lbEndpoints: { endpoint: { address: SocketAddress } }[] }[] };
    }[];
    listeners?: {
      name: string;
      address: SocketAddress;
      traffic_direction?: string;
      filter_chains?: unknown[];
    }[];
  };
  /** The xDS stream's gRPC metadata: `x-consul-token` is the proxy's ACL token. */
  dynamic_resources?: {
    lds_config?: { initial_fetch_timeout?: string };
    cds_config?: { initial_fetch_timeout?: string };
    ads_config?: { grpc_services?: { initial_metadata?: { key: string; value: string }[] } };
  };
}

/** A protobuf JSON Duration ("3s", "0.5s") in ms. */
function durationMs(d: string | undefined): number | undefined {
  const m = d === undefined ? null : /^(\d+(?:\.\d+)?)s$/.exec(d);
  return m ? Math.round(Number(m[1]) * 1000) : undefined;
}

export interface Knobs {
  initDelayMs: number;
  readyDelayMs: number;
  xds: 'tcp' | 'always' | 'never';
  initialFetchTimeoutMs: number;
  consulHttpAddr?: string;
  version: string;
}

export function knobsFromEnv(env = process.env): Knobs {
  const num = (k: string, d: number) => (env[k] !== undefined ? Number(env[k]) : d);
  const xds = env.ENVOY_DOUBLE_XDS;
  return {
    initDelayMs: num('ENVOY_DOUBLE_INIT_DELAY_MS', 50),
    readyDelayMs: num('ENVOY_DOUBLE_READY_DELAY_MS', 200),
    xds: xds === 'always' || xds === 'never' ? xds : 'tcp',
    initialFetchTimeoutMs: num('ENVOY_DOUBLE_INITIAL_FETCH_TIMEOUT_MS', 15_000),
    consulHttpAddr:
      env.ENVOY_DOUBLE_CONSUL_HTTP_ADDR ?? env.CONSUL_HTTP_ADDR?.replace(/^[a-z]+:\/\//i, ''),
    version: env.ENVOY_DOUBLE_VERSION ?? '1.20.2',
  };
}

type Direction = 'INBOUND' | 'OUTBOUND' | 'UNSPECIFIED';

interface Listener {
  name: string;
  direction: Direction;
  address: HostPort;
  server: NetServer | HttpServer;
  state: 'active' | 'draining' | 'stopped';
}

interface Cluster {
  name: string;
  /** `unhealthy`: an endpoint Consul's EDS sends marked UNHEALTHY (a critical check). */
  hosts: (HostPort & { unhealthy?: boolean })[];
}

/** How often the double's EDS emulation reads an upstream's instances from Consul. */
const EDS_REFRESH_MS = 1000;

/** The part of /v1/health/connect/<name> an upstream cluster's endpoints come from. */
interface ConnectInstance {
  Node: { Address: string };
  Service: { Address?: string; Port: number };
  Checks?: { Status: string }[];
}

/** A listener update Envoy refused: `error_state` in /config_dump (recording rejected-listener). */
interface RejectedListener {
  name: string;
  details: string;
  at: string;
}

const NAME_ONLY_ROUTER =
  "Didn't find a registered implementation for 'envoy.filters.http.router' with type URL: ''";
const NAME_LOOKUP_GUARD = 'envoy.reloadable_features.no_extension_lookup_by_name';

/** The guard's value in the static layers of a --config-yaml's layered_runtime, if set. */
function runtimeGuard(configYaml: string | undefined): unknown {
  if (!configYaml) return undefined;
  type Layers = { layered_runtime?: { layers?: { static_layer?: Record<string, unknown> }[] } };
  const layers = (parseYaml(configYaml) as Layers | null)?.layered_runtime?.layers ?? [];
  return layers.map((l) => l.static_layer?.[NAME_LOOKUP_GUARD]).findLast((v) => v !== undefined);
}

const versionAtLeast = (version: string, major: number, minor: number): boolean => {
  const [a = 0, b = 0] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
};

const BUILD_SHA = '5a7e2fd8a9d0c1b3e4f5061728394a5b6c7d8e9f';

/** Envoy 1.36's POST-only admin paths (its help marks them "(POST)"). */
const MUTATING = new Set([
  '/allocprofiler',
  '/cpuprofiler',
  '/drain_listeners',
  '/healthcheck/fail',
  '/healthcheck/ok',
  '/heapprofiler',
  '/logging',
  '/quitquitquit',
  '/reopen_logs',
  '/reset_counters',
  '/runtime_modify',
  '/stats/recentlookups/clear',
  '/stats/recentlookups/disable',
  '/stats/recentlookups/enable',
]);

const HELP: [string, string][] = [
  ['/', 'Admin home page'],
  ['/certs', 'print certs on machine'],
  ['/clusters', 'upstream cluster status'],
  ['/drain_listeners (POST)', 'drain listeners'],
  ['/healthcheck/fail (POST)', 'cause the server to fail health checks'],
  ['/healthcheck/ok (POST)', 'cause the server to pass health checks'],
  ['/listeners', 'print listener info'],
  ['/quitquitquit (POST)', 'exit the server'],
  ['/ready', 'print server state, return 200 if LIVE, otherwise return 503'],
  ['/server_info', 'print server version/status information'],
  ['/stats', 'print server stats'],
];

const hp = (s: { address: string; port_value: number }): HostPort => ({
  address: s.address,
  port: s.port_value,
});
const fmt = (a: HostPort) => `${a.address}:${a.port}`;

/** Envoy-shaped log lines on stderr: [time][pid][level][logger] msg */
export function envoyLog(level: string, logger: string, msg: string): void {
  const ts = new Date().toISOString().replace('T', ' ').replace('Z', '');
  process.stderr.write(`[${ts}][${process.pid}][${level}][${logger}] ${msg}\n`);
}

export class EnvoyDouble {
  state: ServerState = 'PRE_INITIALIZING';
  private healthCheckFailed = false;
  private initialized = false;
  private connected = false;
  private readonly started = Date.now();
  private readonly listeners: Listener[] = [];
  private readonly rejected: RejectedListener[] = [];
  private readonly clusters: Cluster[] = [];
  private readonly counters = new Map<string, number>();
  private drainSequence = false;
  private adminServer?: HttpServer;
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly admin: HostPort;
  readonly agentGrpc: HostPort;

  constructor(
    private readonly boot: BootstrapConfig,
    private readonly opts: EnvoyOptions,
    private readonly knobs: Knobs,
    private readonly events: EventLog,
    private readonly exit: (code: number) => void,
  ) {
    this.admin = hp(boot.admin.address.socket_address);
    for (const c of boot.static_resources.clusters ?? []) {
      type Endpoint = { endpoint: { address: SocketAddress } };
      const endpoints = field<unknown[]>(field(c, 'load_assignment'), 'endpoints') ?? [];
      this.clusters.push({
        name: c.name,
        hosts: endpoints.flatMap((e) =>
          (field<Endpoint[]>(e, 'lb_endpoints') ?? []).map((l) =>
            hp(l.endpoint.address.socket_address),
          ),
        ),
      });
    }
    const agent = this.clusters.find((c) => c.name === 'local_agent')?.hosts[0];
    this.agentGrpc = agent ?? { address: '127.0.0.1', port: 8502 };
  }

  /** The bootstrap's own listeners: not in the dynamic listeners' config dump. */
  private get staticNames(): Set<string> {
    return new Set((this.boot.static_resources.listeners ?? []).map((l) => l.name));
  }

  /** A bootstrap with dynamic_resources waits for xDS; a static one is LIVE once it is bound. */
  private get dynamic(): boolean {
    return this.boot.dynamic_resources !== undefined;
  }

  /** Binds admin and static listeners (a failure rejects: the caller exits 1), then initializes. */
  async start(): Promise<void> {
    this.adminServer = createHttpServer((req, res) => this.handleAdmin(req, res));
    await this.bind(this.adminServer, this.admin);
    for (const l of this.boot.static_resources.listeners ?? []) {
      const routes = hcmRoutes(l);
      let server: HttpServer;
      if (l.name === 'envoy_ready_listener') {
        server = createHttpServer((req, res) => this.handleReadyListener(req, res));
      } else if (routes) {
        server = httpListenerServer(routes, (c) => this.clusters.find((x) => x.name === c)?.hosts);
      } else continue;
      const address = hp(l.address.socket_address);
      await this.bind(server, address);
      const d = l.traffic_direction;
      const direction: Direction = d === 'INBOUND' || d === 'OUTBOUND' ? d : 'UNSPECIFIED';
      this.listeners.push({ name: l.name, direction, address, server, state: 'active' });
      this.bump('listener_manager.listener_added');
    }
    this.events.emit('start', { state: this.state });
    if (!this.dynamic) {
      // nothing to wait for: Envoy 1.36 answers LIVE from its first /ready (recording static-live)
      this.initialized = true;
      this.refreshState();
      return;
    }
    this.initialize();
  }

  private bind(server: NetServer | HttpServer, at: HostPort): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        const why = e.code === 'EADDRINUSE' ? 'Address already in use' : e.message;
        reject(new Error(`cannot bind '${fmt(at)}': ${why}`));
      };
      server.once('error', onError);
      server.listen({ host: at.address, port: at.port, exclusive: true }, () => {
        server.off('error', onError);
        resolve();
      });
    });
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private setState(s: ServerState): void {
    if (this.state === s) return;
    this.state = s;
    this.events.emit('state', { state: s });
  }

  private refreshState(): void {
    if (!this.initialized) return;
    this.setState(this.healthCheckFailed ? 'DRAINING' : 'LIVE');
  }

  /**
   * As Envoy 1.36 with ADS (recording `initializing`): PRE_INITIALIZING while the cluster manager
   * waits for CDS, INITIALIZING while the init manager waits for LDS, then LIVE. xDS "delivers"
   * CDS `initDelayMs` after it is reachable and LDS `readyDelayMs` after that; unreachable, each
   * phase ends at its `initial_fetch_timeout` (the bootstrap's, else the knob: 15 s by default).
   */
  private initialize(): void {
    const dyn = this.boot.dynamic_resources;
    const cdsTimeout = durationMs(dyn?.cds_config?.initial_fetch_timeout);
    const ldsTimeout = durationMs(dyn?.lds_config?.initial_fetch_timeout);
    let phase: 'cds' | 'lds' | 'done' = 'cds';
    const finish = () => {
      if (phase !== 'lds') return;
      phase = 'done';
      this.initialized = true;
      this.refreshState();
      envoyLog('info', 'config', 'all dependencies initialized. starting workers');
    };
    const clustersDone = () => {
      if (phase !== 'cds') return;
      phase = 'lds';
      this.setState('INITIALIZING');
      envoyLog('info', 'main', 'all clusters initialized. initializing init manager');
      this.later(ldsTimeout ?? this.knobs.initialFetchTimeoutMs, () => {
        if (phase === 'lds') this.bump('listener_manager.lds.init_fetch_timeout');
        finish();
      });
      if (this.connected) this.later(this.knobs.readyDelayMs, finish);
    };
    this.later(cdsTimeout ?? this.knobs.initialFetchTimeoutMs, clustersDone);
    const poll = async () => {
      const ok = await this.xdsReachable();
      if (ok !== this.connected) {
        this.connected = ok;
        this.events.emit('xds', { connected: ok });
        if (ok && !this.listeners.some((l) => l.direction !== 'UNSPECIFIED')) {
          await this.applyDynamicConfig();
        }
        if (ok && phase === 'cds') this.later(this.knobs.initDelayMs, clustersDone);
        else if (ok && phase === 'lds') this.later(this.knobs.readyDelayMs, finish);
      }
      this.later(1000, () => void poll());
    };
    void poll();
  }

  private xdsReachable(): Promise<boolean> {
    if (this.knobs.xds !== 'tcp') return Promise.resolve(this.knobs.xds === 'always');
    return new Promise((resolve) => {
      const s = connect({ host: this.agentGrpc.address, port: this.agentGrpc.port, timeout: 1000 });
      const done = (ok: boolean) => {
        s.destroy();
        resolve(ok);
      };
      s.once('connect', () => done(true));
      s.once('error', () => done(false));
      s.once('timeout', () => done(false));
    });
  }

  /** The agent's HTTP API, called with the token Envoy's xDS stream would carry (ACLs). */
  private agentApi(): ConsulApi {
    const token =
      this.boot.dynamic_resources?.ads_config?.grpc_services?.initial_metadata?.find(
        (m) => m.key === 'x-consul-token',
      )?.value ?? '';
    return new ConsulApi(this.knobs.consulHttpAddr ?? `${this.agentGrpc.address}:8500`, token);
  }

  /** What Consul's xDS would send: public + upstream listeners and their clusters. */
  private async applyDynamicConfig(): Promise<void> {
    const api = this.agentApi();
    let svc: AgentService;
    try {
      svc = await api.get<AgentService>(
        `/v1/agent/service/${encodeURIComponent(this.boot.node.id)}`,
      );
    } catch (e) {
      envoyLog('warning', 'config', `xds emulation: ${(e as Error).message}`);
      return;
    }
    if (svc.Kind !== 'connect-proxy' || !svc.Proxy) return;
    const log: MeshLog = (level, module, msg, fields) =>
      envoyLog(
        level === 'WARN' ? 'warning' : level.toLowerCase(),
        module,
        `${msg} ${JSON.stringify(fields ?? {})}`,
      );
    const identity = { trustDomain: await trustDomain(api), datacenter: svc.Datacenter ?? 'dc1' };
    const service = svc.Proxy.DestinationServiceName ?? this.boot.node.cluster;
    const local = {
      address: svc.Proxy.LocalServiceAddress || '127.0.0.1',
      port: svc.Proxy.LocalServicePort ?? 0,
    };
    const bind = { address: svc.Address || '0.0.0.0', port: svc.Port };
    this.clusters.push({ name: 'local_app', hosts: [local] });
    const rejection = await this.routerRejection(api, service);
    if (rejection) {
      this.rejectListener(`public_listener:${fmt(bind)}`, rejection);
      return;
    }
    await this.addListener(`public_listener:${fmt(bind)}`, 'INBOUND', bind, () =>
      publicListener({ bind, local, service, api, log }),
    );
    for (const u of svc.Proxy.Upstreams ?? []) {
      const ubind = { address: u.LocalBindAddress || '127.0.0.1', port: u.LocalBindPort };
      const dc = u.Datacenter || identity.datacenter;
      const cluster: Cluster = {
        name: `${u.DestinationName}.default.${dc}.internal.${identity.trustDomain}`,
        hosts: [],
      };
      this.clusters.push(cluster);
      this.emulateEds(cluster, api, u.DestinationName, dc);
      await this.addListener(`${u.DestinationName}:${fmt(ubind)}`, 'OUTBOUND', ubind, () =>
        upstreamListener({
          bind: ubind,
          destination: u.DestinationName,
          datacenter: u.Datacenter,
          sourceUri: spiffeUri(identity, service),
          api,
          log,
        }),
      );
    }
  }

  /**
   * Consul's EDS: an upstream cluster's endpoints are the destination's Connect instances, each
   * with a critical check sent UNHEALTHY (agent/xds/endpoints.go); read again every second.
   */
  private emulateEds(cluster: Cluster, api: ConsulApi, destination: string, dc: string): void {
    const path = `/v1/health/connect/${encodeURIComponent(destination)}?dc=${encodeURIComponent(dc)}`;
    void api
      .get<ConnectInstance[] | null>(path)
      .then((instances) => {
        cluster.hosts = (instances ?? []).map((i) => ({
          address: i.Service.Address || i.Node.Address,
          port: i.Service.Port,
          unhealthy: (i.Checks ?? []).some((c) => c.Status === 'critical'),
        }));
      })
      .catch(() => {})
      .finally(() =>
        this.later(EDS_REFRESH_MS, () => this.emulateEds(cluster, api, destination, dc)),
      );
  }

  /**
   * Consul before 1.12 sends an http service's router by name only; Envoy 1.22+ refuses that
   * unless the runtime guard NAME_LOOKUP_GUARD is false (in a --config-yaml layer), and 1.39
   * removed the guard (seen with the real 1.10.12 x 1.36.4 / 1.39.0: recording rejected-listener).
   */
  private async routerRejection(api: ConsulApi, service: string): Promise<string | null> {
    if (!versionAtLeast(this.knobs.version, 1, 22)) return null;
    const guardOff =
      !versionAtLeast(this.knobs.version, 1, 39) && runtimeGuard(this.opts.configYaml) === false;
    if (guardOff) return null;
    try {
      const self = await api.get<{ Config?: { Version?: string } }>('/v1/agent/self');
      if (versionAtLeast(self.Config?.Version ?? '0.0', 1, 12)) return null;
      const defaults = await api
        .get<{ Protocol?: string }>(`/v1/config/service-defaults/${encodeURIComponent(service)}`)
        .catch(() => null);
      const protocol = defaults?.Protocol ?? 'tcp';
      return protocol === 'tcp' ? null : NAME_ONLY_ROUTER;
    } catch {
      return null;
    }
  }

  private rejectListener(name: string, details: string): void {
    this.rejected.push({ name, details, at: new Date().toISOString() });
    this.bump('listener_manager.lds.update_rejected');
    envoyLog(
      'warning',
      'config',
      `gRPC config for type.googleapis.com/envoy.config.listener.v3.Listener rejected: Error adding/updating listener(s) ${name}: ${details}`,
    );
  }

  /**
   * `GET /config_dump?resource=dynamic_listeners`, the parts meshvisor reads: each listener's
   * name, and a rejected one's error_state, twice as 1.36.4 lists it (once named, once by its
   * failed configuration only).
   */
  private dynamicListenersDump(): unknown {
    const type = 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump.DynamicListener';
    const listenerType = 'type.googleapis.com/envoy.config.listener.v3.Listener';
    return {
      configs: [
        ...this.listeners
          .filter((l) => !this.staticNames.has(l.name))
          .map((l) => ({
            '@type': type,
            name: l.name,
            active_state: {
              version_info: '1',
              listener: { '@type': listenerType, name: l.name },
              last_updated: new Date(this.started).toISOString(),
            },
          })),
        ...this.rejected.flatMap((r) => [
          {
            '@type': type,
            name: r.name,
            error_state: {
              failed_configuration: { '@type': listenerType, name: r.name },
              last_update_attempt: r.at,
              details: r.details,
            },
          },
          {
            '@type': type,
            error_state: {
              failed_configuration: { '@type': listenerType, name: r.name },
              details: r.details,
            },
          },
        ]),
      ],
    };
  }

  private async addListener(
    name: string,
    direction: Direction,
    address: HostPort,
    open: () => Promise<NetServer>,
  ): Promise<void> {
    try {
      const server = await open();
      this.listeners.push({ name, direction, address, server, state: 'active' });
      this.bump('listener_manager.listener_added');
      this.events.emit('listener', { name, address: fmt(address) });
    } catch (e) {
      this.bump('listener_manager.lds.update_rejected');
      envoyLog(
        'warning',
        'config',
        `error adding listener '${fmt(address)}': ${(e as Error).message}`,
      );
    }
  }

  private bump(name: string): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + 1);
  }

  /** Stopped listeners close their socket (new connections are refused), finish what they carry, and stay listed and counted active (recordings drain-*). */
  private stopListeners(inboundOnly: boolean): void {
    for (const l of this.listeners) {
      if (l.state === 'stopped' || (inboundOnly && l.direction !== 'INBOUND')) continue;
      l.state = 'stopped';
      l.server.close();
      this.bump('listener_manager.listener_stopped');
    }
    this.events.emit('listeners_stopped', { inboundOnly });
  }

  // ---- the admin API -------------------------------------------------------------------

  private handleReadyListener(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/ready') {
      res.writeHead(404).end();
      return;
    }
    this.events.emit('admin', {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      via: 'envoy_ready_listener',
    });
    const [status, body] = this.ready();
    res.writeHead(status, { 'content-type': 'text/plain; charset=UTF-8' }).end(body);
  }

  private ready(): [number, string] {
    return [this.state === 'LIVE' ? 200 : 503, `${this.state}\n`];
  }

  private handleAdmin(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    let status = 200;
    let body = '';
    let type = 'text/plain; charset=UTF-8';
    let after: (() => void) | undefined;
    if (MUTATING.has(path) && method !== 'POST') {
      // Envoy 1.36.4 (recording admin-reads): 405, nothing done
      status = 405;
      body = `Method ${method} not allowed, POST required.`;
    } else {
      switch (path) {
        case '/ready':
          [status, body] = this.ready();
          break;
        case '/server_info':
          body = JSON.stringify(this.serverInfo(), null, 1);
          type = 'application/json';
          break;
        case '/stats': {
          const r = this.statsBody(params);
          [status, body, type] = r;
          break;
        }
        case '/clusters':
          if (params.get('format') === 'json') {
            body = JSON.stringify(this.clustersJson(), null, 1);
            type = 'application/json';
          } else body = this.clustersBody();
          break;
        case '/listeners':
          if (params.get('format') === 'json') {
            body = JSON.stringify(this.listenersJson(), null, 1);
            type = 'application/json';
          } else {
            body = this.listeners.map((l) => `${l.name}::${fmt(l.address)}\n`).join('');
          }
          break;
        case '/config_dump':
          if (params.get('resource') === 'dynamic_listeners') {
            body = JSON.stringify(this.dynamicListenersDump(), null, 1);
            type = 'application/json';
          } else {
            status = 501;
            body = 'the envoy double answers /config_dump?resource=dynamic_listeners only\n';
          }
          break;
        case '/certs':
          body = JSON.stringify({ certificates: [] }, null, 1);
          type = 'application/json';
          break;
        case '/drain_listeners':
          body = 'OK\n';
          this.drainListeners(params.has('inboundonly'), params.has('graceful'));
          break;
        case '/healthcheck/fail':
          body = 'OK\n';
          this.healthCheckFailed = true;
          this.refreshState();
          break;
        case '/healthcheck/ok':
          body = 'OK\n';
          this.healthCheckFailed = false;
          this.refreshState();
          break;
        case '/quitquitquit':
          body = 'OK\n';
          after = () => this.shutdown('quitquitquit', 0);
          break;
        case '/':
          body = HELP.map(([p, d]) => `${p}: ${d}`).join('\n') + '\n';
          break;
        default:
          status = 404;
          body = `invalid path. admin commands are:\n${HELP.map(([p, d]) => `  ${p}: ${d}`).join('\n')}\n`;
      }
    }
    this.events.emit('admin', { method, path: url, status, admin: fmt(this.admin) });
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-cache, max-age=0' });
    res.end(body, after);
  }

  /**
   * As Envoy 1.36.4 (recordings drain-*): `?graceful` starts the drain sequence (--drain-time-s;
   * a second graceful call is ignored), after which the listeners stop; without it they stop at
   * once, also inside a drain sequence. `?inboundonly` stops only INBOUND listeners. Envoy does
   * not exit after a drain; /ready stays LIVE (only /healthcheck/fail turns it to DRAINING).
   */
  private drainListeners(inboundOnly: boolean, graceful: boolean): void {
    this.events.emit('drain', { inboundOnly, graceful, drainTimeS: this.opts.drainTimeS });
    if (!graceful) {
      this.stopListeners(inboundOnly);
      return;
    }
    if (this.drainSequence) return;
    this.drainSequence = true;
    for (const l of this.listeners) {
      if (l.state === 'active' && (!inboundOnly || l.direction === 'INBOUND')) l.state = 'draining';
    }
    this.later(this.opts.drainTimeS * 1000, () => this.stopListeners(inboundOnly));
  }

  shutdown(reason: string, code: number): void {
    this.events.emit('exit', { reason, code });
    for (const t of this.timers) clearTimeout(t);
    this.exit(code);
  }

  private uptime(): string {
    return `${Math.floor((Date.now() - this.started) / 1000)}s`;
  }

  private serverInfo() {
    return {
      version: `${BUILD_SHA}/${this.knobs.version}/Clean/RELEASE/BoringSSL`,
      state: this.state,
      hot_restart_version: this.opts.disableHotRestart ? 'disabled' : '11.104',
      command_line_options: {
        base_id: this.opts.baseId,
        concurrency: this.opts.concurrency,
        config_path: this.opts.configPath ?? '',
        log_level: this.opts.logLevel,
        drain_strategy: 'Gradual',
        mode: 'Serve',
        disable_hot_restart: this.opts.disableHotRestart,
        restart_epoch: this.opts.restartEpoch,
        drain_time: `${this.opts.drainTimeS}s`,
        parent_shutdown_time: `${this.opts.parentShutdownTimeS}s`,
      },
      uptime_current_epoch: this.uptime(),
      uptime_all_epochs: this.uptime(),
      node: {
        id: this.boot.node.id,
        cluster: this.boot.node.cluster,
        metadata: this.boot.node.metadata ?? {},
        user_agent_name: 'envoy',
      },
    };
  }

  /**
   * Envoy 1.36.4's (recordings admin-reads, drain-*, initializing): stopped listeners still count
   * as active, a drain_listeners drain is not `total_listeners_draining` (that is for removed
   * ones), and the control plane / LDS stats exist only with dynamic_resources. server.state is
   * current here; Envoy updates it at its next stats flush (5 s).
   */
  private stats(): Map<string, number> {
    const m = new Map<string, number>([
      ['cluster_manager.active_clusters', this.clusters.length],
      ['listener_manager.listener_added', 0],
      ['listener_manager.listener_stopped', 0],
      ['listener_manager.total_listeners_active', this.listeners.length],
      ['listener_manager.total_listeners_draining', 0],
      ['listener_manager.total_listeners_warming', 0],
      ['listener_manager.workers_started', this.initialized ? 1 : 0],
      ['server.concurrency', this.opts.concurrency],
      ['server.hot_restart_epoch', this.opts.restartEpoch],
      ['server.live', this.state === 'LIVE' ? 1 : 0],
      ['server.state', STATE_NUMBER[this.state]],
      ['server.uptime', Math.floor((Date.now() - this.started) / 1000)],
    ]);
    if (this.dynamic) {
      m.set('control_plane.connected_state', this.connected ? 1 : 0);
      m.set('listener_manager.lds.init_fetch_timeout', 0);
      m.set('listener_manager.lds.update_rejected', 0);
    }
    for (const [k, v] of this.counters) m.set(k, v);
    return m;
  }

  private statsBody(params: URLSearchParams): [number, string, string] {
    let entries = [...this.stats()].sort(([a], [b]) => a.localeCompare(b));
    const filter = params.get('filter');
    if (filter !== null) {
      let re: RegExp;
      try {
        re = new RegExp(filter);
      } catch {
        return [400, `Invalid regex: "${filter}"`, 'text/plain; charset=UTF-8'];
      }
      entries = entries.filter(([k]) => re.test(k));
    }
    if (params.get('format') === 'json') {
      const stats = entries.map(([name, value]) => ({ name, value }));
      return [200, JSON.stringify({ stats }), 'application/json'];
    }
    return [200, entries.map(([k, v]) => `${k}: ${v}\n`).join(''), 'text/plain; charset=UTF-8'];
  }

  private listenersJson() {
    const address = (a: HostPort) => ({
      socket_address: { address: a.address, port_value: a.port },
    });
    return {
      listener_statuses: this.listeners.map((l) => ({
        name: l.name,
        local_address: address(l.address),
      })),
    };
  }

  private clustersJson() {
    return {
      cluster_statuses: this.clusters.map((c) => ({
        name: c.name,
        host_statuses: c.hosts.map((h) => ({
          address: { socket_address: { address: h.address, port_value: h.port } },
          stats: [{ name: 'cx_active', type: 'GAUGE' }],
          health_status: { eds_health_status: h.unhealthy ? 'UNHEALTHY' : 'HEALTHY' },
          weight: 1,
          locality: {},
        })),
        observability_name: c.name,
      })),
    };
  }

  private clustersBody(): string {
    const rows: string[] = [];
    for (const c of this.clusters) {
      rows.push(`${c.name}::observability_name::${c.name}`);
      rows.push(`${c.name}::default_priority::max_connections::1024`);
      for (const h of c.hosts) {
        const p = `${c.name}::${fmt(h)}`;
        const flags = h.unhealthy ? '/failed_eds_health' : 'healthy';
        rows.push(`${p}::cx_active::0`, `${p}::health_flags::${flags}`, `${p}::weight::1`);
      }
    }
    return rows.map((r) => r + '\n').join('');
  }
}
