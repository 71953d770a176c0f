// The figures, each written once against `Supervised` and run on one side at a time. Every wait
// has a deadline; every node lives in a namespace of its own, killed when its trial ends.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { catalogServices } from '../../test/helpers/mesh-node.ts';
import type { TestHost } from '../../test/helpers/netns.ts';
import { stats } from '../stats.ts';
import { MeshvisorNode } from './meshvisor.ts';
import type { Binaries } from './pin.ts';
import { childrenOf, memoryOf, sampleRss } from './proc.ts';
import { TIMED_OUT, type Results, type Row } from './report.ts';
import { pollUntil, type SideName, type StdoutHandler, type Supervised } from './side.ts';
import {
  nodePrograms,
  PROXY_PRIORITY,
  SupervisordNode,
  type SupervisordProgram,
} from './supervisord.ts';
import {
  clientNodeSpec,
  loneServerSpec,
  LOG_MARKER,
  prepareNode,
  type PreparedNode,
} from './workload.ts';

export const ROWS = {
  up1: { label: '1. exec → all up (its own view), 1 sidecar', unit: 'ms' },
  up3: { label: '1. exec → all up (its own view), 3 sidecars', unit: 'ms' },
  up10: { label: '1. exec → all up (its own view), 10 sidecars', unit: 'ms' },
  usable1: { label: '1. exec → Envoys LIVE + catalog synced, 1 sidecar', unit: 'ms' },
  usable3: { label: '1. exec → Envoys LIVE + catalog synced, 3 sidecars', unit: 'ms' },
  usable10: { label: '1. exec → Envoys LIVE + catalog synced, 10 sidecars', unit: 'ms' },
  restarts3: { label: '1. restarts before all up, 3 sidecars', unit: 'count' },
  restarts10: { label: '1. restarts before all up, 10 sidecars', unit: 'count' },
  kill1: { label: '2. kill -9 Envoy (up) → new pid, 1st', unit: 'ms' },
  kill5: { label: '2. kill -9 Envoy (up) → new pid, 5th', unit: 'ms' },
  killPolled: { label: '2. kill -9 Envoy (up) → new pid, API polled every 10 ms', unit: 'ms' },
  loop2: { label: '2. crash loop (killed on sight): kill 2 → new pid', unit: 'ms' },
  loop3: { label: '2. crash loop (killed on sight): kill 3 → new pid', unit: 'ms' },
  loop4: { label: '2. crash loop (killed on sight): kill 4 → new pid', unit: 'ms' },
  loop5: { label: '2. crash loop (killed on sight): kill 5 → new pid', unit: 'ms' },
  stopDrain: { label: '3. SIGTERM → exit, consul + 3 programs draining 2 s', unit: 'ms' },
  stopEnvoys: { label: '3. SIGTERM → exit, consul + 3 Envoys (as in 1.)', unit: 'ms' },
  rss1: { label: '4. supervisor RSS, idle, 1 sidecar', unit: 'MiB' },
  pss1: { label: '4. supervisor PSS, idle, 1 sidecar', unit: 'MiB' },
  rss10: { label: '4. supervisor RSS, idle, 10 sidecars', unit: 'MiB' },
  pss10: { label: '4. supervisor PSS, idle, 10 sidecars', unit: 'MiB' },
  cli: { label: '5. status via CLI, per call (median of 20)', unit: 'ms' },
  api: { label: '5. status via API, per call (median of 20)', unit: 'ms' },
  relay: { label: '6. log burst, fast reader: lines/s reaching stdout', unit: 'lines/s' },
  relayMissing: { label: '6. fast reader: burst lines not on stdout intact', unit: 'count' },
  relayDropped: { label: '6. fast reader: lines the supervisor counted dropped', unit: 'count' },
  relayRss: { label: '6. fast reader: peak RSS during the burst', unit: 'MiB' },
  slowRss: { label: '6. slow stdout (64 KiB/s): peak RSS', unit: 'MiB' },
  slowRelayed: { label: '6. slow stdout: burst lines on stdout in 8 s', unit: 'count' },
  slowDropped: { label: '6. slow stdout: lines the supervisor counted dropped', unit: 'count' },
  slowPing: { label: '6. slow stdout: one status call answered in', unit: 'ms' },
} satisfies Record<string, Row>;

export type RowKey = keyof typeof ROWS;

