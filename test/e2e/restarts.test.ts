// Every restart comes back: a client stopped and started again with the same node name (it left,
// so its rejoin sees `null` in the catalog for a moment: recording 10), and programs killed
// after they were ready, however often (they served; that is no crash loop). READY means the
// servers' catalog holds the node with every service and sidecar, each time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestHost } from '../helpers/netns.ts';
import {
  catalogServices,
  killProgramAndWaitReady,
  memberStatus,
  testbed,
  waitExit,
  type RunningNode,
} from '../helpers/mesh-node.ts';
import { httpService, meshClient, serverSpec } from '../helpers/mesh-specs.ts';

const RESTARTS = 20;
const KILLS = 30;

async function stopAndExpectClean(node: RunningNode): Promise<void> {
  node.child.kill('SIGTERM');
  assert.deepEqual(await waitExit(node, 30_000), { code: 0, signal: null });
  assert.deepEqual(node.host.pids(), [], 'nothing of the node left');
}

test(`a client restarted ${RESTARTS} times in a row comes back READY each time, with its services in the catalog`, async (t) => {
  const bed = await testbed(t, 2);
  const [serverHost, clientHost] = bed.hosts as [TestHost, TestHost];
  const server = bed.start(serverHost, serverSpec());
  await server.waitReady(60_000);
  const clientSpec = meshClient(serverHost, [httpService('web', 8080)], { drainSeconds: 0 });

  const readyMs: number[] = [];
  for (let run = 1; run <= RESTARTS; run++) {
    const started = Date.now();
    const client = bed.start(clientHost, clientSpec);
    await client.waitReady(60_000);
    readyMs.push(Date.now() - started);
    // At READY, not a moment later: the first sync is done, peers can see every service.
    assert.deepEqual(
      await catalogServices(serverHost, clientHost.name),
      ['web-1', 'web-1-sidecar-proxy'],
      `run ${run}: the catalog holds the node with its service and sidecar at READY`,
    );
    await stopAndExpectClean(client);
    assert.equal(await memberStatus(serverHost, clientHost.name), 3, `run ${run}: left`);
  }
  t.diagnostic(`${readyMs.length}/${RESTARTS} READY; start -> READY ms: ${summary(readyMs)}`);
  await stopAndExpectClean(server);
});

test(`${KILLS} kill -9s of ready programs (consul and sidecars, alternating) never end the node`, async (t) => {
  const bed = await testbed(t, 2);
  const [serverHost, clientHost] = bed.hosts as [TestHost, TestHost];
  const server = bed.start(serverHost, serverSpec());
  await server.waitReady(60_000);
  const client = bed.start(
    clientHost,
    meshClient(serverHost, [httpService('users', 8080), httpService('activities', 8081)]),
  );
  await client.waitReady(60_000);

  const sidecars = ['sidecar:users-1', 'sidecar:activities-1'];
  const backMs: Record<string, number[]> = { consul: [], sidecar: [] };
  for (let kill = 0; kill < KILLS; kill++) {
    const victim =
      kill % 2 === 0 ? 'consul' : (sidecars[Math.floor(Math.random() * sidecars.length)] as string);
    const killedAt = Date.now();
    await killProgramAndWaitReady(client, victim, 60_000);
    backMs[victim === 'consul' ? 'consul' : 'sidecar']!.push(Date.now() - killedAt);
  }
  t.diagnostic(
    `${KILLS}/${KILLS} READY again; kill -9 -> READY ms: consul ${summary(backMs.consul!)}; sidecar ${summary(backMs.sidecar!)}`,
  );
  const after = await client.status();
  assert.equal(after.ready, true);
  assert.equal(after.zombies, 0);
  const restarts = after.programs.reduce((sum, p) => sum + p.restarts, 0);
  assert.equal(restarts, KILLS, 'every kill was one restart, and nothing else restarted');
  assert.deepEqual(await catalogServices(serverHost, clientHost.name), [
    'activities-1',
    'activities-1-sidecar-proxy',
    'users-1',
    'users-1-sidecar-proxy',
  ]);

  await stopAndExpectClean(client);
  assert.equal(await memberStatus(serverHost, clientHost.name), 3, 'the client left');
  assert.equal(await catalogServices(serverHost, clientHost.name), null);
  await stopAndExpectClean(server);
});

/** min / median / max of a list of durations, for the test's diagnostics (no timing asserted). */
function summary(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  return `min ${sorted[0]}, median ${sorted[Math.floor(sorted.length / 2)]}, max ${sorted.at(-1)}`;
}
