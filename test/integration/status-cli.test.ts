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
import { busyMesh, events, nodeStatus, program, stage } from '../helpers/status-fixture.ts';

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
  const status = nodeStatus({ ...notReady, mesh: busyMesh(), events: events(3) });
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

test('after the config entries: services and checks, upstreams, proxies, certificates', async () => {
  await withServer(nodeStatus({ ...ready, mesh: busyMesh() }), async ({ url }) => {
    const r = await runBundleAsync(['status', '--url', url]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout;
    assert.match(out, /^mesh +read 1\.5s ago$/m);
    assert.match(out, /^mesh error +envoy gateway:ingress-service: connect ECONNREFUSED/m);
    assert.ok(out.indexOf('CONFIG ENTRY') < out.indexOf('SERVICE '), 'the mesh comes after');
    assert.match(out, /^SERVICE +NAME +STATUS +CHECK +OUTPUT$/m);
    assert.match(out, /^users-1 +users +passing +Service 'users' check +HTTP GET http/m);
    // A service's further checks leave its id and name blank; the output is on one line, cut.
    assert.match(out, /^ {20,}critical +Connect Sidecar Aliasing users-1 +No checks found\. x+…$/m);
    for (const line of out.split('\n')) {
      if (line.includes('Connect Sidecar'))
        assert.ok(line.length <= 120, `${line.length}: ${line}`);
    }
    assert.match(out, /^SOURCE +UPSTREAM +PORT +HEALTHY +ALLOWED +STATUS$/m);
    assert.match(out, /^users +todos@our_dc +1234 +1\/1 +yes +ok$/m);
    // The reason is the diagnosis: printed whole, never cut.
    assert.match(
      out,
      /^users +notifications@our_dc +1235 +0\/2 +no +no healthy instance: .*connection refused \(and 1 more\)$/m,
    );
    assert.match(out, /^ingress-service +todos@our_dc +8080 +1\/1 +\? +ok$/m);
    assert.match(out, /^PROXY +STATE +LISTENERS +REJECTED +CONNECT FAILS +PROBLEM$/m);
    assert.match(
      out,
      /^sidecar:users-1 +LIVE +3 +lds 2 +3 +rejected: public_listener: cannot bind 0\.0\.0\.0:21000$/m,
    );
    assert.match(
      out,
      /^gateway:ingress-service +no answer +0 +- +0 +admin API: connect ECONNREFUSED 127\.0\.0\.1:19001$/m,
    );
    assert.match(out, /^PROXY +CERT +SERIAL +EXPIRES IN +EXPIRES AT +WARNING$/m);
    assert.match(out, /^sidecar:users-1 +leaf +3a:7f:01 +2h00m00s +2026-01-01T02:00:00\.000Z$/m);
    assert.match(
      out,
      /^sidecar:users-1 +root +0c +10 days +2026-01-11T\S+ +CA root expires in 10 days$/m,
    );
    assert.match(out, /^no events yet$/m);
    assert.doesNotMatch(out, / +$/m, 'no trailing spaces');
  });
});

test('the table ends with the newest 10 events, newest last, and says how many it left out', async () => {
  await withServer(nodeStatus({ ...ready, events: events(14) }), async ({ url }) => {
    const r = await runBundleAsync(['status', '--url', url]);
    assert.equal(r.code, 0, r.stderr);
    const tail = r.stdout.slice(r.stdout.indexOf('4 older events'));
    assert.equal(
      tail,
      [
        '4 older events (--json has them all)',
        'TIME                      EVENT',
        ...events(14)
          .slice(4)
          .map((e) => `${e.at}  ${e.message}`),
        '',
      ].join('\n'),
    );
    // An empty mesh still names each table, so "nothing" is not mistaken for "not shown".
    for (const none of ['no services', 'no upstreams', 'no proxies']) {
      assert.match(r.stdout, new RegExp(`^${none}$`, 'm'));
    }
    assert.match(r.stdout, /^mesh +not read yet$/m);
    assert.doesNotMatch(
      r.stdout,
      /\n\n\n/,
      'one blank line between tables, none for no certificates',
    );
  });
});

test('a document without mesh or events (an older meshvisor) prints the rest', async () => {
  const { mesh: _mesh, events: _events, ...older } = nodeStatus(ready);
  await withServer(older as NodeStatus, async ({ url }) => {
    const r = await runBundleAsync(['status', '--url', url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^service-defaults\/users +written$/m);
    assert.doesNotMatch(r.stdout, /^(mesh|no services|no events yet|SERVICE|TIME)\b/m);
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
