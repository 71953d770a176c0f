// The original setup's four nodes (server, cluster 1, cluster 2, ingress), each `meshvisor run`
// from the bundle in its own network namespace, with demo apps beside them: config entries,
// one Envoy per sidecar and gateway, restart of a killed Envoy, and the ordered stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestHost } from '../helpers/netns.ts';
import {
  killProgramAndWaitReady,
  readEnvoyEvents,
  testbed,
  waitExit,
} from '../helpers/mesh-node.ts';
import { meshSpecs, startApp, STOP_SECONDS } from '../helpers/mesh-specs.ts';

/** GET from inside a host's namespace, as the app next to the sidecar would. */
function getFrom(host: TestHost, url: string, headers: Record<string, string> = {}) {
  const script = `fetch(${JSON.stringify(url)}, { headers: ${JSON.stringify(headers)}, signal: AbortSignal.timeout(5000) })
    .then(async (r) => { console.log(JSON.stringify({ status: r.status, body: await r.text() })); })
    .catch((e) => { console.log(JSON.stringify({ error: String(e.cause ?? e) })); });`;
  const r = spawnSync('ip', ['netns', 'exec', host.name, process.execPath, '-e', script], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return JSON.parse(r.stdout.trim() || '{"error":"no output"}') as {
    status?: number;
    body?: string;
    error?: string;
  };
}

async function serverApi<T>(server: TestHost, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://${server.ip}:8500${path}`, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

test('the four nodes of the original setup come up, heal a killed Envoy and stop in order', async (t) => {
  const bed = await testbed(t, 4);
  const [serverHost, c1Host, c2Host, ingressHost] = bed.hosts as [
    TestHost,
    TestHost,
    TestHost,
    TestHost,
  ];
  startApp(c1Host, 'users', 8080, 'todos=1234');
  startApp(c1Host, 'activities', 8081);
  startApp(c2Host, 'todos', 8080);
  startApp(c2Host, 'notifications', 8081);

  const specs = meshSpecs(serverHost, 'envoy');
  const events = (host: TestHost) => join(bed.workDir, `${host.name}-envoy-events.jsonl`);
  const server = bed.start(serverHost, specs.server);
  const c1 = bed.start(c1Host, specs.cluster1, { ENVOY_DOUBLE_EVENTS: events(c1Host) });
  const c2 = bed.start(c2Host, specs.cluster2, { ENVOY_DOUBLE_EVENTS: events(c2Host) });
  const ingress = bed.start(ingressHost, specs.ingress, {
    ENVOY_DOUBLE_EVENTS: events(ingressHost),
  });
  const nodes = [server, c1, c2, ingress];

  const [, c1Ready, c2Ready, ingressReady] = await Promise.all(
    nodes.map((n) => n.waitReady(120_000)),
  );

  // Config entries: one service-defaults per service with a protocol, the ingress gateway, and
  // the server's intentions, all on the server.
  for (const name of ['users', 'activities', 'todos', 'notifications']) {
    const entry = await serverApi<{ Protocol: string }>(
      serverHost,
      `/v1/config/service-defaults/${name}`,
    );
    assert.equal(entry.body.Protocol, 'http', `service-defaults/${name}`);
  }
  const gateway = await serverApi<{ Listeners: { Port: number }[] }>(
    serverHost,
    '/v1/config/ingress-gateway/ingress-service',
  );
  assert.equal(gateway.body.Listeners[0]?.Port, 8080);
  assert.equal((await serverApi(serverHost, '/v1/config/service-intentions/todos')).status, 200);
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
  const c1Admins = readEnvoyEvents(events(c1Host))
    .filter((e) => e.event === 'start')
    .map((e) => e.admin);
  assert.deepEqual([...new Set(c1Admins)].sort(), ['127.0.0.1:19000', '127.0.0.1:19001']);

  // kill -9 of one Envoy: restarted, and the node is READY again.
  await killProgramAndWaitReady(c1, 'sidecar:users-1', 60_000);

  // kill -9 of cluster 2's agent: its stages run again, the sidecars keep running, READY again.
  const { before: c2Before, after: c2Healed } = await killProgramAndWaitReady(c2, 'consul', 60_000);
  assert.deepEqual(
    c2Healed.programs.filter((p) => p.kind === 'sidecar').map((p) => [p.name, p.restarts]),
    c2Before.programs.filter((p) => p.kind === 'sidecar').map((p) => [p.name, p.restarts]),
    'the sidecars were not restarted',
  );

  // SIGTERM on cluster 1: each Envoy drains (accepting for a moment, then with its inbound
  // listeners closed), then quits; services deregistered; the node leaves, but only once no
  // inbound listener accepts any more.
  const stopAt = Date.now();
  c1.child.kill('SIGTERM');
  assert.deepEqual(await waitExit(c1, (STOP_SECONDS + 5) * 1000), { code: 0, signal: null });
  assert.ok(Date.now() - stopAt < (STOP_SECONDS + 2) * 1000);
  const adminCalls = readEnvoyEvents(events(c1Host)).filter(
    (e) => e.event === 'admin' && e.method === 'POST' && (e.t as number) >= stopAt,
  );
  for (const proxy of ['users-1-sidecar-proxy', 'activities-1-sidecar-proxy']) {
    assert.deepEqual(
      adminCalls.filter((e) => e.node === proxy).map((e) => e.path),
      ['/drain_listeners?inboundonly&graceful', '/drain_listeners?inboundonly', '/quitquitquit'],
      `${proxy}: drain, close the inbound listeners, then quit`,
    );
  }
  const listenersClosed = Math.max(
    ...adminCalls
      .filter((e) => e.path === '/drain_listeners?inboundonly')
      .map((e) => e.t as number),
  );
  const consulStop = c1.logs.find(
    (r) => r.program === 'consul' && r.msg === 'stopping (stop trigger)',
  );
  assert.ok(
    Date.parse(String(consulStop?.time)) >= listenersClosed,
    'deregister and leave began only after every inbound listener was closed',
  );
  assert.deepEqual(
    c1Host.pids().filter((pid) => !isDemoApp(pid)),
    [],
  );
  const catalogUsers = await serverApi<unknown[]>(serverHost, '/v1/catalog/service/users');
  assert.deepEqual(catalogUsers.body, [], 'users deregistered');
  const members = await serverApi<{ Name: string; Status: number }[]>(
    serverHost,
    '/v1/agent/members',
  );
  assert.equal(members.body.find((m) => m.Name === c1Host.name)?.Status, 3, 'cluster 1 left');

  for (const node of [c2, ingress, server]) node.child.kill('SIGTERM');
  for (const node of [c2, ingress, server]) {
    assert.deepEqual(await waitExit(node, (STOP_SECONDS + 5) * 1000), { code: 0, signal: null });
  }
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
  let answer = getFrom(c1Host, 'http://127.0.0.1:1234/');
  for (let i = 0; i < 40 && answer.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 250));
    answer = getFrom(c1Host, 'http://127.0.0.1:1234/');
  }
  assert.equal(answer.status, 200, JSON.stringify(answer));
  assert.match(answer.body ?? '', /todos/);
  // And through the users app itself, as the demo's /call/<upstream> does.
  const viaApp = getFrom(c1Host, 'http://127.0.0.1:8080/call/todos');
  assert.equal(viaApp.status, 200, JSON.stringify(viaApp));
  assert.match(viaApp.body ?? '', /todos/);

  for (const node of nodes) node.child.kill('SIGTERM');
  for (const node of nodes) {
    assert.deepEqual(await waitExit(node, (STOP_SECONDS + 5) * 1000), { code: 0, signal: null });
  }
});

function isDemoApp(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('demo-service');
  } catch {
    return false;
  }
}
