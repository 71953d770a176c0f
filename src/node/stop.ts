// The ordered stop, the whole of it, inside one budget (timeouts.stopSeconds, read from the plan
// the node runs at that moment):
//   not ready at once -> services into maintenance -> each proxy drains (a sidecar its inbound
//   listeners, a gateway all; graceful first, then closed) and releases consul -> consul deregisters the node's services and leaves (a client)
//   or is signalled (a server) -> each proxy quits once its drain has run -> whatever outlives
//   the budget is killed with its process tree -> the status endpoint closes.
// The supervisor orders the programs (proxies before the consul they depend on); the bodies of
// their stop triggers, drainProxy and leaveCluster, are here.
import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode } from '../exit.ts';
import { adminGone, type ProxyPlan } from '../envoy/index.ts';
import type { NodeShared, Outcome, ProxyAdmin, RunningNode } from './context.ts';

/** Maintenance mode gets at most this share of the stop budget (capped at 2 s). */
const MAINTENANCE_MAX_MS = 2000;
/** The agent's stagger before the full sync a new server triggers (1.10 ae.go serverUpIntv). */
const SERVER_UP_SYNC_STAGGER_MS = 3000;

export async function stopNode(
  node: NodeShared,
  running: RunningNode | null,
  outcome: Outcome,
): Promise<ExitCode> {
  const { board, logger } = node;
  node.ending.end(outcome);
  board.setPhase('stopping');
  board.stageStarted('stop');
  if (outcome.kind === 'fatal') logger.error({ err: outcome.message }, 'node failed');
  // One budget for the whole stop: maintenance counts inside it.
  const deadline = Date.now() + node.spec().timeouts.stopSeconds * 1000;
  const consul = running ? node.supervisor.get('consul') : undefined;
  if (running && (consul?.state === 'ready' || consul?.state === 'running')) {
    const maintenanceBudget = new AbortController();
    await Promise.race([
      setMaintenance(running),
      sleep(Math.min(MAINTENANCE_MAX_MS, (deadline - Date.now()) / 4), undefined, {
        signal: maintenanceBudget.signal,
      }).catch(() => {}),
    ]);
    // The process exits as soon as its work is done: no timer may outlive the race.
    maintenanceBudget.abort();
  }
  await node.supervisor.stop({ deadlineMs: Math.max(0, deadline - Date.now()) });
  board.stageFinished('stop');
  board.setPhase('stopped');
  await node.statusServer?.close();
  logger.info({ outcome: outcome.kind }, 'node stopped');
  return outcome.kind === 'stop' ? ExitCode.ok : outcome.exitCode;
}

/** Out of rotation first: peers stop picking this node's instances while it drains. */
async function setMaintenance(node: RunningNode): Promise<void> {
  await Promise.all(
    node
      .spec()
      .services.map((s) =>
        node.client
          .maintenance(s.id, true, 'meshvisor: node stopping')
          .catch((err: unknown) =>
            node.logger.warn(
              { service: s.id, err: (err as Error).message },
              'maintenance mode failed',
            ),
          ),
      ),
  );
}

/**
 * The stop of an Envoy (its stop trigger). A sidecar drains its inbound listeners only: the app
 * may still finish requests through its upstreams; a gateway drains all of them (the plan's
 * drainScope). Peers still routing here on a stale endpoint list get accepted for
 * timeouts.propagationSeconds; then nothing new is, and consul may deregister and leave while
 * open connections finish; Envoy quits once timeouts.drainSeconds have passed. An Envoy that
 * exits by itself during its drain (newer ones may) has stopped: no error.
 */
export async function drainProxy(
  node: NodeShared,
  proxy: Pick<ProxyPlan, 'name' | 'drainScope'>,
  admin: ProxyAdmin,
  release: () => void,
): Promise<void> {
  const { drainSeconds, propagationSeconds } = node.spec().timeouts;
  const log = node.logger.child({ program: proxy.name });
  const drainEnds = Date.now() + drainSeconds * 1000;
  try {
    await admin.drain(proxy.drainScope, { graceful: true });
    log.info({ scope: proxy.drainScope, drainSeconds }, 'drain: listeners draining');
    await sleep(Math.min(propagationSeconds, drainSeconds) * 1000);
    await admin.drain(proxy.drainScope, { graceful: false });
    log.info({ scope: proxy.drainScope }, 'drain: listeners closed');
    release();
    await sleep(Math.max(0, drainEnds - Date.now()));
    await admin.quit();
  } catch (err) {
    if (!adminGone(err)) throw err;
    log.info('drain: Envoy exited by itself');
    release();
  }
}

/**
 * The stop of consul (its stop trigger), once every proxy released it: the node's services
 * leave the catalog, then a client leaves the cluster and exits 0 (the node shows "left", not
 * "failed"); a server is signalled instead (a leave would shrink the raft quorum).
 */
export async function leaveCluster(node: RunningNode): Promise<void | 'signal'> {
  await deregisterServices(node);
  if (node.spec().role === 'server') return 'signal';
  await awaitDueFullSync(node);
  await node.client.leave();
}

async function deregisterServices(node: RunningNode): Promise<void> {
  const spec = node.spec();
  const ids = [...spec.services.map((s) => s.id), ...spec.gateways.map((g) => g.name)];
  await Promise.all(
    ids.map((id) =>
      node.client
        .deregister(id)
        .catch((err: unknown) =>
          node.logger.warn({ service: id, err: (err as Error).message }, 'deregister failed'),
        ),
    ),
  );
}

/**
 * A client agent that adds a server (its join, a rejoin after a restart) runs a full
 * anti-entropy sync after a random stagger of up to 3 s, more in clusters over 128 nodes
 * (1.10 agent/ae/ae.go). If that sync lands during the leave's 3 s propagation delay, it
 * registers the node again after the leader removed it, and the catalog keeps an empty node
 * until the leader's next reconcile (seen on the real agent when stopping within 3 s of a
 * consul restart). So the leave waits out the stagger; a stop long after the join waits nothing.
 */
async function awaitDueFullSync(node: RunningNode): Promise<void> {
  const serverAddedAt = node.agentRun?.serverAddedAt ?? null;
  if (serverAddedAt === null) return;
  const members = node.lanMembers ?? 1;
  const scale = members <= 128 ? 1 : Math.ceil(Math.log2(members) - Math.log2(128)) + 1;
  const wait = serverAddedAt + SERVER_UP_SYNC_STAGGER_MS * scale - Date.now();
  if (wait <= 0) return;
  node.logger.info(
    { waitMs: Math.round(wait) },
    "leave: waiting out the agent's due anti-entropy sync (it joined a server moments ago)",
  );
  await sleep(wait);
}
