// supervisord (Debian's `supervisor` 4.2.x) against meshvisor on THE SAME WORKLOAD: the consul
// and envoy doubles, a client node's `consul agent` plus one `consul connect envoy` per sidecar,
// every node in a fresh network namespace, the two sides interleaved (supervisord, meshvisor,
// supervisord, meshvisor, … per figure and run). Not a test: it prints numbers. The figures and
// what each side's number means are in bench/README.md ("compare.ts").
//
//   node scripts/build.mjs && node scripts/build-doubles.mjs && \
//     node --import tsx bench/compare.ts [--runs N]
//
// Needs root and iproute2 (test/helpers/netns.ts); installs `supervisor` with apt-get when
// supervisord is missing. Bounded: every wait has a deadline, each run has a budget, and each
// run's namespaces (with every process in them) and files are removed in a finally, on SIGINT
// and SIGTERM too.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { BUNDLE } from '../test/helpers/cli.ts';
import { buildDoubles } from '../test/helpers/doubles.ts';
import { createTestNet, type TestHost, type TestNet } from '../test/helpers/netns.ts';
import {
  drainingStandIns,
  LOG_LINES,
  logRelayFast,
  logRelaySlow,
  oneSidecar,
  ROWS,
  SETTLE_MS,
  SLOW_WINDOW_MS,
  tenSidecars,
  threeSidecars,
  type RowKey,
  type RunContext,
} from './compare/figures.ts';
import { Results } from './compare/report.ts';
import { pollUntil, type SideName } from './compare/side.ts';
import {
  ensureSupervisord,
  pythonVersion,
  STARTRETRIES,
  STARTSECS,
} from './compare/supervisord.ts';
import { pinBinaries, type Binaries } from './compare/pin.ts';
import {
  loneServerSpec,
  prepareNode,
  writeBurstScript,
  writeDrainScript,
} from './compare/workload.ts';
import { interrupted, runBench } from './main.ts';

/** supervisord first, then meshvisor, for every figure of every run. */
const SIDES: SideName[] = ['supervisord', 'meshvisor'];
/** The server, then one namespace per trial (see oneRun). */
const HOSTS_PER_RUN = 12;
const RUN_BUDGET_MS = 6 * 60_000;
const KILL_WAIT_MS = 5_000;

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 50) {
  console.error(`--runs must be an integer 1..50, got ${values.runs}`);
  process.exit(2);
}

/** SIGKILLs every process in the host's namespace until none is left (bounded). */
async function killEverythingIn(host: TestHost): Promise<void> {
  const deadline = Date.now() + KILL_WAIT_MS;
  for (let pids = host.pids(); pids.length > 0; pids = host.pids()) {
    if (Date.now() > deadline) throw new Error(`${host.name}: still alive: ${pids.join(' ')}`);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await sleep(50);
  }
}

/** The run's consul server, under no supervisor: the same for both sides. */
async function startServer(ctx: RunContext): Promise<void> {
  const { server: host, binaries } = ctx;
  const spec = loneServerSpec('server', binaries.consul);
  const server = await prepareNode(host, ctx.workDir, binaries, spec);
  host.spawn(binaries.consul, ['agent', '-config-file', server.agentConfigFile], {
    stdio: 'ignore',
  });
  await pollUntil('the server elects itself', performance.now(), 60_000, 50, async () => {
    const res = await fetch(`http://${host.ip}:8500/v1/status/leader`);
    return ((await res.json()) as string) ? true : undefined;
  });
}

/** One run: every figure, each side in turn (see figures.ts for what each trial measures). */
async function oneRun(ctx: RunContext): Promise<void> {
  await startServer(ctx);
  for (const side of SIDES) {
    await threeSidecars(ctx, side);
    if (side === 'supervisord') await drainingStandIns(ctx);
  }
  for (const side of SIDES) await oneSidecar(ctx, side);
  for (const side of SIDES) await tenSidecars(ctx, side);
  for (const side of SIDES) await logRelayFast(ctx, side);
  for (const side of SIDES) await logRelaySlow(ctx, side);
}

