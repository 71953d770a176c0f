// The life of a node (src/node/) on fakes: bring-up to READY, a consul restart in the middle of
// it, a stop at each stage, reloads, and the exit code of each way a life ends. The e2e suite
// runs the same chapters on real processes; these run in milliseconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { ExitCode, ExitError } from '../../src/exit.ts';
import { runNode } from '../../src/node/index.ts';
import { parseListenAddress, type NodeSpec } from '../../src/spec/index.ts';
import type { NodeStatus, ReloadStatus } from '../../src/status/index.ts';
import { FakeWorld } from '../helpers/fake-node.ts';
import { eventually, httpGetText } from '../helpers/loopback.ts';

interface Running {
  world: FakeWorld;
  spec: NodeSpec;
  exit: Promise<ExitCode>;
}

/** Starts a node on a fresh fake world; `t.after` stops it and removes its files. */
async function start(
  t: { after: (fn: () => Promise<void> | void) => void },
  prepare: (world: FakeWorld) => void = (world) => world.allUp(),
  overrides: Record<string, unknown> = {},
  readSpec?: () => Promise<NodeSpec>,
): Promise<Running> {
  const world = new FakeWorld();
  const spec = await world.spec(overrides);
  prepare(world);
  const exit = runNode(spec, world.logger, readSpec ?? (() => Promise.resolve(spec)), world.deps);
  t.after(async () => {
    world.signals.emit('SIGTERM');
    await exit.catch(() => {});
    world.cleanUp();
  });
  return { world, spec, exit };
}

function statusPort(spec: NodeSpec): number {
  return parseListenAddress(spec.status.listen).port;
}

async function status(spec: NodeSpec): Promise<NodeStatus> {
  const answer = await httpGetText(statusPort(spec), '/status');
  return JSON.parse(answer.body) as NodeStatus;
}

async function untilStatus(
  spec: NodeSpec,
  what: string,
  holds: (s: NodeStatus) => boolean,
): Promise<NodeStatus> {
  return eventually(
    async () => {
      const s = await status(spec);
      return holds(s) ? s : undefined;
    },
    { what },
  );
}

const untilReady = (spec: NodeSpec) => untilStatus(spec, 'READY', (s) => s.ready);

/** The log records with this message. */
function logged(world: FakeWorld, msg: string): Record<string, unknown>[] {
  return world.log
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => record.msg === msg);
}

/** Waits until `name` is the stage in progress, polling (its condition does not hold). */
const untilWaitingAt = (spec: NodeSpec, name: string) =>
  untilStatus(spec, `stage ${name} running`, (s) => s.stage === name);

function postReload(spec: NodeSpec): Promise<ReloadStatus> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: statusPort(spec), path: '/reload', method: 'POST', agent: false },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(JSON.parse(body) as ReloadStatus));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('a node comes up stage by stage to READY, its sidecar started once the agent is synced', async (t) => {
  const { world, spec, exit } = await start(t);
  const ready = await untilReady(spec);
  assert.deepEqual(
    ready.stages.map((s) => [s.name, s.state]),
    [
      ['address', 'done'],
      ['http-up', 'done'],
      ['leader-known', 'done'],
      ['services-registered', 'done'],
      ['node-synced', 'done'],
      ['config-entries', 'done'],
      ['proxies-ready', 'done'],
    ],
  );
  assert.equal(ready.spec.generation, 1);
  assert.deepEqual(world.events.slice(0, 3), [
    'add consul',
    'write service-defaults/web',
    'add sidecar:web-1',
  ]);
  world.signals.emit('SIGTERM');
  assert.equal(await exit, ExitCode.ok);
});

test('a consul restart in the middle of the bring-up starts it over, and the node still comes up', async (t) => {
  const { world, spec } = await start(t, (w) => {
    w.allUp();
    w.conditions.leader = '';
  });
  await untilWaitingAt(spec, 'leader-known');
  world.supervisor.respawn('consul');
  // The new run starts from http-up; the old one's wait for a leader ends without failing.
  world.conditions.leader = '127.0.0.1:8300';
  const ready = await untilReady(spec);
  assert.equal(world.supervisor.get('consul')?.spawns, 2);
  assert.equal(ready.stages.filter((s) => s.state === 'failed').length, 0);
  assert.equal(world.events.filter((e) => e === 'add sidecar:web-1').length, 1);
});

