// Reload (SIGHUP, `meshvisor reload`): read the spec again from where it came from, refuse what
// needs a restart, plan it, and apply the difference to the running node. A bad spec or a
// change that needs a restart changes nothing. Otherwise, in the order a stop uses for what goes
// away: removed services into maintenance, their proxies drained and quit, deregistered; then the
// agent's file is re-rendered and the agent reloads it (services and checks added, changed,
// removed); the catalog must hold the new services; new or changed entries are written; new
// proxies start, gated on their readiness. Unchanged programs keep their pids.
import { NotYet, READINESS_STAGES, StageMemory, pollUntil } from '../consul/index.ts';
import { needsEnvoy } from '../envoy/index.ts';
import { writeRenderedFiles } from '../render/index.ts';
import { SpecError, type NodeSpec } from '../spec/index.ts';
import type { ReloadResult, ReloadStatus } from '../status/index.ts';
import { startProxies, writeEntries } from './bring-up.ts';
import { requireExecutable, type NodeShared, type RunningNode } from './context.ts';
import { resolveEnvoy } from './envoy-binary.ts';
import {
  diffPlans,
  isEmpty,
  planNode,
  refusedChanges,
  type NodePlan,
  type PlanChanges,
} from './plan.ts';
import { runReadinessStages, type StageWindow } from './stages.ts';

/** Reads the spec again from where it came from: what a reload applies. */
export type SpecReader = () => Promise<NodeSpec>;

/** The board's name of a readiness stage a reload runs (apart from the bring-up's). */
const reloadStageName = (name: string) => `reload ${name}`;
const RELOAD_STAGES = READINESS_STAGES.filter((s) => s.name !== 'http-up');

export async function reloadNode(
  shared: NodeShared,
  node: RunningNode | null,
  trigger: string,
  readSpec: SpecReader,
): Promise<ReloadStatus> {
  const { board, logger } = shared;
  const finish = (result: ReloadResult, problems: string[] = [], changes: string[] = []) => {
    const status: ReloadStatus = { at: new Date().toISOString(), result, problems, changes };
    board.reloadFinished(status);
    const log = result === 'applied' || result === 'unchanged' ? 'info' : 'error';
    for (const problem of problems) logger[log]({ trigger, result }, `reload: ${problem}`);
    const generation = node?.current.generation ?? 1;
    logger[log]({ trigger, result, changes, generation }, 'reload done');
    return status;
  };
  const agentRun = node?.agentRun;
  if (!node || !agentRun?.broughtUp || shared.ending.settled) {
    return finish('refused', ['the node is not READY yet (or stopping): restart to change it']);
  }
  const current = node.current.plan;
  let spec: NodeSpec;
  try {
    spec = await readSpec();
  } catch (err) {
    if (err instanceof SpecError) return finish('invalid', err.message.split('\n'));
    return finish('failed', [`reading the spec: ${(err as Error).message}`]);
  }
  const refused = refusedChanges(current.spec, spec);
  if (refused.length > 0) {
    return finish(
      'refused',
      refused.map((path) => `${path}: cannot change while the node runs; restart to change it`),
    );
  }
  let plan: NodePlan;
  try {
    const envoy =
      node.envoy ??
      (needsEnvoy(spec)
        ? await resolveEnvoy(
            node,
            spec,
            requireExecutable(node.deps, spec.proxy.envoyBinary, 'proxy.envoyBinary'),
          )
        : undefined);
    const held = new Map(
      current.proxies.map((p) => [p.name, Number(p.adminAddress?.split(':').at(-1))]),
    );
    plan = planNode(spec, node.address, { envoy, heldAdminPorts: held });
    node.envoy = envoy;
  } catch (err) {
    return finish('failed', [(err as Error).message]);
  }
  const changes = diffPlans(current, plan);
  if (isEmpty(changes)) return finish('unchanged');

  const window: StageWindow = {
    signal: agentRun.signal,
    deadline: Date.now() + spec.timeouts.readySeconds * 1000,
    memory: new StageMemory(),
    log: agentRun.log,
    aclRefusals: agentRun.aclRefusals,
  };
  board.reloadStarted(`spec generation ${node.current.generation + 1}`);
  board.resetStages(RELOAD_STAGES.map((s) => reloadStageName(s.name)));
  try {
    await applyChanges(node, plan, changes, window);
  } catch (err) {
    return finish('failed', [(err as Error).message], describeChanges(changes));
  }
  return finish('applied', [], describeChanges(changes));
}

async function applyChanges(
  node: RunningNode,
  plan: NodePlan,
  changes: PlanChanges,
  window: StageWindow,
): Promise<void> {
  const { client, supervisor } = node;
  // What goes away goes as in a stop: out of rotation, drained, quit, then deregistered.
  await Promise.all(
    changes.removedServices.map((id) =>
      client.maintenance(id, true, 'meshvisor: removed by a reload'),
    ),
  );
  const graceMs = plan.spec.timeouts.stopSeconds * 1000;
  await Promise.all(changes.stopProxies.map((p) => supervisor.remove(p.name, graceMs)));
  await Promise.all(
    [...changes.removedServices, ...changes.removedGateways].map((id) => client.deregister(id)),
  );

  if (changes.agentConfig) {
    await writeRenderedFiles(plan.rendered.files);
    await client.reload();
  }
  // From here the node runs the new plan: a consul restart brings this one up, and every
  // program reads its timeouts and environment from it.
  node.current = { plan, generation: node.current.generation + 1 };
  node.mesh?.setTargets(plan.mesh);
  node.board.setSpec(plan.hash, node.current.generation);

  // Timeouts alone change no registration: nothing to wait for.
  if (!changes.agentConfig && changes.entries.length === 0 && changes.startProxies.length === 0) {
    return;
  }
  await runReadinessStages(node, window, plan, RELOAD_STAGES, {
    label: (stage) => reloadStageName(stage.name),
  });
  // Peers see the removal once the servers' catalog no longer holds what went away.
  const gone = [
    ...changes.removedServices.flatMap((id) => [id, `${id}-sidecar-proxy`]),
    ...changes.removedGateways,
  ];
  if (gone.length > 0) {
    await pollUntil(
      'reload deregistration',
      async () => {
        const catalogNode = await client.catalogNode(plan.spec.nodeName);
        const left = gone.filter((id) => catalogNode?.serviceIds.includes(id));
        if (left.length > 0) throw new NotYet(`the catalog still holds ${left.join(', ')}`);
      },
      { ...window, hint: "the agent log for 'failed to sync remote state'" },
    );
  }
  if (changes.entries.length > 0) await writeEntries(node, changes.entries, window);
  if (changes.startProxies.length > 0) await startProxies(node, changes.startProxies, window);
}

/** One line per change a reload applied, for its log line and /status. */
function describeChanges(changes: PlanChanges): string[] {
  const started = new Set(changes.startProxies.map((p) => p.name));
  const stopped = new Set(changes.stopProxies.map((p) => p.name));
  return [
    ...changes.stopProxies.map((p) => `${started.has(p.name) ? 'restarted' : 'stopped'} ${p.name}`),
    ...changes.startProxies.filter((p) => !stopped.has(p.name)).map((p) => `started ${p.name}`),
    ...changes.removedGateways.map((name) => `deregistered gateway ${name}`),
    ...(changes.agentConfig ? ['re-rendered the agent config; consul reloaded it'] : []),
    ...changes.entries.map((e) => `wrote config entry ${e.Kind}/${e.Name}`),
    ...changes.timeouts.map((path) => `${path} is now in force`),
  ];
}
