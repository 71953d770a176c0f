// The mesh view (src/inspect): its judgements on Consul's and Envoy's answers, and the inspector
// kept current by blocking queries and periodic reads, on a fake Consul and a fake Envoy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HealthCheck, HealthEntry, Intention } from '../../src/consul/index.ts';
import type { EnvoyCertificate } from '../../src/envoy/index.ts';
import {
  decideIntention,
  judgeCertificate,
  rejectedUpdates,
  upstreamReason,
  type UpstreamFacts,
} from '../../src/inspect/judge.ts';
import { MeshInspector, meshTargets, type MeshEnvoy } from '../../src/inspect/index.ts';
import type { MeshView } from '../../src/status/index.ts';
import { FakeWorld } from '../helpers/fake-node.ts';

const check = (over: Partial<HealthCheck>): HealthCheck => ({
  CheckID: 'service:todos-1',
  Name: "Service 'todos' check",
  Status: 'passing',
  Output: '',
  ServiceID: 'todos-1',
  ServiceName: 'todos',
  ...over,
});

/** A sidecar instance of todos as /v1/health/connect/todos lists it (recording 13's shape). */
const instance = (id: string, checks: HealthCheck[]): HealthEntry => ({
  Node: { Node: 'cluster-2' },
  Service: {
    ID: `${id}-sidecar-proxy`,
    Service: 'todos-sidecar-proxy',
    Proxy: { DestinationServiceID: id },
  },
  Checks: [check({ CheckID: 'serfHealth', Name: 'Serf Health Status', ServiceID: '' }), ...checks],
});

/** Recording 05: the sidecar's alias check quotes its service's failing check. */
const aliasFailing = check({
  CheckID: 'service:todos-1-sidecar-proxy:2',
  Name: 'Connect Sidecar Aliasing todos-1',
  Status: 'critical',
  Output:
    'Aliased check "Service \'todos\' check" failing: Get "http://127.0.0.1:9090/health": dial tcp 127.0.0.1:9090: connect: connection refused',
});

const intention = (source: string, action?: string): Intention => ({
  SourceName: source,
  DestinationName: 'todos',
  Action: action,
  Precedence: source === '*' ? 8 : 9,
});

const facts = (over: Partial<UpstreamFacts>): UpstreamFacts => ({
  service: 'todos',
  datacenter: 'dc1',
  localPort: 1234,
  health: { entries: [instance('todos-1', [])] },
  intention: { allowed: true, intention: 'users -> todos: allow', denial: null },
  envoy: null,
  ...over,
});

test('the first intention matching the caller decides: exact before *, deny names it', () => {
  const denied = decideIntention(
    'users',
    'todos',
    [intention('users', 'deny'), intention('*', 'allow')],
    'allow',
  );
  assert.deepEqual(denied, {
    allowed: false,
    intention: 'users -> todos: deny',
    denial: 'denied by intention users -> todos',
  });
  const wildcard = decideIntention(
    'billing',
    'todos',
    [intention('users', 'deny'), intention('*', 'allow')],
    'deny',
  );
  assert.equal(wildcard.allowed, true);
  assert.equal(wildcard.intention, '* -> todos: allow');
  const l7 = decideIntention('users', 'todos', [intention('users')], 'deny');
  assert.equal(l7.allowed, true);
  assert.match(l7.intention ?? '', /L7 permissions/);
});

test('with no intention the ACL default policy decides, and an unknown default is unknown', () => {
  const denied = decideIntention('users', 'todos', [], 'deny');
  assert.equal(denied.allowed, false);
  assert.equal(
    denied.denial,
    'denied by default: no intention allows users -> todos (ACL default policy deny)',
  );
  assert.equal(decideIntention('users', 'todos', [], 'allow').allowed, true);
  assert.deepEqual(decideIntention('users', 'todos', [], undefined), {
    allowed: null,
    intention: null,
    denial: null,
  });
});

test('an upstream whose only instance fails names the instance and the aliased check', () => {
  const reason = upstreamReason(
    facts({ health: { entries: [instance('todos-1', [aliasFailing])] } }),
  );
  assert.equal(
    reason,
    "no healthy instance: todos-1 check 'Service 'todos' check' critical: Get \"http://127.0.0.1:9090/health\": dial tcp 127.0.0.1:9090: connect: connection refused",
  );
});

