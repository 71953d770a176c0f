// Lifecycle timings of `meshvisor run` from the bundle, each node in its own network namespace,
// against the consul/envoy doubles (or a real consul when CONSUL_BIN is set). Not a test: it
// prints numbers. Every run makes a fresh test net (server, client, cluster-1, a 3-sidecar node)
// and measures, one after the other so they do not compete for the CPU:
//   1. server   exec -> READY (/readyz 200, polled every POLL_MS)
//   2. client   exec -> READY, its server already READY
//   3. cluster1 exec -> READY (users + activities, an Envoy each, demo apps beside them)
//   4. kill -9 of the users Envoy on cluster1 -> a new pid in /status; -> READY again
//   5. SIGTERM -> exit of a node with 3 sidecars, drainSeconds 2 (drains run in parallel)
//   6. ingress exec -> READY (one ingress gateway, its server READY)
// The Envoys are the real ENVOY_BIN when CONSUL_BIN and ENVOY_BIN are both set (a real Envoy
// needs a real Consul's xDS), the envoy double otherwise.
//
//   node scripts/build.mjs && node scripts/build-doubles.mjs && \
//     [CONSUL_BIN=... ENVOY_BIN=...] node --import tsx bench/lifecycle.ts [--runs N]
//
// Needs root and iproute2 (test/helpers/netns.ts). Bounded: every wait has a deadline, the whole
// benchmark has one too, and each run's net is cleaned up whatever happens.
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { NodeStatus, ProgramStatus } from '../src/status/model.ts';
import { BUNDLE } from '../test/helpers/cli.ts';
import { buildDoubles } from '../test/helpers/doubles.ts';
import {
  CONSUL_BIN,
  STATUS_PORT,
  testbed,
  waitExit,
  type RunningNode,
  type Testbed,
} from '../test/helpers/mesh-node.ts';
import {
  httpService,
  MESH_TIMEOUTS,
  E2E_ENVOY,
  meshClient,
  meshSpecs,
  REAL_ENVOY,
  serverSpec,
  startApp,
  STOP_SECONDS,
} from '../test/helpers/mesh-specs.ts';
import type { TestHost } from '../test/helpers/netns.ts';
import { stats } from './stats.ts';
import { interrupted, runBench } from './main.ts';

const POLL_MS = 20;
const READY_TIMEOUT_MS = 120_000;
const RESTART_TIMEOUT_MS = 60_000;
const DRAIN_SECONDS = 2;
/** READY -> SIGTERM of the 3-sidecar node: past the 3 s after its join (see the stop step). */
const SETTLE_BEFORE_STOP_MS = 3500;
/** The whole benchmark's deadline per run; past it, everything is cleaned up and it exits 1. */
const RUN_BUDGET_MS = 5 * 60_000;

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 100) {
  console.error(`--runs must be an integer 1..100, got ${values.runs}`);
  process.exit(2);
}

type Metric =
  | 'server exec->READY'
  | 'client exec->READY'
  | 'cluster1 exec->READY'
  | 'kill -9 envoy -> new pid'
  | 'kill -9 envoy -> READY again'
  | '3-sidecar exec->READY'
  | 'SIGTERM -> exit (3 sidecars)'
  | '  SIGTERM -> first drain'
  | '  first drain -> last inbound close'
  | '  last inbound close -> exit'
  | 'ingress exec->READY';

const samples = new Map<Metric, number[]>();
const stageSamples = new Map<string, Map<string, number[]>>();

function record(metric: Metric, ms: number): void {
  const list = samples.get(metric) ?? [];
  list.push(ms);
  samples.set(metric, list);
}

/**
 * Keeps the READY status's stage durations per node kind, for the breakdown, and where the rest
 * of exec -> READY went: before the first stage started (spawn via `ip netns exec`, Node and the
 * bundle loading, spec, render, starting consul), between stages, and after the last one finished
 * until the bench saw /readyz 200 (the poll's granularity). `execWall`/`readyWall`: epoch ms.
 */