const UP_TIMEOUT_MS = 120_000;
const RESPAWN_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 40_000;
/** Longer than supervisord's longest backoff (STARTRETRIES s) plus a tick, short of forever. */
const CRASH_LOOP_WAIT_MS = 8_000;
const UP_POLL_MS = 20;
const PID_POLL_MS = 10;
export const SETTLE_MS = 5_000;
const STATUS_CALLS = 20;
export const LOG_LINES = 200_000;
/** The burst is over once no marker arrived for this long. */
const LOG_IDLE_MS = 1_000;
const LOG_TIMEOUT_MS = 60_000;
const SLOW_BYTES_PER_SECOND = 64 * 1024;
export const SLOW_WINDOW_MS = 8_000;
const SLOW_PING_AT_MS = 5_000;
const SLOW_PING_TIMEOUT_MS = 3_000;

/** One run's shared state: the net, the server, where each figure records its samples. */
export interface RunContext {
  run: number;
  workDir: string;
  server: TestHost;
  results: Results<RowKey>;
  /** A fresh namespace for the next trial. */
  nextHost(): TestHost;
  /** Kills everything in a trial's namespace (the supervisor, its children, their orphans). */
  endTrial(host: TestHost): Promise<void>;
  /** The pinned meshvisor bundle and doubles. */
  binaries: Binaries;
  /** The stand-in programs: a 2 s drain, and a consul that first prints a burst. */
  drainScript: string;
  burstScript: string;
}

type AnyNode = SupervisordNode | MeshvisorNode;

function envFor(node: PreparedNode, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, ENVOY_DOUBLE_EVENTS: node.envoyEvents, ...extra };
}

function start(
  side: SideName,
  node: PreparedNode,
  options: {
    programs?: SupervisordProgram[];
    env?: NodeJS.ProcessEnv;
    onStdout?: StdoutHandler;
  } = {},
): AnyNode {
  const env = envFor(node, options.env);
  if (side === 'meshvisor') return MeshvisorNode.start(node, env, options.onStdout);
  return SupervisordNode.start(
    node.host,
    node.workDir,
    node.spec.nodeName,
    options.programs ?? nodePrograms(node),
    env,
    options.onStdout,
  );
}

function nodeName(ctx: RunContext, side: SideName, shape: string): string {
  return `${side === 'supervisord' ? 'sv' : 'mv'}-${shape}-r${ctx.run}`;
}

/** Waits until every program is up, asking the supervisor (not a measurement: a precondition). */
async function allUpNow(node: Supervised): Promise<void> {
  await pollUntil(
    `${node.side}: every program up`,
    performance.now(),
    UP_TIMEOUT_MS,
    100,
    async () => ((await node.allUp()) ? true : undefined),
    node.exited,
  );
}

/** Epoch ms of the first LIVE of each Envoy of the node since `sinceWall`, once all are LIVE. */
function envoysLiveAt(node: PreparedNode, sinceWall: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(node.envoyEvents, 'utf8');
  } catch {
    return undefined;
  }
  const firstLive = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.includes('"LIVE"')) continue;
    const event = JSON.parse(line) as { event: string; state?: string; admin: string; t: number };
    if (event.event !== 'state' || event.state !== 'LIVE' || event.t < sinceWall) continue;
    if (!firstLive.has(event.admin)) firstLive.set(event.admin, event.t);
  }
  if (firstLive.size < node.proxies.length) return undefined;
  return Math.max(...firstLive.values());
}

/** The servers' catalog holds the node with every service and sidecar (bench-observed). */
async function catalogSynced(ctx: RunContext, node: PreparedNode): Promise<true | undefined> {
  const want = node.spec.services.flatMap((s) => [s.id, `${s.id}-sidecar-proxy`]).sort();
  const have = await catalogServices(ctx.server, node.spec.nodeName);
  return have !== null && want.every((id) => have.includes(id)) ? true : undefined;
}

/**
 * Figure 1 for one node: exec → every program up in the supervisor's own view (supervisord: all
 * RUNNING; meshvisor: /readyz 200), and exec → what the node is for, observed by the bench the
 * same way for both: every Envoy LIVE (the envoy double's event log) and the node with all its
 * services in the servers' catalog.
 */
async function bringUp(
  ctx: RunContext,
  side: SideName,
  node: PreparedNode,
  rows: { up: RowKey; usable: RowKey; restarts?: RowKey },
): Promise<AnyNode> {
  const execWall = Date.now();
  const t0 = performance.now();
  const supervised = start(side, node);
  const [upMs, catalog, live] = await Promise.all([
    supervised.untilAllUp(t0, execWall, UP_TIMEOUT_MS),
    pollUntil('catalog synced', t0, UP_TIMEOUT_MS, UP_POLL_MS, () => catalogSynced(ctx, node)),
    pollUntil('every Envoy LIVE', t0, UP_TIMEOUT_MS, UP_POLL_MS, () =>
      envoysLiveAt(node, execWall),
    ),
  ]);
  ctx.results.add(rows.up, side, upMs);
  ctx.results.add(rows.usable, side, Math.max(catalog.ms, live.value - execWall));
  if (rows.restarts) ctx.results.add(rows.restarts, side, await supervised.restarts());
  return supervised;
}

