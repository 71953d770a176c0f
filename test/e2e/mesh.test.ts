// The original setup's four nodes (server, cluster 1, cluster 2, ingress), each `meshvisor run`
// from the bundle in its own network namespace, with demo apps beside them: config entries,
// one Envoy per sidecar and gateway, users -> todos through both sidecars and an intention that
// stops it, the ingress Host route, restart of a killed Envoy, and the ordered stop with a
// request in flight. The Envoys are the real ENVOY_BIN beside a real CONSUL_BIN, the envoy
// double otherwise (mesh-specs.ts E2E_ENVOY).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import type { TestHost } from '../helpers/netns.ts';
import {
  consulApi,
  envoyNodeIds,
  httpFrom,
  httpFromUntil,
  killProgramAndWaitReady,
  programLog,
  testbed,
  waitExit,
  type HttpResult,
  type RunningNode,
} from '../helpers/mesh-node.ts';
import { isDemoApp, meshSpecs, REAL_ENVOY, startApp, STOP_SECONDS } from '../helpers/mesh-specs.ts';

/** users' app on cluster 1 calling todos through its upstream (users' sidecar, then todos'). */
const USERS_TO_TODOS = 'http://127.0.0.1:8080/call/todos';
const answeredBy = (service: string) => (r: HttpResult) =>
  r.status === 200 && (r.body ?? '').includes(`"service":"${service}"`);

/** The drain steps a proxy's stop logged, in order. */
const drainSteps = (node: RunningNode, program: string, since: number) =>
  programLog(node, program, since)
    .filter((r) => String(r.msg).startsWith('drain: '))
    .map((r) => [r.msg, r.scope]);

