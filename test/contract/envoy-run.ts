// One Envoy (the real binary or the envoy double) for one test of test/contract/envoy-admin.test.ts:
// a temp dir with a generated bootstrap, a local app behind it, free ports, the process, and its
// answers with the ports replaced by names (<admin>, <inbound>, …) so runs compare. Everything it
// starts is killed and removed in the test's t.after.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, freePort } from '../helpers/loopback.ts';

/** The drain time every Envoy gets (`--drain-time-s`) unless a scenario says otherwise. */
export const DRAIN_TIME_S = 2;

export interface Program {
  bin: string;
  env?: Record<string, string>;
}

/**
 * `static`: admin, an inbound `public_listener:127.0.0.1:<port>` (traffic_direction INBOUND) and
 * an outbound `db:127.0.0.1:<port>` (OUTBOUND), each an http_connection_manager with the typed
 * router, to the static clusters `local_app` and `db` (both the test's app); nothing dynamic.
 * `ads`: a Consul-shaped bootstrap (LDS and CDS over delta ADS from the static `local_agent`
 * cluster) whose agent port refuses, with `initial_fetch_timeout` set on both.
 */
export type BootstrapKind = 'static' | 'ads';

export interface RunOptions {
  drainTimeS?: number;
  /** `ads` only: initial_fetch_timeout of cds_config and lds_config, seconds. */
  fetchTimeoutS?: number;
}

/** An admin answer: what the recordings hold of it. */
export interface Answer {
  status: number;
  content_type: string | null;
  body: string;
}

export type Exit = { code: number | null; signal: string | null } | { still_running: true };

/** A request through one of Envoy's listeners: the answer, or how the connection failed. */
export type ProxyResult = { status: number; body: string } | { error: string };

let baseIds = 0;

const socketAddress = (port: number) => ({
  socket_address: { address: '127.0.0.1', port_value: port },
});

function httpListener(name: string, direction: string, port: number, cluster: string) {
  return {
    name,
    traffic_direction: direction,
    address: socketAddress(port),
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type':
                'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: name.split(':')[0],
              route_config: {
                name: cluster,
                virtual_hosts: [
                  {
                    name: cluster,
                    domains: ['*'],
                    routes: [{ match: { prefix: '/' }, route: { cluster } }],
                  },
                ],
              },
              http_filters: [
                {
                  name: 'envoy.filters.http.router',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
                  },
                },
              ],
            },
          },
        ],
      },
    ],
  };
}

function staticCluster(name: string, port: number, http2 = false) {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    ...(http2
      ? {
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
        }
      : {}),
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(port) } }] }],
    },
  };
}

