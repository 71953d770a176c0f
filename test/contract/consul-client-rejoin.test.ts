// Contract test: recording 10 (a client that left, started again with the same node name and
// data dir). From the restart's exec, polls the client's `/v1/status/leader` and
// `/v1/catalog/node/c1` every ~10 ms, as the recording did: once the leader is known the node is
// still `null` for a moment, then present (the leader's reconcile), and its services come only
// with the client's first anti-entropy sync. Loopback 127.0.89.X stands in for 10.88.0.X.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../helpers/loopback.ts';
import { DoubleProcess, httpCall, recordingWorkspace } from './harness.ts';
import { onLoopback, recordingPath } from './recordings.ts';

const DIR = '10-client-rejoin';
const local = onLoopback('127.0.89');
const SERVER = local('http://10.88.0.10:8500');
const C1 = local('http://10.88.0.11:8500');

interface Sample {
  t: number;
  leader: string;
  node: string;
  /** The catalog node's HTTP status (0: no answer; undefined: cut off in the recording). */
  nodeStatus?: number;
}

/** The recorded polls of the restarts after a leave (runs 2 and 3; run 1 is the first join). */
const recordedRuns = (): Sample[][] =>
  [2, 3].map((run) =>
    readFileSync(recordingPath(`${DIR}/poll-${run}.txt`), 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const m = /^run\d t=(\d+)ms leader=\d{3} (.*) node=(.*?)(?: (\d{3}))?$/.exec(line);
        assert.ok(m, `unexpected poll line: ${line}`);
        const [, t, leader, node, status] = m as string[];
        return {
          t: Number(t),
          leader: local(leader as string),
          node: node as string,
          ...(status ? { nodeStatus: Number(status) } : {}),
        };
      }),
  );

/** What a poll went through once the leader was known: sample classes, repeats collapsed. */
function phases(samples: Sample[], leader: string): string[] {
  const first = samples.findIndex((s) => s.leader === leader);
  const out: string[] = [];
  for (const s of first < 0 ? [] : samples.slice(first)) {
    const node =
      s.node === 'null' && s.nodeStatus === 200
        ? 'node null'
        : s.node.startsWith('{"Node":')
          ? 'node'
          : s.node;
    const c = `${s.leader === leader ? 'leader' : s.leader}, ${node}`;
    if (out.at(-1) !== c) out.push(c);
  }
  return out;
}

const catalogNode = async (base: string): Promise<string> =>
  (await httpCall('GET', `${base}/v1/catalog/node/c1`)).body;

/** A GET's status and body; 0 and '' when the agent does not answer (yet). */
const get = (url: string): Promise<{ status: number; body: string }> =>
  httpCall('GET', url).catch(() => ({ status: 0, body: '' }));

const ws = recordingWorkspace(DIR, local);

describe('consul double vs recording 10 (client rejoin after a leave)', () => {
  test('the leader is known while the catalog node is null, then the node, then its services', async () => {
    const [run2, run3] = recordedRuns() as [Sample[], Sample[]];
    const leader = local('"10.88.0.10:8300"');
    const expected = phases(run2, leader);
    assert.deepEqual(expected, ['leader, node null', 'leader, node']);
    assert.deepEqual(phases(run3, leader), expected);

    // The recorded null window (150-230 ms) rather than the short default, for a loaded host.
    new DoubleProcess(['agent', '-config-file=./configs/server.json'], ws.dir, {
      CONSUL_DOUBLE_RECONCILE_MS: '200',
    });
    const client = ['agent', '-config-file=./configs/client-c1.json'];
    // The first anti-entropy sync ~1 s after the join, as recorded (FAST_ENV: 200 ms).
    const clientEnv = { CONSUL_DOUBLE_SYNC_DELAY_MS: '1000' };
    let c1 = new DoubleProcess(client, ws.dir, clientEnv);
    await eventually(async () => (await catalogNode(SERVER)).includes('"users-1"') || undefined, {
      timeoutMs: 10_000,
      what: 'c1 and its services in the catalog',
    });
    c1.kill('SIGINT');
    assert.equal(await c1.exited, 0);
    assert.equal(await catalogNode(SERVER), 'null', 'the leave removes the node');

    c1 = new DoubleProcess(client, ws.dir, clientEnv);
    const t0 = Date.now();
    const samples: (Sample & { services: boolean })[] = [];
    while (!samples.at(-1)?.services && Date.now() - t0 < 5000) {
      const leaderBody = (await get(`${C1}/v1/status/leader`)).body;
      const node = await get(`${C1}/v1/catalog/node/c1`);
      samples.push({
        t: Date.now() - t0,
        leader: leaderBody,
        node: node.body,
        nodeStatus: node.status,
        services: node.body.startsWith('{') && node.body.includes('"users-1"'),
      });
      await sleep(10);
    }
    const trace = samples
      .map((s) => `t=${s.t} ${s.leader} ${s.nodeStatus} ${s.node.slice(0, 40)}`)
      .join('\n');
    assert.deepEqual(phases(samples, leader), expected, trace);
    const firstNode = samples.find((s) => s.node.startsWith('{'));
    assert.ok(firstNode && !firstNode.services, `the node before its services:\n${trace}`);
    assert.ok(samples.at(-1)?.services, `its services after the first sync:\n${trace}`);
  });
});
