// Contract test: recording 11 (ACLs on, default_policy deny), parts 00, a, b and c — the config
// keys 1.10 accepts, a fresh server's bootstrap window (every ACL-checked endpoint `ACL not
// found` until the leader, even with the master token), its log lines, the ACL API right after,
// a restart with the existing data dir, and a client started before its server (tokens cannot be
// resolved: deny; after the join, still in 1.10's legacy ACL mode: anonymous `ACL not found`).
// Polls like the recording's and compares the phases each target went through; replays the
// single calls from their files. Loopback 127.0.91.X stands in for 10.88.0.X.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { Target } from './acl-replay.ts';
import {
  DIR,
  MANAGEMENT,
  UNKNOWN,
  call,
  compare,
  poll,
  recordedPhases,
  runConsul,
  tokenOf,
} from './acl-replay.ts';
import { DoubleProcess, recordingWorkspace } from './harness.ts';
import type { CliRecord, HttpRecord } from './recordings.ts';
import { loadRecord, onLoopback, recordingPath } from './recordings.ts';

const local = onLoopback('127.0.91');
const SERVER = local('http://10.88.0.10:8500');

const ws = recordingWorkspace(`${DIR}/configs`, local);

const agent = (config: string, env: Record<string, string> = {}): DoubleProcess =>
  new DoubleProcess(['agent', `-config-file=./configs/${config}`], ws.dir, {
    // The recorded server reconciled a joining member at once (c: same millisecond).
    CONSUL_DOUBLE_RECONCILE_MS: '0',
    ...env,
  });

const rec = (rel: string): HttpRecord => loadRecord(`${DIR}/${rel}`) as HttpRecord;

/**
 * Replays the single calls `<folder>/<prefix>*.json` in recorded order (status, type, text or
 * shape + names).
 */
async function replayCalls(folder: string, prefix: string): Promise<void> {
  const files = readdirSync(recordingPath(`${DIR}/${folder}`))
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
    .sort((a, b) =>
      rec(`${folder}/${a}`).recorded_at < rec(`${folder}/${b}`).recorded_at ? -1 : 1,
    );
  assert.ok(files.length > 0, `${folder}/${prefix}*`);
  for (const f of files) {
    const r = rec(`${folder}/${f}`);
    const got = await call(r.method, local(r.url), tokenOf(r), r.request_body);
    // The reset index is the raft index of the master token's bootstrap: the double's differ.
    const norm = (s: string): string => s.replace(/reset index: \d+/, 'reset index: N');
    assert.deepEqual(compare(r, got, local, norm), [], `${DIR}/${folder}/${f}`);
  }
}

/** Polls the recorded targets until each reached its last recorded phase (+ `settleMs`). */
async function pollLikeRecorded(rel: string, settleMs = 600, timeoutMs = 20_000): Promise<void> {
  const recorded = recordedPhases(rel, local);
  const targets: Target[] = [...recorded.values()].map((r) => r.target);
  const t0 = Date.now();
  let doneAt = 0;
  const phases = await poll(
    targets,
    (latest) => {
      const all = [...recorded].every(([label, r]) => latest.get(label) === r.phases.at(-1));
      if (all && !doneAt) doneAt = Date.now();
      return (doneAt > 0 && Date.now() - doneAt > settleMs) || Date.now() - t0 > timeoutMs;
    },
    local,
  );
  for (const [label, r] of recorded) {
    assert.deepEqual(phases.get(label), r.phases, `${DIR}/${rel}: ${label}`);
  }
}

