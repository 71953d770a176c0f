// `meshvisor status` from the bundle, as a HEALTHCHECK runs it, against a real status server
// started here with a fabricated NodeStatus.
//
// The bundle runs asynchronously (runBundleAsync, not spawnSync): the status server
// lives in this process, and a blocked event loop could not answer the CLI it is waiting for.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { BUNDLE, runBundleAsync } from '../helpers/cli.ts';
import { createLogger } from '../../src/log.ts';
import { startStatusServer, type NodeStatus, type StatusServer } from '../../src/status/index.ts';
import { nodeStatus, program, stage } from '../helpers/status-fixture.ts';

const logger = createLogger({ level: 'silent' });
const repo = fileURLToPath(new URL('../../', import.meta.url));

before(() => {
  // `npm test` builds first; rebuild only when the bundle is missing or older than this code.
  const sources = ['src/cli/status.ts', 'src/cli/main.ts', 'src/status/model.ts'];
  const bundleTime = mtime(BUNDLE);
  if (sources.some((file) => mtime(repo + file) > bundleTime)) {
    const build = spawnSync(process.execPath, ['scripts/build.mjs'], {
      cwd: repo,
      stdio: 'inherit',
    });
    assert.equal(build.status, 0, 'node scripts/build.mjs failed');
  }
});

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

const httpUp = stage('http-up', 'done', {
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:00:00.120Z',
  durationSeconds: 0.12,
});

/** Up 1h02m03s, both stages done; consul and the users sidecar (restarted after a kill -9) ready. */
const ready: Partial<NodeStatus> = {
  uptimeSeconds: 3723,
  stages: [
    httpUp,
    stage('leader-known', 'done', {
      startedAt: '2026-01-01T00:00:00.120Z',
      finishedAt: '2026-01-01T00:00:08.620Z',
      durationSeconds: 8.5,
    }),
  ],
  programs: [
    program('consul', { pid: 4242 }),
    program('sidecar:users-1', {
      pid: 4343,
      restarts: 2,
      lastExit: { code: null, signal: 'SIGKILL', at: '2026-01-01T00:00:20.000Z' },
    }),
  ],
};

const notReady: Partial<NodeStatus> = {
  ...ready,
  ready: false,
  stage: 'leader-known',
  reason: 'stage leader-known: No known Consul servers',
  stages: [
    httpUp,
    stage('leader-known', 'running', {
      startedAt: '2026-01-01T00:00:00.120Z',
      durationSeconds: 4.25,
      error: 'No known Consul servers\n(retrying)',
    }),
  ],
};

