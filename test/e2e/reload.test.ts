// Changing a running node without a restart: SIGHUP (or `meshvisor reload`) re-reads the spec
// and applies the difference. Unchanged programs keep their pids; a new sidecar starts and is
// gated on /ready; a removed one is drained and quit before the agent deregisters it; a bad spec
// or a change that needs a restart changes nothing and says why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { runBundleAsync } from '../helpers/cli.ts';
import type { TestHost } from '../helpers/netns.ts';
import {
  catalogServices,
  envoyNodeIds,
  httpFromUntil,
  programLog,
  STATUS_PORT,
  testbed,
  waitExit,
  writeSpec,
  type RunningNode,
} from '../helpers/mesh-node.ts';
import { httpService, isDemoApp, meshClient, serverSpec, startApp } from '../helpers/mesh-specs.ts';
import type { NodeStatus } from '../../src/status/model.ts';

const pidsOf = (s: NodeStatus) => Object.fromEntries(s.programs.map((p) => [p.name, p.pid]));

/** Waits until /status shows the reload number `generation` ended (applied or not). */
async function reloaded(node: RunningNode, reloadsSoFar: { at: string | null }) {
  const s = await node.waitFor(
    (st) => st.reload !== null && st.reload.at !== reloadsSoFar.at,
    60_000,
    'the reload to end',
  );
  reloadsSoFar.at = s.reload!.at;
  return s;
}

/** The agent's check `id` once its output names `url` (the check ran with the new definition). */
async function checkRunsAgainst(host: TestHost, id: string, url: string) {
  const deadline = Date.now() + 15_000;
  let output = '';
  while (Date.now() < deadline) {
    const res = await fetch(`http://${host.ip}:8500/v1/agent/checks`);
    output = ((await res.json()) as Record<string, { Output: string }>)[id]?.Output ?? '';
    if (output.includes(url)) return output;
    await sleep(200);
  }
  throw new Error(`${id} never ran against ${url}; last output: ${output}`);
}

