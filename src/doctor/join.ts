// consul.retryJoin: each address resolves and accepts TCP on its serf LAN port (8301 unless the
// entry names a port). Serf also needs UDP both ways, which cannot be probed without a serf
// handshake: the docs say so, the check does not claim it.
import { isIP } from 'node:net';
import { parseJoinEntry } from '../consul/index.ts';
import type { CheckResult } from './check.ts';
import { tcpConnect } from '../net/index.ts';
import { NETWORK_TIMEOUT_MS, resolveHost } from './probe.ts';

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
  const tcp = await tcpConnect(ip, target.port, NETWORK_TIMEOUT_MS);
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
