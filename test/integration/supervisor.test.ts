// Supervisor against real children: dependency order, reverse stop order, the stop deadline,
// and the second stop.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Supervisor, type ExitInfo, type ProgramSpec } from '../../src/supervise/index.ts';
import { captureLogger, isAlive, killPids, waitFor } from '../helpers/supervise.ts';

/** A supervisor whose every child is killed after the test, and a log of its events. */
function supervisor(t: TestContext) {
  const { logger } = captureLogger();
  const sup = new Supervisor({ logger });
  const pids = new Set<number>();
  const events: Array<{ name: string; event: string; at: number }> = [];
  const add = (spec: ProgramSpec) => {
    const program = sup.add(spec);
    for (const event of ['spawn', 'ready', 'exit']) {
      program.on(event, (arg: unknown) => {
        events.push({ name: spec.name, event, at: Date.now() });
        if (event === 'spawn') pids.add(arg as number);
      });
    }
    return program;
  };
  t.after(async () => {
    await sup.kill();
    killPids(pids);
  });
  const first = (name: string, event: string) =>
    events.find((e) => e.name === name && e.event === event)?.at ?? NaN;
  return { sup, add, events, first, pids };
}

/** Exits `delay` seconds after SIGTERM; up until then it just waits. */
const slowToStop = (delay: number) => ({
  command: 'sh',
  args: ['-c', `trap "sleep ${delay}; exit 0" TERM; while :; do sleep 0.05; done`],
});
const ignoresTerm = { command: 'sh', args: ['-c', 'trap "" TERM; while :; do sleep 0.05; done'] };

/** True once the process ignores or catches SIGTERM (bit 15 of SigIgn or SigCgt in /proc/PID/status). */
function handlesSigterm(pid: number | null): boolean {
  if (!pid) return false;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return ['SigIgn', 'SigCgt'].some((field) => {
      const mask = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status)?.[1];
      return mask !== undefined && (BigInt(`0x${mask}`) & (1n << 14n)) !== 0n;
    });
  } catch {
    return false;
  }
}

/**
 * Waits until every shell of these supervisors has run its `trap`: a SIGTERM that lands before
 * would end it at once, and the test would measure a race instead of the stop.
 */
async function trapsSet(...sups: Supervisor[]): Promise<void> {
  await waitFor(
    () =>
      sups
        .flatMap((sup) => sup.snapshot())
        .filter((p) => p.state !== 'exited')
        .every((p) => handlesSigterm(p.pid)),
    'the shells to trap SIGTERM',
  );
}

test('a program starts only after its dependency is ready; programs can be added later', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'supervisor-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const flag = join(dir, 'ready');
  const { sup, add, first } = supervisor(t);
  add({
    name: 'consul',
    command: 'sh',
    args: ['-c', `sleep 0.4; touch ${flag}; exec sleep 30`],
    readiness: { probe: async () => existsSync(flag), intervalMs: 25 },
  });
  await sup.start(['consul']);
  assert.equal(sup.get('consul')?.state, 'ready');

  add({ name: 'sidecar:a', command: 'sleep', args: ['30'], dependsOn: ['consul'] });
  add({ name: 'sidecar:b', command: 'sleep', args: ['30'], dependsOn: ['sidecar:a'] });
  await sup.start();
  assert.ok(first('consul', 'ready') <= first('sidecar:a', 'spawn'));
  assert.ok(first('sidecar:a', 'ready') <= first('sidecar:b', 'spawn'));
  assert.deepEqual(
    sup.snapshot().map((s) => [s.name, s.state, s.ready]),
    [
      ['consul', 'ready', true],
      ['sidecar:a', 'running', true],
      ['sidecar:b', 'running', true],
    ],
  );
});

test('a dependency that is not ready yet holds its dependents back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'supervisor-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const flag = join(dir, 'ready');
  const { sup, add, first } = supervisor(t);
  add({
    name: 'a',
    command: 'sleep',
    args: ['30'],
    readiness: { probe: async () => existsSync(flag), intervalMs: 25 },
  });
  add({ name: 'b', command: 'sleep', args: ['30'], dependsOn: ['a'] });
  const starting = sup.start();
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(sup.get('a')?.state, 'running');
  assert.equal(sup.get('b')?.state, 'stopped');
  const flaggedAt = Date.now();
  writeFileSync(flag, '');
  await starting;
  assert.ok(first('b', 'spawn') >= flaggedAt);
});

test('start rejects unknown dependencies and cycles before starting anything', async (t) => {
  const { sup, add } = supervisor(t);
  add({ name: 'a', command: 'sleep', args: ['30'], dependsOn: ['missing'] });
  add({ name: 'b', command: 'sleep', args: ['30'], dependsOn: ['c'] });
  add({ name: 'c', command: 'sleep', args: ['30'], dependsOn: ['b'] });
  await assert.rejects(sup.start(['a']), /unknown program missing \(a dependency of a\)/);
  await assert.rejects(sup.start(['b']), /dependency cycle: b -> c -> b/);
  assert.ok(sup.snapshot().every((s) => s.state === 'stopped'));
});

test('stop goes in reverse dependency order, one level in parallel', async (t) => {
  const { sup, add, first } = supervisor(t);
  add({ name: 'consul', ...slowToStop(0.1) });
  add({ name: 'sidecar:a', ...slowToStop(1.5), dependsOn: ['consul'] });
  add({ name: 'sidecar:b', ...slowToStop(1.5), dependsOn: ['consul'] });
  await sup.start();
  await trapsSet(sup);
  const stopping = Date.now();
  await sup.stop({ deadlineMs: 10_000 });
  const [a, b, consul] = ['sidecar:a', 'sidecar:b', 'consul'].map((n) => first(n, 'exit'));
  assert.ok(consul! >= Math.max(a!, b!), 'consul stops after both sidecars');
  // In parallel: each sidecar takes 1.5 s to stop; one after the other they would exit at least
  // 1.5 s apart and 3 s after the stop began. Wide margins: the machine is shared and noisy.
  assert.ok(Math.abs(a! - b!) < 1000, `sidecars exited ${Math.abs(a! - b!)} ms apart`);
  assert.ok(Math.max(a!, b!) - stopping < 2900);
  for (const s of sup.snapshot()) assert.deepEqual([s.state, s.lastExit?.code], ['exited', 0]);
});