test('a warning still serves; no instance, a deny and an empty Envoy cluster each say so', () => {
  const warning = check({ Status: 'warning', Output: 'slow' });
  assert.equal(
    upstreamReason(facts({ health: { entries: [instance('todos-1', [warning])] } })),
    null,
  );
  assert.equal(
    upstreamReason(facts({ health: { entries: [] } })),
    'no instance of todos with a sidecar in dc1',
  );
  const denial = 'denied by intention users -> todos';
  assert.equal(
    upstreamReason(facts({ intention: { allowed: false, intention: 'x', denial } })),
    denial,
  );
  const cluster = {
    name: 'todos.default.dc1.internal.7c3e.consul',
    endpoints: { healthy: 0, total: 1 },
  };
  assert.equal(
    upstreamReason(facts({ envoy: { cluster, rejections: [] } })),
    'Envoy cluster todos.default.dc1.internal.7c3e.consul has 0 healthy endpoints of 1',
  );
  assert.equal(
    upstreamReason(facts({ envoy: { cluster: undefined, rejections: [] } })),
    'Envoy has no cluster for todos yet',
  );
});

test('a rejected upstream listener comes first, and unknown health says it is not known', () => {
  const rejections = [
    { name: 'todos:127.0.0.1:1234', details: "Didn't find a registered implementation" },
  ];
  assert.equal(
    upstreamReason(facts({ envoy: { cluster: undefined, rejections } })),
    "listener rejected: todos:127.0.0.1:1234: Didn't find a registered implementation",
  );
  assert.match(upstreamReason(facts({ health: null })) ?? '', /^not known yet/);
  assert.match(
    upstreamReason(facts({ health: { error: 'Permission denied' } })) ?? '',
    /Permission denied/,
  );
});

test('a leaf past 90% of its life and a root with under 30 days left are warned of', () => {
  const now = Date.parse('2026-12-07T12:00:00Z');
  const leaf = (validFrom: string, expiresAt: string): EnvoyCertificate => ({
    kind: 'leaf',
    serial: '1a',
    validFrom,
    expiresAt,
  });
  // 72 h leaf: 65 h gone (90.3%).
  const late = judgeCertificate(leaf('2026-12-04T19:00:00Z', '2026-12-07T19:00:00Z'), now);
  assert.equal(late.secondsLeft, 7 * 3600);
  assert.match(late.warning ?? '', /^leaf not rotated: expires in 7 h/);
  const fresh = judgeCertificate(leaf('2026-12-07T10:00:00Z', '2026-12-10T10:00:00Z'), now);
  assert.equal(fresh.warning, null);
  const root = judgeCertificate(
    {
      kind: 'root',
      serial: '7',
      validFrom: '2016-12-20T00:00:00Z',
      expiresAt: '2026-12-20T12:00:00Z',
    },
    now,
  );
  assert.equal(root.warning, 'CA root expires in 13 days');
  const gone = judgeCertificate(leaf('2026-12-01T00:00:00Z', '2026-12-04T00:00:00Z'), now);
  assert.equal(gone.warning, 'expired at 2026-12-04T00:00:00Z');
});

test("Envoy's update_rejected counters are summed by xDS type", () => {
  const stats = new Map([
    ['listener_manager.lds.update_rejected', 2],
    ['cluster_manager.cds.update_rejected', 0],
    ['cluster.todos.default.dc1.internal.x.consul.update_rejected', 1],
    ['cluster.users.default.dc1.internal.x.consul.update_rejected', 1],
    ['cluster.todos.default.dc1.internal.x.consul.upstream_cx_connect_fail', 4],
  ]);
  assert.deepEqual(rejectedUpdates(stats), { lds: 2, cds: 0, eds: 2 });
});

/** A LIVE Envoy with nothing in it and nothing rejected, but for what `over` gives it. */
const meshEnvoy = (over: Partial<MeshEnvoy>): MeshEnvoy => ({
  readyState: async () => 'LIVE',
  listenerNames: async () => [],
  rejectedListeners: async () => [],
  clusters: async () => [],
  certificates: async () => [],
  stats: async () => new Map([['listener_manager.lds.update_rejected', 0]]),
  ...over,
});