// The stop at each stage: the node is not ready at once, then goes in the documented order.
for (const [stage, hold] of [
  ['http-up', (w: FakeWorld) => (w.conditions.httpUp = false)],
  ['leader-known', (w: FakeWorld) => (w.conditions.leader = '')],
  ['services-registered', (w: FakeWorld) => (w.conditions.registered = [])],
  ['node-synced', (w: FakeWorld) => (w.conditions.synced = [])],
  ['config-entries', (w: FakeWorld) => (w.conditions.entriesAccepted = false)],
  ['proxies-ready', (w: FakeWorld) => (w.envoyLive = false)],
] as const) {
  test(`a stop while the node waits at ${stage} ends the wait and stops in order (exit 0)`, async (t) => {
    const { world, spec, exit } = await start(t, (w) => {
      w.allUp();
      hold(w);
    });
    await untilWaitingAt(spec, stage);
    world.events.length = 0;
    world.signals.emit('SIGTERM');
    assert.equal(await exit, ExitCode.ok);
    const expected = [
      // An agent whose API is not up yet takes neither the maintenance nor the deregistration.
      ...(stage === 'http-up' ? [] : ['maintenance web-1 true']),
      ...(stage === 'proxies-ready'
        ? ['stop sidecar:web-1 grace=10000', 'drain 127.0.0.1:19000', 'close 127.0.0.1:19000']
        : []),
      'stop consul grace=10000',
      ...(stage === 'http-up' ? [] : ['deregister web-1']),
      // A server is signalled, not made to leave: a leave would shrink the raft quorum.
      'signal consul SIGTERM',
      ...(stage === 'proxies-ready' ? ['quit 127.0.0.1:19000'] : []),
    ];
    assert.deepEqual(world.events, expected);
    // The stage the stop cut short is not a failure.
    assert.deepEqual(logged(world, 'stage failed'), []);
  });
}

test('a client leaves the cluster on a stop once its proxies released consul', async (t) => {
  const { world, spec, exit } = await start(t, undefined, {
    role: 'client',
    consul: { dataDir: '/tmp/unused', retryJoin: ['127.0.0.2'] },
  });
  await untilReady(spec);
  world.events.length = 0;
  world.signals.emit('SIGINT');
  assert.equal(await exit, ExitCode.ok);
  assert.deepEqual(world.events, [
    'maintenance web-1 true',
    'stop sidecar:web-1 grace=10000',
    'drain 127.0.0.1:19000',
    'close 127.0.0.1:19000',
    'stop consul grace=10000',
    'deregister web-1',
    'leave',
    'quit 127.0.0.1:19000',
  ]);
});

test("a gateway's stop drains every listener: Consul 1.10 marks an ingress gateway's OUTBOUND", async (t) => {
  const { world, spec, exit } = await start(t, (w) => w.allUp(['ingress-service']), {
    services: [],
    gateways: [
      {
        kind: 'ingress',
        name: 'ingress-service',
        port: 8888,
        listeners: [{ port: 8080, protocol: 'http', services: ['*'] }],
      },
    ],
  });
  await untilReady(spec);
  world.events.length = 0;
  world.signals.emit('SIGTERM');
  assert.equal(await exit, ExitCode.ok);
  assert.deepEqual(
    world.events.filter((e) => /^(drain|close|quit) /.test(e)),
    ['drain 127.0.0.1:19000 (all)', 'close 127.0.0.1:19000 (all)', 'quit 127.0.0.1:19000'],
  );
});

test('a reload during the bring-up is refused and changes nothing', async (t) => {
  const { world, spec } = await start(t, (w) => {
    w.allUp();
    w.conditions.leader = '';
  });
  await untilWaitingAt(spec, 'leader-known');
  const answer = await postReload(spec);
  assert.equal(answer.result, 'refused');
  assert.match(answer.problems[0] ?? '', /not READY yet/);
  world.conditions.leader = '127.0.0.1:8300';
  const ready = await untilReady(spec);
  assert.equal(ready.spec.generation, 1);
});

