// A client whose servers go away for a while: its proxies keep serving, so it stays READY (an
// orchestrator acting on readiness would replace every healthy task at once), but /status,
// `meshvisor status` and /metrics say it is degraded, since when and why, until the cluster is
// back. The stop afterwards exits as soon as its work is done.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { runBundleAsync } from '../helpers/cli.ts';
import type { TestHost } from '../helpers/netns.ts';
import { STATUS_PORT, testbed, waitExit } from '../helpers/mesh-node.ts';
import { serverSpec } from '../helpers/mesh-specs.ts';

const SERVER_DOWN_MS = 20_000;

test('servers stopped for 20 s under a running client: it stays READY, shows degraded, then recovers', async (t) => {
  const bed = await testbed(t, 2);
  const [serverHost, clientHost] = bed.hosts as [TestHost, TestHost];
  let server = bed.start(serverHost, serverSpec());
  await server.waitReady(60_000);
  const client = bed.start(clientHost, {
    datacenter: 'our_dc',
    role: 'client',
    consul: { retryJoin: [serverHost.ip] },
    services: [{ name: 'web', port: 8080 }],
    timeouts: { readySeconds: 60, stopSeconds: 20, drainSeconds: 0 },
  });
  await client.waitReady(60_000);
  const healthy = await client.waitFor(
    (s) => s.consul.leader !== null,
    10_000,
    'the leader in /status',
  );
  assert.equal(healthy.degraded, null);
  const consulPid = healthy.programs.find((p) => p.name === 'consul')?.pid;

  server.child.kill('SIGTERM');
  assert.deepEqual(await waitExit(server, 30_000), { code: 0, signal: null });
  const downSince = Date.now();

  const degraded = await client.waitFor((s) => s.degraded !== null, 15_000, 'degraded');
  assert.match(degraded.degraded?.reason ?? '', /^no cluster leader known: /);
  assert.equal(degraded.consul.leader, null);
  const metrics = await (await fetch(`http://${clientHost.ip}:${STATUS_PORT}/metrics`)).text();
  assert.match(metrics, /^meshvisor_degraded 1$/m);
  const table = await runBundleAsync(['status', '--url', `http://${clientHost.ip}:${STATUS_PORT}`]);
  assert.match(table.stdout, /^degraded +since \S+: no cluster leader known: /m);

  // Readiness holds the whole time the servers are away, and consul is not restarted.
  while (Date.now() - downSince < SERVER_DOWN_MS) {
    const s = await client.status();
    assert.equal(s.ready, true, `ready while the servers are away: ${s.reason}`);
    assert.ok(s.degraded, 'still degraded');
    await sleep(500);
  }

  server = bed.start(serverHost, serverSpec());
  await server.waitReady(60_000);
  const recovered = await client.waitFor(
    (s) => s.degraded === null && s.consul.leader !== null,
    60_000,
    'no longer degraded',
  );
  assert.equal(recovered.ready, true);
  assert.equal(recovered.programs.find((p) => p.name === 'consul')?.pid, consulPid);
  assert.match(
    await (await fetch(`http://${clientHost.ip}:${STATUS_PORT}/metrics`)).text(),
    /^meshvisor_degraded 0$/m,
  );

  // The process exits as soon as its stop is done: no timer left running after "node stopped".
  client.child.kill('SIGTERM');
  assert.deepEqual(await waitExit(client, 30_000), { code: 0, signal: null });
  const exitedAt = Date.now();
  const stopped = client.logs.find((l) => l.msg === 'node stopped');
  const lingerMs = exitedAt - Date.parse(String(stopped?.time));
  assert.ok(lingerMs < 1000, `exited ${lingerMs} ms after "node stopped"`);
  assert.deepEqual(clientHost.pids(), []);
  server.child.kill('SIGTERM');
  assert.deepEqual(await waitExit(server, 30_000), { code: 0, signal: null });
});