test('a program that releases its dependencies lets their stop begin while it finishes', async (t) => {
  const { sup, add, first } = supervisor(t);
  let consulTriggeredAt = NaN;
  add({
    name: 'consul',
    ...slowToStop(0.1),
    stopTrigger: async () => {
      consulTriggeredAt = Date.now();
      return 'signal';
    },
  });
  // An Envoy with its listeners closed: it releases consul, then takes a while to exit.
  add({
    name: 'sidecar:releases',
    ...slowToStop(1.5),
    dependsOn: ['consul'],
    stopTrigger: async (release) => {
      release();
      return 'signal';
    },
  });
  add({ name: 'sidecar:holds', ...slowToStop(0.3), dependsOn: ['consul'] });
  await sup.start();
  await trapsSet(sup);
  await sup.stop({ deadlineMs: 10_000 });
  const [releases, holds] = ['sidecar:releases', 'sidecar:holds'].map((n) => first(n, 'exit'));
  assert.ok(consulTriggeredAt >= holds!, 'consul waits for a program that did not release it');
  assert.ok(consulTriggeredAt < releases!, "consul's stop began before the releasing one exited");
  for (const s of sup.snapshot()) assert.deepEqual([s.state, s.lastExit?.code], ['exited', 0]);
});

test('everything is stopped inside one deadline, and a second stop kills at once', async (t) => {
  const deadline = supervisor(t);
  deadline.add({ name: 'base', ...ignoresTerm });
  deadline.add({ name: 'top', ...ignoresTerm, dependsOn: ['base'] });
  const second = supervisor(t);
  second.add({ name: 'stubborn', ...ignoresTerm, stopGraceMs: 60_000 });
  await Promise.all([deadline.sup.start(), second.sup.start()]);
  await trapsSet(deadline.sup, second.sup);

  const started = Date.now();
  const stopped = deadline.sup.stop({ deadlineMs: 600 });
  const firstStop = second.sup.stop({ deadlineMs: 60_000 });
  await new Promise((resolve) => setTimeout(resolve, 200));
  await second.sup.stop({ deadlineMs: 60_000 });
  await firstStop;
  const secondTook = Date.now() - started;
  await stopped;
  const deadlineTook = Date.now() - started;

  assert.ok(secondTook < 2500, `the second stop took ${secondTook} ms`);
  assert.ok(
    deadlineTook >= 550 && deadlineTook < 3000,
    `the deadline stop took ${deadlineTook} ms`,
  );
  const exits = [...deadline.sup.snapshot(), ...second.sup.snapshot()].map((s) => s.lastExit);
  assert.deepEqual(
    exits.map((e: ExitInfo | null) => e?.signal),
    ['SIGKILL', 'SIGKILL', 'SIGKILL'],
  );
  assert.ok(![...deadline.pids, ...second.pids].some(isAlive));
});

test('a fatal program is reported with its name, and nothing restarts while stopping', async (t) => {
  const { sup, add } = supervisor(t);
  add({ name: 'flaky', command: 'sh', args: ['-c', 'exit 2'], crashLoop: { maxRestarts: 0 } });
  const fatal = new Promise<[string, string]>((resolve) =>
    sup.once('fatal', (name: string, reason: string) => resolve([name, reason])),
  );
  // Without a probe, running is ready: start resolves, the crash loop comes after.
  await sup.start();
  const [name, reason] = await fatal;
  await assert.rejects(sup.get('flaky')!.whenReady(), /flaky failed: crash loop/);
  assert.equal(name, 'flaky');
  assert.match(reason, /last exits: code 2/);

  add({ name: 'crasher', command: 'sh', args: ['-c', 'sleep 0.2; exit 1'], dependsOn: [] });
  add({ name: 'slow', ...slowToStop(0.5), dependsOn: ['crasher'] });
  await sup.start(['crasher', 'slow']);
  await sup.stop({ deadlineMs: 5000 });
  assert.equal(sup.get('crasher')?.snapshot().restarts, 0);
  assert.equal(sup.get('crasher')?.state, 'exited');
  await assert.rejects(sup.start(), /stopping/);
});

test('remove stops a program the way a stop does and forgets it; its dependency keeps running', async (t) => {
  const { sup, add } = supervisor(t);
  const base = add({ name: 'base', command: 'sleep', args: ['30'], restart: 'always' });
  let triggered = false;
  const leaf = add({
    name: 'leaf',
    ...slowToStop(0.2),
    restart: 'always',
    dependsOn: ['base'],
    stopTrigger: async () => {
      triggered = true;
      return 'signal';
    },
  });
  await sup.start();
  await waitFor(() => handlesSigterm(leaf.pid), 'the shell to trap SIGTERM');
  const leafPid = leaf.pid!;
  await assert.rejects(sup.remove('base'), /base is a dependency of leaf/);
  await sup.remove('leaf');
  assert.equal(triggered, true, 'the stop trigger ran');
  assert.equal(isAlive(leafPid), false);
  assert.equal(sup.get('leaf'), undefined);
  assert.deepEqual(
    sup.snapshot().map((p) => p.name),
    ['base'],
  );
  assert.equal(base.state, 'running');
  await sup.remove('no-such-program');
});
