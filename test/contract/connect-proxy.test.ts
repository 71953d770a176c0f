// Replays 06-builtin-proxy against the double's `consul connect proxy`: the banner and log line
// shapes, the listeners, real bytes from users' upstream 127.0.0.1:<port> to todos' app through
// both proxies (plain TCP instead of mTLS), intentions (deny → accepted then closed with no
// bytes, allow again → works), a plain client on the public listener gets an empty reply, and
// SIGINT → `==> Consul Connect proxy shutdown`, exit 0.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentService, Upstream } from '../doubles/consul/api-client.ts';
import type { StubAgent } from '../doubles/consul/connect/stub-agent.ts';
import { RECORDINGS, startStubAgent } from '../doubles/consul/connect/stub-agent.ts';
import { buildDoubles, CONSUL_DOUBLE } from '../helpers/doubles.ts';
import { freePort, httpGetText } from '../helpers/loopback.ts';

const CONSUL = CONSUL_DOUBLE;

/** Log lines with timestamps, ports, trust domain and roots replaced by placeholders. */
function normalise(line: string): string {
  return line
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/, '<ts>')
    .replace(/:\d+/g, ':<port>')
    .replace(/spiffe:\/\/[^/]+\//, 'spiffe://<td>/')
    .replace(/roots=\[.*\]/, 'roots=[<roots>]');
}

function recordedLines(file: string): string[] {
  return readFileSync(join(RECORDINGS, '06-builtin-proxy', file), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t').slice(2).join('\t'));
}

interface Proxy {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startProxy(args: string[]): Proxy {
  const child = spawn(CONSUL, ['connect', 'proxy', ...args], {
    env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited: new Promise((r) => child.on('exit', (c) => r(c))),
  };
}

async function until(pred: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(25);
  }
}

function sidecar(
  id: string,
  service: string,
  port: number,
  appPort: number,
  upstreams: Upstream[],
): AgentService {
  return {
    Kind: 'connect-proxy',
    ID: `${id}-sidecar-proxy`,
    Service: `${service}-sidecar-proxy`,
    Port: port,
    Address: '',
    Datacenter: 'our_dc',
    Proxy: {
      DestinationServiceName: service,
      DestinationServiceID: id,
      LocalServiceAddress: '127.0.0.1',
      LocalServicePort: appPort,
      Upstreams: upstreams,
    },
  };
}

describe('consul connect proxy (06-builtin-proxy)', () => {
  let c1: StubAgent;
  let c2: StubAgent;
  let todosApp: ReturnType<typeof createHttpServer>;
  let upstreamPort: number;
  let todosPublic: number;
  let users: Proxy;
  let todos: Proxy;

  before(async () => {
    buildDoubles();
    todosApp = createHttpServer((req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ service: 'todos', path: req.url }) + '\n');
    });
    await new Promise<void>((r) => todosApp.listen(0, '127.0.0.1', r));
    const todosAppPort = (todosApp.address() as AddressInfo).port;
    upstreamPort = await freePort();
    todosPublic = await freePort();
    const usersPublic = await freePort();
    const todosSidecar = sidecar('todos-1', 'todos', todosPublic, todosAppPort, []);
    c2 = await startStubAgent({
      services: { 'todos-1-sidecar-proxy': todosSidecar },
      denied: new Set(),
    });
    c1 = await startStubAgent({
      services: {
        'users-1-sidecar-proxy': sidecar('users-1', 'users', usersPublic, 1, [
          { DestinationType: 'service', DestinationName: 'todos', LocalBindPort: upstreamPort },
        ]),
      },
      healthConnect: {
        todos: [{ Node: { Address: '127.0.0.1' }, Service: { ...todosSidecar, Address: '' } }],
      },
    });
    todos = startProxy(['-sidecar-for', 'todos-1', `-http-addr=${c2.address}`]);
    users = startProxy(['-sidecar-for', 'users-1', `-http-addr=${c1.address}`]);
    await until(
      () => /public listener/.test(users.stdout()) && /public listener/.test(todos.stdout()),
    );
  });
  after(async () => {
    users.child.kill('SIGKILL');
    todos.child.kill('SIGKILL');
    todosApp.close();
    await c1.close();
    await c2.close();
  });

  it('prints the recorded banner, then hclog lines indented by 4', () => {
    const rec = recordedLines('proxy-users-1.log');
    const got = users.stdout().split('\n');
    assert.deepEqual(got.slice(0, 7), rec.slice(0, 7));
    assert.deepEqual(got.slice(7, 11).map(normalise), rec.slice(7, 11).map(normalise));
  });

  it('carries bytes: users upstream → todos sidecar → todos app', async () => {
    const res = await httpGetText(upstreamPort, '/hello-from-users');
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { service: 'todos', path: '/hello-from-users' });
  });

  it('a plain client on the public listener gets an empty reply (curl-02)', async () => {
    await assert.rejects(httpGetText(todosPublic, '/hello'), /socket hang up|ECONNRESET/);
  });

  it('deny → accepted, then closed with no bytes; allow again → works (curl-04, curl-05)', async () => {
    c2.options.denied?.add('users=>todos');
    await assert.rejects(httpGetText(upstreamPort, '/after-deny'), /socket hang up|ECONNRESET/);
    await until(() =>
      /authz call denied: service=todos reason="Matched L4 intention: default\/users => default\/todos \(Precedence: 9, Action: DENY\)"/.test(
        todos.stdout(),
      ),
    );
    c2.options.denied?.delete('users=>todos');
    assert.equal((await httpGetText(upstreamPort, '/after-allow-again')).status, 200);
  });

  it('an unknown sidecar: the lookup error, exit 1', async () => {
    const p = startProxy(['-sidecar-for', 'nope-1', `-http-addr=${c1.address}`]);
    assert.equal(await p.exited, 1);
    assert.equal(p.stdout(), '==> Consul Connect proxy starting...\n');
    assert.equal(
      p.stderr(),
      '==> Error preparing configuration: No sidecar proxy registered for nope-1\n',
    );
  });

  it('SIGINT → "==> Consul Connect proxy shutdown", exit 0; the listeners close', async () => {
    users.child.kill('SIGINT');
    assert.equal(await users.exited, 0);
    assert.equal(
      users.stdout().trimEnd().split('\n').at(-1),
      recordedLines('proxy-users-1.log').at(-1),
    );
    await new Promise<void>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: upstreamPort });
      s.on('error', () => resolve());
      s.on('connect', () => {
        s.destroy();
        assert.fail('upstream listener still open');
      });
    });
  });
});
