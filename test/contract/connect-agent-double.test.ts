// `consul connect envoy` and `consul connect proxy` against the consul AGENT double (not the
// recorded stub): a -dev agent with users-1 (upstream todos) and todos-1, both with sidecars.
// Envoy double exec'd in place goes LIVE over the agent's gRPC port and opens the public
// listener; two built-in proxies carry a request from users' upstream to todos' app.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildDoubles, CONSUL_DOUBLE } from '../helpers/doubles.ts';
import { eventually, freePort, httpGetText } from '../helpers/loopback.ts';

describe('connect commands against the consul agent double', () => {
  const PATH = `${dirname(CONSUL_DOUBLE)}:${dirname(process.execPath)}:/usr/bin:/bin`;
  const children: ChildProcess[] = [];
  let dir: string;
  let http: number;
  let grpc: number;
  let upstream: number;
  let todosApp: ReturnType<typeof createHttpServer>;

  const run = (args: string[]) => {
    const child = spawn(CONSUL_DOUBLE, args, {
      env: {
        PATH,
        HOME: dir,
        ENVOY_DOUBLE_EVENTS: join(dir, 'envoy-events.jsonl'),
        // the agent's HTTP API is not on <grpc host>:8500 here
        ENVOY_DOUBLE_CONSUL_HTTP_ADDR: `127.0.0.1:${http}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    children.push(child);
    return { child, output: () => out };
  };
  const agentGet = async <T>(path: string): Promise<T> => {
    const r = await fetch(`http://127.0.0.1:${http}${path}`);
    if (!r.ok) throw new Error(`${r.status}`);
    return (await r.json()) as T;
  };

  before(async () => {
    buildDoubles();
    dir = mkdtempSync(join(tmpdir(), 'connect-agent-double-'));
    todosApp = createHttpServer((req, res) => res.end(`todos saw ${req.url}\n`));
    await new Promise<void>((r) => todosApp.listen(0, '127.0.0.1', r));
    [http, grpc, upstream] = [await freePort(), await freePort(), await freePort()];
    const sidecarMin = 30000 + Math.floor(Math.random() * 20000);
    const ports = [await freePort(), await freePort(), await freePort()];
    writeFileSync(
      join(dir, 'agent.json'),
      JSON.stringify({
        node_name: 'n1',
        datacenter: 'our_dc',
        ports: {
          http,
          grpc,
          dns: -1,
          serf_lan: ports[0],
          serf_wan: ports[1],
          server: ports[2],
          sidecar_min_port: sidecarMin,
          sidecar_max_port: sidecarMin + 10,
        },
        services: [
          {
            name: 'users',
            id: 'users-1',
            port: 1,
            connect: {
              sidecar_service: {
                proxy: { upstreams: [{ destination_name: 'todos', local_bind_port: upstream }] },
              },
            },
          },
          {
            name: 'todos',
            id: 'todos-1',
            port: (todosApp.address() as AddressInfo).port,
            connect: { sidecar_service: {} },
          },
        ],
      }),
    );
    const agent = run(['agent', '-dev', `-config-file=${join(dir, 'agent.json')}`]);
    await eventually(
      async () => ((await agentGet<string>('/v1/status/leader')) ? true : undefined),
      { timeoutMs: 20_000, pollMs: 100, what: `the agent's leader (${agent.output()})` },
    );
  });
  after(async () => {
    for (const c of children.reverse()) c.kill('SIGKILL');
    todosApp.close();
    await sleep(100);
    rmSync(dir, { recursive: true, force: true });
  });

  it('connect envoy -sidecar-for: envoy double exec’d in place, LIVE, public listener, quit', async () => {
    const admin = await freePort();
    const envoy = run([
      'connect',
      'envoy',
      '-sidecar-for',
      'users-1',
      `-http-addr=127.0.0.1:${http}`,
      `-grpc-addr=127.0.0.1:${grpc}`,
      '-admin-bind',
      `127.0.0.1:${admin}`,
    ]);
    const ready = await eventually(
      async () => {
        const r = await fetch(`http://127.0.0.1:${admin}/ready`);
        return r.status === 200 ? await r.text() : undefined;
      },
      { timeoutMs: 20_000, pollMs: 100, what: `envoy LIVE (${envoy.output()})` },
    );
    assert.equal(ready, 'LIVE\n');
    const info = (await (await fetch(`http://127.0.0.1:${admin}/server_info`)).json()) as {
      node: { id: string; cluster: string };
    };
    assert.deepEqual(info.node, { ...info.node, id: 'users-1-sidecar-proxy', cluster: 'users' });
    const stats = await (
      await fetch(`http://127.0.0.1:${admin}/stats?filter=connected_state`)
    ).text();
    assert.equal(stats, 'control_plane.connected_state: 1\n');
    const svc = await agentGet<{ Port: number }>('/v1/agent/service/users-1-sidecar-proxy');
    await new Promise<void>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: svc.Port }, () => (s.destroy(), resolve()));
      s.on('error', reject);
    });
    const quit = await fetch(`http://127.0.0.1:${admin}/quitquitquit`, { method: 'POST' });
    assert.equal(quit.status, 200);
    const code = await new Promise((r) => envoy.child.on('exit', (c) => r(c)));
    assert.equal(code, 0);
    assert.match(envoy.output(), /Bootstrap sent, unlinking named pipe/);
  });

  it('connect proxy: users upstream → todos sidecar → todos app through the agent double', async () => {
    const todos = run([
      'connect',
      'proxy',
      '-sidecar-for',
      'todos-1',
      `-http-addr=127.0.0.1:${http}`,
    ]);
    const users = run([
      'connect',
      'proxy',
      '-sidecar-for',
      'users-1',
      `-http-addr=127.0.0.1:${http}`,
    ]);
    // todos' sidecar must pass its checks before /v1/health/connect/todos?passing lists it
    const res = await eventually(
      async () => {
        const r = await httpGetText(upstream, '/hello-from-users');
        return r.status === 200 ? r : undefined;
      },
      {
        timeoutMs: 40_000,
        pollMs: 100,
        what: `a reply through the proxies (${users.output()}\n${todos.output()})`,
      },
    );
    assert.equal(res.body, 'todos saw /hello-from-users\n');
  });
});