describe(
  'consul double vs recording 11 (ACLs: bootstrap window, client before server)',
  {
    concurrency: false,
  },
  () => {
    let srv: DoubleProcess;

    test('00: acl.tokens.initial_management is rejected as 1.10 does, master is valid', async () => {
      for (const f of ['consul-validate.json', 'agent-start.json', 'consul-validate-master.json']) {
        const r = loadRecord(`${DIR}/00-initial_management/${f}`) as CliRecord;
        const got = await runConsul(r.argv.slice(1), ws.dir);
        assert.deepEqual(
          { code: got.code, stdout: got.stdout, stderr: got.stderr },
          { code: r.exit_code, stdout: r.stdout, stderr: r.stderr },
          `${DIR}/00-initial_management/${f}`,
        );
      }
    });

    test('a: fresh server, ACL not found until the leader, then management / anonymous / filtered', async () => {
      // Election after 2.5 s, RPC hold 1.5 s: the first catalog read gives up (No cluster
      // leader), the next one is answered once the leader exists, as recorded (9.8 s / 7 s).
      srv = agent('server.json', {
        CONSUL_DOUBLE_ELECTION_MS: '2500',
        CONSUL_DOUBLE_RPC_HOLD_MS: '1500',
      });
      await pollLikeRecorded('a-server-fresh-start/server-poll.timeline.json');
      await replayCalls('a-server-fresh-start', 'after.');
      const log = srv.stdout;
      const init = [
        'agent.server: initializing acls',
        "agent.server: Created ACL 'global-management' policy",
        'agent.server: Bootstrapped ACL master token from configuration',
        'agent.server: Created ACL anonymous token from configuration',
      ];
      const at = init.map((l) => log.indexOf(l));
      assert.ok(
        at.every(
          (i, k) => i > log.indexOf('New leader elected') && (k === 0 || i > (at[k - 1] ?? 0)),
        ),
        `the four ACL lines after the leader, in order:\n${log}`,
      );
      assert.doesNotMatch(log, /ACL bootstrap/);
      assert.match(
        log,
        /\[ERROR\] agent\.http: Request error: method=GET url=\/v1\/agent\/self from=[\d.:]+ error="ACL not found"/,
      );
      assert.match(
        log,
        /\[ERROR\] agent\.http: Request error: method=GET url=\/v1\/agent\/self from=[\d.:]+ error="Permission denied"/,
      );
      assert.match(
        log,
        new RegExp(
          `\\[WARN\\] {2}agent: Node info update blocked by ACLs: node=${'[0-9a-f-]{36}'} accessorID=00000000-0000-0000-0000-000000000002`,
        ),
      );
      // The bootstrap refusal is written by its handler: no Request error line (recorded).
      assert.doesNotMatch(log, /url=\/v1\/acl\/bootstrap/);
      assert.match(log, /url=\/v1\/acl\/token\/self from=[\d.:]+ error="ACL not found"/);
    });

    test('1.10 token sources: ?token=, Authorization: Bearer, X-Consul-Token (docs; not recorded)', async () => {
      for (const [url, headers] of [
        [`${SERVER}/v1/agent/self?token=${MANAGEMENT}`, {}],
        [`${SERVER}/v1/agent/self`, { Authorization: `Bearer ${MANAGEMENT}` }],
        [`${SERVER}/v1/agent/self`, { 'X-Consul-Token': MANAGEMENT }],
      ] as [string, Record<string, string>][]) {
        const res = await fetch(url, { headers });
        assert.equal(res.status, 200, `${url} ${JSON.stringify(headers)}`);
        assert.equal(res.headers.get('x-consul-default-acl-policy'), 'deny');
      }
      const unknown = await call('GET', `${SERVER}/v1/agent/self?token=${UNKNOWN}`);
      assert.equal(unknown.body, 'ACL not found');
    });

    test('b: restart with the data dir: ACL not found until the leader, only "initializing acls"', async () => {
      srv.kill('SIGTERM');
      assert.equal(await srv.exited, 1);
      srv = agent('server.json', {
        CONSUL_DOUBLE_ELECTION_MS: '1500',
        CONSUL_DOUBLE_RPC_HOLD_MS: '5000',
      });
      await pollLikeRecorded('b-server-restart/server-poll.timeline.json');
      assert.match(srv.stdout, /agent\.server: initializing acls/);
      assert.doesNotMatch(srv.stdout, /Created ACL|Bootstrapped ACL/);
      // The tokens and policies survived the restart.
      const self = await call('GET', `${SERVER}/v1/acl/token/self`, MANAGEMENT);
      assert.equal(self.status, 200);
      assert.match(self.body ?? '', /"Description":"Master Token"/);
    });

    test('c: a client before its server: deny, then (joined, legacy ACL mode) anonymous ACL not found', async () => {
      srv.kill('SIGTERM');
      assert.equal(await srv.exited, 1);
      // retry_join every 6.5 s: the join lands between two of 1.10's ACL mode checks (3.15 s and
      // 6.35 s, then 12.75 s after the start), so the client stays in legacy mode a while, as the
      // recorded one did (joined at 30.1 s, next check at 51 s).
      const c1 = agent('client-c1.agent-token-only.json', {
        CONSUL_DOUBLE_RETRY_INTERVAL_MS: '6500',
        CONSUL_DOUBLE_SYNC_DELAY_MS: '1000',
      });
      await c1.waitForLog(/Join cluster failed, will retry/);
      await replayCalls('c-client-before-server', 'no-server.');
      srv = agent('server.json');
      await srv.waitForLog(/New leader elected/);
      assert.doesNotMatch(c1.stdout, /Join cluster completed/);
      await replayCalls('c-client-before-server', 'server-up-not-joined.');
      await pollLikeRecorded('c-client-before-server/client-poll.timeline.json', 600, 15_000);
      await replayCalls('c-client-before-server', 'joined.');
      assert.match(c1.stdout, /Synced node info/);
      // Legacy mode: the services are blocked, and the accessor cannot be named.
      assert.ok(
        c1.stdout.includes(
          '[WARN]  agent: Service registration blocked by ACLs: service=users-1 accessorID=\n',
        ),
        c1.stdout,
      );
      assert.match(
        c1.stdout,
        /\[ERROR\] agent\.client: RPC failed to server: method=Catalog\.Register server=[\d.]+:8300 error="rpc error making call: Permission denied"/,
      );
      assert.ok(
        srv.stdout.includes('agent.server: member joined, marking health alive: member=cluster-1'),
      );
      c1.kill('SIGINT');
      assert.equal(await c1.exited, 0);
      srv.kill('SIGTERM');
      assert.equal(await srv.exited, 1);
    });
  },
);