/** Waits (polling the API every 100 ms) until the program is up; returns its pid. */
async function programUp(node: Supervised, name: string): Promise<number> {
  const { value } = await pollUntil(
    `${node.side}: ${name} up`,
    performance.now(),
    UP_TIMEOUT_MS,
    100,
    async () => {
      const view = await node.program(name);
      return view.up && view.pid ? view.pid : undefined;
    },
    node.exited,
  );
  return value;
}

/**
 * kill -9 `pid`, then ms until the supervisor has a child it did not have before, read from
 * /proc: the supervisor is not asked anything meanwhile (asking supervisord wakes its loop up).
 */
async function killAndSeeNewChild(
  node: Supervised,
  pid: number,
  timeoutMs = RESPAWN_TIMEOUT_MS,
): Promise<{ ms: number; pid: number }> {
  const before = childrenOf(node.pid);
  const t0 = performance.now();
  process.kill(pid, 'SIGKILL');
  const { ms, value } = await pollUntil(
    `${node.side}: a respawned child`,
    t0,
    timeoutMs,
    PID_POLL_MS,
    () => [...childrenOf(node.pid)].find((child) => !before.has(child)),
    node.exited,
  );
  return { ms, pid: value };
}

/** kill -9 `pid`, then ms until the supervisor's API reports another pid (polled every 10 ms). */
async function killAndPollApi(node: Supervised, name: string, pid: number): Promise<number> {
  const t0 = performance.now();
  process.kill(pid, 'SIGKILL');
  const { ms } = await pollUntil(
    `${node.side}: ${name} with a new pid`,
    t0,
    RESPAWN_TIMEOUT_MS,
    PID_POLL_MS,
    async () => {
      const now = (await node.program(name)).pid;
      return now && now !== pid ? now : undefined;
    },
    node.exited,
  );
  return ms;
}

/** SIGTERM → the supervisor's exit, in ms; notes a non-zero exit. */
async function stopTimed(ctx: RunContext, node: AnyNode, row: RowKey): Promise<void> {
  const t0 = performance.now();
  process.kill(node.pid, 'SIGTERM');
  const exit = await Promise.race([
    node.exited,
    sleep(STOP_TIMEOUT_MS).then(() => {
      throw new Error(`${node.side}: no exit within ${STOP_TIMEOUT_MS} ms of SIGTERM`);
    }),
  ]);
  ctx.results.add(row, node.side, performance.now() - t0);
  if (exit.code !== 0) ctx.results.note(row, node.side, `exit ${exit.code ?? exit.signal}`);
}

/**
 * Figures 1 (3 sidecars), 2 (kill -9 of an Envoy that is up: five times, seen from /proc; then
 * once more with the API polled) and 3 (the same node's SIGTERM → exit; for meshvisor that is
 * the 3 × 2 s drain, for supervisord Envoys that exit at once on SIGTERM).
 */
export async function threeSidecars(ctx: RunContext, side: SideName): Promise<void> {
  const host = ctx.nextHost();
  try {
    const name = nodeName(ctx, side, 'n3');
    const spec = clientNodeSpec(ctx.binaries, ctx.server, name, 3);
    const prepared = await prepareNode(host, ctx.workDir, ctx.binaries, spec);
    const node = await bringUp(ctx, side, prepared, {
      up: 'up3',
      usable: 'usable3',
      restarts: 'restarts3',
    });
    const program = node.sidecarProgram(prepared.spec.services[0]!.id);
    // programUp asks the API before each kill (a precondition, not timed); from the kill on,
    // only /proc is read.
    for (let kill = 1; kill <= 5; kill++) {
      const { ms } = await killAndSeeNewChild(node, await programUp(node, program));
      if (kill === 1) ctx.results.add('kill1', side, ms);
      if (kill === 5) ctx.results.add('kill5', side, ms);
    }
    ctx.results.add(
      'killPolled',
      side,
      await killAndPollApi(node, program, await programUp(node, program)),
    );
    await allUpNow(node);
    await stopTimed(ctx, node, side === 'meshvisor' ? 'stopDrain' : 'stopEnvoys');
  } finally {
    await ctx.endTrial(host);
  }
}