test('a reload that changes only the timeouts applies them: a new generation, and the next stop uses the new budget', async (t) => {
  const reread: { spec?: NodeSpec } = {};
  const { world, spec, exit } = await start(t, undefined, {}, () =>
    Promise.resolve(reread.spec ?? spec),
  );
  await untilReady(spec);
  reread.spec = { ...spec, timeouts: { ...spec.timeouts, stopSeconds: 3 } };
  const answer = await postReload(spec);
  assert.equal(answer.result, 'applied');
  assert.deepEqual(answer.changes, ['timeouts.stopSeconds is now in force']);
  assert.equal((await status(spec)).spec.generation, 2);
  world.events.length = 0;
  world.signals.emit('SIGTERM');
  assert.equal(await exit, ExitCode.ok);
  // The whole stop's budget and each program's grace are the new stopSeconds.
  const budget = world.supervisor.stops[0] ?? 0;
  assert.ok(budget > 2000 && budget <= 3000, `stop budget ${budget} ms`);
  assert.ok(world.events.includes('stop consul grace=3000'), world.events.join('\n'));
  assert.ok(world.events.includes('stop sidecar:web-1 grace=3000'), world.events.join('\n'));
});

test('a reload with the same spec answers unchanged', async (t) => {
  const { spec } = await start(t);
  await untilReady(spec);
  assert.equal((await postReload(spec)).result, 'unchanged');
  assert.equal((await status(spec)).spec.generation, 1);
});

test('a config entry Consul rejects ends the node with exit 78 (configuration)', async (t) => {
  const { world, exit } = await start(t, (w) => {
    w.allUp();
    w.conditions.entryRejection = 'Invalid protocol "htp"';
  });
  assert.equal(await exit, ExitCode.config);
  assert.ok(world.events.includes('signal consul SIGTERM'), 'consul was stopped');
});

test('a stage past timeouts.readySeconds ends the node with exit 69 (unavailable)', async (t) => {
  const { exit } = await start(
    t,
    (w) => {
      w.allUp();
      w.conditions.leader = '';
    },
    { timeouts: { readySeconds: 1, stopSeconds: 10, drainSeconds: 0, propagationSeconds: 0 } },
  );
  assert.equal(await exit, ExitCode.unavailable);
});

test('a program that fails for good ends the node with exit 1', async (t) => {
  const { world, spec, exit } = await start(t);
  await untilReady(spec);
  world.supervisor.failForGood('sidecar:web-1', 'crash loop');
  assert.equal(await exit, ExitCode.failed);
});

test('a missing consul binary fails setup with exit 69, before anything starts', async (t) => {
  const { world, exit } = await start(t, (w) => (w.consulFound = false));
  await assert.rejects(exit, (err: unknown) => {
    assert.ok(err instanceof ExitError);
    assert.equal(err.exitCode, ExitCode.unavailable);
    assert.match(err.message, /^consul\.binary: "consul" is not an executable file on PATH$/);
    return true;
  });
  assert.deepEqual(world.events, []);
});

test('Consul 1.10 with Envoy 1.36: every Envoy runs with the name-lookup guard off, and the log says so once', async (t) => {
  const { world, spec } = await start(t);
  await untilReady(spec);
  const args = world.supervisor.get('sidecar:web-1')?.spec.args ?? [];
  const yaml = args[args.indexOf('--config-yaml') + 1] ?? '';
  assert.match(yaml, /"envoy\.reloadable_features\.no_extension_lookup_by_name":false/);
  assert.equal(logged(world, NAME_LOOKUP_SAYS).length, 1);
});

test('Consul 1.10 with Envoy 1.39 is refused at setup with exit 78, before consul starts', async (t) => {
  const { world, exit } = await start(t, (w) => {
    w.allUp();
    w.envoyVersion = '1.39.0';
  });
  await assert.rejects(exit, (err: unknown) => {
    assert.ok(err instanceof ExitError);
    assert.equal(err.exitCode, ExitCode.config);
    assert.match(err.message, /^proxy\.envoyBinary: Consul 1\.10 \(consul\.version\) sends/);
    return true;
  });
  assert.deepEqual(world.events, []);
});

const NAME_LOOKUP_SAYS =
  'Envoy 1.36.4 with Consul 1.10: Envoy runs with envoy.reloadable_features.no_extension_lookup_by_name=false, since Consul before 1.12 sends filters by name only';
