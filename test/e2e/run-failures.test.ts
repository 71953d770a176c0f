// How `meshvisor run` fails: each failure names what is wrong, exits with its documented code,
// and leaves nothing running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBundle } from '../helpers/cli.ts';
import type { TestHost } from '../helpers/netns.ts';
import {
  STATUS_PORT,
  memberStatus,
  testbed,
  waitExit,
  type RunningNode,
} from '../helpers/mesh-node.ts';
import { httpService, meshClient, serverSpec } from '../helpers/mesh-specs.ts';

/** `meshvisor run` on a spec built in a fresh folder (removed after the test); returns both. */
function runWithSpec(
  t: { after: (fn: () => void) => void },
  buildSpec: (dir: string) => Record<string, unknown>,
) {
  const dir = mkdtempSync(join(tmpdir(), 'mv-fail-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spec = join(dir, 'node.json');
  writeFileSync(spec, JSON.stringify(buildSpec(dir)));
  return { dir, result: runBundle(['run', '-c', spec]) };
}

test('a bad spec exits 78 naming the field, before anything starts', (t) => {
  const { dir, result: r } = runWithSpec(t, (dir) => ({
    datacenter: 'dc1',
    role: 'client',
    consul: { configDir: join(dir, 'consul.d') },
    sevices: [],
  }));
  assert.equal(r.code, 78);
  assert.match(r.stderr, /sevices/);
  assert.equal(existsSync(join(dir, 'consul.d')), false, 'nothing rendered');
});

test('a missing consul binary exits 69 naming consul.binary, before anything is written', (t) => {
  const { dir, result: r } = runWithSpec(t, (dir) => ({
    datacenter: 'dc1',
    role: 'server',
    address: { ip: '127.0.0.1' },
    consul: {
      binary: join(dir, 'no-consul'),
      configDir: join(dir, 'consul.d'),
      dataDir: join(dir, 'data'),
    },
  }));
  assert.equal(r.code, 69);
  assert.match(r.stderr, /consul\.binary: ".*no-consul" is not an executable file/);
  assert.equal(existsSync(join(dir, 'consul.d')), false, 'nothing rendered');
});

/** Waits for the node to exit; returns the exit and its logged failure; nothing may be left. */
async function exitOf(node: RunningNode, timeoutMs: number) {
  const exit = await waitExit(node, timeoutMs);
  assert.deepEqual(node.host.pids(), [], 'no process of the node left');
  return { exit, failure: String(node.logs.find((l) => l.msg === 'node failed')?.err) };
}

test('a client whose servers never answer exits 69 at the readiness deadline, naming the stage', async (t) => {
  const bed = await testbed(t, 1);
  const host = bed.hosts[0] as TestHost;
  const node = bed.start(host, {
    datacenter: 'dc1',
    role: 'client',
    consul: { retryJoin: ['10.255.255.1'] },
    timeouts: { readySeconds: 3, stopSeconds: 10, drainSeconds: 1 },
  });
  const { exit, failure } = await exitOf(node, 30_000);
  assert.deepEqual(exit, { code: 69, signal: null });
  assert.match(
    failure,
    /leader-known: not done before the readiness deadline; last error: No known Consul servers; check: .*retryJoin/,
  );
});

test("a config entry Consul rejects exits 78 naming the entry and Consul's reason", async (t) => {
  const bed = await testbed(t, 1);
  const host = bed.hosts[0] as TestHost;
  const node = bed.start(host, {
    datacenter: 'dc1',
    role: 'server',
    consul: { server: { bootstrapExpect: 1 } },
    // A router needs an http-family protocol; "web" has none (Consul's default is tcp).
    configEntries: [{ Kind: 'service-router', Name: 'web', Routes: [] }],
    timeouts: { readySeconds: 30, stopSeconds: 10, drainSeconds: 1 },
  });
  const { exit, failure } = await exitOf(node, 40_000);
  assert.deepEqual(exit, { code: 78, signal: null });
  assert.match(
    failure,
    /config-entries: service-router\/web rejected by Consul: .*does not permit advanced routing/,
  );
});

test('a consul that keeps crashing makes the node exit 1 with its last exits', async (t) => {
  const bed = await testbed(t, 1);
  const host = bed.hosts[0] as TestHost;
  const crashing = join(bed.workDir, 'consul');
  writeFileSync(crashing, '#!/bin/sh\necho "==> failed to parse: simulated" >&2\nexit 1\n', {
    mode: 0o755,
  });
  const node = bed.start(host, {
    datacenter: 'dc1',
    role: 'server',
    consul: { binary: crashing, server: { bootstrapExpect: 1 } },
    timeouts: { readySeconds: 60, stopSeconds: 10, drainSeconds: 1 },
  });
  const { exit, failure } = await exitOf(node, 60_000);
  assert.deepEqual(exit, { code: 1, signal: null });
  assert.match(
    failure,
    /consul failed for good: crash loop: .*; its last words: ==> failed to parse: simulated$/,
  );
  assert.ok(node.logs.some((l) => l.program === 'consul' && /simulated/.test(String(l.msg))));
});

test('a status port already in use exits 1 with one line naming the address, leaving nothing', async (t) => {
  const bed = await testbed(t, 1);
  const host = bed.hosts[0] as TestHost;
  const squatter = host.spawn(
    process.execPath,
    ['-e', `require('net').createServer().listen(9555, '${host.ip}', () => console.log('up'))`],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  await new Promise((resolve) => squatter.stdout?.once('data', resolve));
  const node = bed.start(host, {
    datacenter: 'dc1',
    role: 'server',
    consul: { server: { bootstrapExpect: 1 } },
    timeouts: { readySeconds: 30, stopSeconds: 10, drainSeconds: 1 },
  });
  assert.deepEqual(await waitExit(node, 30_000), { code: 1, signal: null });
  const line = node.logs.find((l) => /meshvisor run: /.test(String(l.msg)));
  assert.match(
    String(line?.msg),
    /meshvisor run: status endpoint cannot listen on .*:9555: address already in use/,
  );
  assert.ok(!node.logs.some((l) => /internal error/.test(String(l.msg))));
  assert.deepEqual(host.pids(), [squatter.pid], 'only the squatter is left');
});

test('while waiting for the address the status endpoint answers; SIGTERM stops at once with exit 0', async (t) => {
  const bed = await testbed(t, 1);
  const host = bed.hosts[0] as TestHost;
  const node = bed.start(host, {
    datacenter: 'dc1',
    role: 'server',
    address: { interface: 'eth9', waitSeconds: 60 },
    consul: { server: { bootstrapExpect: 1 } },
  });
  // The endpoint answers from the first moment: alive, not ready, and what it waits for.
  const waiting = await node.waitFor(
    (s) => s.stage === 'address' && /eth9/.test(s.reason ?? ''),
    15_000,
    'the address wait in /status',
  );
  assert.equal(waiting.ready, false);
  const url = `http://${host.ip}:${STATUS_PORT}`;
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
  const readyz = await fetch(`${url}/readyz`);
  assert.equal(readyz.status, 503);
  const body = (await readyz.json()) as { stage: string; reason: string };
  assert.equal(body.stage, 'address');
  assert.match(body.reason, /stage address: .*eth9/);
  const listening = node.logs.filter((l) => l.msg === 'status endpoint listening');
  assert.equal(listening.length, 1, 'logged once');

  const sentAt = Date.now();
  node.child.kill('SIGTERM');
  assert.deepEqual(await waitExit(node, 10_000), { code: 0, signal: null });
  assert.ok(Date.now() - sentAt < 5000, 'stopped without waiting out waitSeconds');
  assert.deepEqual(host.pids(), []);
});

test("a config entry Consul rejects through a client exits 78 at once with the server's reason", async (t) => {
  const bed = await testbed(t, 2);
  const [serverHost, clientHost] = bed.hosts as [TestHost, TestHost];
  const server = bed.start(serverHost, serverSpec());
  await server.waitReady(60_000);
  const node = bed.start(clientHost, {
    datacenter: 'our_dc',
    role: 'client',
    consul: { retryJoin: [serverHost.ip] },
    // A router needs an http-family protocol; "web" has none. Through a client the server's
    // reason arrives as "rpc error making call: <reason>" (recording 12): still a rejection.
    configEntries: [{ Kind: 'service-router', Name: 'web', Routes: [] }],
    timeouts: { readySeconds: 90, stopSeconds: 10, drainSeconds: 0 },
  });
  const started = Date.now();
  const { exit, failure } = await exitOf(node, 60_000);
  assert.deepEqual(exit, { code: 78, signal: null });
  const tookMs = Date.now() - started;
  t.diagnostic(`start -> exit 78 in ${tookMs} ms (readySeconds 90)`);
  assert.ok(tookMs < 30_000, 'not retried until the readiness deadline');
  assert.match(
    failure,
    /^config-entries: service-router\/web rejected by Consul: discovery chain "web" uses a protocol "tcp" that does not permit advanced routing/,
  );
  assert.equal(await memberStatus(serverHost, clientHost.name), 3, 'the client left');
});

test('a sidecar crash-looping ends the node with exit 1, after it deregistered and left', async (t) => {
  const bed = await testbed(t, 2);
  const [serverHost, clientHost] = bed.hosts as [TestHost, TestHost];
  const server = bed.start(serverHost, serverSpec());
  await server.waitReady(60_000);
  // An "Envoy" that dies at once: every run fails before it is ready.
  const node = bed.start(clientHost, {
    ...meshClient(serverHost, [httpService('web', 8080)]),
    proxy: { envoyBinary: '/bin/false' },
  });
  const { exit, failure } = await exitOf(node, 60_000);
  assert.deepEqual(exit, { code: 1, signal: null });
  assert.match(failure, /sidecar:web-1 (failed for good|failed): crash loop/);
  assert.equal(await memberStatus(serverHost, clientHost.name), 3, 'the client left');
  const res = await fetch(`http://${serverHost.ip}:8500/v1/catalog/service/web`);
  assert.deepEqual(await res.json(), [], 'web is no longer in the catalog');
});
