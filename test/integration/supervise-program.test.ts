// Program against real children: small sh and node scripts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Program, type ExitInfo, type ProgramSpec } from '../../src/supervise/index.ts';
import { backoffCeiling } from '../../src/supervise/backoff.ts';
import {
  captureLogger,
  isAlive,
  killPids,
  nodeScript,
  waitFor,
  type LogRecord,
} from '../helpers/supervise.ts';
import type { TestContext } from 'node:test';

/** A Program whose every child is killed after the test, whatever happened. */
function program(t: TestContext, spec: Omit<ProgramSpec, 'name'> & { name?: string }) {
  const { logger, records } = captureLogger();
  const p = new Program({ name: 'test', ...spec }, { logger });
  const pids = new Set<number>();
  p.on('spawn', (pid: number) => pids.add(pid));
  t.after(async () => {
    await p.kill();
    killPids(pids);
  });
  return { program: p, records, pids };
}

const of = (records: LogRecord[], msg: string) => records.filter((r) => r.msg === msg);

test('exit code and signal are recorded', async (t) => {
  const coded = program(t, { command: 'sh', args: ['-c', 'exit 3'], restart: 'never' });
  const signalled = program(t, { command: 'sh', args: ['-c', 'kill -USR1 $$'], restart: 'never' });
  coded.program.start();
  signalled.program.start();
  const [[codeExit], [signalExit]] = (await Promise.all([
    once(coded.program, 'exit'),
    once(signalled.program, 'exit'),
  ])) as [[ExitInfo], [ExitInfo]];
  assert.equal(codeExit.code, 3);
  assert.equal(codeExit.signal, null);
  assert.equal(signalExit.code, null);
  assert.equal(signalExit.signal, 'SIGUSR1');
  await waitFor(() => coded.program.state === 'exited', 'exited');
  assert.deepEqual(coded.program.snapshot().lastExit?.code, 3);
  assert.equal(coded.program.pid, null);
});

test('a crashing program restarts with backoff, then a crash loop is fatal with its last exits', async (t) => {
  const { program: p, records } = program(t, {
    command: 'sh',
    args: ['-c', 'exit 1'],
    backoff: { initialMs: 40 },
    crashLoop: { maxRestarts: 4, windowMs: 30_000 },
  });
  const spawnTimes: number[] = [];
  p.on('spawn', () => spawnTimes.push(Date.now()));
  p.start();
  const [reason] = (await once(p, 'fatal')) as [string];
  const snap = p.snapshot();
  assert.equal(snap.state, 'fatal');
  assert.equal(snap.restarts, 4);
  assert.equal(spawnTimes.length, 5);
  assert.match(
    reason,
    /crash loop: 4 restarts within 30s, each dying before it was ready; last exits: (code 1, ){4}code 1/,
  );
  assert.equal(snap.fatalReason, reason);
  assert.equal(snap.recentExits.length, 5);
  // Each delay is drawn below its doubling ceiling (40, 80, 160, 320 ms).
  const delays = of(records, 'restarting after backoff').map((r) => r.delayMs as number);
  assert.equal(delays.length, 4);
  delays.forEach((d, i) =>
    assert.ok(d <= backoffCeiling(i, { initialMs: 40, maxMs: 30_000 }), `${i}: ${d}`),
  );
  await assert.rejects(p.whenReady(), /test failed: crash loop/);
});

test("firstRunArgs are the first spawn's argv only; a restart runs args", async (t) => {
  const { program: p, records } = program(t, {
    command: 'sh',
    args: ['-c', 'echo "run: plain"; exit 1', 'sh'],
    firstRunArgs: ['-c', 'echo "run: first"; exit 1', 'sh'],
    backoff: { initialMs: 10 },
    crashLoop: { maxRestarts: 1, windowMs: 30_000 },
  });
  p.start();
  await waitFor(() => p.state === 'fatal', 'the crash loop to end it');
  assert.deepEqual(
    records.filter((r) => String(r.msg).startsWith('run: ')).map((r) => r.msg),
    ['run: first', 'run: plain'],
  );
  assert.deepEqual(
    of(records, 'spawned').map((r) => (r.args as string[])[1]),
    ['echo "run: first"; exit 1', 'echo "run: plain"; exit 1'],
  );
});

