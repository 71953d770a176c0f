import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { createLogger } from '../../src/log.ts';
import { listenUrl, parseListenAddress } from '../../src/spec/index.ts';
import {
  startStatusServer,
  type NodeStatus,
  type ReloadStatus,
  type StatusServer,
} from '../../src/status/index.ts';
import { nodeStatus } from '../helpers/status-fixture.ts';

const logger = createLogger({ level: 'silent' });

const notReady: Partial<NodeStatus> = {
  ready: false,
  stage: 'leader-known',
  reason: 'stage leader-known: No known Consul servers',
};

/** Starts a server on a free loopback port and always closes it, whatever the test does. */
async function withServer(
  getStatus: () => NodeStatus,
  body: (server: StatusServer) => Promise<void>,
): Promise<void> {
  const server = await startStatusServer({
    listen: '127.0.0.1:0',
    getStatus: () => getStatus(),
    logger,
  });
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

test('port 0 binds a free port and url/address say which', async () => {
  await withServer(nodeStatus, async (server) => {
    assert.equal(server.address.host, '127.0.0.1');
    assert.ok(server.address.port > 0);
    assert.equal(server.url, `http://127.0.0.1:${server.address.port}`);
  });
});

test('GET /healthz answers 200 ok as text', async () => {
  await withServer(nodeStatus, async ({ url }) => {
    const res = await fetch(`${url}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(await res.text(), 'ok\n');
  });
});

test('/healthz answers 200 even while the node is not ready', async () => {
  await withServer(
    () => nodeStatus(notReady),
    async ({ url }) => {
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
    },
  );
});

test('GET /readyz follows status.ready on every request: 200 ready, 503 with stage and reason', async () => {
  let current = nodeStatus(notReady);
  await withServer(
    () => current,
    async ({ url }) => {
      const before = await fetch(`${url}/readyz`);
      assert.equal(before.status, 503);
      assert.equal(before.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.deepEqual(await before.json(), {
        ready: false,
        stage: 'leader-known',
        reason: 'stage leader-known: No known Consul servers',
      });

      current = nodeStatus();
      const after = await fetch(`${url}/readyz`);
      assert.equal(after.status, 200);
      assert.deepEqual(await after.json(), { ready: true });
    },
  );
});

test('GET /status serves the NodeStatus as compact JSON ending in a newline', async () => {
  const status = nodeStatus(notReady);
  await withServer(
    () => status,
    async ({ url }) => {
      const res = await fetch(`${url}/status`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const text = await res.text();
      assert.equal(text, JSON.stringify(status) + '\n');
    },
  );
});

test('GET /status?pretty indents the same document', async () => {
  const status = nodeStatus();
  await withServer(
    () => status,
    async ({ url }) => {
      const text = await (await fetch(`${url}/status?pretty`)).text();
      assert.equal(text, JSON.stringify(status, null, 2) + '\n');
    },
  );
});

test('GET /metrics serves Prometheus text 0.0.4 of the current status', async () => {
  await withServer(
    () => nodeStatus(notReady),
    async ({ url }) => {
      const res = await fetch(`${url}/metrics`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
      const text = await res.text();
      assert.match(text, /^# TYPE meshvisor_ready gauge$/m);
      assert.match(text, /^meshvisor_ready 0$/m);
      assert.match(text, /^meshvisor_program_up\{program="consul",kind="consul"\} 1$/m);
    },
  );
});

test('HEAD answers like GET: same status and headers, no body', async () => {
  await withServer(
    () => nodeStatus(notReady),
    async ({ url }) => {
      for (const path of ['/healthz', '/readyz', '/status', '/metrics']) {
        const get = await fetch(url + path);
        const getBody = await get.text();
        const head = await fetch(url + path, { method: 'HEAD' });
        assert.equal(head.status, get.status, path);
        assert.equal(head.headers.get('content-type'), get.headers.get('content-type'), path);
        assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(getBody)), path);
        assert.equal(await head.text(), '', path);
      }
    },
  );
});

test('other methods answer 405 with Allow: GET, HEAD', async () => {
  await withServer(nodeStatus, async ({ url }) => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await fetch(`${url}/status`, { method });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'GET, HEAD', method);
      assert.match(await res.text(), new RegExp(`method ${method} not allowed`));
    }
  });
});

test('an unknown path answers 404 naming the routes; no prefix matching', async () => {
  await withServer(nodeStatus, async ({ url }) => {
    for (const path of ['/nope', '/status/extra', '/healthzz', '/index.html']) {
      const res = await fetch(url + path);
      assert.equal(res.status, 404, path);
      assert.match(
        await res.text(),
        /try \/ \(the page\), \/healthz, \/readyz, \/status, \/metrics/,
      );
    }
  });
});

test('/ serves the status page without reading the node; HEAD answers the same headers', async () => {
  let reads = 0;
  await withServer(
    () => {
      reads += 1;
      return nodeStatus();
    },
    async ({ url }) => {
      const res = await fetch(`${url}/`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
      // Only its own style and script (by hash), requests to this origin, and no form target.
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /^default-src 'none'; /);
      assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/]+=*'(;|$)/);
      assert.match(csp, /connect-src 'self'/);
      assert.match(csp, /form-action 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      const html = await res.text();
      assert.match(html, /^<!doctype html>/);
      assert.match(html, /fetch\('\/status'/);
      const head = await fetch(`${url}/`, { method: 'HEAD' });
      assert.equal(head.headers.get('content-length'), res.headers.get('content-length'));
      assert.equal(reads, 0, 'the page reads /status itself');
    },
  );
});

test('a getStatus that throws answers 500, and the server keeps serving', async () => {
  let broken = true;
  await withServer(
    () => {
      if (broken) throw new Error('board exploded');
      return nodeStatus();
    },
    async ({ url }) => {
      const res = await fetch(`${url}/status`);
      assert.equal(res.status, 500);
      assert.doesNotMatch(await res.text(), /board exploded/);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      broken = false;
      assert.equal((await fetch(`${url}/readyz`)).status, 200);
    },
  );
});

test('listening on a taken port fails with an Error naming the address', async () => {
  await withServer(nodeStatus, async ({ address }) => {
    const listen = `127.0.0.1:${address.port}`;
    await assert.rejects(
      startStatusServer({ listen, getStatus: () => nodeStatus(), logger }),
      (err: Error) => {
        assert.match(err.message, new RegExp(`cannot listen on ${listen}: address already in use`));
        assert.equal((err.cause as NodeJS.ErrnoException).code, 'EADDRINUSE');
        return true;
      },
    );
  });
});

test('an IP this host does not have fails with an Error naming the address', async () => {
  // TEST-NET-1 (RFC 5737): never assigned to a local interface.
  await assert.rejects(
    startStatusServer({ listen: '192.0.2.1:0', getStatus: () => nodeStatus(), logger }),
    /cannot listen on 192\.0\.2\.1:0: address not available/,
  );
});

test('bad listen addresses are rejected before binding, naming the value', async () => {
  for (const listen of [
    'localhost:9555',
    '127.0.0.1',
    '127.0.0.1:',
    '127.0.0.1:65536',
    '127.0.0.1:95a5',
    '::1:9555',
    '[127.0.0.1]:9555',
    '[::1]9555',
    '300.0.0.1:9555',
    '',
  ]) {
    await assert.rejects(
      startStatusServer({ listen, getStatus: () => nodeStatus(), logger }),
      (err: Error) => err.message.includes(`bad listen address "${listen}"`),
      listen,
    );
  }
});

test('parseListenAddress reads IPv4 and bracketed IPv6, and listenUrl reaches them', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:9555'), { host: '127.0.0.1', port: 9555 });
  assert.deepEqual(parseListenAddress('0.0.0.0:0'), { host: '0.0.0.0', port: 0 });
  assert.deepEqual(parseListenAddress('[::1]:9555'), { host: '::1', port: 9555 });
  assert.deepEqual(parseListenAddress('[fe80::1%eth0]:1'), { host: 'fe80::1%eth0', port: 1 });
  assert.equal(listenUrl('10.0.0.5:9555'), 'http://10.0.0.5:9555');
  assert.equal(listenUrl('0.0.0.0:9555'), 'http://127.0.0.1:9555');
  assert.equal(listenUrl('[::]:9555'), 'http://[::1]:9555');
  assert.equal(listenUrl({ host: 'fe80::1%eth0', port: 1 }), 'http://[fe80::1%eth0]:1');
});

test('IPv6 loopback: url brackets the host', async (t) => {
  let server: StatusServer;
  try {
    server = await startStatusServer({ listen: '[::1]:0', getStatus: () => nodeStatus(), logger });
  } catch (err) {
    t.skip(`no IPv6 loopback here: ${(err as Error).message}`);
    return;
  }
  try {
    assert.equal(server.url, `http://[::1]:${server.address.port}`);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  } finally {
    await server.close();
  }
});

test('a wildcard bind advertises a loopback url', async () => {
  await withServerAt('0.0.0.0:0', async (server) => {
    assert.equal(server.address.host, '0.0.0.0');
    assert.equal(server.url, `http://127.0.0.1:${server.address.port}`);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });
});

test('close() does not wait for idle keep-alive connections, and may be called twice', async () => {
  const server = await startStatusServer({
    listen: '127.0.0.1:0',
    getStatus: () => nodeStatus(),
    logger,
  });
  const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
  try {
    const code = await new Promise<number | undefined>((resolve, reject) => {
      request(`${server.url}/healthz`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      })
        .on('error', reject)
        .end();
    });
    assert.equal(code, 200);
    const started = Date.now();
    await Promise.all([server.close(), server.close()]);
    assert.ok(Date.now() - started < 2_000, 'close waited on the keep-alive socket');
    await assert.rejects(fetch(`${server.url}/healthz`));
  } finally {
    agent.destroy();
    await server.close();
  }
});

test('after close() the port is free again', async () => {
  const server = await startStatusServer({
    listen: '127.0.0.1:0',
    getStatus: () => nodeStatus(),
    logger,
  });
  await server.close();
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(server.address.port, '127.0.0.1', resolve);
    });
  } finally {
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
});

