// The stage runner: a named step with its timing on the status board and a log line when done,
// and the agent's readiness stages polled in order. Bring-up and reload both run through it.
import {
  pollUntil,
  type LogWake,
  type ReadinessStage,
  type ReadinessTarget,
  type StageMemory,
} from '../consul/index.ts';
import type { NodeShared, RunningNode } from './context.ts';
import type { NodePlan } from './plan.ts';

/**
 * Runs one named stage with timings in the status board and a log line when done. A stage
 * aborted by its own signal (superseded by a consul restart, or a stop) is not marked failed:
 * the board may already show the next run's stage of the same name.
 */
export async function timedStage<T>(
  node: Pick<NodeShared, 'board' | 'logger'>,
  name: string,
  signal: AbortSignal,
  body: () => Promise<T>,
): Promise<T> {
  node.board.stageStarted(name);
  try {
    const value = await body();
    const stage = node.board.stageFinished(name);
    node.logger.info({ stage: name, seconds: stage?.durationSeconds }, 'stage done');
    return value;
  } catch (err) {
    if (!signal.aborted) {
      node.board.stageFinished(name, (err as Error).message);
      node.logger.error({ stage: name, err: (err as Error).message }, 'stage failed');
    }
    throw err;
  }
}

/** The window a set of stages runs in: a bring-up's (an AgentRun), or a reload's. */
export interface StageWindow {
  signal: AbortSignal;
  /** Epoch ms. */
  deadline: number;
  memory: StageMemory;
  /** The agent's log lines, which end a poll's backoff. */
  log: LogWake;
  aclRefusals: ReadonlyMap<string, string>;
}

/** What the agent must hold for `plan`, as the readiness stages read it. */
export function readinessTarget(plan: NodePlan, run: StageWindow): ReadinessTarget {
  const { spec } = plan;
  return {
    nodeName: spec.nodeName,
    serviceIds: plan.serviceIds,
    autoEncrypt: spec.role === 'client' && spec.consul.tls?.autoEncrypt === true,
    aclRefusals: run.aclRefusals,
  };
}

export interface StageRunOptions {
  /** The board's (and the errors') name of a stage: bring-up uses the stage's own. */
  label?: (stage: ReadinessStage) => string;
  /** Called after each stage is done. */
  afterStage?: (stage: ReadinessStage) => Promise<void>;
}

/** Polls each of `stages` until it holds, in order, within the run's deadline. */
export async function runReadinessStages(
  node: RunningNode,
  run: StageWindow,
  plan: NodePlan,
  stages: readonly ReadinessStage[],
  options: StageRunOptions = {},
): Promise<void> {
  const target = readinessTarget(plan, run);
  for (const stage of stages) {
    const name = options.label?.(stage) ?? stage.name;
    await timedStage(node, name, run.signal, () =>
      pollUntil(name, () => stage.check(node.client, target, run.memory), {
        deadline: run.deadline,
        signal: run.signal,
        maxDelayMs: stage.maxPollDelayMs,
        wake: run.log.on(stage.wakeOn),
        hint: stage.hint(target),
        onRetry: (message) => node.board.stageWaiting(name, message),
      }),
    );
    await options.afterStage?.(stage);
  }
}