function recordStages(kind: string, status: NodeStatus, execWall: number, readyWall: number) {
  const byStage = stageSamples.get(kind) ?? new Map<string, number[]>();
  const add = (name: string, ms: number) => {
    const list = byStage.get(name) ?? [];
    list.push(ms);
    byStage.set(name, list);
  };
  let sum = 0;
  for (const stage of status.stages) {
    if (stage.durationSeconds === null) continue;
    add(stage.name, stage.durationSeconds * 1000);
    sum += stage.durationSeconds * 1000;
  }
  const starts = status.stages.flatMap((s) => (s.startedAt ? [Date.parse(s.startedAt)] : []));
  const ends = status.stages.flatMap((s) => (s.finishedAt ? [Date.parse(s.finishedAt)] : []));
  if (starts.length > 0 && ends.length > 0) {
    const first = Math.min(...starts);
    const last = Math.max(...ends);
    add('(exec -> first stage starts)', first - execWall);
    add('(between stages)', last - first - sum);
    add('(last stage done -> 200 seen)', readyWall - last);
  }
  stageSamples.set(kind, byStage);
}

/**
 * The server without the e2e test's intentions; cluster 1 as in test/e2e/mesh.test.ts; a client
 * with one service and no sidecar; a node of three Envoy sidecars draining DRAIN_SECONDS.
 */
function specs(server: TestHost) {
  return {
    server: serverSpec(),
    client: {
      datacenter: 'our_dc',
      role: 'client',
      consul: { retryJoin: [server.ip] },
      services: [{ name: 'web', port: 8080 }],
      timeouts: MESH_TIMEOUTS,
    },
    cluster1: meshSpecs(server, 'envoy').cluster1,
    ingress: meshSpecs(server, 'envoy').ingress,
    threeSidecars: meshClient(
      server,
      [httpService('alpha', 8080), httpService('beta', 8081), httpService('gamma', 8082)],
      { drainSeconds: DRAIN_SECONDS },
    ),
  };
}

/** ms from `t0` until /readyz answers 200, polled every POLL_MS; throws past the deadline. */
async function untilReadyz(node: RunningNode, t0: number): Promise<number> {
  const url = `http://${node.host.ip}:${STATUS_PORT}/readyz`;
  let exited = false;
  void node.exited.then(() => (exited = true));
  let last = 'no answer yet';
  while (performance.now() - t0 < READY_TIMEOUT_MS && !exited) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - t0;
      last = `HTTP ${res.status}`;
    } catch (error) {
      last = String((error as Error).cause ?? error);
    }
    await sleep(POLL_MS);
  }
  throw new Error(
    `${node.host.name}: /readyz not 200 within ${READY_TIMEOUT_MS} ms` +
      `${exited ? ' (meshvisor exited)' : ''}; last: ${last}`,
  );
}

/** ms from `t0` until /status satisfies `predicate`, polled every POLL_MS. */
async function untilStatus(
  node: RunningNode,
  t0: number,
  predicate: (s: NodeStatus) => boolean,
  what: string,
): Promise<{ ms: number; status: NodeStatus }> {
  let last = 'no answer yet';
  while (performance.now() - t0 < RESTART_TIMEOUT_MS) {
    try {
      const status = await node.status();
      if (predicate(status)) return { ms: performance.now() - t0, status };
      last = `stage ${status.stage}`;
    } catch (error) {
      last = String(error);
    }
    await sleep(POLL_MS);
  }
  throw new Error(`${node.host.name}: ${what} not seen within ${RESTART_TIMEOUT_MS} ms; ${last}`);
}

/** Starts a node, times exec -> /readyz 200, and keeps the READY status's stage durations. */
async function startTimed(
  kind: string,
  bed: Testbed,
  host: TestHost,
  spec: Record<string, unknown>,
  env: Record<string, string> = {},
): Promise<{ node: RunningNode; ms: number; status: NodeStatus }> {
  const execWall = Date.now();
  const t0 = performance.now();
  const node = bed.start(host, spec, env);
  const ms = await untilReadyz(node, t0);
  const status = await node.status();
  recordStages(kind, status, execWall, execWall + ms);
  return { node, ms, status };
}

function program(status: NodeStatus, name: string): ProgramStatus | undefined {
  return status.programs.find((p) => p.name === name);
}

