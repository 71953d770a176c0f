// ACL tokens: each token the spec sets resolves (`GET /v1/acl/token/self`, which any token the
// servers know may call), and holds the rights the node needs (docs/acl.md, config/acl/*.hcl).
//
// What is verified and how:
// - Resolution: token/self answers 200 (the token exists) or 403 "ACL not found" (it does not).
// - Rights: `POST /v1/internal/acl/authorize` (the endpoint Consul's UI asks, since 1.7; not in
//   Consul's API docs; recorded on 1.10.12 in test/recordings/consul-1.10.12/15-acl-authorize)
//   runs Consul's own authorizer for each right. When an
//   agent does not answer it, only these are still known: a token with the global-management
//   policy holds every right; a service identity grants `service "<name>"` and
//   `"<name>-sidecar-proxy"` write and service/node read, a node identity `node "<name>"` write
//   (Consul's documented expansions); and when this node's own agent runs, `GET /v1/agent/self`
//   with the token shows agent read (not write). Every other right is reported `!`, never ✓.
import type { NodeSpec } from '../spec/index.ts';
import { ConsulError } from '../consul/client.ts';
import { ruleText, type Right, type TokenNeed } from '../consul/rights.ts';
import { plural, type CheckResult } from './check.ts';
import type { AgentProbe } from './consul-api.ts';
import { httpRequest } from './probe.ts';
import type { CheckStatus, Detail } from './report.ts';

const GLOBAL_MANAGEMENT_POLICY_ID = '00000000-0000-0000-0000-000000000001';

export interface TokenSelf {
  accessorId: string;
  description: string;
  policies: { id: string; name: string }[];
  serviceIdentities: string[];
  nodeIdentities: string[];
}

type Resolution =
  | { kind: 'resolved'; self: TokenSelf }
  | { kind: 'unknown'; reason: string }
  | { kind: 'acl-off'; reason: string }
  | { kind: 'unavailable'; reason: string };

/** GET /v1/acl/token/self: whether the servers know the token. Its SecretID is never kept. */
export async function resolveToken(addr: string, token: string): Promise<Resolution> {
  let answer;
  try {
    answer = await httpRequest(`http://${addr}/v1/acl/token/self`, { token });
  } catch (err) {
    return { kind: 'unavailable', reason: `GET /v1/acl/token/self: ${(err as Error).message}` };
  }
  const error = ConsulError.fromResponse(answer.status, answer.body);
  if (answer.status === 200) {
    try {
      const body = JSON.parse(answer.body) as Record<string, unknown>;
      const list = (v: unknown) => (Array.isArray(v) ? (v as Record<string, unknown>[]) : []);
      return {
        kind: 'resolved',
        self: {
          accessorId: String(body.AccessorID ?? ''),
          description: String(body.Description ?? ''),
          policies: list(body.Policies).map((p) => ({
            id: String(p.ID ?? ''),
            name: String(p.Name ?? ''),
          })),
          serviceIdentities: list(body.ServiceIdentities).map((s) => String(s.ServiceName ?? '')),
          nodeIdentities: list(body.NodeIdentities).map(
            (n) => `${String(n.NodeName ?? '')}:${String(n.Datacenter ?? '')}`,
          ),
        },
      };
    } catch {
      return { kind: 'unavailable', reason: 'GET /v1/acl/token/self: the answer is not JSON' };
    }
  }
  if (answer.status === 401) return { kind: 'acl-off', reason: error.message };
  if (answer.status === 403 && /ACL not found/.test(error.message)) {
    return { kind: 'unknown', reason: error.message };
  }
  return {
    kind: 'unavailable',
    reason: `GET /v1/acl/token/self: ${answer.status} ${error.message}`,
  };
}

/** POST /v1/internal/acl/authorize: Consul's own answer per right, or null when unavailable. */
export async function authorize(
  addr: string,
  token: string,
  rights: Right[],
): Promise<{ allowed: boolean[] } | { unavailable: string }> {
  const allowed: boolean[] = [];
  // Consul refuses more than 64 at once.
  for (let i = 0; i < rights.length; i += 64) {
    const chunk = rights.slice(i, i + 64);
    const body = JSON.stringify(
      chunk.map((r) => ({
        Resource: r.resource,
        ...(r.segment ? { Segment: r.segment } : {}),
        Access: r.access,
      })),
    );
    let answer;
    try {
      answer = await httpRequest(`http://${addr}/v1/internal/acl/authorize`, {
        method: 'POST',
        token,
        body,
      });
    } catch (err) {
      return { unavailable: `POST /v1/internal/acl/authorize: ${(err as Error).message}` };
    }
    if (answer.status !== 200) {
      const error = ConsulError.fromResponse(answer.status, answer.body);
      return {
        unavailable: `POST /v1/internal/acl/authorize answered ${answer.status} "${error.message}"`,
      };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.body);
    } catch {
      parsed = undefined;
    }
    if (
      !Array.isArray(parsed) ||
      parsed.length !== chunk.length ||
      !parsed.every((r) => typeof (r as { Allow?: unknown })?.Allow === 'boolean')
    ) {
      return { unavailable: 'POST /v1/internal/acl/authorize: an answer of another shape' };
    }
    allowed.push(...parsed.map((r) => (r as { Allow: boolean }).Allow));
  }
  return { allowed };
}

