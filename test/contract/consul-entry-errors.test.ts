// Contract test: recording 12 (a rejected config entry through a client agent vs through the
// server). Sends every recorded PUT /v1/config of 12-entry-errors/ to the double at the matching
// moment (joined, server just stopped, server marked failed, server restarted without a leader,
// client that never had a server, server up but client not joined, after the join) and compares
// status, Content-Type and body text with the recording. Loopback 127.0.88.X stands in for the
// recording's namespaces 10.88.0.X.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DoubleProcess, httpCall, recordingWorkspace } from './harness.ts';
import type { HttpRecord } from './recordings.ts';
import { loadRecord, onLoopback, recordingPath } from './recordings.ts';

const DIR = '12-entry-errors';
const local = onLoopback('127.0.88');
const SERVER = local('http://10.88.0.10:8500');
/** A shortened RPC hold, so that phase 3 (no leader yet) takes seconds, not the real 7. */
const HOLD_MS = 1500;

const ws = recordingWorkspace(`${DIR}/configs`, local);

const agent = (config: string, env: Record<string, string> = {}): DoubleProcess =>
  new DoubleProcess(['agent', `-config-file=./configs/${config}`], ws.dir, env);

/** A phase's records (`rel` → record), in recorded order; optionally only those sent `via`. */
function phase(folder: string, via?: 'client' | 'server'): [string, HttpRecord][] {
  return readdirSync(recordingPath(`${DIR}/${folder}`))
    .filter((f) => f.endsWith('.json') && (!via || f.endsWith(`.via-${via}.json`)))
    .map((f): [string, HttpRecord] => [
      `${folder}/${f}`,
      loadRecord(`${DIR}/${folder}/${f}`) as HttpRecord,
    ])
    .sort(([, a], [, b]) => (a.recorded_at < b.recorded_at ? -1 : 1));
}

interface Answer {
  status: number | null;
  type: string | null;
  body: string | null;
}

/** What the recording got (no answer at all: curl could not connect). */
const recorded = (rec: HttpRecord): Answer => ({
  status: rec.status,
  type: rec.headers['Content-Type'] ?? null,
  body: rec.body === null ? null : local(rec.body),
});

/** Sends a recorded request to the double: its answer, and how long it took. */
async function send(rec: HttpRecord): Promise<{ answer: Answer; ms: number }> {
  const t0 = Date.now();
  try {
    const r = await httpCall(rec.method, local(rec.url), rec.request_body);
    return {
      answer: { status: r.status, type: r.headers.get('content-type'), body: r.body },
      ms: Date.now() - t0,
    };
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code;
    if (code !== 'ECONNREFUSED') throw err;
    return { answer: { status: null, type: null, body: null }, ms: Date.now() - t0 };
  }
}

async function replay(records: [string, HttpRecord][]): Promise<void> {
  for (const [rel, rec] of records) {
    assert.deepEqual((await send(rec)).answer, recorded(rec), `${DIR}/${rel}`);
  }
}

const leaderOf = async (base: string): Promise<string> =>
  (await httpCall('GET', `${base}/v1/status/leader`)).body;

describe('consul double vs recording 12 (entry errors)', { concurrency: false }, () => {
  // Marking the stopped server failed takes 3 s, leaving room for phase 2a.
  const clientEnv = { CONSUL_DOUBLE_FAILURE_MS: '3000' };
  let srv: DoubleProcess;
  let c1: DoubleProcess;

  test('1 joined: rejections are 500 with the reason, prefixed through the client', async () => {
    srv = agent('server.json');
    // The client's first join must find the server: its next try is 30 s later.
    await srv.waitForLog(/Consul agent running!/);
    c1 = agent('client-c1.json', clientEnv);
    await c1.waitForLog(/Join cluster completed/);
    await srv.waitForLog(/New leader elected/);
    // (7: the rejected entry is not stored; the client's own 404 is not prefixed)
    await replay(phase('1-joined'));
  });

  test('2a server just stopped: its port refuses, the client cannot dial it', async () => {
    srv.kill('SIGTERM');
    assert.equal(await srv.exited, 1);
    await replay(phase('2a-server-stopped-0.5s'));
  });

  test('2b server marked failed: No known Consul servers, decode errors still 400', async () => {
    await c1.waitForLog(/removing server/);
    await replay(phase('2b-server-stopped-15s'));
  });

  test('3 server restarted, no leader yet: the client holds writes, then No cluster leader', async () => {
    const electionMs = 5000;
    srv = agent('server.json', {
      CONSUL_DOUBLE_ELECTION_MS: String(electionMs),
      CONSUL_DOUBLE_RPC_HOLD_MS: String(HOLD_MS),
    });
    await srv.waitForLog(/Consul agent running!/);
    const running = Date.now();
    await c1.waitForLog(/adding server[\s\S]*adding server/);
    // Sent in parallel, as recorded: valid or not, held for the RPC hold; decode errors at once.
    const viaClient = phase('3-server-restarted-no-leader-yet', 'client');
    const answers = await Promise.all(viaClient.map(([, rec]) => send(rec)));
    viaClient.forEach(([rel, rec], i) => {
      const { answer, ms } = answers[i] as { answer: Answer; ms: number };
      assert.deepEqual(answer, recorded(rec), `${DIR}/${rel}`);
      if (rec.status === 500)
        assert.ok(ms >= HOLD_MS, `${rel}: answered after ${ms} ms, before the ${HOLD_MS} ms hold`);
      else
        assert.ok(ms < HOLD_MS, `${rel}: a decode error is answered at once, not after ${ms} ms`);
    });
    // Through the server, writes sent shortly before the election wait for the leader, then get
    // the normal answers.
    await sleep(running + electionMs - 700 - Date.now());
    assert.equal(await leaderOf(SERVER), '""');
    const viaServer = phase('3-server-restarted-no-leader-yet', 'server');
    const served = await Promise.all(viaServer.map(([, rec]) => send(rec)));
    viaServer.forEach(([rel, rec], i) => {
      const { answer, ms } = served[i] as { answer: Answer; ms: number };
      assert.deepEqual(answer, recorded(rec), `${DIR}/${rel}`);
      if (rec.status !== 400) assert.ok(ms >= 300, `${rel}: not held for the leader (${ms} ms)`);
    });
  });

  test('4a a new client (same data dir) that never had a server', async () => {
    c1.kill('SIGINT');
    assert.equal(await c1.exited, 0);
    srv.kill('SIGTERM');
    assert.equal(await srv.exited, 1);
    c1 = agent('client-c1.json', { ...clientEnv, CONSUL_DOUBLE_RETRY_INTERVAL_MS: '5000' });
    await c1.waitForLog(/Join cluster failed, will retry/);
    await replay(phase('4a-client-never-had-server'));
  });

  test('4b server up with a leader, client not joined yet: two views', async () => {
    srv = agent('server.json');
    await srv.waitForLog(/New leader elected/);
    assert.doesNotMatch(c1.stdout, /Join cluster completed/);
    await replay(phase('4b-server-up-client-not-joined'));
  });

  test('4c after the join: prefixed rejections again', async () => {
    await c1.waitForLog(/Join cluster completed/);
    await replay(phase('4c-after-join'));
  });
});