/**
 * Figure 3, supervisord: the same consul (3 services registered) with three programs that each
 * need DRAIN_SECONDS to stop on SIGTERM in place of the Envoys. meshvisor cannot run arbitrary
 * programs, so its side of this row is its 3 Envoy sidecars draining 2 s (threeSidecars).
 */
export async function drainingStandIns(ctx: RunContext): Promise<void> {
  const host = ctx.nextHost();
  try {
    const name = nodeName(ctx, 'supervisord', 'd3');
    const spec = clientNodeSpec(ctx.binaries, ctx.server, name, 3);
    const prepared = await prepareNode(host, ctx.workDir, ctx.binaries, spec);
    const [consul] = nodePrograms(prepared);
    const programs = [
      consul!,
      ...prepared.proxies.map((plan) => ({
        name: `drain-${plan.serviceId}`,
        command: [ctx.drainScript],
        priority: PROXY_PRIORITY,
      })),
    ];
    const node = start('supervisord', prepared, { programs });
    await allUpNow(node);
    await stopTimed(ctx, node, 'stopDrain');
  } finally {
    await ctx.endTrial(host);
  }
}

/** Figure 4 (idle memory after a settle), on a node already up. */
async function idleMemory(ctx: RunContext, node: AnyNode, rss: RowKey, pss: RowKey) {
  await sleep(SETTLE_MS);
  const memory = memoryOf(node.pid);
  ctx.results.add(rss, node.side, memory.rssKiB / 1024);
  ctx.results.add(pss, node.side, memory.pssKiB / 1024);
}

/**
 * Figures 1 and 4 with one sidecar, then 2's crash loop: the Envoy is killed again as soon as
 * its new pid appears (each run dies before it is up), five kills, or until the supervisor
 * gives it up. On paper supervisord backs off 1, 2, 3 s and then marks it FATAL
 * (startretries=3); it counts a death as a failed start only if it reaps it within startsecs,
 * which its 1 s loop often does not (README).
 */
export async function oneSidecar(ctx: RunContext, side: SideName): Promise<void> {
  const host = ctx.nextHost();
  try {
    const name = nodeName(ctx, side, 'n1');
    const spec = clientNodeSpec(ctx.binaries, ctx.server, name, 1);
    const prepared = await prepareNode(host, ctx.workDir, ctx.binaries, spec);
    const node = await bringUp(ctx, side, prepared, { up: 'up1', usable: 'usable1' });
    await idleMemory(ctx, node, 'rss1', 'pss1');
    const program = node.sidecarProgram(prepared.spec.services[0]!.id);
    let pid = await programUp(node, program);
    const loopRows: (RowKey | undefined)[] = [undefined, 'loop2', 'loop3', 'loop4', 'loop5'];
    for (const row of loopRows) {
      try {
        const seen = await killAndSeeNewChild(node, pid, CRASH_LOOP_WAIT_MS);
        if (row) ctx.results.add(row, side, seen.ms);
        pid = seen.pid;
      } catch (error) {
        if (!row) throw error;
        const gaveUp = await node.gaveUp(program).catch(() => false);
        ctx.results.note(row, side, gaveUp ? 'gave up (FATAL)' : 'no respawn in 8 s');
        break;
      }
    }
  } finally {
    await ctx.endTrial(host);
  }
}

