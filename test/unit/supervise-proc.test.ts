import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  collectTree,
  countZombieChildren,
  parseStat,
  type ProcEntry,
} from '../../src/supervise/proc.ts';
import { killPids, waitFor } from '../helpers/supervise.ts';

test('a stat line parses whatever the command name holds', () => {
  const line = '4242 (we ir) d) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 0 0';
  assert.deepEqual(parseStat(line), {
    pid: 4242,
    state: 'S',
    ppid: 17,
    pgid: 4242,
    startTime: 987654,
  });
  assert.equal(parseStat('garbage'), null);
});

test('a tree is its roots, its groups and all their descendants, and never a reused pid', () => {
  const e = (pid: number, ppid: number, pgid: number, startTime = 1): ProcEntry => ({
    pid,
    ppid,
    pgid,
    startTime,
    state: 'S',
  });
  const table = [
    e(10, 2, 10), // root, group leader
    e(11, 10, 10), // child in the group
    e(12, 11, 12), // grandchild that setsid()ed
    e(13, 12, 13), // its child
    e(20, 2, 10), // group member reparented away from the tree
    e(30, 2, 30), // unrelated
    e(31, 30, 30),
  ];
  const pids = (entries: ProcEntry[]) => entries.map((x) => x.pid).sort((a, b) => a - b);
  assert.deepEqual(pids(collectTree(table, [], [10])), [10, 11, 12, 13, 20]);
  assert.deepEqual(pids(collectTree(table, [{ pid: 12, startTime: 1 }])), [12, 13]);
  // Same pid, another start time: a different process now.
  assert.deepEqual(pids(collectTree(table, [{ pid: 12, startTime: 2 }])), []);
});

test('countZombieChildren counts exited, unreaped children of a process', async (t) => {
  // sh forks a short sleep, then execs a long one that never reaps it: one zombie.
  const parent = spawn('sh', ['-c', 'sleep 0.05 & exec sleep 30'], { stdio: 'ignore' });
  t.after(() => killPids([parent.pid]));
  await waitFor(() => countZombieChildren(parent.pid!) === 1, 'a zombie child of the sleep');
  assert.equal(countZombieChildren(process.pid), 0);
});