async function withServerAt(listen: string, body: (s: StatusServer) => Promise<void>) {
  const server = await startStatusServer({ listen, getStatus: () => nodeStatus(), logger });
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

test('POST /reload answers how the reload ended (200, 409, 422, 500); other methods 405; without a handler the endpoint stays read-only', async () => {
  let result: ReloadStatus['result'] = 'applied';
  const server = await startStatusServer({
    listen: '127.0.0.1:0',
    getStatus: () => nodeStatus(),
    onReload: async () => ({ at: '2026-01-01T00:00:00.000Z', result, problems: [], changes: [] }),
    logger,
  });
  try {
    const post = () => fetch(`${server.url}/reload`, { method: 'POST' });
    const codes: number[] = [];
    for (const r of ['applied', 'unchanged', 'refused', 'invalid', 'failed'] as const) {
      result = r;
      const res = await post();
      assert.equal(((await res.json()) as ReloadStatus).result, r);
      codes.push(res.status);
    }
    assert.deepEqual(codes, [200, 200, 409, 422, 500]);
    const get = await fetch(`${server.url}/reload`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
  } finally {
    await server.close();
  }
  await withServer(nodeStatus, async (plain) => {
    assert.equal((await fetch(`${plain.url}/reload`, { method: 'POST' })).status, 405);
  });
});