function rejectOnAbort(signal: AbortSignal, run: number): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () =>
      reject(
        new Error(
          interrupted.signal.aborted
            ? `run ${run} interrupted`
            : `run ${run} exceeded ${RUN_BUDGET_MS} ms`,
        ),
      );
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

async function runOnce(run: number, binaries: Binaries, results: Results<RowKey>): Promise<void> {
  let net: TestNet | undefined;
  const workDir = mkdtempSync(join(tmpdir(), 'mv-compare-'));
  try {
    net = await createTestNet(HOSTS_PER_RUN);
    const [server, ...trialHosts] = net.hosts as [TestHost, ...TestHost[]];
    const ctx: RunContext = {
      run,
      workDir,
      server,
      results,
      nextHost: () => {
        const host = trialHosts.shift();
        if (!host) throw new Error(`more trials than HOSTS_PER_RUN (${HOSTS_PER_RUN})`);
        return host;
      },
      endTrial: killEverythingIn,
      binaries,
      drainScript: writeDrainScript(workDir),
      burstScript: writeBurstScript(workDir, binaries.consul),
    };
    const budget = AbortSignal.any([interrupted.signal, AbortSignal.timeout(RUN_BUDGET_MS)]);
    await Promise.race([oneRun(ctx), rejectOnAbort(budget, run)]);
  } finally {
    await net?.cleanup();
    rmSync(workDir, { recursive: true, force: true });
  }
}

function git(...args: string[]): string {
  return execFileSync('git', args, { encoding: 'utf8' }).trim();
}

function printHeader(supervisordVersion: string, binaries: Binaries): void {
  const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
  const command = [
    'node',
    ...process.execArgv,
    relative(process.cwd(), process.argv[1]!),
    ...process.argv.slice(2),
  ].join(' ');
  console.log(`meshvisor vs supervisord: ${runs} run(s), ${new Date().toISOString()}`);
  console.log(
    `machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), ` +
      `${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, ` +
      `load average ${loadavg()[0]!.toFixed(2)} at the start`,
  );
  console.log(
    `commit: ${git('rev-parse', '--short', 'HEAD')}` +
      `${dirty ? ' (with uncommitted changes in the working tree)' : ''}`,
  );
  console.log(`command: ${command}`);
  console.log(
    `meshvisor: ${relative(process.cwd(), BUNDLE)} (sha256 ${binaries.bundleSha}, built ` +
      `${binaries.bundleBuilt}, copied at the start) on node ${process.version}; ` +
      `supervisord ${supervisordVersion} on ${pythonVersion()}`,
  );
  console.log(
    `workload: the consul and envoy doubles (test/doubles, copied at the start), default ` +
      `knobs; supervisord startsecs=${STARTSECS} startretries=${STARTRETRIES}; ` +
      `settle ${SETTLE_MS} ms; ` +
      `log burst ${LOG_LINES} lines of 80 chars; slow stdout window ${SLOW_WINDOW_MS} ms\n`,
  );
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces)');
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} missing: run node scripts/build.mjs`);
  if (spawnSync('ip', ['-V']).status !== 0) throw new Error('needs iproute2 (ip)');
  const supervisordVersion = ensureSupervisord();
  buildDoubles();
  const binaries = pinBinaries();
  try {
    printHeader(supervisordVersion, binaries);
    const results = new Results(ROWS);
    const started = performance.now();
    for (let run = 1; run <= runs; run++) {
      const t0 = performance.now();
      await runOnce(run, binaries, results);
      const took = ((performance.now() - t0) / 1000).toFixed(0);
      console.error(`run ${run}/${runs} done in ${took} s`);
    }
    for (const line of results.markdown()) console.log(line);
    console.log(
      `\n${runs} run(s) in ${((performance.now() - started) / 1000).toFixed(0)} s; ` +
        `load average ${loadavg()[0]!.toFixed(2)} at the end`,
    );
  } finally {
    rmSync(binaries.dir, { recursive: true, force: true });
  }
}

runBench(main);
