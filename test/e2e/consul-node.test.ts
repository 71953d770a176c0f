// A server node and a client node, each `meshvisor run` from the bundle in its own network
// namespace, against the consul double (or a real consul with CONSUL_BIN).
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
  type Testbed,
} from '../helpers/mesh-node.ts';

const STOP_SECONDS = 15;
const TIMEOUTS = { readySeconds: 90, stopSeconds: STOP_SECONDS, drainSeconds: 1 };

/** A lone server node, READY. */
async function readyServer(bed: Testbed, host: TestHost): Promise<RunningNode> {
  const server = bed.start(host, {
    datacenter: 'our_dc',
    role: 'server',
    consul: { server: { bootstrapExpect: 1 } },
    timeouts: TIMEOUTS,
  });
  await server.waitReady(90_000);
  return server;
}

test('a client started before its server waits for it, survives kill -9 of its agent, and stops cleanly', async (t) => {
  const bed = await testbed(t, 2);
  const [serverHost, clientHost] = bed.hosts as [TestHost, TestHost];
  const timeouts = { readySeconds: 90, stopSeconds: STOP_SECONDS, drainSeconds: 1 };

  const client = bed.start(clientHost, {
    datacenter: 'our_dc',
    role: 'client',
    consul: { retryJoin: [serverHost.ip] },
    services: [{ name: 'web', port: 8080 }],
    timeouts,
  });

  // No server yet: the client's readiness waits on leader-known, saying why.
  await client.waitFor(
    (s) =>
      s.stages.some(
        (st) => st.name === 'leader-known' && /No known Consul servers/.test(st.error ?? ''),
      ),
    30_000,
    'leader-known waiting for a server',
  );
  assert.equal((await client.status()).ready, false);

  const server = bed.start(serverHost, {
    datacenter: 'our_dc',
    role: 'server',
    consul: { server: { bootstrapExpect: 1 } },
    timeouts,
  });

  const serverReady = await server.waitReady(90_000);
  const clientReady = await client.waitReady(90_000);
  // Nothing answered when its agent started: no `-join`, retry_join found the server.
  const firstSpawn = client.logs.find((l) => l.program === 'consul' && l.msg === 'spawned');
  assert.equal((firstSpawn?.args as string[]).includes('-join'), false);
  assert.deepEqual(
    clientReady.stages.map((s) => [s.name, s.state]),
    [
      ['address', 'done'],
      ['http-up', 'done'],
      ['leader-known', 'done'],
      ['services-registered', 'done'],
      ['node-synced', 'done'],
    ],
  );
  assert.equal(serverReady.role, 'server');
  assert.equal(clientReady.address, clientHost.ip);
  // The leader in /status is refreshed when the stages complete: READY shows it.
  const viewed = clientReady;
  assert.equal(viewed.consul.leader, `${serverHost.ip}:8300`);
  assert.equal(viewed.consul.members, 2);

  // kill -9 of the client's agent: restarted by the supervisor, the stages run again.
  await killProgramAndWaitReady(client, 'consul', 90_000);

  // SIGTERM: the client leaves and meshvisor exits 0 inside stopSeconds, leaving nothing.
  let started = Date.now();
  client.child.kill('SIGTERM');
  assert.deepEqual(await waitExit(client, (STOP_SECONDS + 5) * 1000), { code: 0, signal: null });
  assert.ok(Date.now() - started < (STOP_SECONDS + 2) * 1000);
  assert.deepEqual(clientHost.pids(), []);
  // A client agent that left exits 0; one killed or failing to leave exits 1 (contract §2).
  const agentExits = client.logs.filter((l) => l.program === 'consul' && l.msg === 'exited');
  assert.equal(agentExits.at(-1)?.code, 0, 'the client agent left and exited 0');
  assert.equal(await memberStatus(serverHost, clientHost.name), 3, 'client shows as left');

  // The server exits 1 on SIGTERM by design (it does not leave); meshvisor still exits 0.
  started = Date.now();
  server.child.kill('SIGTERM');
  assert.deepEqual(await waitExit(server, (STOP_SECONDS + 5) * 1000), { code: 0, signal: null });
  assert.ok(Date.now() - started < (STOP_SECONDS + 2) * 1000);
  assert.deepEqual(serverHost.pids(), []);
});

test('a client whose server answers joins it before its agent syncs: READY without the anti-entropy stagger', async (t) => {
  const bed = await testbed(t, 3);
  const [serverHost, clientHost, silentHost] = bed.hosts as [TestHost, TestHost, TestHost];
  const server = await readyServer(bed, serverHost);

  // The double's server-up stagger is set far past the wait: only an agent that joined before
  // it started syncing (recording 13) reaches node-synced in time. Nothing listens on
  // silentHost: it stays retry_join's.
  const client = bed.start(
    clientHost,
    {
      datacenter: 'our_dc',
      role: 'client',
      consul: { retryJoin: [silentHost.ip, serverHost.ip] },
      services: [{ name: 'web', port: 8080 }],
      timeouts: TIMEOUTS,
    },
    { CONSUL_DOUBLE_SYNC_DELAY_MS: '600000' },
  );
  const ready = await client.waitReady(60_000);
  assert.equal(ready.ready, true);
  const spawned = client.logs.find((l) => l.program === 'consul' && l.msg === 'spawned');
  const args = spawned?.args as string[];
  assert.deepEqual(args.slice(-2), ['-join', serverHost.ip], 'only the server that answered');
  assert.equal(args.filter((a) => a === '-join').length, 1);

  for (const node of [client, server]) node.child.kill('SIGTERM');
  for (const node of [client, server]) {
    assert.deepEqual(await waitExit(node, (STOP_SECONDS + 5) * 1000), { code: 0, signal: null });
  }
});

test('a client stopped moments after its agent rejoined leaves no empty node behind in the catalog', async (t) => {
  const bed = await testbed(t, 2);
  const [serverHost, clientHost] = bed.hosts as [TestHost, TestHost];
  const server = await readyServer(bed, serverHost);
  const client = bed.start(clientHost, {
    datacenter: 'our_dc',
    role: 'client',
    consul: { retryJoin: [serverHost.ip] },
    services: [{ name: 'web', port: 8080 }],
    timeouts: TIMEOUTS,
  });
  await client.waitReady(60_000);
  // The restarted agent's rejoin makes a full anti-entropy sync due within its stagger; run
  // during the leave, that sync would register the node again after the leader removed it.
  await killProgramAndWaitReady(client, 'consul', 60_000);
  client.child.kill('SIGTERM');
  assert.deepEqual(await waitExit(client, (STOP_SECONDS + 5) * 1000), { code: 0, signal: null });
  assert.equal(await memberStatus(serverHost, clientHost.name), 3, 'the client left');
  assert.equal(await catalogServices(serverHost, clientHost.name), null, 'no node in the catalog');

  server.child.kill('SIGTERM');
  assert.deepEqual(await waitExit(server, (STOP_SECONDS + 5) * 1000), { code: 0, signal: null });
});