/** The test's app: answers `hello <path>`, except /held/* which waits for release(). */
class App {
  private readonly server = createServer((req, res) => this.handle(req, res));
  private readonly held: ServerResponse[] = [];
  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.url?.startsWith('/held')) this.held.push(res);
    else res.end(`hello ${req.url}\n`);
  }

  heldCount(): number {
    return this.held.length;
  }

  release(): void {
    for (const res of this.held.splice(0)) res.end('released\n');
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

export class EnvoyRun {
  readonly dir = mkdtempSync(join(tmpdir(), 'envoy-admin-'));
  private readonly app = new App();
  private proc?: ChildProcess;
  private exitP?: Promise<{ code: number | null; signal: string | null }>;
  stderr = '';
  /** Port by name, for the bodies: <admin>, <inbound>, <outbound>, <app>, <agent>. */
  readonly ports = new Map<string, number>();

  private constructor(
    private readonly program: Program,
    readonly kind: BootstrapKind,
    readonly opts: RunOptions,
  ) {}

  /** Starts the app and Envoy; everything is stopped and removed in t.after. */
  static async start(
    t: { after(fn: () => Promise<void>): void },
    program: Program,
    kind: BootstrapKind,
    opts: RunOptions = {},
  ): Promise<EnvoyRun> {
    const run = new EnvoyRun(program, kind, opts);
    t.after(() => run.stop());
    await run.app.start();
    run.ports.set('app', run.app.port);
    for (const name of ['admin', 'inbound', 'outbound', 'agent']) {
      run.ports.set(name, await freePort());
    }
    run.spawn();
    return run;
  }

  private port(name: string): number {
    return this.ports.get(name) as number;
  }

  bootstrap(): object {
    const admin = { address: socketAddress(this.port('admin')) };
    const node = { id: 'web-sidecar-proxy', cluster: 'web' };
    if (this.kind === 'ads') {
      const fetch = `${this.opts.fetchTimeoutS ?? 3}s`;
      const xds = { ads: {}, resource_api_version: 'V3', initial_fetch_timeout: fetch };
      return {
        admin,
        node,
        static_resources: { clusters: [staticCluster('local_agent', this.port('agent'), true)] },
        dynamic_resources: {
          lds_config: xds,
          cds_config: xds,
          ads_config: {
            api_type: 'DELTA_GRPC',
            transport_api_version: 'V3',
            grpc_services: [{ envoy_grpc: { cluster_name: 'local_agent' } }],
          },
        },
      };
    }
    const inbound = this.port('inbound');
    const outbound = this.port('outbound');
    return {
      admin,
      node,
      static_resources: {
        listeners: [
          httpListener(`public_listener:127.0.0.1:${inbound}`, 'INBOUND', inbound, 'local_app'),
          httpListener(`db:127.0.0.1:${outbound}`, 'OUTBOUND', outbound, 'db'),
        ],
        clusters: [staticCluster('local_app', this.app.port), staticCluster('db', this.app.port)],
      },
    };
  }

  private spawn(): void {
    const config = join(this.dir, 'bootstrap.json');
    writeFileSync(config, JSON.stringify(this.bootstrap(), null, 2));
    const baseId = (process.pid % 40_000) * 100 + (baseIds++ % 100);
    const drain = String(this.opts.drainTimeS ?? DRAIN_TIME_S);
    const args = ['--config-path', config, '--disable-hot-restart', '--base-id', String(baseId)];
    const proc = spawn(
      this.program.bin,
      [...args, '--drain-time-s', drain, '--log-level', 'info'],
      {
        env: { ...process.env, ...this.program.env },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    proc.stderr?.on(
      'data',
      (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-20_000)),
    );
    this.exitP = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
    this.proc = proc;
  }

  running(): boolean {
    return this.proc?.exitCode === null && this.proc.signalCode === null;
  }

  signal(sig: NodeJS.Signals): void {
    this.proc?.kill(sig);
  }

  /** How the process ended, or that it still runs after `timeoutMs`. */
  async exit(timeoutMs = 15_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Exit>((r) => {
      timer = setTimeout(() => r({ still_running: true }), timeoutMs);
    });
    try {
      return await Promise.race([this.exitP as Promise<Exit>, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async stop(): Promise<void> {
    if (this.running()) {
      this.proc?.kill('SIGKILL');
      await this.exit(5000);
    }
    await this.app.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Ports in a text replaced by their names (`127.0.0.1:<inbound>`, `127.0.0.1_<inbound>`). */
  norm(text: string): string {
    let out = text;
    for (const [name, port] of this.ports) {
      out = out.replace(new RegExp(`([:_])${port}\\b`, 'g'), `$1<${name}>`);
    }
    return out;
  }

  /** A JSON value with its ports named: strings as in norm(), `port_value` numbers too. */
  normJson(value: unknown): unknown {
    if (typeof value === 'string') return this.norm(value);
    if (Array.isArray(value)) return value.map((v) => this.normJson(v));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const name = [...this.ports].find(([, p]) => p === v)?.[0];
        out[this.norm(k)] = k === 'port_value' && name ? `<${name}>` : this.normJson(v);
      }
      return out;
    }
    return value;
  }

  /** An admin call; the body with its ports named. */
  async admin(method: string, path: string): Promise<Answer> {
    const res = await fetch(`http://127.0.0.1:${this.port('admin')}${path}`, {
      method,
      signal: AbortSignal.timeout(10_000),
    });
    const body = await res.text();
    return {
      status: res.status,
      content_type: res.headers.get('content-type'),
      body: this.norm(body),
    };
  }

  /** An admin call answering JSON: status, content type and the parsed body (ports named). */
  async adminJson(
    path: string,
  ): Promise<{ status: number; content_type: string | null; json: unknown }> {
    const a = await this.admin('GET', path);
    return {
      status: a.status,
      content_type: a.content_type,
      json: this.normJson(JSON.parse(a.body)),
    };
  }

  /** The first answer of the admin API (polled from the start), whatever it is. */
  firstAnswer(path = '/ready'): Promise<Answer> {
    return eventually(() => this.admin('GET', path), {
      timeoutMs: 20_000,
      pollMs: 20,
      what: `${this.program.bin}'s admin API (stderr: ${this.stderr.slice(-2000)})`,
    });
  }

  /** Polls /ready until 200. */
  async live(): Promise<void> {
    await eventually(
      async () => ((await this.admin('GET', '/ready')).status === 200 ? true : undefined),
      {
        timeoutMs: 30_000,
        pollMs: 50,
        what: `/ready 200 (stderr: ${this.stderr.slice(-2000)})`,
      },
    );
  }

  /** GET <path> through the inbound or outbound listener, on a fresh connection. */
  through(listener: 'inbound' | 'outbound', path: string): Promise<ProxyResult> {
    return new Promise((resolve) => {
      const req = request(
        { host: '127.0.0.1', port: this.port(listener), path, agent: false, timeout: 20_000 },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
        },
      );
      req.on('timeout', () =>
        req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })),
      );
      req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
      req.end();
    });
  }

  /**
   * A request through the inbound listener that the app holds until releaseHeld(); resolves once
   * the app has it, with the request's answer to come (wrapped: an async function would wait).
   */
  async heldRequest(): Promise<{ answer: Promise<ProxyResult> }> {
    const before = this.app.heldCount();
    const result = this.through('inbound', '/held');
    await eventually(async () => (this.app.heldCount() > before ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the held request to reach the app',
    });
    return { answer: result };
  }

  releaseHeld(): void {
    this.app.release();
  }

  /** Whether a TCP connection to the listener is accepted now, or how it fails. */
  connects(listener: 'inbound' | 'outbound'): Promise<'accepted' | string> {
    return new Promise((resolve) => {
      const s = connect({ host: '127.0.0.1', port: this.port(listener) });
      s.setTimeout(5000, () => {
        s.destroy();
        resolve('timeout');
      });
      s.once('connect', () => {
        s.destroy();
        resolve('accepted');
      });
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
  }

  /** Polls until the listener refuses connections; returns the ms it took. */
  async refusedWithin(listener: 'inbound' | 'outbound', timeoutMs: number): Promise<number> {
    const t0 = Date.now();
    await eventually(
      async () => ((await this.connects(listener)) === 'ECONNREFUSED' ? true : undefined),
      {
        timeoutMs,
        pollMs: 50,
        what: `the ${listener} listener to refuse connections`,
      },
    );
    return Date.now() - t0;
  }
}
