// Contract test: Envoy's admin API and lifecycle on the REAL binary (no Consul), recorded under
// test/recordings/envoy-1.36.4/, and the envoy double held to the same recordings.
//
//   RECORD=1 ENVOY_BIN=/path/to/envoy node --import tsx --test test/contract/envoy-admin.test.ts
//     runs every scenario on the real Envoy and (re)writes the recordings;
//   ENVOY_BIN=/path/to/envoy node --import tsx --test test/contract/envoy-admin.test.ts
//     compares the real Envoy's answers with them; without ENVOY_BIN that half is skipped.
//   The double's half always runs and compares the double with the same recordings.
//
// Each scenario starts its own Envoy (test/contract/envoy-run.ts: a generated bootstrap, a local
// app behind an inbound and an outbound listener, free ports, --drain-time-s 2) and returns its
// steps: what was asked and the answer, ports replaced by names. The steps are compared whole;
// what varies from run to run (times, the first /ready of a static bootstrap, server.state while
// the stats flush lags) is kept under `observed`, recorded but not compared.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { format } from 'prettier';
import { buildDoubles, ENVOY_DOUBLE } from '../helpers/doubles.ts';
import type { Answer, Program } from './envoy-run.ts';
import { DRAIN_TIME_S, EnvoyRun } from './envoy-run.ts';

const VERSION = '1.36.4';
const RECORDINGS = fileURLToPath(new URL(`../recordings/envoy-${VERSION}/`, import.meta.url));

type Step = { step: string } & Record<string, unknown>;

interface Recording {
  scenario: string;
  what: string;
  envoy: string;
  steps: Step[];
  /** Recorded for the reader, not compared: timings and values that vary between runs. */
  observed: Record<string, unknown>;
}

interface Scenario {
  name: string;
  what: string;
  run(
    t: TestContext,
    program: Program,
  ): Promise<{ steps: Step[]; observed: Record<string, unknown> }>;
}

type TestContext = { after(fn: () => Promise<void>): void };

/** Stats read from /stats?format=json: each name's value, or "absent". */
async function statsPart(run: EnvoyRun, names: string[]): Promise<Record<string, unknown>> {
  const r = await run.adminJson('/stats?format=json');
  const stats = (r.json as { stats: { name?: string; value?: unknown }[] }).stats;
  const values: Record<string, unknown> = {};
  for (const n of names) {
    const s = stats.find((x) => x.name === n);
    values[n] = s ? s.value : 'absent';
  }
  return { status: r.status, content_type: r.content_type, values };
}

const LISTENER_STATS = [
  'listener_manager.total_listeners_active',
  'listener_manager.total_listeners_draining',
  'listener_manager.listener_stopped',
];

async function quit(
  run: EnvoyRun,
  steps: Step[],
  observed: Record<string, unknown>,
): Promise<void> {
  const t0 = Date.now();
  steps.push({ step: 'POST /quitquitquit', ...(await run.admin('POST', '/quitquitquit')) });
  steps.push({ step: 'how Envoy ends after /quitquitquit', exit: await run.exit() });
  observed.quitquitquit_to_exit_ms = Date.now() - t0;
}

async function signal(run: EnvoyRun, sig: NodeJS.Signals, steps: Step[]): Promise<void> {
  run.signal(sig);
  steps.push({ step: `how Envoy ends on ${sig}`, exit: await run.exit() });
}