/** An inspector over the fake world's Consul, watching users' upstream todos, read fast. */
async function inspecting(
  world: FakeWorld,
  body: (inspector: MeshInspector, events: string[]) => Promise<void>,
  envoy?: MeshEnvoy,
): Promise<void> {
  const spec = await world.spec({
    services: [
      {
        name: 'users',
        id: 'users-1',
        port: 8080,
        sidecar: { upstreams: [{ service: 'todos', localPort: 1234 }] },
      },
    ],
  });
  const controller = new AbortController();
  const events: string[] = [];
  const inspector = new MeshInspector({
    consul: world.consul,
    envoy: () => envoy ?? world.deps.envoyReader('127.0.0.1:19000'),
    secrets: () => ['s3cr3t-token'],
    onEvent: (message) => events.push(message),
    signal: controller.signal,
    checksEveryMs: 20,
    envoyEveryMs: 20,
    minGapMs: 5,
  });
  inspector.setTargets(
    meshTargets(spec, [
      {
        name: 'sidecar:users-1',
        kind: 'sidecar',
        args: [],
        adminAddress: envoy ? '127.0.0.1:19000' : null,
        serviceId: 'users-1',
        token: undefined,
        readyListenerPrefix: 'public_listener:',
        drainScope: 'inbound',
      },
    ]),
  );
  try {
    await body(inspector, events);
  } finally {
    controller.abort();
    world.cleanUp();
  }
}

async function until(
  inspector: MeshInspector,
  what: string,
  ok: (view: MeshView) => boolean,
): Promise<MeshView> {
  for (let i = 0; i < 500; i++) {
    const view = inspector.view(true);
    if (ok(view)) return view;
    await sleep(10);
  }
  assert.fail(`mesh view never showed ${what}: ${JSON.stringify(inspector.view(false))}`);
}

test('an upstream turns healthy when its check passes, and red again when it fails', async () => {
  const world = new FakeWorld();
  world.consul.mesh.health.set('todos', [instance('todos-1', [aliasFailing])]);
  await inspecting(world, async (inspector, events) => {
    let view = await until(
      inspector,
      'the failing instance',
      (v) => v.upstreams[0]?.checkedAt !== null,
    );
    assert.deepEqual(
      { ...view.upstreams[0], checkedAt: undefined },
      {
        source: 'users',
        service: 'todos',
        datacenter: 'dc1',
        localPort: 1234,
        healthy: 0,
        total: 1,
        allowed: true,
        intention: 'no intention; the default is allow',
        envoyEndpoints: null,
        reason: view.upstreams[0]?.reason,
        checkedAt: undefined,
      },
    );
    assert.match(
      view.upstreams[0]?.reason ?? '',
      /^no healthy instance: todos-1 check 'Service 'todos' check' critical/,
    );

    world.consul.mesh.health.set('todos', [instance('todos-1', [])]);
    world.consul.meshChanged();
    view = await until(inspector, 'healthy: 1', (v) => v.upstreams[0]?.healthy === 1);
    assert.equal(view.upstreams[0]?.reason, null);

    world.consul.mesh.intentions.set('todos', [intention('users', 'deny')]);
    world.consul.meshChanged();
    view = await until(inspector, 'the deny', (v) => v.upstreams[0]?.allowed === false);
    assert.equal(view.upstreams[0]?.reason, 'denied by intention users -> todos');
    assert.deepEqual(
      events.filter((e) => e.startsWith('upstream')),
      [
        "upstream todos of users cannot serve: no healthy instance: todos-1 check 'Service 'todos' check' critical: Get \"http://127.0.0.1:9090/health\": dial tcp 127.0.0.1:9090: connect: connection refused",
        'upstream todos of users can serve',
        'upstream todos of users cannot serve: denied by intention users -> todos',
      ],
    );
  });
});

test("the node's checks show with their status and since when, flips go to the timeline, secrets never", async () => {
  const world = new FakeWorld();
  world.consul.mesh.checks = {
    'service:users-1': check({
      CheckID: 'service:users-1',
      Name: "Service 'users' check",
      ServiceID: 'users-1',
      Status: 'critical',
      Output:
        'HTTP GET http://127.0.0.1:8080/health?token=s3cr3t-token: 500 X-Consul-Token: s3cr3t-token',
    }),
  };
  await inspecting(world, async (inspector, events) => {
    let view = await until(inspector, 'the check', (v) => (v.services[0]?.checks.length ?? 0) > 0);
    const [users] = view.services;
    assert.equal(users?.id, 'users-1');
    assert.equal(users?.checks[0]?.status, 'critical');
    assert.equal(
      users?.checks[0]?.output,
      'HTTP GET http://127.0.0.1:8080/health?token=(secret): 500 X-Consul-Token: (secret)',
    );
    assert.doesNotMatch(JSON.stringify(view), /s3cr3t/);
    const since = users?.checks[0]?.since;

    world.consul.mesh.checks['service:users-1']!.Status = 'passing';
    view = await until(inspector, 'passing', (v) => v.services[0]?.checks[0]?.status === 'passing');
    assert.notEqual(view.services[0]?.checks[0]?.since, since);
    assert.ok(events.includes("check 'Service 'users' check' of users-1: critical -> passing"));
  });
});

