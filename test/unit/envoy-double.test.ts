// The envoy double's admin API and lifecycle (contract §6 "Envoy admin"): /ready progression,
// /server_info, /stats?filter, /clusters, POST-only mutations (GET → 405, as Envoy 1.36.4 answers:
// test/recordings/envoy-1.36.4/admin-reads.json), 404s, the drain → quit event order, SIGTERM, a
// second envoy on the same admin port, the sidecar's listeners. What the double shares with the
// real Envoy is held to its recordings by test/contract/envoy-admin.test.ts.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { bootstrapText } from '../doubles/consul/connect/bootstrap.ts';
import type { StubAgent } from '../doubles/consul/connect/stub-agent.ts';
import { startStubAgent } from '../doubles/consul/connect/stub-agent.ts';
import { fileURLToPath } from 'node:url';
import { NAME_LOOKUP_GUARD } from '../../src/envoy/index.ts';
import { buildDoubles, ENVOY_DOUBLE } from '../helpers/doubles.ts';
import { eventually, freePort } from '../helpers/loopback.ts';

const ENVOY = ENVOY_DOUBLE;

interface Envoy {
  child: ChildProcess;
  admin: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startEnvoy(config: string, env: Record<string, string>, extra: string[] = []): Envoy {
  const child = spawn(ENVOY, ['--config-path', config, '--disable-hot-restart', ...extra], {
    env: {
      ...process.env,
      ENVOY_DOUBLE_INIT_DELAY_MS: '100',
      ENVOY_DOUBLE_READY_DELAY_MS: '300',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const boot = JSON.parse(readFileSync(config, 'utf8')) as {
    admin: { address: { socket_address: { address: string; port_value: number } } };
  };
  const sa = boot.admin.address.socket_address;
  return {
    child,
    admin: `http://${sa.address}:${sa.port_value}`,
    stderr: () => err,
    exited: new Promise((r) => child.on('exit', (code) => r(code))),
  };
}

async function get(url: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { method });
  return { status: res.status, body: await res.text() };
}

function events(file: string): Record<string, unknown>[] {
  try {
    return readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch {
    return [];
  }
}

describe('envoy double', () => {
  let dir: string;
  let agent: StubAgent;
  let adminPort: number;
  let config: string;
  let app: ReturnType<typeof createServer>;
  const running: ChildProcess[] = [];

  before(async () => {
    buildDoubles();
    dir = mkdtempSync(join(tmpdir(), 'envoy-double-'));
    // users' app on a free port; users-1-sidecar-proxy on another free port
    app = createServer((s) => s.end('hello from users\n'));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    const sidecarPort = await freePort();
    agent = await startStubAgent({
      services: {
        'users-1-sidecar-proxy': {
          Kind: 'connect-proxy',
          ID: 'users-1-sidecar-proxy',
          Service: 'users-sidecar-proxy',
          Port: sidecarPort,
          Address: '',
          Datacenter: 'our_dc',
          Proxy: {
            DestinationServiceName: 'users',
            DestinationServiceID: 'users-1',
            LocalServiceAddress: '127.0.0.1',
            LocalServicePort: (app.address() as AddressInfo).port,
            Upstreams: [],
          },
        },
      },
    });
    adminPort = await freePort();
    config = join(dir, 'bootstrap.json');
    writeFileSync(
      config,
      bootstrapText({
        admin: { address: '127.0.0.1', port: adminPort },
        cluster: 'users',
        proxyId: 'users-1-sidecar-proxy',
        agentGrpc: { address: '127.0.0.1', port: 8502 },
        token: '',
        datacenter: 'our_dc',
      }),
    );
  });
  after(async () => {
    for (const c of running) c.kill('SIGKILL');
    await agent.close();
    app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the admin API: PRE_INITIALIZING/INITIALIZING → LIVE, info, stats, clusters', async () => {
    const ev = join(dir, 'events-1.jsonl');
    const e = startEnvoy(config, {
      ENVOY_DOUBLE_EVENTS: ev,
      ENVOY_DOUBLE_XDS: 'always',
      ENVOY_DOUBLE_CONSUL_HTTP_ADDR: agent.address,
    });
    running.push(e.child);
    const first = await eventually(() => get(`${e.admin}/ready`));
    assert.equal(first.status, 503);
    assert.match(first.body, /^(PRE_INITIALIZING|INITIALIZING)\n$/);
    await eventually(async () =>
      (await get(`${e.admin}/ready`)).status === 200 ? true : undefined,
    );
    assert.deepEqual(await get(`${e.admin}/ready`), { status: 200, body: 'LIVE\n' });

    const info = JSON.parse((await get(`${e.admin}/server_info`)).body) as {
      version: string;
      state: string;
      command_line_options: { drain_time: string };
      node: { id: string; cluster: string };
    };
    assert.match(info.version, /\/1\.20\.2\/Clean\/RELEASE\/BoringSSL$/);
    assert.equal(info.state, 'LIVE');
    assert.equal(info.command_line_options.drain_time, '600s');
    assert.deepEqual([info.node.id, info.node.cluster], ['users-1-sidecar-proxy', 'users']);

    const stats = await get(
      `${e.admin}/stats?filter=^(control_plane\\.connected_state|server\\.state|listener_manager\\.total_listeners_active)$`,
    );
    assert.equal(
      stats.body,
      'control_plane.connected_state: 1\nlistener_manager.total_listeners_active: 1\nserver.state: 0\n',
    );
    const clusters = (await get(`${e.admin}/clusters`)).body;
    assert.match(clusters, /^local_agent::127\.0\.0\.1:8502::health_flags::healthy$/m);
    assert.match(clusters, /^local_app::127\.0\.0\.1:\d+::health_flags::healthy$/m);

    // the public listener accepts TCP ("Connect Sidecar Listening" passes)
    const port = agent.services['users-1-sidecar-proxy']?.Port as number;
    await new Promise<void>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve();
      });
      s.on('error', reject);
    });

    // mutations are POST only (405, nothing done); unknown paths 404 like Envoy
    assert.deepEqual(await get(`${e.admin}/quitquitquit`), {
      status: 405,
      body: 'Method GET not allowed, POST required.',
    });
    assert.equal((await get(`${e.admin}/drain_listeners`)).status, 405);
    const nf = await get(`${e.admin}/nope`);
    assert.equal(nf.status, 404);
    assert.match(nf.body, /^invalid path\. admin commands are:/);

    assert.deepEqual(await get(`${e.admin}/drain_listeners?inboundonly&graceful`, 'POST'), {
      status: 200,
      body: 'OK\n',
    });
    assert.equal(
      (await get(`${e.admin}/ready`)).body,
      'LIVE\n',
      'only healthcheck/fail drains /ready',
    );
    assert.deepEqual(await get(`${e.admin}/healthcheck/fail`, 'POST'), {
      status: 200,
      body: 'OK\n',
    });
    assert.deepEqual(await get(`${e.admin}/ready`), { status: 503, body: 'DRAINING\n' });
    assert.equal((await get(`${e.admin}/quitquitquit`, 'POST')).status, 200);
    assert.equal(await e.exited, 0);

    const admin = events(ev).filter((x) => x.event === 'admin' && x.method === 'POST');
    assert.deepEqual(
      admin.map((x) => x.path),
      ['/drain_listeners?inboundonly&graceful', '/healthcheck/fail', '/quitquitquit'],
    );
    assert.ok(events(ev).every((x) => typeof x.ts === 'string' && x.pid === e.child.pid));
    assert.equal(events(ev).at(-1)?.event, 'exit');
  });

  it("beside Consul 1.10 as Envoy 1.36.4 (recording rejected-listener): an http service's public listener is rejected, LIVE all the same; with the runtime layer it serves", async () => {
    const recording = JSON.parse(
      readFileSync(
        fileURLToPath(
          new URL('../recordings/envoy-1.36.4/rejected-listener.json', import.meta.url),
        ),
        'utf8',
      ),
    ) as { runs: Record<string, unknown>[] };
    const bindName = (text: string) => text.replace(/\d+\.\d+\.\d+\.\d+:\d+/g, '<address>');
    agent.options.protocols = { users: 'http' };
    const layer = JSON.stringify({
      layered_runtime: {
        layers: [{ name: 'meshvisor-name-lookup', static_layer: { [NAME_LOOKUP_GUARD]: false } }],
      },
    });
    const started: Envoy[] = [];
    try {
      for (const [i, extra] of [[], ['--config-yaml', layer]].entries()) {
        const e = startEnvoy(
          config,
          {
            ENVOY_DOUBLE_XDS: 'always',
            ENVOY_DOUBLE_CONSUL_HTTP_ADDR: agent.address,
            ENVOY_DOUBLE_VERSION: '1.36.4',
          },
          extra,
        );
        started.push(e);
        await eventually(async () =>
          (await get(`${e.admin}/ready`)).status === 200 ? true : undefined,
        );
        const ready = await get(`${e.admin}/ready`);
        const listeners = (await get(`${e.admin}/listeners`)).body.split('\n').filter(Boolean);
        const rejected = (
          await get(`${e.admin}/stats?filter=^listener_manager\\.lds\\.update_rejected$`)
        ).body;
        type Config = {
          name?: string;
          active_state?: Record<string, unknown>;
          error_state?: {
            details: string;
            last_update_attempt?: string;
            failed_configuration: { name: string };
          };
        };
        const dump = JSON.parse(
          (await get(`${e.admin}/config_dump?resource=dynamic_listeners`)).body,
        ) as { configs: Config[] };
        const observed = {
          ready: { status: ready.status, body: ready.body },
          listeners,
          lds_update_rejected: Number(rejected.split(': ')[1]),
          dynamic_listeners: dump.configs.map((c) => ({
            name: c.name ?? null,
            ...(c.error_state && {
              error_state: {
                'failed_configuration.name': c.error_state.failed_configuration.name,
                details: c.error_state.details,
                has_last_update_attempt: c.error_state.last_update_attempt !== undefined,
              },
            }),
            ...(c.active_state && { active_state: Object.keys(c.active_state).sort() }),
          })),
        };
        const { run: _run, ...recorded } = recording.runs[i] as Record<string, unknown>;
        assert.deepEqual(
          JSON.parse(bindName(JSON.stringify(observed))),
          JSON.parse(bindName(JSON.stringify(recorded))),
          `as recorded: ${String(_run)}`,
        );
        e.child.kill('SIGTERM');
        await e.exited;
      }
    } finally {
      agent.options.protocols = undefined;
      // the admin port is the next test's: every Envoy of this one is gone first
      for (const e of started) e.child.kill('SIGKILL');
      await Promise.all(started.map((e) => e.exited));
    }
  });

  it('with the agent gRPC port unreachable: PRE_INITIALIZING (CDS), then INITIALIZING (LDS), each for the initial fetch timeout, then LIVE', async () => {
    // as Envoy 1.36.4 with ADS refused (test/recordings/envoy-1.36.4/initializing.json)
    const e = startEnvoy(config, {
      ENVOY_DOUBLE_XDS: 'tcp',
      ENVOY_DOUBLE_INITIAL_FETCH_TIMEOUT_MS: '1500',
    });
    running.push(e.child);
    await eventually(() => get(`${e.admin}/ready`));
    await sleep(600);
    assert.deepEqual(await get(`${e.admin}/ready`), { status: 503, body: 'PRE_INITIALIZING\n' });
    await eventually(async () =>
      (await get(`${e.admin}/ready`)).body === 'INITIALIZING\n' ? true : undefined,
    );
    assert.equal((await get(`${e.admin}/ready`)).status, 503);
    // 1.10 bootstraps have no initial_fetch_timeout override: LIVE with no listeners after it
    await eventually(async () =>
      (await get(`${e.admin}/ready`)).status === 200 ? true : undefined,
    );
    assert.match((await get(`${e.admin}/stats?filter=connected_state`)).body, /: 0\n$/);
    e.child.kill('SIGTERM');
    assert.equal(await e.exited, 0);
  });

  it('a second envoy on the same admin port exits 1 (address in use); SIGTERM exits 0', async () => {
    const a = startEnvoy(config, { ENVOY_DOUBLE_XDS: 'never' });
    running.push(a.child);
    await eventually(() => get(`${a.admin}/ready`));
    const b = startEnvoy(config, { ENVOY_DOUBLE_XDS: 'never' });
    running.push(b.child);
    assert.equal(await b.exited, 1);
    assert.match(b.stderr(), /cannot bind '127\.0\.0\.1:\d+': Address already in use/);
    a.child.kill('SIGTERM');
    assert.equal(await a.exited, 0);
  });

  it('--version and unknown options', async () => {
    const v = spawn(ENVOY, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    v.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    assert.equal(await new Promise((r) => v.on('exit', r)), 0);
    assert.match(out, /envoy {2}version: [0-9a-f]{40}\/1\.20\.2\/Clean\/RELEASE\/BoringSSL/);
    const bad = startEnvoy(config, {}, ['--no-such-option']);
    assert.equal(await bad.exited, 1);
    assert.match(bad.stderr(), /PARSE ERROR: Argument: --no-such-option/);
  });
});
