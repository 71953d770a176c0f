// The envoy double's server: the admin API on the bootstrap's admin address, the static
// envoy_ready_listener of a gateway, and the listeners Consul's xDS would deliver, emulated by
// reading the proxy's registration over the agent's HTTP API (no real xDS, no mTLS).
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import type { Server as NetServer } from 'node:net';
import { connect } from 'node:net';
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

export type ServerState = 'LIVE' | 'DRAINING' | 'PRE_INITIALIZING' | 'INITIALIZING';
const STATE_NUMBER: Record<ServerState, number> = {
  LIVE: 0,
  DRAINING: 1,
  PRE_INITIALIZING: 2,
  INITIALIZING: 3,
};

export interface BootstrapConfig {
  admin: { address: { socket_address: { address: string; port_value: number } } };
  node: { id: string; cluster: string; metadata?: Record<string, string> };
  static_resources: {
    clusters: {
      name: string;
      loadAssignment: {
        endpoints: {
          lbEndpoints: {
            endpoint: { address: { socket_address: { address: string; port_value: number } } };
          }[];
        }[];
      };
    }[];
    listeners?: {
      name: string;
      address: { socket_address: { address: string; port_value: number } };
    }[];
  };
  /** The xDS stream's gRPC metadata: `x-consul-token` is the proxy's ACL token. */
  dynamic_resources?: {
    ads_config?: { grpc_services?: { initial_metadata?: { key: string; value: string }[] } };
  };
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
  hosts: HostPort[];
}

const BUILD_SHA = '5a7e2fd8a9d0c1b3e4f5061728394a5b6c7d8e9f';

const MUTATING = new Set([
  '/drain_listeners',
  '/healthcheck/fail',
  '/healthcheck/ok',
  '/quitquitquit',
  '/logging',
  '/reset_counters',
  '/cpuprofiler',
  '/heapprofiler',
  '/runtime_modify',
  '/reopen_logs',
]);

const HELP: [string, string][] = [
  ['/', 'Admin home page'],
  ['/clusters', 'upstream cluster status'],
  ['/drain_listeners', 'drain listeners'],
  ['/healthcheck/fail', 'cause the server to fail health checks'],
  ['/healthcheck/ok', 'cause the server to pass health checks'],
  ['/listeners', 'print listener info'],
  ['/quitquitquit', 'exit the server'],
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
    const agent = boot.static_resources.clusters.find((c) => c.name === 'local_agent');
    const ep = agent?.loadAssignment.endpoints[0]?.lbEndpoints[0]?.endpoint.address.socket_address;
    this.agentGrpc = ep ? hp(ep) : { address: '127.0.0.1', port: 8502 };
    for (const c of boot.static_resources.clusters) {
      this.clusters.push({
        name: c.name,
        hosts: c.loadAssignment.endpoints.flatMap((e) =>
          e.lbEndpoints.map((l) => hp(l.endpoint.address.socket_address)),
        ),
      });
    }
  }

  /** Binds admin and static listeners (a failure rejects: the caller exits 1), then initializes. */
  async start(): Promise<void> {
    this.adminServer = createHttpServer((req, res) => this.handleAdmin(req, res));
    await this.bind(this.adminServer, this.admin);
    for (const l of this.boot.static_resources.listeners ?? []) {
      if (l.name !== 'envoy_ready_listener') continue;
      const server = createHttpServer((req, res) => this.handleReadyListener(req, res));
      const address = hp(l.address.socket_address);
      await this.bind(server, address);
      this.listeners.push({
        name: l.name,
        direction: 'UNSPECIFIED',
        address,
        server,
        state: 'active',
      });
    }
    this.events.emit('start', { state: this.state });
    this.later(this.knobs.initDelayMs, () => this.initialize());
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

  /** INITIALIZING until xDS delivers (or the 15 s initial fetch of 1.10 bootstraps gives up). */
  private initialize(): void {
    this.setState('INITIALIZING');
    envoyLog('info', 'main', 'all clusters initialized. initializing init manager');
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.initialized = true;
      this.refreshState();
      envoyLog('info', 'main', 'all dependencies initialized. starting workers');
    };
    this.later(this.knobs.initialFetchTimeoutMs, finish);
    const poll = async () => {
      const ok = await this.xdsReachable();
      if (ok !== this.connected) {
        this.connected = ok;
        this.events.emit('xds', { connected: ok });
        if (ok && !this.listeners.some((l) => l.direction !== 'UNSPECIFIED')) {
          await this.applyDynamicConfig();
        }
        if (ok) this.later(this.knobs.readyDelayMs, finish);
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
    await this.addListener(`public_listener:${fmt(bind)}`, 'INBOUND', bind, () =>
      publicListener({ bind, local, service, api, log }),
    );
    for (const u of svc.Proxy.Upstreams ?? []) {
      const ubind = { address: u.LocalBindAddress || '127.0.0.1', port: u.LocalBindPort };
      const dc = u.Datacenter || identity.datacenter;
      this.clusters.push({
        name: `${u.DestinationName}.default.${dc}.internal.${identity.trustDomain}`,
        hosts: [],
      });
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

  private async addListener(
    name: string,
    direction: Direction,
    address: HostPort,
    open: () => Promise<NetServer>,
  ): Promise<void> {
    try {
      const server = await open();
      this.listeners.push({ name, direction, address, server, state: 'active' });
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

  private stopListeners(inboundOnly: boolean): void {
    for (const l of this.listeners) {
      if (l.state === 'stopped' || (inboundOnly && l.direction !== 'INBOUND')) continue;
      l.state = 'stopped';
      l.server.close();
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
      status = 400;
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
          body = this.clustersBody();
          break;
        case '/listeners':
          body = this.listeners
            .filter((l) => l.state !== 'stopped')
            .map((l) => `${l.name}::${fmt(l.address)}\n`)
            .join('');
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
   * Envoy 1.20: `?graceful` starts the drain sequence (--drain-time-s), after which the listeners
   * stop; without it they stop at once. `?inboundonly` spares outbound (upstream) listeners. Only
   * /healthcheck/fail turns /ready to DRAINING.
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
        base_id: '0',
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

  private stats(): Map<string, number> {
    const active = this.listeners.filter((l) => l.state === 'active').length;
    const draining = this.listeners.filter((l) => l.state === 'draining').length;
    const m = new Map<string, number>([
      ['cluster_manager.active_clusters', this.clusters.length],
      ['control_plane.connected_state', this.connected ? 1 : 0],
      ['listener_manager.lds.update_rejected', 0],
      ['listener_manager.total_listeners_active', active + draining],
      ['listener_manager.total_listeners_draining', draining],
      ['server.concurrency', this.opts.concurrency],
      ['server.hot_restart_epoch', this.opts.restartEpoch],
      ['server.live', this.state === 'LIVE' ? 1 : 0],
      ['server.state', STATE_NUMBER[this.state]],
      ['server.uptime', Math.floor((Date.now() - this.started) / 1000)],
    ]);
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

  private clustersBody(): string {
    const rows: string[] = [];
    for (const c of this.clusters) {
      rows.push(`${c.name}::observability_name::${c.name}`);
      rows.push(`${c.name}::default_priority::max_connections::1024`);
      for (const h of c.hosts) {
        const p = `${c.name}::${fmt(h)}`;
        rows.push(`${p}::cx_active::0`, `${p}::health_flags::healthy`, `${p}::weight::1`);
      }
    }
    return rows.map((r) => r + '\n').join('');
  }
}
