// The cluster as /status shows it (leader, alive members), and whether the node is degraded:
// once a bring-up reached READY, a lost leader makes the node degraded, not unready.
import type { RunningNode } from './context.ts';

/** How often /status's view of the cluster (leader, members, degraded) is refreshed. */
const VIEW_REFRESH_MS = 2000;

/** Refreshes the view every VIEW_REFRESH_MS until the node's life ends. */
export function watchCluster(node: RunningNode): void {
  const timer = setInterval(() => void refreshClusterView(node), VIEW_REFRESH_MS);
  timer.unref();
  void node.ending.outcome.then(() => clearInterval(timer));
}

/**
 * Once the node is up, a lost leader (servers stopped or unreachable) makes it degraded, not
 * unready: its proxies keep serving what they have, and an orchestrator acting on readiness
 * would replace every healthy task of the cluster at once. Before that, the stages say it.
 */
export async function refreshClusterView(node: RunningNode): Promise<void> {
  const { board, client, logger, ending } = node;
  if (ending.settled) return;
  const [leader, members] = await Promise.allSettled([client.leader(), client.members()]);
  const leaderAddr = leader.status === 'fulfilled' && leader.value !== '' ? leader.value : null;
  node.lanMembers =
    members.status === 'fulfilled' ? members.value.filter((m) => m.Status === 1).length : null;
  board.setConsulView({ leader: leaderAddr, members: node.lanMembers });
  if (!node.agentRun?.broughtUp || ending.settled) return;
  const wasDegraded = board.isDegraded();
  if (leaderAddr !== null) {
    if (wasDegraded)
      logger.info({ leader: leaderAddr }, 'cluster leader known again: no longer degraded');
    board.setDegraded(null);
    return;
  }
  const why =
    leader.status === 'rejected' ? (leader.reason as Error).message : 'no cluster leader elected';
  const reason = `no cluster leader known: ${why}`;
  if (!wasDegraded)
    logger.warn({ reason }, 'degraded: the node lost its cluster; its proxies keep serving');
  board.setDegraded(reason);
}
