// ACLs as Consul 1.10 decides them (recording 11): the policy language, the authorizer a
// resolved token gives, the permission each endpoint needs and the one authorize() that turns a
// missing permission into 1.10's 403. The token store is acl-store.ts, the ACL API acl-api.ts,
// how an agent finds the caller's authorizer (default token, legacy mode, down policy)
// acl-resolver.ts.
import type { Json, JsonObject } from './config.ts';
import type { ConfigEntry } from './config-entries.ts';
import { HclError, parseHcl } from './hcl.ts';
import type { Reply } from './http.ts';
import { text } from './http.ts';

export type Access = 'read' | 'write';
type Level = 'read' | 'write' | 'deny';

/** Resources with per-name rules (`service "x"`, `service_prefix "x"`). */
const NAMED = ['agent', 'node', 'service', 'key', 'session', 'event', 'query'] as const;
/** Resources with one level (`operator = "write"`). */
const SCALAR = ['operator', 'acl', 'keyring'] as const;
export type Resource = (typeof NAMED)[number] | (typeof SCALAR)[number] | 'intention';

interface Rules {
  exact: Map<string, Level>;
  prefix: Map<string, Level>;
}

/** One policy, or several merged: rules per resource. */
export interface Policy {
  named: Record<(typeof NAMED)[number] | 'intention', Rules>;
  scalar: Partial<Record<(typeof SCALAR)[number], Level>>;
}

export class PolicyError extends Error {}

const emptyPolicy = (): Policy => ({
  named: Object.fromEntries(
    [...NAMED, 'intention'].map((r) => [r, { exact: new Map(), prefix: new Map() }]),
  ) as Policy['named'],
  scalar: {},
});

// 1.10's policy merger: where two rules name the same thing, deny beats write beats read.
const RANK: Record<Level, number> = { read: 1, write: 2, deny: 3 };

function add(rules: Rules, prefix: boolean, name: string, level: Level): void {
  const m = prefix ? rules.prefix : rules.exact;
  const prev = m.get(name);
  if (!prev || RANK[level] > RANK[prev]) m.set(name, level);
}

const isObject = (v: Json | undefined): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function level(v: Json | undefined, what: string): Level {
  // `list` (key_prefix) lists keys: for what the double models it is a read.
  if (v === 'list') return 'read';
  if (v === 'read' || v === 'write' || v === 'deny') return v;
  throw new PolicyError(`Invalid ${what} policy: ${JSON.stringify(v ?? '')}`);
}

const parsed = new Map<string, Policy>();

/**
 * Parses policy rules (HCL). Top-level keys 1.10 does not know (e.g. `mesh`, which it accepts
 * but which grants nothing before 1.11) are ignored, as hcl v1 decoding ignores them.
 */
export function parsePolicy(src: string): Policy {
  const cached = parsed.get(src);
  if (cached) return cached;
  let doc: JsonObject;
  try {
    doc = parseHcl(src);
  } catch (err) {
    if (err instanceof HclError) throw new PolicyError(`Failed to parse ACL rules: ${err.message}`);
    throw err;
  }
  const p = emptyPolicy();
  for (const [key, value] of Object.entries(doc)) {
    const prefix = key.endsWith('_prefix');
    const res = prefix ? key.slice(0, -'_prefix'.length) : key;
    if ((NAMED as readonly string[]).includes(res)) {
      if (!isObject(value)) throw new PolicyError(`Invalid ${key} policy: expected a block`);
      for (const [name, body] of Object.entries(value)) {
        const rule = isObject(body) ? body : {};
        const l = level(rule.policy, key);
        add(p.named[res as (typeof NAMED)[number]], prefix, name, l);
        if (res === 'service') {
          // `intentions` defaults to read for a service you may read or write (1.10).
          const i =
            rule.intentions === undefined ? (l === 'deny' ? 'deny' : 'read') : rule.intentions;
          add(p.named.intention, prefix, name, level(i, `${key} intentions`));
        }
      }
    } else if ((SCALAR as readonly string[]).includes(key)) {
      p.scalar[key as (typeof SCALAR)[number]] = level(value, key);
    }
  }
  parsed.set(src, p);
  return p;
}

function merge(policies: Policy[]): Policy {
  const out = emptyPolicy();
  for (const p of policies) {
    for (const [res, rules] of Object.entries(p.named) as [keyof Policy['named'], Rules][]) {
      for (const [n, l] of rules.exact) add(out.named[res], false, n, l);
      for (const [n, l] of rules.prefix) add(out.named[res], true, n, l);
    }
    for (const [res, l] of Object.entries(p.scalar) as [(typeof SCALAR)[number], Level][]) {
      const prev = out.scalar[res];
      if (!prev || RANK[l] > RANK[prev]) out.scalar[res] = l;
    }
  }
  return out;
}

/** An exact rule beats every prefix rule; of the prefixes, the longest matching one counts. */
function lookup(rules: Rules, name: string): Level | undefined {
  const exact = rules.exact.get(name);
  if (exact) return exact;
  let best: string | undefined;
  for (const p of rules.prefix.keys())
    if (name.startsWith(p) && (best === undefined || p.length > best.length)) best = p;
  return best === undefined ? undefined : rules.prefix.get(best);
}