test('a Consul that stops answering leaves the last answers, with the error and their age', async () => {
  const world = new FakeWorld();
  world.consul.mesh.health.set('todos', [instance('todos-1', [])]);
  await inspecting(world, async (inspector) => {
    await until(inspector, 'healthy', (v) => v.upstreams[0]?.healthy === 1);
    world.conditions.httpUp = false;
    const view = await until(inspector, 'the error', (v) => v.errors.length > 0);
    assert.equal(view.upstreams[0]?.healthy, 1);
    assert.match(view.errors.join('\n'), /agent checks: connection refused/);
    assert.ok(view.ageSeconds !== null && view.ageSeconds >= 0);
  });
});

test("in Envoy mode the upstream's cluster endpoints and the proxy's certificates show", async () => {
  const world = new FakeWorld();
  world.consul.mesh.health.set('todos', [instance('todos-1', [])]);
  const soon = new Date(Date.now() + 3600_000).toISOString();
  const envoy = meshEnvoy({
    listenerNames: async () => ['public_listener:0.0.0.0:21000', 'todos:127.0.0.1:1234'],
    // Nothing counted as rejected: the config dump (certificates inline) is left unread.
    rejectedListeners: async () => {
      throw new Error('the config dump was read with no rejected update counted');
    },
    clusters: async () => [
      { name: 'todos.default.dc1.internal.7c3e.consul', endpoints: { healthy: 0, total: 1 } },
    ],
    certificates: async () => [
      {
        kind: 'leaf',
        serial: 'a1',
        validFrom: new Date(Date.now() - 71 * 3600_000).toISOString(),
        expiresAt: soon,
      },
    ],
  });
  await inspecting(
    world,
    async (inspector) => {
      const view = await until(
        inspector,
        'the Envoy',
        (v) => v.proxies[0]?.checkedAt != null && v.upstreams[0]?.checkedAt != null,
      );
      assert.deepEqual(view.upstreams[0]?.envoyEndpoints, { healthy: 0, total: 1 });
      assert.equal(
        view.upstreams[0]?.reason,
        'Envoy cluster todos.default.dc1.internal.7c3e.consul has 0 healthy endpoints of 1',
      );
      const proxy = view.proxies[0];
      assert.equal(proxy?.state, 'LIVE');
      assert.deepEqual(proxy?.listeners, ['public_listener:0.0.0.0:21000', 'todos:127.0.0.1:1234']);
      assert.deepEqual(proxy?.rejectedUpdates, { lds: 0 });
      assert.match(proxy?.certificates[0]?.warning ?? '', /^leaf not rotated/);
    },
    envoy,
  );
});

test('an Envoy that counts a rejected listener update names it, and the upstream says so', async () => {
  const world = new FakeWorld();
  world.consul.mesh.health.set('todos', [instance('todos-1', [])]);
  let dumps = 0;
  const details =
    "Didn't find a registered implementation for 'envoy.filters.http.router' with type URL: ''";
  const envoy = meshEnvoy({
    rejectedListeners: async () => {
      dumps += 1;
      return [{ name: 'todos:127.0.0.1:1234', details }];
    },
    stats: async () => new Map([['listener_manager.lds.update_rejected', 1]]),
  });
  await inspecting(
    world,
    async (inspector) => {
      const view = await until(
        inspector,
        'the rejection',
        (v) => v.proxies[0]?.lastRejection != null,
      );
      assert.equal(view.proxies[0]?.lastRejection, `todos:127.0.0.1:1234: ${details}`);
      assert.deepEqual(view.proxies[0]?.rejectedUpdates, { lds: 1 });
      const upstream = await until(
        inspector,
        'the reason',
        (v) => v.upstreams[0]?.checkedAt != null,
      );
      assert.equal(
        upstream.upstreams[0]?.reason,
        `listener rejected: todos:127.0.0.1:1234: ${details}`,
      );
      assert.ok(dumps > 0, 'the config dump is read once a rejection is counted');
    },
    envoy,
  );
});