test('restart policies: on-failure stops at exit 0, always restarts it, never restarts nothing', async (t) => {
  const onFailure = program(t, { command: 'sh', args: ['-c', 'exit 0'], restart: 'on-failure' });
  const always = program(t, {
    command: 'sh',
    args: ['-c', 'exit 0'],
    restart: 'always',
    backoff: { initialMs: 10 },
    crashLoop: { maxRestarts: 1 },
  });
  const never = program(t, { command: 'sh', args: ['-c', 'exit 1'], restart: 'never' });
  for (const x of [onFailure, always, never]) x.program.start();
  await once(always.program, 'fatal');
  await waitFor(
    () => onFailure.program.state === 'exited' && never.program.state === 'exited',
    'exits',
  );
  assert.equal(onFailure.program.snapshot().restarts, 0);
  assert.equal(never.program.snapshot().restarts, 0);
  assert.equal(always.program.snapshot().restarts, 1);
  await assert.rejects(never.program.whenReady(), /test exited \(code 1\)/);
});

test('a child ignoring SIGTERM is killed with its group after the grace', async (t) => {
  const { program: p, records } = program(t, {
    command: 'sh',
    args: ['-c', 'trap "" TERM; sleep 30 & echo up; wait'],
    stopGraceMs: 300,
  });
  p.start();
  await p.whenReady();
  await waitFor(() => of(records, 'up').length, 'the child to be up');
  const pid = p.pid!;
  const started = Date.now();
  const exit = await p.stop();
  const took = Date.now() - started;
  assert.equal(exit?.signal, 'SIGKILL');
  assert.ok(took >= 250 && took < 4000, `stop took ${took} ms`);
  assert.equal(p.state, 'exited');
  assert.equal(isAlive(pid), false);
  assert.equal(of(records, 'did not exit within the grace: killing its process tree').length, 1);
});

test('stopping leaves no process of the tree: a grandchild ignoring SIGTERM and one that escaped with setsid', async (t) => {
  // The child starts a grandchild in its group that ignores SIGTERM, and one in a new session
  // (detached: setsid), reports their pids, and exits on SIGTERM itself.
  const script = `
    const { spawn } = require('node:child_process');
    const stubborn = ['-c', 'trap "" TERM; while :; do sleep 0.1; done'];
    const inGroup = spawn('sh', stubborn, { stdio: 'ignore' });
    const escaped = spawn('sh', stubborn, { stdio: 'ignore', detached: true });
    console.log(JSON.stringify({ msg: 'pids', inGroup: inGroup.pid, escaped: escaped.pid }));
    process.on('SIGTERM', () => process.exit(0));
    setInterval(() => {}, 1000);
  `;
  const { program: p, records } = program(t, { ...nodeScript(script), stopGraceMs: 3000 });
  const grandchildren: number[] = [];
  t.after(() => killPids(grandchildren));
  p.start();
  const report = await waitFor(() => of(records, 'pids')[0], 'the grandchildren pids');
  grandchildren.push(report.inGroup as number, report.escaped as number);
  await waitFor(() => grandchildren.every(isAlive), 'both grandchildren alive');
  const pid = p.pid!;

  const exit = await p.stop();
  assert.deepEqual({ code: exit?.code, signal: exit?.signal }, { code: 0, signal: null });
  await waitFor(() => ![pid, ...grandchildren].some(isAlive), 'no process of the tree left', 2000);
  // The group member dies with the group; only the /proc sweep can find the escaped one.
  const swept = of(records, 'killed leftover processes')[0]?.pids as number[];
  assert.ok(swept.includes(report.escaped as number), `swept ${swept}`);
});