const SCENARIOS: Scenario[] = [
  {
    name: 'static-live',
    what: 'a static bootstrap: /ready and /server_info once LIVE, then /quitquitquit',
    async run(t, program) {
      const run = await EnvoyRun.start(t, program, 'static');
      const steps: Step[] = [];
      const observed: Record<string, unknown> = { first_ready: await run.firstAnswer() };
      await run.live();
      steps.push({ step: 'GET /ready once LIVE', ...(await run.admin('GET', '/ready')) });
      const info = await run.adminJson('/server_info');
      const j = info.json as {
        version: string;
        state: string;
        hot_restart_version: string;
        command_line_options: Record<string, unknown>;
        node: Record<string, unknown>;
      };
      const o = j.command_line_options;
      steps.push({
        step: 'GET /server_info (part)',
        status: info.status,
        content_type: info.content_type,
        version: j.version.replace(/^[0-9a-f]{40}\//, '<sha>/'),
        state: j.state,
        hot_restart_version: j.hot_restart_version,
        command_line_options: {
          drain_time: o.drain_time,
          disable_hot_restart: o.disable_hot_restart,
          restart_epoch: o.restart_epoch,
          drain_strategy: o.drain_strategy,
          mode: o.mode,
        },
        node: { id: j.node.id, cluster: j.node.cluster, user_agent_name: j.node.user_agent_name },
      });
      steps.push({
        step: 'a request through the inbound listener',
        result: await run.through('inbound', '/x'),
      });
      steps.push({
        step: 'a request through the outbound listener',
        result: await run.through('outbound', '/y'),
      });
      await quit(run, steps, observed);
      return { steps, observed };
    },
  },
  {
    name: 'admin-reads',
    what: 'GET /listeners, /clusters, /certs, /stats; a GET on POST-only paths; an unknown path; SIGTERM',
    async run(t, program) {
      const run = await EnvoyRun.start(t, program, 'static');
      const steps: Step[] = [];
      await run.live();
      const listeners = await run.admin('GET', '/listeners');
      const sortLines = (s: string) => s.split('\n').filter(Boolean).sort();
      steps.push({ step: 'GET /listeners', ...listeners, body: sortLines(listeners.body) });
      const lj = await run.adminJson('/listeners?format=json');
      const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
      const ls = (lj.json as { listener_statuses: { name: string }[] }).listener_statuses;
      steps.push({
        step: 'GET /listeners?format=json',
        ...lj,
        json: { listener_statuses: [...ls].sort(byName) },
      });
      const cj = await run.adminJson('/clusters?format=json');
      type Host = { address: unknown; health_status: unknown; weight: unknown };
      type Cluster = { name: string; observability_name: string; host_statuses: Host[] };
      const cs = (cj.json as { cluster_statuses: Cluster[] }).cluster_statuses;
      steps.push({
        step: 'GET /clusters?format=json (name, observability_name, hosts)',
        status: cj.status,
        content_type: cj.content_type,
        cluster_statuses: [...cs].sort(byName).map((c) => ({
          name: c.name,
          observability_name: c.observability_name,
          host_statuses: c.host_statuses.map((h) => ({
            address: h.address,
            health_status: h.health_status,
            weight: h.weight,
          })),
        })),
      });
      const ct = await run.admin('GET', '/clusters');
      steps.push({
        step: 'GET /clusters (observability_name and health_flags rows)',
        status: ct.status,
        content_type: ct.content_type,
        rows: sortLines(ct.body).filter((l) => /::(observability_name|health_flags)::/.test(l)),
      });
      steps.push({ step: 'GET /certs', ...(await run.adminJson('/certs')) });
      steps.push({
        step: 'GET /stats?format=json (part)',
        ...(await statsPart(run, [
          ...LISTENER_STATS,
          'listener_manager.total_listeners_warming',
          'listener_manager.listener_added',
          'listener_manager.lds.update_rejected',
          'control_plane.connected_state',
          'cluster_manager.active_clusters',
          'server.state',
          'server.live',
          'server.hot_restart_epoch',
        ])),
      });
      steps.push({
        step: 'GET /stats?filter=…',
        ...(await run.admin(
          'GET',
          '/stats?filter=^(server\\.state|server\\.live|listener_manager\\.total_listeners_active)$',
        )),
      });
      const gets: Record<string, Answer> = {};
      for (const p of [
        '/healthcheck/fail',
        '/healthcheck/ok',
        '/drain_listeners?inboundonly&graceful',
        '/quitquitquit',
      ]) {
        gets[p] = await run.admin('GET', p);
      }
      steps.push({ step: 'GET on POST-only paths', answers: gets });
      steps.push({
        step: 'GET /ready after those GETs (they did nothing)',
        ...(await run.admin('GET', '/ready')),
      });
      const nf = await run.admin('GET', '/no-such-path');
      steps.push({
        step: 'GET an unknown path',
        status: nf.status,
        content_type: nf.content_type,
        first_line: nf.body.split('\n')[0],
      });
      await signal(run, 'SIGTERM', steps);
      return { steps, observed: {} };
    },
  },
  {
    name: 'healthcheck-fail',
    what: 'POST /healthcheck/fail then /ready and the listeners, POST /healthcheck/ok, SIGINT',
    async run(t, program) {
      const run = await EnvoyRun.start(t, program, 'static');
      const steps: Step[] = [];
      await run.live();
      steps.push({
        step: 'POST /healthcheck/fail',
        ...(await run.admin('POST', '/healthcheck/fail')),
      });
      steps.push({
        step: 'GET /ready after /healthcheck/fail',
        ...(await run.admin('GET', '/ready')),
      });
      const stats = await statsPart(run, ['server.live', 'server.state']);
      const values = stats.values as Record<string, unknown>;
      // server.state follows at the next stats flush (every 5 s): not compared
      steps.push({ step: 'server.live after /healthcheck/fail', value: values['server.live'] });
      steps.push({
        step: 'the inbound listener after /healthcheck/fail',
        result: await run.through('inbound', '/x'),
      });
      steps.push({ step: 'POST /healthcheck/ok', ...(await run.admin('POST', '/healthcheck/ok')) });
      steps.push({
        step: 'GET /ready after /healthcheck/ok',
        ...(await run.admin('GET', '/ready')),
      });
      await signal(run, 'SIGINT', steps);
      return {
        steps,
        observed: { 'server.state right after /healthcheck/fail': values['server.state'] },
      };
    },
  },
  {
    name: 'drain-graceful',
    what: 'POST /drain_listeners?inboundonly&graceful with a request in flight: before and after the drain time',
    async run(t, program) {
      const run = await EnvoyRun.start(t, program, 'static');
      const steps: Step[] = [];
      await run.live();
      const inFlight = await run.heldRequest();
      const t0 = Date.now();
      steps.push({
        step: 'POST /drain_listeners?inboundonly&graceful',
        ...(await run.admin('POST', '/drain_listeners?inboundonly&graceful')),
      });
      steps.push({
        step: 'GET /ready during the drain time',
        ...(await run.admin('GET', '/ready')),
      });
      steps.push({
        step: 'a new request through the inbound listener during the drain time',
        result: await run.through('inbound', '/during'),
      });
      await run.refusedWithin('inbound', DRAIN_TIME_S * 1000 + 10_000);
      const closedMs = Date.now() - t0;
      steps.push({
        step: 'the inbound listener once the drain time is over',
        connect: await run.connects('inbound'),
      });
      steps.push({
        step: 'the outbound listener then',
        result: await run.through('outbound', '/out'),
      });
      run.releaseHeld();
      steps.push({
        step: 'the request in flight since before the drain',
        result: await inFlight.answer,
      });
      await sleep(Math.max(0, t0 + (DRAIN_TIME_S + 3) * 1000 - Date.now()));
      steps.push({ step: 'Envoy at drain time + 3 s', running: run.running() });
      steps.push({ step: 'GET /ready at drain time + 3 s', ...(await run.admin('GET', '/ready')) });
      const listeners = await run.admin('GET', '/listeners');
      steps.push({
        step: 'GET /listeners at drain time + 3 s',
        ...listeners,
        body: listeners.body.split('\n').filter(Boolean).sort(),
      });
      steps.push({
        step: 'listener stats at drain time + 3 s',
        ...(await statsPart(run, LISTENER_STATS)),
      });
      steps.push({
        step: 'POST /drain_listeners?inboundonly&graceful again',
        ...(await run.admin('POST', '/drain_listeners?inboundonly&graceful')),
      });
      await quit(run, steps, {});
      return { steps, observed: { inbound_refused_after_drain_call_ms: closedMs } };
    },
  },
  {
    name: 'drain-now',
    what: 'POST /drain_listeners?inboundonly (not graceful) with a request in flight',
    async run(t, program) {
      const run = await EnvoyRun.start(t, program, 'static');
      const steps: Step[] = [];
      await run.live();
      const inFlight = await run.heldRequest();
      const t0 = Date.now();
      steps.push({
        step: 'POST /drain_listeners?inboundonly',
        ...(await run.admin('POST', '/drain_listeners?inboundonly')),
      });
      const closedMs = await run.refusedWithin('inbound', 10_000);
      steps.push({
        step: 'the inbound listener after the call',
        connect: await run.connects('inbound'),
      });
      steps.push({
        step: 'the outbound listener then',
        result: await run.through('outbound', '/out'),
      });
      steps.push({ step: 'GET /ready after the call', ...(await run.admin('GET', '/ready')) });
      run.releaseHeld();
      steps.push({
        step: 'the request in flight since before the call',
        result: await inFlight.answer,
      });
      await sleep(Math.max(0, t0 + (DRAIN_TIME_S + 3) * 1000 - Date.now()));
      steps.push({ step: 'Envoy at drain time + 3 s', running: run.running() });
      steps.push({
        step: 'listener stats at drain time + 3 s',
        ...(await statsPart(run, LISTENER_STATS)),
      });
      await signal(run, 'SIGTERM', steps);
      return { steps, observed: { inbound_refused_after_call_ms: closedMs } };
    },
  },
  {
    name: 'drain-graceful-then-now',
    what: 'a graceful inbound drain (--drain-time-s 30), then POST /drain_listeners?inboundonly inside it',
    async run(t, program) {
      const run = await EnvoyRun.start(t, program, 'static', { drainTimeS: 30 });
      const steps: Step[] = [];
      await run.live();
      steps.push({
        step: 'POST /drain_listeners?inboundonly&graceful',
        ...(await run.admin('POST', '/drain_listeners?inboundonly&graceful')),
      });
      steps.push({
        step: 'a new request through the inbound listener',
        result: await run.through('inbound', '/during'),
      });
      steps.push({
        step: 'POST /drain_listeners?inboundonly',
        ...(await run.admin('POST', '/drain_listeners?inboundonly')),
      });
      // well inside the 30 s drain time: only the second call can have closed it
      const closedMs = await run.refusedWithin('inbound', 10_000);
      steps.push({
        step: 'the inbound listener within 10 s of the second call',
        connect: await run.connects('inbound'),
      });
      await quit(run, steps, {});
      return { steps, observed: { inbound_refused_after_second_call_ms: closedMs } };
    },
  },
  {
    name: 'initializing',
    what: 'an ADS bootstrap whose agent port refuses (initial_fetch_timeout 3s): /ready from the start until LIVE',
    async run(t, program) {
      const run = await EnvoyRun.start(t, program, 'ads', { fetchTimeoutS: 3 });
      const steps: Step[] = [];
      const seen: Answer[] = [await run.firstAnswer()];
      const t0 = Date.now();
      const times: Record<string, number> = {};
      while ((seen.at(-1) as Answer).status !== 200) {
        assert.ok(Date.now() - t0 < 60_000, `not LIVE after 60 s: ${JSON.stringify(seen)}`);
        await sleep(50);
        const a = await run.admin('GET', '/ready');
        const last = seen.at(-1) as Answer;
        if (a.status !== last.status || a.body !== last.body) {
          seen.push(a);
          times[a.body.trim()] = Date.now() - t0;
        }
      }
      steps.push({
        step: 'GET /ready, each distinct answer from the first until LIVE',
        answers: seen,
      });
      steps.push({
        step: 'GET /stats?format=json (part) once LIVE',
        ...(await statsPart(run, [
          'control_plane.connected_state',
          'listener_manager.lds.update_rejected',
          'listener_manager.total_listeners_active',
          'server.live',
        ])),
      });
      await signal(run, 'SIGTERM', steps);
      return { steps, observed: { ms_from_first_answer: times } };
    },
  },
];

// ---- recording and comparing -------------------------------------------------------------------

const ENVOY_BIN = process.env.ENVOY_BIN;
const RECORD = process.env.RECORD === '1';

/** The version of `bin --version` ("…/1.36.4/Clean/RELEASE/BoringSSL" → "1.36.4"). */
function versionOf(bin: string): { version: string; line: string } {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  // "<path>  version: <sha>/1.36.4/Clean/RELEASE/BoringSSL": the build, without the path
  const line = /version: (\S+)/.exec(r.stdout ?? '')?.[1] ?? (r.stdout ?? '').trim();
  return { version: /\/(\d+\.\d+\.\d+)\//.exec(line)?.[1] ?? 'unknown', line };
}

function loadRecording(name: string): Recording {
  return JSON.parse(readFileSync(join(RECORDINGS, `${name}.json`), 'utf8')) as Recording;
}

async function writeRecording(rec: Recording): Promise<void> {
  mkdirSync(RECORDINGS, { recursive: true });
  const file = join(RECORDINGS, `${rec.scenario}.json`);
  writeFileSync(file, await format(JSON.stringify(rec), { filepath: file, printWidth: 100 }));
}

/** The steps compared with the recording's, one by one (a readable diff per step). */
function assertLikeRecording(name: string, steps: Step[]): void {
  const rec = loadRecording(name);
  assert.deepEqual(
    steps.map((s) => s.step),
    rec.steps.map((s) => s.step),
    'the same steps as the recording',
  );
  steps.forEach((s, i) => assert.deepEqual(s, rec.steps[i], `step "${s.step}" as recorded`));
}

const realSkip = !ENVOY_BIN
  ? 'ENVOY_BIN is not set (point it at an Envoy 1.36.4 binary to run the contract against it)'
  : versionOf(ENVOY_BIN).version !== VERSION
    ? `ENVOY_BIN is Envoy ${versionOf(ENVOY_BIN).version}; the recordings (and RECORD=1) are of ${VERSION}`
    : false;

describe(
  `the real Envoy's admin API (ENVOY_BIN, recordings envoy-${VERSION})`,
  { skip: realSkip },
  () => {
    for (const s of SCENARIOS) {
      it(`${s.name}: ${s.what}`, async (t) => {
        const { steps, observed } = await s.run(t, { bin: ENVOY_BIN as string });
        if (!RECORD) return assertLikeRecording(s.name, steps);
        await writeRecording({
          scenario: s.name,
          what: s.what,
          envoy: versionOf(ENVOY_BIN as string).line,
          steps,
          observed,
        });
      });
    }
  },
);

describe(`the envoy double, held to the recordings of Envoy ${VERSION}`, () => {
  before(() => buildDoubles());
  for (const s of SCENARIOS) {
    it(`${s.name}: ${s.what}`, async (t) => {
      const { steps } = await s.run(t, {
        bin: ENVOY_DOUBLE,
        env: { ENVOY_DOUBLE_VERSION: VERSION },
      });
      assertLikeRecording(s.name, steps);
    });
  }
});