async function oneRun(bed: Testbed): Promise<void> {
  const [serverHost, clientHost, c1Host, c3Host, ingressHost] = bed.hosts as [
    TestHost,
    TestHost,
    TestHost,
    TestHost,
    TestHost,
  ];
  const spec = specs(serverHost);

  // 1. server
  const server = await startTimed('server', bed, serverHost, spec.server);
  record('server exec->READY', server.ms);

  // 2. client, its server READY
  const client = await startTimed('client', bed, clientHost, spec.client);
  record('client exec->READY', client.ms);

  // 3. cluster 1 with its demo apps
  startApp(c1Host, 'users', 8080);
  startApp(c1Host, 'activities', 8081);
  const c1 = await startTimed('cluster1', bed, c1Host, spec.cluster1);
  record('cluster1 exec->READY', c1.ms);

  // 4. kill -9 of the users Envoy
  const before = program(c1.status, 'sidecar:users-1');
  if (!before?.pid) throw new Error(`cluster1: no pid for sidecar:users-1`);
  const oldPid = before.pid;
  const oldRestarts = before.restarts;
  const tKill = performance.now();
  process.kill(oldPid, 'SIGKILL');
  const respawned = await untilStatus(
    c1.node,
    tKill,
    (s) => {
      const pid = program(s, 'sidecar:users-1')?.pid;
      return typeof pid === 'number' && pid !== oldPid;
    },
    'a new users Envoy pid',
  );
  record('kill -9 envoy -> new pid', respawned.ms);
  const healed = await untilStatus(
    c1.node,
    tKill,
    (s) => {
      const p = program(s, 'sidecar:users-1');
      return s.ready && !!p?.ready && p.pid !== oldPid && p.restarts > oldRestarts;
    },
    'READY again with the new users Envoy',
  );
  record('kill -9 envoy -> READY again', healed.ms);

  // 5. SIGTERM of a node with 3 sidecars, drainSeconds 2
  startApp(c3Host, 'alpha', 8080);
  startApp(c3Host, 'beta', 8081);
  startApp(c3Host, 'gamma', 8082);
  const c3 = await startTimed('3-sidecar', bed, c3Host, spec.threeSidecars);
  record('3-sidecar exec->READY', c3.ms);
  // The stop of a node that has been running: one whose agent joined a server less than 3 s ago
  // first waits out that join's due anti-entropy sync (docs/architecture.md, "the stop").
  await sleep(SETTLE_BEFORE_STOP_MS);
  const tTermMono = performance.now();
  const tTermWall = Date.now();
  c3.node.child.kill('SIGTERM');
  const exit = await waitExit(c3.node, (STOP_SECONDS + 5) * 1000);
  const stopMs = performance.now() - tTermMono;
  const tExitWall = tTermWall + stopMs;
  if (exit.code !== 0) throw new Error(`3-sidecar node exited ${JSON.stringify(exit)}`);
  record('SIGTERM -> exit (3 sidecars)', stopMs);
  // Each proxy's drain steps, as the node logged them (the same with either Envoy).
  const stepTimes = (msg: string) =>
    c3.node.logs
      .filter((r) => r.msg === msg && Date.parse(String(r.time)) >= tTermWall)
      .map((r) => Date.parse(String(r.time)));
  const drains = stepTimes('drain: listeners draining');
  const closes = stepTimes('drain: listeners closed');
  if (drains.length === 3 && closes.length === 3) {
    const firstDrain = Math.min(...drains);
    const lastClose = Math.max(...closes);
    record('  SIGTERM -> first drain', firstDrain - tTermWall);
    // The propagation window: listeners still accept.
    record('  first drain -> last inbound close', lastClose - firstDrain);
    // Deregister + leave, overlapping the rest of the drain.
    record('  last inbound close -> exit', tExitWall - lastClose);
  } else {
    console.error(
      `  (stop breakdown skipped: ${drains.length} drains, ${closes.length} closes logged)`,
    );
  }

  // 6. an ingress gateway
  const ingress = await startTimed('ingress', bed, ingressHost, spec.ingress);
  record('ingress exec->READY', ingress.ms);
}