/** The agent to ask about tokens: this node's own when it runs, else a server with a leader. */
export function aclAgent(spec: NodeSpec, probes: AgentProbe[]): AgentProbe | undefined {
  const answered = probes.filter((p) => !p.error);
  return (
    answered.find((p) => p.self?.nodeName === spec.nodeName && p.leader) ??
    answered.find((p) => p.leader) ??
    answered[0]
  );
}

interface RightVerdict {
  status: CheckStatus;
  how: string;
}

/** What identities grant, per Consul's documentation (a fallback when authorize is missing). */
function identityVerdict(spec: NodeSpec, self: TokenSelf, right: Right): RightVerdict | undefined {
  for (const name of self.serviceIdentities) {
    const write =
      right.resource === 'service' &&
      (right.segment === name || right.segment === `${name}-sidecar-proxy`);
    const read =
      right.access === 'read' && (right.resource === 'service' || right.resource === 'node');
    if (write || read) return { status: 'ok', how: `granted by the service identity ${name}` };
  }
  for (const id of self.nodeIdentities) {
    const [name, dc] = id.split(':');
    if (dc !== spec.datacenter) continue;
    if (right.resource === 'node' && right.segment === name) {
      return { status: 'ok', how: `granted by the node identity ${id}` };
    }
    if (right.resource === 'service' && right.access === 'read') {
      return { status: 'ok', how: `granted by the node identity ${id}` };
    }
  }
  return undefined;
}

export async function checkToken(
  spec: NodeSpec,
  need: TokenNeed,
  agent: AgentProbe,
  resolutions: Map<string, Promise<Resolution>>,
): Promise<CheckResult> {
  let pending = resolutions.get(need.token);
  if (!pending) {
    pending = resolveToken(agent.addr, need.token);
    resolutions.set(need.token, pending);
  }
  const resolution = await pending;
  const from = `(${need.field})`;
  if (resolution.kind === 'unknown') {
    return {
      status: 'fail',
      found: `${from} Consul does not know it: ${resolution.reason} (asked ${agent.addr})`,
      fix: `create it (docs/acl.md "Bootstrapping a new datacenter"; policy: ${need.policy}), or fix the secret the variable holds`,
    };
  }
  if (resolution.kind === 'acl-off') {
    return {
      status: 'fail',
      found: `${from} the agent at ${agent.addr} runs without ACLs (${resolution.reason}), but the spec has consul.acl`,
      fix: 'every agent of a datacenter must agree on acl.enabled: turn ACLs on there, or remove consul.acl here',
    };
  }
  if (resolution.kind === 'unavailable') {
    return {
      status: 'warn',
      found: `${from} not checked: ${resolution.reason} (asked ${agent.addr})`,
      fix: 'run doctor again once the servers have a leader and answer',
    };
  }
  const { self } = resolution;
  const policies = self.policies.map((p) => p.name).join(', ') || 'none';
  const identities = [
    ...self.serviceIdentities.map((s) => `service identity ${s}`),
    ...self.nodeIdentities.map((n) => `node identity ${n}`),
  ];
  const who = `accessor ${self.accessorId}${self.description ? ` "${self.description}"` : ''}; policies: ${policies}${identities.length ? `; ${identities.join(', ')}` : ''}`;

  const verdicts: RightVerdict[] = [];
  const management = self.policies.some((p) => p.id === GLOBAL_MANAGEMENT_POLICY_ID);
  let unavailable = '';
  if (management) {
    for (let i = 0; i < need.rights.length; i++)
      verdicts.push({ status: 'ok', how: 'global-management grants everything' });
  } else {
    const answer = await authorize(agent.addr, need.token, need.rights);
    if ('allowed' in answer) {
      for (const allow of answer.allowed) {
        verdicts.push({
          status: allow ? 'ok' : 'fail',
          how: `Consul's authorizer: ${allow ? 'allowed' : 'denied'}`,
        });
      }
    } else {
      unavailable = answer.unavailable;
      const agentRead = await ownAgentRead(spec, agent, need);
      for (const right of need.rights) {
        const verdict = identityVerdict(spec, self, right) ??
          (right.resource === 'agent' ? agentRead : undefined) ?? {
            status: 'warn' as const,
            how: "not verifiable: Consul shows a policy's rules only to a token with acl:read",
          };
        verdicts.push(verdict);
      }
    }
  }

  const details: Detail[] = need.rights.map((right, i) => {
    const verdict = verdicts[i] ?? { status: 'warn', how: 'not verified' };
    return {
      status: verdict.status,
      text: `${ruleText(right)}: ${right.why.join('; ')} — ${verdict.how}`,
    };
  });
  if (unavailable) {
    details.push({
      text: `${unavailable}: this agent does not run Consul's authorizer for doctor (the UI's endpoint, Consul 1.7 and later); rights were checked only through the token's identities`,
    });
  }
  const denied = need.rights.filter((_, i) => verdicts[i]?.status === 'fail');
  const unverified = need.rights.filter((_, i) => verdicts[i]?.status === 'warn');
  const verified = need.rights.length - denied.length - unverified.length;
  const summary = `${from} resolves (${who}); ${verified} of ${plural(need.rights.length, 'right')} verified`;
  if (denied.length > 0) {
    return {
      status: 'fail',
      found: `${summary}, ${denied.length} missing`,
      fix: `add to its policy: ${denied.map(ruleText).join(', ')} (${need.policy})`,
      details,
    };
  }
  if (unverified.length > 0) {
    return {
      status: 'warn',
      found: `${summary}, ${unverified.length} not verifiable here`,
      fix: `compare its policies (\`consul acl token read -self\`, then \`consul acl policy read\`) with ${need.policy}`,
      details,
    };
  }
  return { status: 'ok', found: summary, details };
}

