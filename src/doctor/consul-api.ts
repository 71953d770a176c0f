// Which Consul HTTP APIs answer: this node's own agent (when it runs) and the join addresses'
// (their host on consul.ports.http: doctor assumes the datacenter's agents share the HTTP port).
// What they answer feeds the Envoy support (xDS.SupportedProxies), ACL and clock checks.
import { isIP } from 'node:net';
import { ConsulError } from '../consul/client.ts';
import { apiToken, type NodeSpec } from '../spec/index.ts';
import type { CheckResult } from './check.ts';
import { parseJoinEntry, serfLanPort } from '../consul/index.ts';
import { httpRequest, resolveHost, type HttpAnswer } from './probe.ts';
import type { Detail } from './report.ts';

export interface ClockSample {
  /** Server clock minus ours, estimated from the Date header (1 s resolution). */
  offsetMs: number;
  /** How far off the estimate may be: half a second of Date resolution plus half the round trip. */
  uncertaintyMs: number;
}

export interface AgentProbe {
  /** host:port of its HTTP API. */
  addr: string;
  host: string;
  which: 'this node' | 'join address' | 'the leader';
  /** Set when nothing answered. */
  error?: string;
  /** The raft leader ("" while none); undefined when the agent could not say (see leaderError). */
  leader?: string;
  leaderError?: string;
  /** X-Consul-Default-Acl-Policy: "allow" without ACLs, else the default policy. */
  aclDefaultPolicy?: string;
  clock?: ClockSample;
  self?: {
    nodeName: string;
    datacenter: string;
    version: string;
    server: boolean;
    envoy?: string[];
  };
  selfError?: string;
}

function clockSample(answer: HttpAnswer): ClockSample | undefined {
  const date = answer.headers.get('date');
  const serverMs = date ? Date.parse(date) : NaN;
  if (!Number.isFinite(serverMs)) return undefined;
  const rtt = answer.receivedAt - answer.sentAt;
  const localMidpoint = answer.sentWallMs + rtt / 2;
  return {
    offsetMs: Math.round(serverMs + 500 - localMidpoint),
    uncertaintyMs: Math.round(500 + rtt / 2),
  };
}

/**
 * A Consul agent's answer to /v1/status/leader: every answer of 1.10 carries
 * X-Consul-Default-Acl-Policy (recordings 01, 02); else a JSON string, or a 500 with its text.
 */
function looksLikeConsul(answer: HttpAnswer): boolean {
  if (answer.headers.has('x-consul-default-acl-policy')) return true;
  if (answer.status === 200) return /^"[^"]*"\s*$/.test(answer.body);
  return answer.status === 500 && /Consul servers|cluster leader|rpc error/.test(answer.body);
}

function errorText(answer: HttpAnswer): string {
  return `${answer.status} ${ConsulError.fromResponse(answer.status, answer.body).message}`;
}