async function withServer(
  status: NodeStatus,
  body: (server: StatusServer) => Promise<void>,
): Promise<void> {
  const server = await startStatusServer({
    listen: '127.0.0.1:0',
    getStatus: () => status,
    logger,
  });
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

/** A loopback port with nothing listening: bound, noted, released. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

test('--ready exits 0 and prints "ready" when the node is ready', async () => {
  await withServer(nodeStatus(ready), async ({ url }) => {
    const r = await runBundleAsync(['status', '--ready', '--url', url]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ready\n');
    assert.equal(r.stderr, '');
  });
});

test('--ready exits 1 with the reason when the node is not ready', async () => {
  await withServer(nodeStatus(notReady), async ({ url }) => {
    const r = await runBundleAsync(['status', '--ready', '--url', url]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'not ready: stage leader-known: No known Consul servers\n');
  });
});

test('--ready exits 1 with one line on stderr when nothing listens', async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const r = await runBundleAsync(['status', '--ready', '--url', url]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `meshvisor status: cannot reach ${url}: connection refused\n`);
});

test('--ready gives up after 3 s on an endpoint that accepts but never answers', async () => {
  const sockets = new Set<Socket>();
  const silent: Server = createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    const started = Date.now();
    const r = await runBundleAsync(['status', '--ready', '--url', url]);
    const elapsed = Date.now() - started;
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `meshvisor status: cannot reach ${url}: no answer within 3 s\n`);
    assert.ok(elapsed >= 2_900 && elapsed < 15_000, `took ${elapsed} ms`);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});

test('an answer cut off mid-body exits 1, never 0', async () => {
  const cut = createHttpServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' });
    res.write('{"ready":');
    setTimeout(() => res.socket?.destroy(), 100);
  });
  await new Promise<void>((resolve) => cut.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(cut.address() as { port: number }).port}`;
    for (const args of [['--ready'], []]) {
      const r = await runBundleAsync(['status', ...args, '--url', url]);
      assert.equal(r.code, 1, args.join(' '));
      assert.equal(r.stderr, `meshvisor status: cannot reach ${url}: connection reset\n`);
    }
  } finally {
    cut.closeAllConnections();
    await new Promise<void>((resolve) => cut.close(() => resolve()));
  }
});

test('--ready --json prints the /readyz document', async () => {
  await withServer(nodeStatus(notReady), async ({ url }) => {
    const r = await runBundleAsync(['status', '--ready', '--json', '--url', url]);
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.stdout), {
      ready: false,
      stage: 'leader-known',
      reason: 'stage leader-known: No known Consul servers',
    });
  });
});

test('$MESHVISOR_STATUS_URL is used when --url is absent; --url wins over it', async () => {
  await withServer(nodeStatus(ready), async ({ url }) => {
    const fromEnv = await runBundleAsync(['status', '--ready'], { MESHVISOR_STATUS_URL: url });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    const dead = `http://127.0.0.1:${await freePort()}`;
    const flag = await runBundleAsync(['status', '--ready', '--url', dead], {
      MESHVISOR_STATUS_URL: url,
    });
    assert.equal(flag.code, 1);
    assert.match(flag.stderr, new RegExp(`cannot reach ${dead}`));
  });
});

test('a URL without a scheme is taken as http://', async () => {
  await withServer(nodeStatus(ready), async ({ address }) => {
    const r = await runBundleAsync(['status', '--ready', '--url', `127.0.0.1:${address.port}`]);
    assert.equal(r.code, 0, r.stderr);
  });
});

test('--json prints the status document, which parses back to what the server holds', async () => {
  const status = nodeStatus(notReady);
  await withServer(status, async ({ url }) => {
    const r = await runBundleAsync(['status', '--json', '--url', url]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), status);
  });
});

test('the table shows identity, readiness, stages, programs and config entries (ready)', async () => {
  await withServer(nodeStatus(ready), async ({ url }) => {
    const r = await runBundleAsync(['status', '--url', url]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout;
    assert.match(out, /^node +c1-node \(client, datacenter our_dc, meshvisor 0\.1\.0\)$/m);
    assert.match(out, /^address +10\.0\.0\.5$/m);
    assert.match(out, /^ready +yes$/m);
    assert.match(out, /^uptime +1h02m03s$/m);
    assert.match(out, /^consul +leader 10\.0\.1\.10:8300, 3 members$/m);
    assert.match(out, /^STAGE +STATE +DURATION +ERROR$/m);
    assert.match(out, /^http-up +done +0\.12s$/m);
    assert.match(out, /^leader-known +done +8\.5s$/m);
    assert.match(out, /^PROGRAM +KIND +STATE +PID +RESTARTS +READY +LAST EXIT$/m);
    assert.match(out, /^consul +consul +ready +4242 +0 +yes +-$/m);
    assert.match(out, /^sidecar:users-1 +sidecar +ready +4343 +2 +yes +signal SIGKILL, .+ ago$/m);
    assert.match(out, /^service-defaults\/users +written$/m);
    assert.doesNotMatch(out, / +$/m, 'no trailing spaces');
    assert.doesNotMatch(out, /^degraded/m);
  });
});

test('the table of a ready node that lost its servers says degraded, since when and why', async () => {
  const degraded = {
    ...ready,
    consul: { leader: null, members: 2 },
    degraded: { since: '2026-01-01T00:10:00.000Z', reason: 'No known Consul servers' },
  };
  await withServer(nodeStatus(degraded), async ({ url }) => {
    const r = await runBundleAsync(['status', '--url', url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ready +yes$/m);
    assert.match(r.stdout, /^consul +no leader known, 2 members$/m);
    assert.match(r.stdout, /^degraded +since 2026-01-01T00:10:00\.000Z: No known Consul servers$/m);
  });
});

test('the table of a node not ready gives the reason and keeps an error on one line', async () => {
  await withServer(nodeStatus(notReady), async ({ url }) => {
    const r = await runBundleAsync(['status', '--url', url]);
    assert.equal(r.code, 0, 'reading a not-ready status is not a failure of `status`');
    assert.match(r.stdout, /^stage +leader-known$/m);
    assert.match(r.stdout, /^ready +no: stage leader-known: No known Consul servers$/m);
    assert.match(
      r.stdout,
      /^leader-known +running +4\.25s +No known Consul servers \(retrying\)$/m,
    );
  });
});

test('status without --ready exits 1 when nothing listens', async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const r = await runBundleAsync(['status', '--url', url]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `meshvisor status: cannot reach ${url}: connection refused\n`);
});

test('something that is not a meshvisor status endpoint exits 1 and says so', async () => {
  await withServer(nodeStatus(ready), async ({ url }) => {
    // The status server answers 404 below /elsewhere.
    const r = await runBundleAsync(['status', '--url', `${url}/elsewhere`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\/elsewhere\/status answered HTTP 404; is this a meshvisor/);
    const ready = await runBundleAsync(['status', '--ready', '--url', `${url}/elsewhere`]);
    assert.equal(ready.code, 1);
    assert.match(ready.stderr, /\/elsewhere\/readyz answered HTTP 404/);
  });
});

test('a URL that is not http is a usage error (64)', async () => {
  for (const url of ['https://127.0.0.1:9555', 'http://']) {
    const r = await runBundleAsync(['status', '--url', url]);
    assert.equal(r.code, 64, url);
    assert.match(r.stderr, /^meshvisor status: bad --url/, url);
  }
});