/** With this node's own agent running, GET /v1/agent/self shows agent read (write stays unknown). */
async function ownAgentRead(
  spec: NodeSpec,
  agent: AgentProbe,
  need: TokenNeed,
): Promise<RightVerdict | undefined> {
  if (agent.self?.nodeName !== spec.nodeName) return undefined;
  try {
    const answer = await httpRequest(`http://${agent.addr}/v1/agent/self`, { token: need.token });
    if (answer.status === 200) {
      return {
        status: 'warn',
        how: 'GET /v1/agent/self answered, so agent read holds; write not verifiable',
      };
    }
    if (answer.status === 403) {
      return { status: 'fail', how: 'GET /v1/agent/self answered 403: not even agent read' };
    }
  } catch {
    // No answer: nothing learned.
  }
  return undefined;
}

/** With ACLs off in the spec: the agents must not run default deny. */
export function checkAclOff(spec: NodeSpec, probes: AgentProbe[]): CheckResult {
  const deny = probes.find((p) => p.aclDefaultPolicy === 'deny');
  const state = spec.consul.acl ? 'consul.acl.enabled is false' : 'the spec has no consul.acl';
  if (deny) {
    return {
      status: 'fail',
      found: `${state}, but the agent at ${deny.addr} runs ACLs with default deny (X-Consul-Default-Acl-Policy: deny): every call meshvisor makes would be denied`,
      fix: 'add consul.acl with the tokens (docs/acl.md)',
    };
  }
  const seen = probes.some((p) => p.aclDefaultPolicy === 'allow');
  return {
    status: 'ok',
    found: `${state}: no token is used${seen ? '; the agents answer X-Consul-Default-Acl-Policy: allow' : ''}`,
  };
}

/** With ACLs on: the datacenter's agents agree on the default policy. */
export function checkAclAgreement(spec: NodeSpec, agent: AgentProbe | undefined): CheckResult {
  const wanted = spec.consul.acl?.defaultPolicy ?? 'deny';
  if (!agent) {
    return {
      status: 'warn',
      found: 'tokens not checked: no Consul HTTP API answered (above)',
      fix: "run doctor where a server's HTTP API is reachable, or once this node runs",
    };
  }
  const header = agent.aclDefaultPolicy;
  if (header && header !== wanted) {
    return {
      status: 'warn',
      found: `the spec says defaultPolicy ${wanted}, the agent at ${agent.addr} answers X-Consul-Default-Acl-Policy: ${header} (ACLs off there, or another default)`,
      fix: 'every agent of a datacenter must agree on acl.enabled and acl.default_policy',
    };
  }
  if (agent.leader === '') {
    return {
      status: 'warn',
      found: `tokens not checked: ${agent.addr} knows no leader yet, and tokens resolve only once the servers have one (the ACL bootstrap window)`,
      fix: 'run doctor again in a few seconds',
    };
  }
  if (agent.leader === undefined) {
    return {
      status: 'warn',
      found: `tokens not checked: ${agent.addr} cannot reach the servers (${agent.leaderError ?? 'no leader'})`,
      fix: "run doctor where a server's HTTP API is reachable",
    };
  }
  return {
    status: 'ok',
    found: `defaultPolicy ${wanted}${header ? `, as the agent at ${agent.addr} answers` : ''}; tokens asked at ${agent.addr}`,
  };
}