async function probeAgent(
  addr: string,
  which: AgentProbe['which'],
  token: string | undefined,
): Promise<AgentProbe> {
  const host = addr.slice(0, addr.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  const probe: AgentProbe = { addr, host, which };
  let leader: HttpAnswer;
  try {
    leader = await httpRequest(`http://${addr}/v1/status/leader`);
  } catch (err) {
    probe.error = (err as Error).message;
    return probe;
  }
  if (!looksLikeConsul(leader)) {
    probe.error = `something answered GET /v1/status/leader with ${leader.status}, not as a Consul agent does`;
    return probe;
  }
  probe.clock = clockSample(leader);
  probe.aclDefaultPolicy = leader.headers.get('x-consul-default-acl-policy') ?? undefined;
  if (leader.status === 200) {
    try {
      probe.leader = String(JSON.parse(leader.body) ?? '');
    } catch {
      probe.leaderError = `unexpected answer: ${leader.body.slice(0, 100)}`;
    }
  } else probe.leaderError = errorText(leader);
  try {
    const self = await httpRequest(`http://${addr}/v1/agent/self`, { token });
    if (self.status === 200) {
      const body = JSON.parse(self.body) as {
        Config?: { NodeName?: string; Datacenter?: string; Version?: string; Server?: boolean };
        xDS?: { SupportedProxies?: { envoy?: unknown } };
      };
      const envoy = body.xDS?.SupportedProxies?.envoy;
      probe.self = {
        nodeName: String(body.Config?.NodeName ?? ''),
        datacenter: String(body.Config?.Datacenter ?? ''),
        version: String(body.Config?.Version ?? ''),
        server: body.Config?.Server === true,
        ...(Array.isArray(envoy) ? { envoy: envoy.map(String) } : {}),
      };
    } else probe.selfError = `GET /v1/agent/self: ${errorText(self)}`;
  } catch (err) {
    probe.selfError = `GET /v1/agent/self: ${(err as Error).message}`;
  }
  return probe;
}

function hostPort(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** Probes this node's agent and the join addresses' agents, then the leader's when new. */
export async function probeAgents(
  spec: NodeSpec,
  address: string | null,
  local: Set<string>,
): Promise<AgentProbe[]> {
  const http = spec.consul.ports.http;
  const token = apiToken(spec);
  const candidates = new Map<string, AgentProbe['which']>();
  const clientHosts = spec.consul.clientAddr.split(/\s+/);
  if (address) candidates.set(hostPort(address, http), 'this node');
  else if (
    spec.role === 'server' &&
    clientHosts.some((h) => h === '0.0.0.0' || h === '127.0.0.1')
  ) {
    candidates.set(hostPort('127.0.0.1', http), 'this node');
  }
  const joins = await Promise.all(
    spec.consul.retryJoin.map(async (entry) => {
      const target = parseJoinEntry(entry, serfLanPort(spec));
      if (!target) return null;
      const resolved = await resolveHost(target.host);
      if ('error' in resolved) return null;
      return resolved.addresses.find((a) => isIP(a) === 4) ?? resolved.addresses[0] ?? null;
    }),
  );
  for (const ip of joins) {
    if (ip && !candidates.has(hostPort(ip, http)))
      candidates.set(hostPort(ip, http), 'join address');
  }
  const probes = await Promise.all(
    [...candidates].map(([addr, which]) => probeAgent(addr, which, token)),
  );
  // The leader (its RPC address, "ip:8300") is a server: ask it too when no server answered yet.
  const leaderIp = probes
    .map((p) => p.leader?.slice(0, p.leader.lastIndexOf(':')))
    .find((ip): ip is string => Boolean(ip));
  if (leaderIp && !local.has(leaderIp) && !candidates.has(hostPort(leaderIp, http))) {
    probes.push(await probeAgent(hostPort(leaderIp, http), 'the leader', token));
  }
  return probes;
}

export function checkConsulApi(spec: NodeSpec, probes: AgentProbe[]): CheckResult {
  if (probes.length === 0) {
    return {
      status: 'warn',
      found: 'no Consul HTTP API to ask: no node address and no join address',
      fix: 'the Envoy support, ACL token and clock checks need one',
    };
  }
  const details: Detail[] = [];
  let mismatch = false;
  for (const p of probes) {
    if (p.error) {
      // This node's own agent is not running before a start: that is no finding.
      details.push(
        p.which === 'this node'
          ? { text: `${p.addr} (this node): not running (${p.error})` }
          : { status: 'warn', text: `${p.addr} (${p.which}): no answer: ${p.error}` },
      );
      continue;
    }
    const who = p.self
      ? `${p.self.server ? 'server' : 'client'} ${p.self.nodeName}, Consul ${p.self.version}, datacenter ${p.self.datacenter}`
      : `agent unknown (${p.selfError ?? 'no answer'})`;
    const leader =
      p.leader !== undefined ? (p.leader ? `leader ${p.leader}` : 'no leader yet') : p.leaderError;
    let status: Detail['status'] = 'ok';
    if (p.self && p.self.datacenter !== spec.datacenter) {
      status = 'fail';
      mismatch = true;
    }
    details.push({ status, text: `${p.addr} (${p.which}): ${who}; ${leader}` });
  }
  const answered = probes.filter((p) => !p.error);
  if (answered.length === 0) {
    return {
      status: 'warn',
      found: `no Consul HTTP API answered (${probes.map((p) => p.addr).join(', ')})`,
      fix: `the Envoy support, ACL token and clock checks were skipped; a server's HTTP API (port ${spec.consul.ports.http}) may be closed to this node on purpose`,
      details,
    };
  }
  if (mismatch) {
    return {
      status: 'fail',
      found: `an agent answered from another datacenter than ${spec.datacenter}`,
      fix: 'check datacenter and consul.retryJoin: a node joins only the servers of its own datacenter',
      details,
    };
  }
  const running = answered.some((p) => p.which === 'this node');
  return {
    status: 'ok',
    found: `answered: ${answered.map((p) => p.addr).join(', ')}${running ? " (this node's agent is running)" : ''}`,
    details,
  };
}