test('a stopTrigger is used instead of the stop signal; the signal follows when it asks for it or throws', async (t) => {
  // TERM would exit 7; USR1 (sent by the trigger) exits 0.
  const args = [
    '-c',
    'trap "exit 7" TERM; trap "exit 0" USR1; echo up; while :; do sleep 0.05; done',
  ];
  const triggered = program(t, {
    command: 'sh',
    args,
    stopTrigger: async () => {
      process.kill(triggered.program.pid!, 'SIGUSR1');
    },
  });
  const failing = program(t, {
    command: 'sh',
    args,
    stopTrigger: async () => {
      throw new Error('agent unreachable');
    },
  });
  let workDone = false;
  const thenSignal = program(t, {
    command: 'sh',
    args,
    stopTrigger: async () => {
      workDone = true;
      return 'signal';
    },
  });
  const all = [triggered, failing, thenSignal];
  for (const x of all) x.program.start();
  await waitFor(() => all.every((x) => of(x.records, 'up').length), 'up');
  const [a, b, c] = await Promise.all(all.map((x) => x.program.stop()));
  assert.equal(a?.code, 0);
  assert.equal(b?.code, 7);
  assert.equal(c?.code, 7);
  assert.equal(workDone, true);
  assert.equal(of(thenSignal.records, 'stop trigger failed: signalling').length, 0);
  const fallback = of(failing.records, 'stop trigger failed: signalling')[0];
  assert.deepEqual([fallback?.err, fallback?.signal], ['agent unreachable', 'SIGTERM']);
});

test('a missing or non-executable binary is a clear, immediate failure', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'supervise-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'not-exec'), '#!/bin/sh\n', { mode: 0o644 });
  const missing = program(t, { command: join(dir, 'consul'), args: ['agent'] });
  const denied = program(t, { command: join(dir, 'not-exec'), args: [] });
  missing.program.start();
  denied.program.start();
  await assert.rejects(
    missing.program.whenReady(),
    new RegExp(`cannot run ${join(dir, 'consul')}: ENOENT: no such file or directory`),
  );
  await assert.rejects(
    denied.program.whenReady(),
    /cannot run .*not-exec: EACCES: permission denied/,
  );
  assert.equal(missing.program.state, 'fatal');
  assert.equal(missing.program.snapshot().restarts, 0);
});

test('readiness: ready once the probe passes; past its deadline the child is killed and it counts as a failure', async (t) => {
  let calls = 0;
  const ready = program(t, {
    command: 'sleep',
    args: ['30'],
    readiness: { probe: async () => ++calls >= 3, intervalMs: 20 },
  });
  const never = program(t, {
    command: 'sleep',
    args: ['30'],
    backoff: { initialMs: 10 },
    crashLoop: { maxRestarts: 1 },
    readiness: { probe: async () => false, intervalMs: 20, timeoutMs: 250 },
  });
  ready.program.start();
  never.program.start();
  assert.equal(ready.program.snapshot().ready, false);
  await ready.program.whenReady();
  assert.equal(ready.program.state, 'ready');
  assert.equal(calls, 3);
  await assert.rejects(never.program.whenReady(), /crash loop/);
  const exits = never.program.snapshot().recentExits;
  assert.deepEqual(
    exits.map((e) => e.signal),
    ['SIGKILL', 'SIGKILL'],
  );
});

test('readiness: a probe that throws says why the program is not ready, logged once per reason, cleared once ready', async (t) => {
  let calls = 0;
  const rejected = 'Envoy rejected listener public_listener:0.0.0.0:21000: no router';
  const p = program(t, {
    command: 'sleep',
    args: ['30'],
    readiness: {
      probe: async () => {
        calls++;
        if (calls <= 4) throw new Error(rejected);
        if (calls === 5) return false;
        return true;
      },
      intervalMs: 20,
    },
  });
  p.program.start();
  await waitFor(
    () => p.program.snapshot().notReadyReason === rejected,
    'the reason in the snapshot',
  );
  await p.program.whenReady();
  assert.equal(p.program.snapshot().notReadyReason, null);
  assert.deepEqual(
    of(p.records, 'not ready').map((r) => r.reason),
    [rejected],
  );
});