test('the four nodes of the original setup come up, carry users -> todos and the ingress route, heal a killed Envoy and stop in order', async (t) => {
  const bed = await testbed(t, 4);
  const [serverHost, c1Host, c2Host, ingressHost] = bed.hosts as [
    TestHost,
    TestHost,
    TestHost,
    TestHost,
  ];
  startApp(c1Host, 'users', 8080, 'todos=1234');
  startApp(c1Host, 'activities', 8081);
  const todosApp = startApp(c2Host, 'todos', 8080);
  startApp(c2Host, 'notifications', 8081);

  const specs = meshSpecs(serverHost, 'envoy');
  // Cluster 2 drains for 4 s: long enough for the request in flight when it stops.
  const cluster2 = { ...specs.cluster2, timeouts: { ...specs.cluster2.timeouts, drainSeconds: 4 } };
  const server = bed.start(serverHost, specs.server);
  const c1 = bed.start(c1Host, specs.cluster1);
  const c2 = bed.start(c2Host, cluster2);
  const ingress = bed.start(ingressHost, specs.ingress);
  const nodes = [server, c1, c2, ingress];

  const [, c1Ready, c2Ready, ingressReady] = await Promise.all(
    nodes.map((n) => n.waitReady(120_000)),
  );

  // Config entries: one service-defaults per service with a protocol, the ingress gateway, and
  // the server's intentions, all on the server.
  for (const name of ['users', 'activities', 'todos', 'notifications']) {
    const entry = await consulApi<{ Protocol: string }>(
      serverHost,
      `/v1/config/service-defaults/${name}`,
    );
    assert.equal(entry.body.Protocol, 'http', `service-defaults/${name}`);
  }
  const gateway = await consulApi<{ Listeners: { Port: number }[] }>(
    serverHost,
    '/v1/config/ingress-gateway/ingress-service',
  );
  assert.equal(gateway.body.Listeners[0]?.Port, 8080);
  assert.equal((await consulApi(serverHost, '/v1/config/service-intentions/todos')).status, 200);
  assert.deepEqual(
    c1Ready!.configEntries.map((e) => [
      e.kind,
      e.name,
      e.state === 'written' || e.state === 'unchanged',
    ]),
    [
      ['service-defaults', 'users', true],
      ['service-defaults', 'activities', true],
    ],
  );

  // Four sidecars and one gateway, each Envoy on its own admin port.
  const proxies = [c1Ready!, c2Ready!, ingressReady!].flatMap((s) =>
    s.programs.filter((p) => p.kind !== 'consul').map((p) => `${s.node}/${p.name}`),
  );
  assert.deepEqual(proxies.sort(), [
    `${c1Host.name}/sidecar:activities-1`,
    `${c1Host.name}/sidecar:users-1`,
    `${c2Host.name}/sidecar:notifications-1`,
    `${c2Host.name}/sidecar:todos-1`,
    `${ingressHost.name}/gateway:ingress-service`,
  ]);
  assert.deepEqual((await envoyNodeIds(c1Host, [19000, 19001])).sort(), [
    'activities-1-sidecar-proxy',
    'users-1-sidecar-proxy',
  ]);

  // users -> todos through users' sidecar on cluster 1 and todos' on cluster 2 (mTLS with the
  // real Envoy); todos may need a moment to pass its check and be an endpoint.
  await httpFromUntil(c1Host, USERS_TO_TODOS, answeredBy('todos'), 30_000, 'users -> todos');

  // A deny intention stops it; allowed again, it serves again. The real Envoy's RBAC filter
  // judges every request (403 at todos' sidecar); the ingress gateway routes Host:
  // users.ingress.consul to users. The doubles do neither: the consul double has no intention
  // check, and the envoy double emulates no ingress listener.
  if (REAL_ENVOY) {
    const intention = (action: 'allow' | 'deny') =>
      consulApi(serverHost, '/v1/config', {
        method: 'PUT',
        body: JSON.stringify({
          Kind: 'service-intentions',
          Name: 'todos',
          Sources: [{ Name: 'users', Action: action }],
        }),
      });
    assert.equal((await intention('deny')).status, 200);
    const denied = await httpFromUntil(
      c1Host,
      USERS_TO_TODOS,
      (r) => r.status === 502,
      30_000,
      'users -> todos refused by the deny intention',
    );
    assert.match(denied.body ?? '', /"status":403/);
    assert.equal((await intention('allow')).status, 200);
    await httpFromUntil(c1Host, USERS_TO_TODOS, answeredBy('todos'), 30_000, 'allowed again');

    await httpFromUntil(
      ingressHost,
      `http://${ingressHost.ip}:8080/`,
      answeredBy('users'),
      30_000,
      'the ingress route to users',
      { Host: 'users.ingress.consul' },
    );
  }

  // kill -9 of one Envoy: restarted, the node is READY again, and the Envoy serves again.
  await killProgramAndWaitReady(c1, 'sidecar:users-1', 60_000);
  await httpFromUntil(c1Host, USERS_TO_TODOS, answeredBy('todos'), 30_000, 'serving again');

  // kill -9 of cluster 2's agent: its stages run again, the sidecars keep running, READY again.
  const { before: c2Before, after: c2Healed } = await killProgramAndWaitReady(c2, 'consul', 60_000);
  assert.deepEqual(
    c2Healed.programs.filter((p) => p.kind === 'sidecar').map((p) => [p.name, p.restarts]),
    c2Before.programs.filter((p) => p.kind === 'sidecar').map((p) => [p.name, p.restarts]),
    'the sidecars were not restarted',
  );
  await httpFromUntil(c1Host, USERS_TO_TODOS, answeredBy('todos'), 30_000, 'after the agent');

  // SIGTERM on cluster 2 with a request in flight to todos: the request completes; once todos'
  // listeners are closed nothing new reaches it (there is no other todos).
  const slowBegan = new Promise<void>((resolve) => {
    createInterface({ input: todosApp.stdout! }).on('line', (line) => {
      if (line.includes('"slow request"')) resolve();
    });
  });
  const inFlight = httpFrom(c1Host, 'http://127.0.0.1:8080/call/todos/slow/3000', {}, 15_000);
  await Promise.race([
    slowBegan,
    inFlight.then((r) =>
      assert.fail(`the slow request ended before todos got it: ${JSON.stringify(r)}`),
    ),
  ]);
  const c2StopAt = Date.now();
  c2.child.kill('SIGTERM');
  const slow = await inFlight;
  assert.equal(slow.status, 200, `the request in flight completed: ${JSON.stringify(slow)}`);
  assert.match(slow.body ?? '', /"sleptMs":3000/);
  assert.deepEqual(await waitExit(c2, (STOP_SECONDS + 5) * 1000), { code: 0, signal: null });
  for (const program of ['sidecar:todos-1', 'sidecar:notifications-1']) {
    assert.deepEqual(drainSteps(c2, program, c2StopAt), [
      ['drain: listeners draining', 'inbound'],
      ['drain: listeners closed', 'inbound'],
    ]);
  }
  const afterStop = await httpFrom(c1Host, USERS_TO_TODOS);
  assert.equal(afterStop.status, 502, `nothing serves todos now: ${JSON.stringify(afterStop)}`);

  // SIGTERM on cluster 1: each Envoy drains its inbound listeners, then quits; services
  // deregistered; the node leaves, but only once no inbound listener accepts any more.
  const stopAt = Date.now();
  c1.child.kill('SIGTERM');
  assert.deepEqual(await waitExit(c1, (STOP_SECONDS + 5) * 1000), { code: 0, signal: null });
  assert.ok(Date.now() - stopAt < (STOP_SECONDS + 2) * 1000);
  const closedAt: number[] = [];
  for (const program of ['sidecar:users-1', 'sidecar:activities-1']) {
    assert.deepEqual(drainSteps(c1, program, stopAt), [
      ['drain: listeners draining', 'inbound'],
      ['drain: listeners closed', 'inbound'],
    ]);
    const closed = programLog(c1, program, stopAt).find((r) => r.msg === 'drain: listeners closed');
    closedAt.push(Date.parse(String(closed?.time)));
  }
  const consulStop = c1.logs.find(
    (r) => r.program === 'consul' && r.msg === 'stopping (stop trigger)',
  );
  assert.ok(
    Date.parse(String(consulStop?.time)) >= Math.max(...closedAt),
    'deregister and leave began only after every inbound listener was closed',
  );
  assert.deepEqual(
    c1Host.pids().filter((pid) => !isDemoApp(pid)),
    [],
  );
  const catalogUsers = await consulApi<unknown[]>(serverHost, '/v1/catalog/service/users');
  assert.deepEqual(catalogUsers.body, [], 'users deregistered');
  const members = await consulApi<{ Name: string; Status: number }[]>(
    serverHost,
    '/v1/agent/members',
  );
  assert.equal(members.body.find((m) => m.Name === c1Host.name)?.Status, 3, 'cluster 1 left');

  // The ingress gateway drains every listener (Consul 1.10 marks them OUTBOUND).
  const ingressStopAt = Date.now();
  for (const node of [ingress, server]) node.child.kill('SIGTERM');
  for (const node of [ingress, server]) {
    assert.deepEqual(await waitExit(node, (STOP_SECONDS + 5) * 1000), { code: 0, signal: null });
  }
  assert.deepEqual(drainSteps(ingress, 'gateway:ingress-service', ingressStopAt), [
    ['drain: listeners draining', 'all'],
    ['drain: listeners closed', 'all'],
  ]);
});

