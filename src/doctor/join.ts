// consul.retryJoin: each address resolves and accepts TCP on its serf LAN port (8301 unless the
// entry names a port). Serf also needs UDP both ways, which cannot be probed without a serf
// handshake: the docs say so, the check does not claim it.
import { isIP } from 'node:net';
import type { NodeSpec } from '../spec/index.ts';
import type { CheckResult } from './check.ts';
import { resolveHost, tcpConnect } from './probe.ts';

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

export async function checkJoinEntry(
  entry: string,
  defaultPort: number,
  local: Set<string> = new Set(),
): Promise<CheckResult> {
  const target = parseJoinEntry(entry, defaultPort);
  if (!target) {
    return {
      status: 'warn',
      found: `"${entry}" is a cloud auto-join: not checked (consul asks the provider's API at start)`,
      fix: 'check that the instances it finds run a Consul server reachable on TCP and UDP 8301',
    };
  }
  const resolved = await resolveHost(target.host);
  if ('error' in resolved) {
    return {
      status: 'fail',
      found: `${target.host}: ${resolved.error}`,
      fix: 'use a name this machine resolves (the compose service name, a private DNS name) or an IP',
    };
  }
  const ip = resolved.addresses.find((a) => isIP(a) === 4) ?? resolved.addresses[0] ?? target.host;
  const via = ip === target.host ? '' : ` (${target.host} is ${ip})`;
  if (local.has(ip)) {
    // A server may list every server, itself included; its own agent is not up before a start.
    return { status: 'ok', found: `${ip}${via} is this machine: nothing to reach` };
  }
  const tcp = await tcpConnect(ip, target.port);
  if (tcp.ok) {
    return {
      status: 'ok',
      found: `${ip}:${target.port} accepts TCP (${tcp.ms} ms)${via}; UDP not probed`,
    };
  }
  return {
    status: 'fail',
    found: `${ip}:${target.port}${via}: ${tcp.reason}`,
    fix:
      tcp.code === 'ECONNREFUSED'
        ? `is a Consul server running there, with serf LAN on ${target.port}?`
        : `allow TCP and UDP ${target.port} from this node to it (security group, firewall), and check the address`,
  };
}
