// The life of a node, top to bottom (each chapter in a file of its own):
//   setup.ts     preflight -> status endpoint -> address -> render -> client -> join probe
//   bring-up.ts  consul agent (supervised); each spawn: readiness stages -> config entries
//                -> proxies (supervised, gated on readiness) -> READY
//   cluster-view.ts  degraded while the cluster is lost
//   mesh-view.ts  the mesh as the node sees it: checks, upstreams, Envoys (src/inspect)
//   reload.ts    SIGHUP / POST /reload: the new spec's difference, applied live
//   stop.ts      SIGTERM/SIGINT, or a program that failed for good: not ready, maintenance,
//                drain + quit each proxy, deregister, leave
// This file only conducts: signals, the outcome, the reload queue and the current plan.
import { ExitCode, ExitError } from '../exit.ts';
import type { Logger } from '../log.ts';
import type { NodeSpec } from '../spec/index.ts';
import type { ReloadStatus } from '../status/index.ts';
import { READINESS_STAGES } from '../consul/index.ts';
import { startAgent } from './bring-up.ts';
import { watchCluster } from './cluster-view.ts';
import { watchMesh } from './mesh-view.ts';
import { Ending, realDeps, type NodeDeps, type NodeShared, type RunningNode } from './context.ts';
import { reloadNode, type SpecReader } from './reload.ts';
import { setUp } from './setup.ts';
import { NodeStatusBoard } from './status-board.ts';
import { stopNode } from './stop.ts';

export type { SpecReader } from './reload.ts';
export type { NodeDeps, NodeSupervisor, ProxyAdmin, SupervisedProgram } from './context.ts';

/** The stages READY requires before there is a plan. */
const SETUP_STAGES = ['address', ...READINESS_STAGES.map((s) => s.name)];

export async function runNode(
  spec: NodeSpec,
  logger: Logger,
  readSpec: SpecReader = () => Promise.resolve(spec),
  deps: Partial<NodeDeps> = {},
): Promise<ExitCode> {
  const all: NodeDeps = { ...realDeps, ...deps };
  const supervisor = all.supervisor(logger);
  let running: RunningNode | null = null;
  const shared: NodeShared = {
    logger,
    deps: all,
    supervisor,
    ending: new Ending(),
    board: new NodeStatusBoard(
      { node: spec.nodeName, role: spec.role, datacenter: spec.datacenter },
      () => supervisor.snapshot(),
      all.countZombies,
    ),
    spec: () => running?.current.plan.spec ?? spec,
    statusServer: null,
  };
  const { ending } = shared;

  // Reloads run one after another (a SIGHUP during a reload is applied after it).
  let reloads: Promise<unknown> = Promise.resolve();
  const reload = (trigger: string): Promise<ReloadStatus> => {
    const next = reloads.then(() => reloadNode(shared, running, trigger, readSpec));
    reloads = next.catch(() => {});
    return next;
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (ending.settled) {
      logger.warn({ signal }, 'second signal: killing every program now');
      void supervisor.kill();
      return;
    }
    logger.info({ signal }, 'stop requested');
    // Whatever the node is waiting for (its address, a stage) ends now.
    ending.end({ kind: 'stop', signal });
  };
  const onHangup = () => void reload('SIGHUP');
  const { signals } = all;
  signals.on('SIGTERM', onSignal);
  signals.on('SIGINT', onSignal);
  signals.on('SIGHUP', onHangup);
  supervisor.on('state', (snapshot) => shared.board.programChanged(snapshot));
  supervisor.on('fatal', (name, reason) =>
    ending.fail(`${name} failed for good: ${reason}`, ExitCode.failed),
  );
  try {
    const setup = await setUp(shared, {
      requiredStages: () => running?.current.plan.requiredStages ?? SETUP_STAGES,
      reload: () => reload('meshvisor reload'),
    });
    running = setup.node;
    startAgent(running, setup.joinFirst);
    watchCluster(running);
    watchMesh(running);
    return await stopNode(shared, running, await ending.outcome);
  } catch (err) {
    // A stop requested during setup aborts it: that is the stop, not a failure.
    if (ending.settled) return await stopNode(shared, running, await ending.outcome);
    // Setup failed (status port taken, configDir not writable...): one line, not a stack.
    const failure =
      err instanceof ExitError ? err : new ExitError((err as Error).message, ExitCode.failed);
    if (!(err instanceof ExitError)) logger.debug({ err }, 'setup failure');
    await stopNode(shared, running, {
      kind: 'fatal',
      message: failure.message,
      exitCode: failure.exitCode,
    });
    throw failure;
  } finally {
    signals.off('SIGTERM', onSignal);
    signals.off('SIGINT', onSignal);
    signals.off('SIGHUP', onHangup);
  }
}