/** Figures 1 and 4 with ten sidecars, then 5: status calls, CLI and API alternating. */
export async function tenSidecars(ctx: RunContext, side: SideName): Promise<void> {
  const host = ctx.nextHost();
  try {
    const name = nodeName(ctx, side, 'n10');
    const spec = clientNodeSpec(ctx.binaries, ctx.server, name, 10);
    const prepared = await prepareNode(host, ctx.workDir, ctx.binaries, spec);
    const node = await bringUp(ctx, side, prepared, {
      up: 'up10',
      usable: 'usable10',
      restarts: 'restarts10',
    });
    await idleMemory(ctx, node, 'rss10', 'pss10');
    const cli: number[] = [];
    const api: number[] = [];
    for (let i = 0; i < STATUS_CALLS; i++) {
      cli.push(await timed(() => node.cliStatus()));
      api.push(await timed(() => node.apiStatus()));
    }
    ctx.results.add('cli', side, stats(cli).median);
    ctx.results.add('api', side, stats(api).median);
  } finally {
    await ctx.endTrial(host);
  }
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Counts LOG_MARKER occurrences across chunks of a supervisor's stdout, and when they came. */
class MarkerCounter {
  count = 0;
  first = 0;
  last = 0;
  private tail = Buffer.alloc(0);
  private readonly marker = Buffer.from(LOG_MARKER);

  push(chunk: Buffer): void {
    // The tail is one byte shorter than the marker: a marker split across chunks counts once.
    const buffer = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    const before = this.count;
    for (let i = buffer.indexOf(this.marker); i >= 0; i = buffer.indexOf(this.marker, i + 1)) {
      this.count++;
    }
    this.tail = Buffer.from(buffer.subarray(Math.max(0, buffer.length - this.marker.length + 1)));
    if (this.count > before) {
      const now = performance.now();
      if (before === 0) this.first = now;
      this.last = now;
    }
  }
}

const readAll =
  (counter: MarkerCounter): StdoutHandler =>
  (stdout) =>
    stdout.on('data', (chunk: Buffer) => counter.push(chunk));

/** Reads about `bytesPerSecond`: after each chunk, pauses as long as that chunk is worth. */
const readSlowly =
  (counter: MarkerCounter, bytesPerSecond: number): StdoutHandler =>
  (stdout) =>
    stdout.on('data', (chunk: Buffer) => {
      counter.push(chunk);
      stdout.pause();
      setTimeout(() => stdout.resume(), (chunk.length / bytesPerSecond) * 1000).unref();
    });

async function burstNode(ctx: RunContext, side: SideName, shape: string) {
  const host = ctx.nextHost();
  const name = nodeName(ctx, side, shape);
  const spec = loneServerSpec(name, ctx.burstScript);
  const prepared = await prepareNode(host, ctx.workDir, ctx.binaries, spec);
  return { host, prepared, env: { BENCH_LOG_LINES: String(LOG_LINES) } };
}

/**
 * Figure 6, fast reader: consul prints LOG_LINES lines of 80 characters at start; lines/s from the
 * first to the last one seen on the supervisor's stdout, its peak RSS meanwhile, and drops.
 */
export async function logRelayFast(ctx: RunContext, side: SideName): Promise<void> {
  const { host, prepared, env } = await burstNode(ctx, side, 'logf');
  try {
    const counter = new MarkerCounter();
    const node = start(side, prepared, { env, onStdout: readAll(counter) });
    const rss = sampleRss(node.pid);
    await pollUntil(`${side}: log burst relayed`, performance.now(), LOG_TIMEOUT_MS, 50, () =>
      counter.count >= LOG_LINES ||
      (counter.count > 0 && performance.now() - counter.last > LOG_IDLE_MS)
        ? true
        : undefined,
    );
    ctx.results.add('relayRss', side, rss.stop() / 1024);
    ctx.results.add('relay', side, ((counter.count - 1) / (counter.last - counter.first)) * 1000);
    // Dropped (meshvisor) or spliced: supervisord copies bytes, not lines, so its own log lines
    // can land inside a child's line.
    ctx.results.add('relayMissing', side, LOG_LINES - counter.count);
    // supervisord has no such counter: it never drops, a full stdout blocks it instead.
    if (node instanceof MeshvisorNode) {
      ctx.results.add('relayDropped', side, await node.droppedLogLines());
    }
  } finally {
    await ctx.endTrial(host);
  }
}

/**
 * Figure 6, slow reader: the same burst with the supervisor's stdout read at 64 KiB/s for
 * SLOW_WINDOW_MS: its peak RSS (is memory bounded?), lines relayed and dropped, and whether it
 * still answers a status call meanwhile.
 */
export async function logRelaySlow(ctx: RunContext, side: SideName): Promise<void> {
  const { host, prepared, env } = await burstNode(ctx, side, 'logs');
  try {
    const counter = new MarkerCounter();
    const node = start(side, prepared, {
      env,
      onStdout: readSlowly(counter, SLOW_BYTES_PER_SECOND),
    });
    const rss = sampleRss(node.pid, 100);
    await sleep(SLOW_PING_AT_MS);
    const ping = await timed(() => node.ping(SLOW_PING_TIMEOUT_MS)).catch(() => TIMED_OUT);
    await sleep(
      Math.max(0, SLOW_WINDOW_MS - SLOW_PING_AT_MS - Math.min(ping, SLOW_PING_TIMEOUT_MS)),
    );
    ctx.results.add('slowPing', side, ping);
    ctx.results.add('slowRss', side, rss.stop() / 1024);
    ctx.results.add('slowRelayed', side, counter.count);
    // supervisord drops nothing: a full stdout blocks it, and so its children (see README).
    if (node instanceof MeshvisorNode) {
      ctx.results.add('slowDropped', side, await node.droppedLogLines());
    }
  } finally {
    await ctx.endTrial(host);
  }
}
