// images/demo-service/server.mjs, run as the container runs it (`node server.mjs`): two
// instances on free ports, one calling the other through its UPSTREAMS map, the way a demo
// service calls an upstream through its sidecar's local bind port.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

const SERVER = fileURLToPath(new URL('../../images/demo-service/server.mjs', import.meta.url));

interface Started {
  child: ChildProcess;
  port: number;
}

async function start(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, [SERVER], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  try {
    for await (const line of lines) {
      const record = JSON.parse(line) as { msg?: string; port?: number };
      if (record.msg === 'listening' && typeof record.port === 'number') {
        return { child, port: record.port };
      }
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error('demo service exited before listening');
}

async function stop(s: Started | undefined): Promise<number | null> {
  if (!s || s.child.exitCode !== null) return s?.child.exitCode ?? null;
  const exited = once(s.child, 'exit');
  s.child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

describe('demo service', () => {
  let todos: Started | undefined;
  let users: Started | undefined;

  before(async () => {
    todos = await start({ SERVICE_NAME: 'todos' });
    users = await start({
      SERVICE_NAME: 'users',
      // "todos" is the second instance; "gone" is a port nothing listens on.
      UPSTREAMS: `todos=${todos.port}, gone=1`,
      CALL_TIMEOUT_MS: '2000',
    });
  });

  after(async () => {
    await stop(users);
    await stop(todos);
  });

  it('/health answers 200 ok', async () => {
    const res = await get(users!.port, '/health');
    assert.equal(res.status, 200);
    assert.equal(res.body, 'ok\n');
  });

  it('/ answers its name from SERVICE_NAME', async () => {
    const res = await get(users!.port, '/');
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body) as { service: string }).service, 'users');
  });

  it('/call/<upstream> returns the upstream answer', async () => {
    const res = await get(users!.port, '/call/todos');
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body) as {
      service: string;
      upstream: string;
      status: number;
      answer: { service: string };
    };
    assert.equal(body.service, 'users');
    assert.equal(body.upstream, 'todos');
    assert.equal(body.status, 200);
    assert.equal(body.answer.service, 'todos');
  });

  it('/call/<upstream>/<path> forwards the rest of the path', async () => {
    const res = await get(users!.port, '/call/todos/health');
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body) as { answer: string }).answer, 'ok\n');
  });

  it('/slow/<ms> answers only after that long (a request in flight through a drain)', async () => {
    const began = Date.now();
    const answer = await get(users!.port, '/slow/200');
    assert.ok(Date.now() - began >= 190, 'it waited');
    assert.deepEqual(
      [answer.status, JSON.parse(answer.body)],
      [200, { service: 'users', sleptMs: 200 }],
    );
  });

  it('an unknown upstream is a 404 naming the known ones', async () => {
    const res = await get(users!.port, '/call/nope');
    assert.equal(res.status, 404);
    assert.deepEqual((JSON.parse(res.body) as { known: string[] }).known, ['todos', 'gone']);
  });

  it('an unreachable upstream is a 502 with the reason', async () => {
    const res = await get(users!.port, '/call/gone');
    assert.equal(res.status, 502);
    assert.match((JSON.parse(res.body) as { error: string }).error, /127\.0\.0\.1:1\//);
  });

  it('`--check` exits 0 against a live instance and 1 against nothing', async () => {
    const run = async (port: number): Promise<number | null> => {
      const child = spawn(process.execPath, [SERVER, '--check'], {
        env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1' },
        stdio: 'ignore',
      });
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    };
    assert.equal(await run(users!.port), 0);
    assert.equal(await run(1), 1);
  });

  it('a bad UPSTREAMS entry stops the service with a message', async () => {
    const child = spawn(process.execPath, [SERVER], {
      env: { PATH: process.env.PATH ?? '', PORT: '0', UPSTREAMS: 'todos:1234' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 1);
    assert.match(stderr, /not NAME=PORT/);
  });

  it('SIGTERM stops it with exit 0', async () => {
    const extra = await start({ SERVICE_NAME: 'notifications' });
    assert.equal(await stop(extra), 0);
  });
});