function row(name: string, list: number[], width: number): string {
  const { median, min, max } = stats(list);
  const ms = (v: number) => `${Math.round(v)}`.padStart(7);
  return `| ${name.padEnd(width)} | ${ms(median)} | ${ms(min)} | ${ms(max)} | ${ms(max - min)} | ${String(list.length).padStart(1)} |`;
}

function printTable(title: string, rows: [string, number[]][]): void {
  const width = Math.max(title.length, ...rows.map(([name]) => name.length));
  console.log(`| ${title.padEnd(width)} | median  |     min |     max |  spread | n |`);
  console.log(`| ${'-'.repeat(width)} | ------: | ------: | ------: | ------: | - |`);
  for (const [name, list] of rows) console.log(row(name, list, width));
}

const KNOBS = [
  'CONSUL_DOUBLE_SLOW',
  'CONSUL_DOUBLE_ELECTION_MS',
  'CONSUL_DOUBLE_SYNC_DELAY_MS',
  'CONSUL_DOUBLE_LEAVE_MS',
  'CONSUL_DOUBLE_FAILURE_MS',
  'CONSUL_DOUBLE_RECONNECT_MS',
  'CONSUL_DOUBLE_RPC_HOLD_MS',
  'CONSUL_DOUBLE_RETRY_INTERVAL_MS',
  'ENVOY_DOUBLE_INIT_DELAY_MS',
  'ENVOY_DOUBLE_READY_DELAY_MS',
  'ENVOY_DOUBLE_XDS',
];

async function main(): Promise<void> {
  buildDoubles();
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`meshvisor lifecycle bench: ${runs} run(s), ${new Date().toISOString()}`);
  console.log(`machine: ${cpus().length} CPUs (${cpu}), node ${process.version}`);
  console.log(`bundle: ${BUNDLE}`);
  console.log(`consul: ${CONSUL_BIN}${process.env.CONSUL_BIN ? ' (real)' : ' (double)'}`);
  console.log(`envoy: ${E2E_ENVOY}${REAL_ENVOY ? ' (real)' : ' (double)'}`);
  const set = KNOBS.filter((k) => process.env[k] !== undefined).map(
    (k) => `${k}=${process.env[k]}`,
  );
  console.log(`double knobs: ${set.length ? set.join(' ') : 'none set (defaults)'}`);
  console.log(
    `spec timeouts: drainSeconds ${MESH_TIMEOUTS.drainSeconds} (3-sidecar node: ${DRAIN_SECONDS}), ` +
      `stopSeconds ${STOP_SECONDS}; poll every ${POLL_MS} ms\n`,
  );

  for (let i = 0; i < runs; i++) {
    // testbed() is for node:test; its cleanup (kill the nodes, remove the namespaces and the work
    // folder) runs here at the end of the run instead of at the end of a test.
    const cleanups: (() => Promise<void>)[] = [];
    const bed = await testbed({ after: (cleanup) => void cleanups.push(cleanup) }, 5);
    const budget = AbortSignal.any([interrupted.signal, AbortSignal.timeout(RUN_BUDGET_MS)]);
    try {
      const started = performance.now();
      await Promise.race([
        oneRun(bed),
        new Promise<never>((_, reject) => {
          const fail = () =>
            reject(
              new Error(
                interrupted.signal.aborted
                  ? `run ${i + 1} interrupted`
                  : `run ${i + 1} exceeded ${RUN_BUDGET_MS} ms`,
              ),
            );
          if (budget.aborted) fail();
          else budget.addEventListener('abort', fail, { once: true });
        }),
      ]);
      const took = ((performance.now() - started) / 1000).toFixed(1);
      console.error(`run ${i + 1}/${runs} done in ${took} s`);
    } finally {
      for (const cleanup of cleanups) await cleanup();
    }
  }

  console.log('');
  printTable(
    'milliseconds',
    [...samples.entries()].map(([name, list]) => [name, list]),
  );
  console.log('');
  console.log('stage durations at READY (from /status stages[].durationSeconds), ms:');
  for (const [kind, byStage] of stageSamples) {
    console.log('');
    printTable(kind, [...byStage.entries()]);
  }
}

runBench(main);
