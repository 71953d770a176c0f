// Contract test: recording 11 (ACLs on, default_policy deny), parts d, e and f — which token
// each service syncs with (agent token only: blocked, never in the catalog; default token,
// service token, sidecar token: both in the catalog), `consul connect envoy` with and without a
// usable token, and f's matrix: every recorded call with a token of every recorded policy, the
// recorded answer (status, text, shape and the names a filtered list returns) and the matrix
// cell. Tokens are created with the recorded SecretID (1.10 accepts a caller's SecretID), so the
// recorded requests are sent as they were. Loopback 127.0.92.X stands in for 10.88.0.X.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { eventually } from '../helpers/loopback.ts';
import type { Answer } from './acl-replay.ts';
import {
  DIR,
  MANAGEMENT,
  call,
  compare,
  envAdded,
  names,
  poll,
  recordedPhases,
  runConsul,
  tokenOf,
} from './acl-replay.ts';
import { DoubleProcess, recordingWorkspace } from './harness.ts';
import type { CliRecord, HttpRecord } from './recordings.ts';
import { loadRecord, onLoopback, recordingPath } from './recordings.ts';

const local = onLoopback('127.0.92');
const toRecorded = (s: string): string => s.replace(/\b127\.0\.92\.(\d+)\b/g, '10.88.0.$1');
const SERVER = local('http://10.88.0.10:8500');
const C1 = local('http://10.88.0.11:8500');

type Rec = (HttpRecord | (CliRecord & { env_added?: string[] })) & { command?: string };

const ws = recordingWorkspace(`${DIR}/configs`, local);

const agent = (config: string, env: Record<string, string> = {}): DoubleProcess =>
  new DoubleProcess(['agent', `-config-file=./configs/${config}`], ws.dir, {
    CONSUL_DOUBLE_RECONCILE_MS: '0',
    // Services reach the catalog ~1 s after the start, as recorded (0.8–1.9 s).
    CONSUL_DOUBLE_SYNC_DELAY_MS: '1000',
    ...env,
  });

const load = (rel: string): Rec => loadRecord(`${DIR}/${rel}`) as Rec;

/** Sends a recorded HTTP call as recorded (its token, URL, body); `body` overrides the body. */
async function send(r: HttpRecord, body?: string): Promise<Answer> {
  return call(r.method, local(r.url), tokenOf(r), body ?? r.request_body);
}

async function replayHttp(rel: string, body?: string): Promise<Answer> {
  const r = load(rel) as HttpRecord;
  const got = await send(r, body);
  assert.deepEqual(compare(r, got, local), [], `${DIR}/${rel}: ${got.body?.slice(0, 1500)}`);
  return got;
}

/**
 * Runs a recorded CLI call (addresses on loopback, its env); compares exit, stdout, stderr. A
 * gateway's `-address` must be an interface address (1.10 checks): 127.0.0.1 stands in for the
 * recorded one, also in the bootstrap's envoy_ready_listener.
 */
async function replayCli(rel: string): Promise<{ code: number | null; stderr: string }> {
  const r = load(rel) as CliRecord & { env_added?: string[] };
  const args = r.argv.slice(1);
  const at = args.indexOf('-address') + 1;
  const [host, port] = at > 0 ? (args[at] as string).split(':') : [];
  const cmd = args.map((a, i) => (i === at && at > 0 ? `127.0.0.1:${port}` : local(a)));
  const got = await runConsul(cmd, ws.dir, envAdded(r));
  const ready = (h: string): string => `"address": "${h}",\n            "port_value": ${port}`;
  const stdout = host ? got.stdout.replace(ready('127.0.0.1'), ready(host)) : got.stdout;
  assert.deepEqual(
    { code: got.code, stdout: toRecorded(stdout), stderr: toRecorded(got.stderr) },
    { code: r.exit_code, stdout: r.stdout, stderr: r.stderr },
    `${DIR}/${rel}`,
  );
  return got;
}

/** Creates a recorded token with its recorded SecretID and AccessorID. */
async function replayTokenCreate(rel: string): Promise<void> {
  const r = load(rel) as HttpRecord;
  const made = r.body_json as { SecretID: string; AccessorID: string };
  const body = JSON.stringify({
    ...(JSON.parse(r.request_body ?? '{}') as object),
    SecretID: made.SecretID,
    AccessorID: made.AccessorID,
  });
  await replayHttp(rel, body);
}