test('builtin proxies carry a request from users on cluster 1 to todos on cluster 2', async (t) => {
  const bed = await testbed(t, 3);
  const [serverHost, c1Host, c2Host] = bed.hosts as [TestHost, TestHost, TestHost];
  startApp(c1Host, 'users', 8080, 'todos=1234');
  startApp(c1Host, 'activities', 8081);
  startApp(c2Host, 'todos', 8080);
  startApp(c2Host, 'notifications', 8081);
  const specs = meshSpecs(serverHost, 'builtin');
  const nodes = [
    bed.start(serverHost, specs.server),
    bed.start(c1Host, specs.cluster1),
    bed.start(c2Host, specs.cluster2),
  ];
  await Promise.all(nodes.map((n) => n.waitReady(120_000)));

  // users' upstream listener on cluster 1 -> todos' sidecar on cluster 2 -> todos. The
  // destination may need a moment to pass its check and appear healthy.
  await httpFromUntil(
    c1Host,
    'http://127.0.0.1:1234/',
    answeredBy('todos'),
    10_000,
    'users -> todos',
  );
  // And through the users app itself, as the demo's /call/<upstream> does.
  const viaApp = await httpFrom(c1Host, USERS_TO_TODOS);
  assert.equal(viaApp.status, 200, JSON.stringify(viaApp));
  assert.match(viaApp.body ?? '', /todos/);

  for (const node of nodes) node.child.kill('SIGTERM');
  for (const node of nodes) {
    assert.deepEqual(await waitExit(node, (STOP_SECONDS + 5) * 1000), { code: 0, signal: null });
  }
});