test('output lines are logged per program and stream: JSON merged, long lines truncated, partial line flushed', async (t) => {
  const long = 'x'.repeat(20_000);
  const { program: p, records } = program(t, {
    name: 'talker',
    command: 'sh',
    args: [
      '-c',
      `echo plain; echo '{"level":"warn","msg":"structured","port":8500}'; echo oops >&2; echo ${long}; printf 'no newline'`,
    ],
    restart: 'never',
  });
  p.start();
  await once(p, 'exit');
  await waitFor(() => of(records, 'no newline').length, 'the partial last line');
  const lines = records.filter((r) => r.stream);
  assert.ok(lines.every((r) => r.program === 'talker'));
  const summary = (stream: string) =>
    lines
      .filter((r) => r.stream === stream)
      .map((r) => [r.level, (r.msg as string).slice(0, 12), r.truncated ?? false]);
  // stdout and stderr are two pipes: order is kept within each, not across them.
  assert.deepEqual(summary('stdout'), [
    ['info', 'plain', false],
    ['warn', 'structured', false],
    ['info', 'xxxxxxxxxxxx', true],
    ['info', 'no newline', false],
  ]);
  assert.deepEqual(summary('stderr'), [['info', 'oops', false]]);
  const structured = of(records, 'structured')[0]!;
  assert.equal(structured.port, 8500);
  assert.equal((lines.find((r) => r.truncated)!.msg as string).length, 16 * 1024);
});

test('the exit is seen even when a grandchild keeps the output pipe open', async (t) => {
  const { program: p } = program(t, {
    command: 'sh',
    args: ['-c', 'sleep 30 & echo started; exit 4'],
    restart: 'never',
  });
  p.start();
  const started = Date.now();
  const [exit] = (await once(p, 'exit')) as [ExitInfo];
  assert.equal(exit.code, 4);
  assert.ok(Date.now() - started < 3000);
});

test('a program killed after it became ready restarts at once, however often: no crash loop', async (t) => {
  const probed = program(t, {
    command: 'sleep',
    args: ['30'],
    restart: 'always',
    backoff: { initialMs: 50 },
    crashLoop: { maxRestarts: 1, windowMs: 60_000 },
    readiness: { probe: async () => true, intervalMs: 20 },
  });
  // Without a probe, a run is healthy once it outlives the stable period (resetAfterMs).
  const unprobed = program(t, {
    command: 'sleep',
    args: ['30'],
    restart: 'always',
    backoff: { initialMs: 50, resetAfterMs: 200 },
    crashLoop: { maxRestarts: 1, windowMs: 60_000 },
  });
  for (const { program: p } of [probed, unprobed]) {
    p.start();
    for (let kill = 1; kill <= 4; kill++) {
      await p.whenReady();
      if (p === unprobed.program) await new Promise((r) => setTimeout(r, 250));
      process.kill(p.pid!, 'SIGKILL');
      await waitFor(
        () => p.snapshot().restarts === kill && p.state !== 'backoff',
        `restart ${kill}`,
      );
    }
    await p.whenReady();
    assert.equal(p.snapshot().fatalReason, null);
  }
  // Each restart after a healthy run starts the backoff afresh: at most the initial 50 ms.
  for (const { records } of [probed, unprobed]) {
    const delays = of(records, 'restarting after backoff').map((r) => r.delayMs as number);
    assert.equal(delays.length, 4);
    assert.ok(
      delays.every((d) => d <= 50),
      `delays ${delays.join(', ')}`,
    );
  }
});

test('a program that dies before its stable period counts towards the crash-loop limit', async (t) => {
  const { program: p } = program(t, {
    command: 'sleep',
    args: ['30'],
    restart: 'always',
    backoff: { initialMs: 10, resetAfterMs: 60_000 },
    crashLoop: { maxRestarts: 2, windowMs: 60_000 },
  });
  const pids: number[] = [];
  p.on('spawn', (pid: number) => {
    pids.push(pid);
    if (pids.length <= 3) process.kill(pid, 'SIGKILL');
  });
  p.start();
  await waitFor(() => p.state === 'fatal', 'fatal');
  assert.match(p.snapshot().fatalReason ?? '', /crash loop: 2 restarts within 60s/);
});