/** What a token may do: its merged policies, then the default policy for anything unmatched. */
export class Authorizer {
  /** ACLs off (and down_policy "allow" without servers): everything but managing ACLs. */
  static readonly allowAll = new Authorizer(emptyPolicy(), 'allow');
  static readonly denyAll = new Authorizer(emptyPolicy(), 'deny');
  static readonly management = new Authorizer(emptyPolicy(), 'allow', true);

  constructor(
    private readonly policy: Policy,
    private readonly fallback: 'allow' | 'deny',
    private readonly manage = false,
  ) {}

  static of(policies: Policy[], defaultPolicy: string): Authorizer {
    return new Authorizer(merge(policies), defaultPolicy === 'allow' ? 'allow' : 'deny');
  }

  allows(res: Resource, access: Access, name = ''): boolean {
    if (this.manage) return true;
    const l =
      res === 'operator' || res === 'acl' || res === 'keyring'
        ? this.policy.scalar[res]
        : lookup(this.policy.named[res], name);
    // Managing ACLs is never granted by a default policy (1.10's allow-all cannot either).
    if (l === undefined) return this.fallback === 'allow' && res !== 'acl';
    return l === 'write' || (l === 'read' && access === 'read');
  }
}

/** A permission an endpoint needs. */
export interface Need {
  res: Resource;
  access: Access;
  name?: string;
}

export const need = (res: Resource, access: Access, name?: string): Need => ({
  res,
  access,
  ...(name !== undefined ? { name } : {}),
});

/** 1.10's wording of what a token lacks, in `Permission denied: Missing service:write on users`. */
export const missing = (n: Need, on = n.name ?? ''): string =>
  `Missing ${n.res}:${n.access} on ${on}`;

/**
 * The one check: undefined when `authz` grants every need, else 1.10's 403 — `Permission
 * denied`, or `Permission denied: <detail>` where 1.10 says which permission is missing.
 */
export function authorize(
  authz: Authorizer,
  needs: Need | Need[],
  detail?: (n: Need) => string,
): Reply | undefined {
  for (const n of Array.isArray(needs) ? needs : [needs]) {
    if (!authz.allows(n.res, n.access, n.name))
      return text(403, detail ? `Permission denied: ${detail(n)}` : 'Permission denied');
  }
  return undefined;
}

/** A resolution or check that ended in a reply (403) rather than an authorizer. */
export const isDenial = (x: Authorizer | Reply): x is Reply => !(x instanceof Authorizer);

/** The 403 for a token the servers do not know (or before the leader set ACLs up). */
export const ACL_NOT_FOUND = 'ACL not found';

// --- identities -----------------------------------------------------------------------------

/** A resolved token as the servers hand it to agents (clients build their Authorizer from it). */
export interface Identity {
  accessorId: string;
  management: boolean;
  /** Rules of each policy, service identities expanded. */
  rules: string[];
}

/** The policy 1.10 gives a token's service identity. */
export const serviceIdentityRules = (s: string): string =>
  `service "${s}" { policy = "write" }\nservice "${s}-sidecar-proxy" { policy = "write" }\n` +
  `service_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }\n`;

/** acl.tokens.agent_master: this agent's own endpoints, whether or not servers answer. */
export const agentMasterRules = (node: string): string =>
  `agent "${node}" { policy = "write" }\nnode_prefix "" { policy = "read" }\n`;

export function authorizerFor(id: Identity, defaultPolicy: string): Authorizer {
  if (id.management) return Authorizer.management;
  return Authorizer.of(
    id.rules.map((r) => parsePolicy(r)),
    defaultPolicy,
  );
}

// --- config entries -------------------------------------------------------------------------

/** Services a discovery-chain entry sends traffic to (1.10 wants service:read on them). */
function relatedServices(e: ConfigEntry): string[] {
  const out: string[] = [];
  const add = (v: Json | undefined): void => {
    if (typeof v === 'string' && v && v !== e.Name) out.push(v);
  };
  const obj = (v: Json | undefined): JsonObject => (isObject(v) ? v : {});
  const list = (v: Json | undefined): Json[] => (Array.isArray(v) ? v : []);
  for (const s of list(e.Splits)) add(obj(s).Service);
  for (const r of list(e.Routes)) add(obj(obj(r).Destination).Service);
  add(obj(e.Redirect).Service);
  for (const f of Object.values(obj(e.Failover))) add(obj(f).Service);
  return out;
}

/** What writing an entry needs in 1.10 (CanWrite): by kind, on its Name. */
export function entryWrite(e: ConfigEntry): Need[] {
  switch (e.Kind) {
    case 'proxy-defaults':
    case 'mesh':
    case 'ingress-gateway':
    case 'terminating-gateway':
      return [need('operator', 'write')];
    case 'service-intentions':
      return [need('intention', 'write', e.Name)];
    case 'service-resolver':
    case 'service-splitter':
    case 'service-router':
      return [
        need('service', 'write', e.Name),
        ...relatedServices(e).map((s) => need('service', 'read', s)),
      ];
    default:
      return [need('service', 'write', e.Name)];
  }
}

/** What reading an entry needs in 1.10 (CanRead); proxy-defaults and mesh anyone may read. */
export function entryRead(kind: string, name: string): Need[] {
  if (kind === 'proxy-defaults' || kind === 'mesh') return [];
  if (kind === 'service-intentions') return [need('intention', 'read', name)];
  return [need('service', 'read', name)];
}
