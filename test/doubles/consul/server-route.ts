// What the server-side endpoints (server-api.ts, acl-api.ts) share: the server's context, the
// route shape, and the blocking read every catalog/health/config/ACL read goes through (wait
// for the leader, resolve the caller's token, wait for ?index, answer).
import { Authorizer, isDenial } from './acl.ts';
import type { AclStore } from './acl-store.ts';
import type { Catalog } from './catalog.ts';
import type { Reply, Req } from './http.ts';
import { text } from './http.ts';

export interface ServerContext {
  catalog: Catalog;
  datacenter: string;
  rpcAddr: string;
  trustDomain: string;
  /** Resolves true once a leader exists, false after the RPC hold timeout. */
  awaitLeader(): Promise<boolean>;
  leader(): string;
  onEntriesChanged(): void;
  /**
   * The caller's authorizer, resolved on this server (allow-all with ACLs off), or the 403
   * `ACL not found` (an unknown token, or any token before the leader set ACLs up).
   */
  authorizer(req: Req): Authorizer | Reply;
  /** The ACL state; undefined with ACLs off. */
  acl?: AclStore;
}

export interface Route {
  methods: string[];
  re: RegExp;
  handle: (ctx: ServerContext, req: Req, m: RegExpExecArray) => Promise<Reply>;
  /** What the receiving agent's HTTP handler rejects itself, before any RPC. */
  local?: (req: Req) => Reply | undefined;
  /**
   * 1.10 answers this endpoint in the agent (the double asks its server): its errors are the
   * handler's, not an RPC's, so a client relays them without `rpc error making call: `.
   */
  agentEndpoint?: boolean;
}

export const NO_LEADER = text(500, 'No cluster leader');

function blockingHeaders(ctx: ServerContext, consistency = true): Record<string, string> {
  return {
    'X-Consul-Index': String(ctx.catalog.index),
    'X-Consul-Knownleader': 'true',
    'X-Consul-Lastcontact': '0',
    ...(consistency ? { 'X-Consul-Effective-Consistency': 'leader' } : {}),
    'X-Consul-Query-Backend': 'blocking-query',
  };
}

function parseWait(s: string | null): number {
  if (!s) return 5 * 60_000;
  const m = /^(\d+)(ms|s|m)?$/.exec(s);
  if (!m) return 5 * 60_000;
  const n = Number(m[1]);
  return Math.min(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000, 10 * 60_000);
}

/**
 * A blocking read: waits for the leader, resolves the caller's token (as the leader does: after
 * the wait, so a read sent before the election is answered, not refused), then waits for
 * ?index to pass and answers what the token may see. `open`: no token needed (CA roots).
 */
export async function read(
  ctx: ServerContext,
  req: Req,
  produce: (authz: Authorizer) => Reply,
  { consistency = true, open = false }: { consistency?: boolean; open?: boolean } = {},
): Promise<Reply> {
  if (!(await ctx.awaitLeader())) return NO_LEADER;
  const authz = open ? Authorizer.allowAll : ctx.authorizer(req);
  if (isDenial(authz)) return authz;
  const index = req.query.get('index');
  if (index !== null) await ctx.catalog.waitFor(Number(index), parseWait(req.query.get('wait')));
  const r = produce(authz);
  return { ...r, headers: { ...blockingHeaders(ctx, consistency), ...(r.headers ?? {}) } };
}