describe(
  'consul double vs recording 11 (ACLs: service tokens, connect envoy, limited tokens)',
  {
    concurrency: false,
  },
  () => {
    let srv: DoubleProcess;
    let c1: DoubleProcess;
    let c2: DoubleProcess;

    before(async () => {
      srv = agent('server.json');
      await srv.waitForLog(/New leader elected/);
      c2 = agent('client-c2.agent-and-default-token.json');
      await c2.waitForLog(/Synced service: service=todos-1-sidecar-proxy/);
    });

    const variants = [
      ['1-agent-token-only', 'client-c1.agent-token-only.json'],
      ['2-agent-and-default-token', 'client-c1.agent-and-default-token.json'],
      ['3-service-token', 'client-c1.service-token.json'],
      ['4-service-and-sidecar-token', 'client-c1.service-and-sidecar-token.json'],
    ] as const;

    for (const [v, config] of variants) {
      test(`d/${v}: which token the services sync with`, async () => {
        await replayCli(`d-service-tokens/${v}/consul-validate.json`);
        c1 = agent(config);
        const recorded = recordedPhases(`d-service-tokens/${v}/client-poll.timeline.json`, local);
        const t0 = Date.now();
        const seen = await poll(
          [...recorded.values()].map((r) => r.target),
          (latest) =>
            Date.now() - t0 > 3000 &&
            ([...recorded].every(([l, r]) => latest.get(l) === r.phases.at(-1)) ||
              Date.now() - t0 > 10_000),
          local,
        );
        // What comes before the first sync depends on when the first poll lands: before the
        // join (`{}` as variant 2's first, or no server yet), or with the node still bare (`[]`).
        // Compared: where each target ends up — the services in the catalog or, blocked, never.
        const early = ['200 {}', '500 No known Consul servers', '200 []'];
        const settled = (p: string[] | undefined): string[] => {
          const list = p ?? [];
          const from = list.findIndex((x) => !early.includes(x));
          return from < 0 ? list.slice(-1) : list.slice(from);
        };
        for (const [label, r] of recorded)
          assert.deepEqual(settled(seen.get(label)), settled(r.phases), `${v}: ${label}`);
        for (const f of readdirSync(recordingPath(`${DIR}/d-service-tokens/${v}`)).filter((x) =>
          x.startsWith('after-15s.'),
        ))
          await replayHttp(`d-service-tokens/${v}/${f}`);
        await replayCli(`d-service-tokens/${v}/envoy-bootstrap-token-unset.json`);
        const log = c1.stdout;
        if (v === '1-agent-token-only') {
          const anon = 'accessorID=00000000-0000-0000-0000-000000000002';
          assert.ok(log.includes('[INFO]  agent: Synced node info'), log);
          for (const line of [
            `[WARN]  agent: Service registration blocked by ACLs: service=users-1 ${anon}`,
            `[WARN]  agent: Service registration blocked by ACLs: service=users-1-sidecar-proxy ${anon}`,
            `[WARN]  agent: Check registration blocked by ACLs: check=service:users-1-sidecar-proxy:1 ${anon}`,
            `[WARN]  agent: Check registration blocked by ACLs: check=service:users-1-sidecar-proxy:2 ${anon}`,
          ])
            assert.ok(log.includes(line), `${line}\nin:\n${log}`);
          assert.doesNotMatch(log, /Synced service/);
        } else {
          assert.doesNotMatch(log, /blocked by ACLs/);
          assert.match(log, /Synced service: service=users-1\n/);
          assert.match(log, /Synced service: service=users-1-sidecar-proxy\n/);
        }
        if (v !== '4-service-and-sidecar-token') {
          c1.kill('SIGINT');
          assert.equal(await c1.exited, 0);
        }
      });
    }

    test('e: connect envoy -bootstrap with no, the management, a too narrow and an unknown token', async () => {
      await replayHttp('e-envoy-bootstrap-tokens/01-create-policy-users-write.json');
      await replayTokenCreate('e-envoy-bootstrap-tokens/02-create-token-users-write.json');
      for (const f of readdirSync(recordingPath(`${DIR}/e-envoy-bootstrap-tokens`)).sort()) {
        const n = Number(f.slice(0, 2));
        if (n < 3) continue;
        const rel = `e-envoy-bootstrap-tokens/${f}`;
        if (load(rel).kind === 'cli') await replayCli(rel);
        else await replayHttp(rel);
      }
    });

    test('f: every recorded call with a token of every recorded policy (matrix.summary.json)', async () => {
      const matrix = JSON.parse(
        readFileSync(recordingPath(`${DIR}/f-limited-tokens/matrix.summary.json`), 'utf8'),
      ) as { policies: Record<string, string>; calls: Record<string, Record<string, unknown>> };
      // A policy called "limited" existed when 00 was recorded.
      const limited = load('f-limited-tokens/00-create-policy-duplicate-name.json') as HttpRecord;
      assert.equal((await send(limited)).status, 200);
      await replayHttp('f-limited-tokens/00-create-policy-duplicate-name.json');

      const folder = (p: string): string => `f-limited-tokens/${p}`;
      const files = (p: string): string[] =>
        readdirSync(recordingPath(`${DIR}/${folder(p)}`))
          .filter((f) => /^\d\d-/.test(f))
          .sort();
      const columns = Object.keys(matrix.policies).sort((a, b) =>
        load(`${folder(a)}/${files(a)[0]}`).recorded_at <
        load(`${folder(b)}/${files(b)[0]}`).recorded_at
          ? -1
          : 1,
      );
      for (const p of columns) {
        assert.equal(
          readFileSync(recordingPath(`${DIR}/${folder(p)}/policy.hcl`), 'utf8'),
          matrix.policies[p],
        );
        for (const f of files(p)) {
          const rel = `${folder(p)}/${f}`;
          const r = load(rel);
          let cell: unknown;
          if (f.startsWith('01-')) await replayHttp(rel);
          else if (f.startsWith('02-')) await replayTokenCreate(rel);
          else if (r.kind === 'cli') {
            const got = await replayCli(rel);
            cell = got.code === 0 ? 0 : `${got.code} ${got.stderr.slice(0, 120)}`;
          } else {
            const got = await replayHttp(rel);
            const call_ = f.slice(3, -5);
            cell =
              got.status === 200 && call_ === 'agent-members'
                ? `200 ${(names(JSON.parse(got.body ?? '[]')) ?? []).join(',')}`
                : got.status === 200
                  ? 200
                  : `${got.status} ${got.body?.slice(0, 120)}`;
          }
          if (cell !== undefined) {
            const expected = matrix.calls[f.slice(3, -5)]?.[p];
            assert.equal(cell, expected, `matrix ${f.slice(3, -5)} × ${p}`);
          }
        }
        if (p === 'smallest-final') {
          assert.equal(await c1.exited, 0, 'the leave with the smallest token stops the agent');
          break;
        }
        // Between columns, as recorded: the entries, users-2 and ingress-service go (management).
        for (const [kind, name] of [
          ['service-router', 'users'],
          ['service-splitter', 'users'],
          ['service-resolver', 'users'],
          ['service-intentions', 'todos'],
          ['ingress-gateway', 'ingress-service'],
          ['service-defaults', 'users'],
          ['service-defaults', 'todos'],
          ['proxy-defaults', 'global'],
        ])
          await call('DELETE', `${SERVER}/v1/config/${kind}/${name}`, MANAGEMENT);
        for (const id of ['users-2', 'ingress-service'])
          await call('PUT', `${C1}/v1/agent/service/deregister/${id}`, MANAGEMENT);
        // …and c1 and the catalog show it (the sidecar's central config gone too) before the next
        // column, as they did in the recording's pauses between columns.
        type Services = Record<string, { Proxy?: { Config?: unknown } }>;
        const settled = (services: Services): boolean =>
          Object.keys(services).sort().join(',') === 'users-1,users-1-sidecar-proxy' &&
          services['users-1-sidecar-proxy']?.Proxy?.Config === undefined;
        await eventually(
          async () => {
            const [agentView, node] = await Promise.all([
              call('GET', `${C1}/v1/agent/services`, MANAGEMENT),
              call('GET', `${SERVER}/v1/catalog/node/cluster-1`, MANAGEMENT),
            ]);
            const catalog = (JSON.parse(node.body ?? 'null') as { Services: Services }).Services;
            return (
              (settled(JSON.parse(agentView.body ?? '{}') as Services) && settled(catalog)) ||
              undefined
            );
          },
          { timeoutMs: 10_000, what: 'cluster-1 back to users-1 and its sidecar' },
        );
      }
    });

    test('leave with tokens: consul leave needs agent:write (CONSUL_HTTP_TOKEN), SIGTERM as ever', async () => {
      const addr = ['-http-addr', local('10.88.0.12:8500')];
      const denied = await runConsul(['leave', ...addr], ws.dir, {
        CONSUL_HTTP_TOKEN: '00000000-0000-4000-8000-000000000000',
      });
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /Error leaving: Unexpected response code: 403 \(ACL not found\)/);
      const left = await runConsul(['leave', ...addr], ws.dir, { CONSUL_HTTP_TOKEN: MANAGEMENT });
      assert.deepEqual([left.code, left.stdout], [0, 'Graceful leave complete\n']);
      assert.equal(await c2.exited, 0);
      srv.kill('SIGTERM');
      assert.equal(await srv.exited, 1);
    });
  },
);
