// consul.retryJoin entries: what each names, and which answer right now. A client whose agent
// joins before it starts its state syncer (`-join`) syncs its services to the catalog at once;
// one that only has retry_join joins after the syncer has failed once, and the agent then waits a
// random stagger of up to 3 s before it syncs (recording 13; 1.10 agent/ae/ae.go serverUpIntv).
import { isIP } from 'node:net';
import { tcpConnect } from '../net/index.ts';
import type { NodeSpec } from '../spec/index.ts';

export interface JoinTarget {
  entry: string;
  host: string;
  port: number;
}

/** The serf LAN port this agent uses, which is also the default port of a join address. */
export function serfLanPort(spec: NodeSpec): number {
  const ports = spec.consul.extraConfig.ports;
  const value =
    typeof ports === 'object' && ports !== null
      ? (ports as Record<string, unknown>).serf_lan
      : undefined;
  return typeof value === 'number' && value > 0 ? value : 8301;
}

/** `10.0.0.2`, `10.0.0.2:8301`, `[fd00::2]:8301`, `consul-server`; null for cloud auto-join. */
export function parseJoinEntry(entry: string, defaultPort: number): JoinTarget | null {
  if (/(^|\s)provider=/.test(entry)) return null;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) {
    return { entry, host: bracketed[1] ?? '', port: Number(bracketed[2] ?? defaultPort) };
  }
  if (isIP(entry) === 6) return { entry, host: entry, port: defaultPort };
  const colon = entry.lastIndexOf(':');
  if (colon > 0 && /^\d+$/.test(entry.slice(colon + 1))) {
    return { entry, host: entry.slice(0, colon), port: Number(entry.slice(colon + 1)) };
  }
  return { entry, host: entry, port: defaultPort };
}

/**
 * The retryJoin entries that accept TCP on their serf LAN port within timeoutMs, probed in
 * parallel: worth a `-join` (which exits 1 when none joins, so only those that answered). Cloud
 * auto-join entries are left to retry_join.
 */
export async function answeringJoinEntries(spec: NodeSpec, timeoutMs: number): Promise<string[]> {
  const port = serfLanPort(spec);
  const targets = spec.consul.retryJoin
    .map((entry) => parseJoinEntry(entry, port))
    .filter((t): t is JoinTarget => t !== null);
  const answers = await Promise.all(targets.map((t) => tcpConnect(t.host, t.port, timeoutMs)));
  return targets.filter((_, i) => answers[i]?.ok).map((t) => t.entry);
}
