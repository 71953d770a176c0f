// Bring-up: consul starts under the supervisor, and every spawn of it (the first, or again after
// it restarted) runs the bring-up anew in an AgentRun of its own:
//   http-up -> leader-known -> services-registered -> node-synced -> config entries
//   -> proxies (added once, each gated on its readiness) -> READY.
// A stage that fails for good ends the node's life with the exit code its cause deserves.
import { READINESS_STAGES, StageError, applyConfigEntry } from '../consul/index.ts';
import type { ProxyPlan } from '../envoy/index.ts';
import { ExitCode } from '../exit.ts';
import type { ConfigEntry } from '../render/index.ts';
import { AgentRun } from './agent-run.ts';
import { refreshClusterView } from './cluster-view.ts';
import type { RunningNode } from './context.ts';
import { consulProgram, proxyProgram } from './programs.ts';
import { runReadinessStages, timedStage } from './stages.ts';

/** The consul stages, then what the plan adds: the board forgets them when consul restarts. */
const BRING_UP_STAGES = [...READINESS_STAGES.map((s) => s.name), 'config-entries', 'proxies-ready'];

/**
 * Adds consul to the supervisor and starts it; each spawn brings the node up again. `joinFirst`:
 * the servers that answered at setup, joined with `-join` on the first run only.
 */
export function startAgent(node: RunningNode, joinFirst: readonly string[]): void {
  const spec = consulProgram(node);
  if (joinFirst.length > 0) {
    node.logger.info({ join: joinFirst }, 'servers answer: joining them first');
    spec.firstRunArgs = [...spec.args, ...joinFirst.flatMap((a) => ['-join', a])];
  }
  const consul = node.supervisor.add(spec);
  consul.on('spawn', () => onConsulSpawn(node));
  void node.supervisor.start(['consul']).catch(() => {
    // A consul that never becomes ready shows up as 'fatal' or as a stage deadline.
  });
}

/** Each (re)start of consul runs the bring-up again: its state may be new. */
function onConsulSpawn(node: RunningNode): void {
  node.agentRun?.supersede();
  const run = new AgentRun(node.ending.signal, node.spec().timeouts.readySeconds);
  node.agentRun = run;
  node.board.setDegraded(null);
  node.board.resetStages(BRING_UP_STAGES);
  bringUp(node, run).catch((err: unknown) => {
    if (run.signal.aborted) return;
    node.ending.fail((err as Error).message, exitCodeOf(err));
  });
}

/** A timeout is unavailability; a rejected entry or a denied token is the configuration's fault. */
function exitCodeOf(err: unknown): ExitCode {
  if (!(err instanceof StageError)) return ExitCode.failed;
  if (err.timedOut) return ExitCode.unavailable;
  return err.denied || err.stage === 'config-entries' ? ExitCode.config : ExitCode.failed;
}

export async function bringUp(node: RunningNode, run: AgentRun): Promise<void> {
  const { plan } = node.current;
  await runReadinessStages(node, run, plan, READINESS_STAGES, {
    // /status names the leader from the moment it is known, not a refresh period later.
    afterStage: async (stage) => {
      if (stage.name === 'leader-known') await refreshClusterView(node);
    },
  });
  const entries = plan.rendered.configEntries;
  if (entries.length > 0) {
    await timedStage(node, 'config-entries', run.signal, () => writeEntries(node, entries, run));
  }
  // Proxies are added once; each bring-up waits for all of them to be ready. A consul restart
  // leaves them running (Envoy reconnects to the agent's xDS by itself).
  if (plan.proxies.length > 0) {
    await timedStage(node, 'proxies-ready', run.signal, () =>
      startProxies(node, plan.proxies, run),
    );
  }
  run.broughtUp = true;
  void refreshClusterView(node);
  node.logger.info({ stage: 'ready' }, 'node is READY');
}

interface Window {
  signal: AbortSignal;
  deadline: number;
}

/** Writes config entries in order (read, compare, CAS); the board shows each one's fate. */
export async function writeEntries(
  node: RunningNode,
  entries: readonly ConfigEntry[],
  window: Window,
): Promise<void> {
  const { board, logger } = node;
  for (const entry of entries) board.entryPending(entry.Kind, entry.Name);
  for (const entry of entries) {
    try {
      const result = await applyConfigEntry(node.client, entry, {
        ...window,
        onRetry: (message) => board.stageWaiting('config-entries', message),
      });
      board.entryResult(entry.Kind, entry.Name, result);
      logger.info({ kind: entry.Kind, name: entry.Name, result }, 'config entry');
    } catch (err) {
      board.entryResult(entry.Kind, entry.Name, 'failed', (err as Error).message);
      throw err;
    }
  }
}

/** Adds the proxies not supervised yet and waits until all of them are ready. */
export async function startProxies(
  node: RunningNode,
  proxies: readonly ProxyPlan[],
  window: Window,
): Promise<void> {
  const { supervisor } = node;
  for (const proxy of proxies) {
    if (!supervisor.get(proxy.name)) supervisor.add(proxyProgram(node, proxy));
  }
  const timeout = AbortSignal.timeout(Math.max(0, window.deadline - Date.now()));
  try {
    await supervisor.start(
      proxies.map((p) => p.name),
      AbortSignal.any([window.signal, timeout]),
    );
  } catch (err) {
    if (timeout.aborted && !window.signal.aborted) {
      const names = new Set(proxies.map((p) => p.name));
      const reasons = supervisor
        .snapshot()
        .filter((s) => names.has(s.name) && !s.ready && s.notReadyReason)
        .map((s) => `${s.name}: ${s.notReadyReason}`);
      throw new StageError(
        'proxies-ready',
        reasons.length > 0
          ? `proxies-ready: not ready before the readiness deadline; ${reasons.join('; ')}`
          : `proxies-ready: not ready before the readiness deadline; check: the sidecar/gateway programs' logs and Envoy's admin /ready`,
        true,
      );
    }
    throw err;
  }
}