test('reload: add and remove a service with its sidecar, change a check and an entry; a bad spec and a refused field change nothing', async (t) => {
  const bed = await testbed(t, 2);
  const [serverHost, clientHost] = bed.hosts as [TestHost, TestHost];
  const server = bed.start(serverHost, serverSpec());
  await server.waitReady(60_000);

  startApp(clientHost, 'users', 8080);
  startApp(clientHost, 'activities', 8081);
  startApp(clientHost, 'todos', 8082, 'users=1234');
  const spec = meshClient(serverHost, [
    httpService('users', 8080),
    httpService('activities', 8081),
  ]);
  const client = bed.start(clientHost, spec);
  const first = await client.waitReady(60_000);
  assert.deepEqual(first.spec.generation, 1);
  const firstPids = pidsOf(first);
  const seen = { at: null as string | null };

  // 1. SIGHUP: todos added (with a sidecar whose upstream is users), users' check changed (it
  // still passes: users must stay an endpoint), activities becomes http2.
  const users = httpService('users', 8080);
  const grown = {
    ...spec,
    services: [
      { ...users, check: { ...users.check, http: '/health?reloaded=1' } },
      { ...httpService('activities', 8081), protocol: 'http2' },
      httpService('todos', 8082, [{ service: 'users', localPort: 1234 }]),
    ],
  };
  writeSpec(clientHost, bed.workDir, grown);
  client.child.kill('SIGHUP');
  const afterAdd = await reloaded(client, seen);
  assert.equal(afterAdd.reload?.result, 'applied', JSON.stringify(afterAdd.reload));
  assert.equal(afterAdd.spec.generation, 2);
  const ready = await client.waitReady(60_000);
  const pids = pidsOf(ready);
  for (const name of ['consul', 'sidecar:users-1', 'sidecar:activities-1']) {
    assert.equal(pids[name], firstPids[name], `${name} kept its pid`);
  }
  assert.ok(pids['sidecar:todos-1'], 'the new sidecar runs');
  assert.deepEqual(await catalogServices(serverHost, clientHost.name), [
    'activities-1',
    'activities-1-sidecar-proxy',
    'todos-1',
    'todos-1-sidecar-proxy',
    'users-1',
    'users-1-sidecar-proxy',
  ]);
  // Consul shows a check's definition in its output (its Definition is {}, recording 03).
  await checkRunsAgainst(clientHost, 'service:users-1', 'http://127.0.0.1:8080/health?reloaded=1');
  const activities = await fetch(
    `http://${serverHost.ip}:8500/v1/config/service-defaults/activities`,
  );
  assert.equal(((await activities.json()) as { Protocol: string }).Protocol, 'http2');
  // The new Envoy took the next free admin port; the others kept theirs.
  assert.deepEqual(await envoyNodeIds(clientHost, [19000, 19001, 19002]), [
    'users-1-sidecar-proxy',
    'activities-1-sidecar-proxy',
    'todos-1-sidecar-proxy',
  ]);
  // And it carries traffic: todos' app -> its upstream (the new Envoy) -> users' sidecar -> users.
  await httpFromUntil(
    clientHost,
    'http://127.0.0.1:8082/call/users',
    (r) => r.status === 200 && (r.body ?? '').includes('"service":"users"'),
    30_000,
    'todos -> users through the new sidecar',
  );

  // 2. `meshvisor reload`: activities removed: drained, then quit, then deregistered.
  const shrunk = { ...grown, services: [grown.services[0], grown.services[2]] };
  writeSpec(clientHost, bed.workDir, shrunk);
  const removedAt = Date.now();
  const url = `http://${clientHost.ip}:${STATUS_PORT}`;
  const cli = await runBundleAsync(['reload', '--url', url]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /^reload applied\n(.*\n)* {2}stopped sidecar:activities-1\n/);
  const afterRemove = await reloaded(client, seen);
  assert.equal(afterRemove.spec.generation, 3);
  assert.equal(pidsOf(afterRemove)['sidecar:activities-1'], undefined);
  assert.deepEqual(
    programLog(client, 'sidecar:activities-1', removedAt)
      .filter((r) => String(r.msg).startsWith('drain: '))
      .map((r) => r.msg),
    ['drain: listeners draining', 'drain: listeners closed'],
  );
  assert.deepEqual(await catalogServices(serverHost, clientHost.name), [
    'todos-1',
    'todos-1-sidecar-proxy',
    'users-1',
    'users-1-sidecar-proxy',
  ]);
  const kept = pidsOf(await client.waitReady(30_000));

  // 3. A bad spec: nothing changes, the problems are in /status and the CLI exits 78.
  writeSpec(clientHost, bed.workDir, { ...shrunk, services: [{ name: 'x', port: 'not a port' }] });
  const bad = await runBundleAsync(['reload', '--url', url]);
  assert.equal(bad.code, 78);
  assert.match(bad.stderr, /services\[0\]\.port: /);
  const afterBad = await reloaded(client, seen);
  assert.equal(afterBad.reload?.result, 'invalid');
  assert.equal(afterBad.spec.generation, 3);
  assert.equal(afterBad.ready, true, 'a failed reload leaves the node as it was');
  assert.deepEqual(pidsOf(afterBad), kept);

  // 4. A field that needs a restart: refused with one line naming it.
  writeSpec(clientHost, bed.workDir, { ...shrunk, datacenter: 'other_dc' });
  client.child.kill('SIGHUP');
  const refused = await reloaded(client, seen);
  assert.equal(refused.reload?.result, 'refused');
  assert.deepEqual(refused.reload?.problems, [
    'datacenter: cannot change while the node runs; restart to change it',
  ]);
  assert.deepEqual(pidsOf(refused), kept);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /^meshvisor_spec_generation 3$/m);
  assert.match(metrics, /^meshvisor_last_reload_success 0$/m);

  // The same spec again: nothing to do.
  writeSpec(clientHost, bed.workDir, shrunk);
  assert.equal((await runBundleAsync(['reload', '--url', url])).stdout, 'reload unchanged\n');
  await sleep(100);

  client.child.kill('SIGTERM');
  assert.deepEqual(await waitExit(client, 30_000), { code: 0, signal: null });
  assert.deepEqual(
    clientHost.pids().filter((pid) => !isDemoApp(pid)),
    [],
  );
  server.child.kill('SIGTERM');
  assert.deepEqual(await waitExit(server, 30_000), { code: 0, signal: null });
});
