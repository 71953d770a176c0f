// The ACL HTTP API on the servers (clients forward it), as 1.10.12 answers it (recording 11):
// policies and tokens (create, read, list, delete), token/self, bootstrap. Managing ACLs needs a
// management token (acl:write; reads acl:read); token/self only a token the servers know.
import type { Json, JsonObject } from './config.ts';
import { authorize, isDenial, need } from './acl.ts';
import type { AclPolicy, AclStore, AclToken } from './acl-store.ts';
import { AclWriteError } from './acl-store.ts';
import { GoJsonError, parseGoJson } from './gojson.ts';
import type { Reply, Req } from './http.ts';
import { json, text } from './http.ts';
import type { Route, ServerContext } from './server-route.ts';
import { NO_LEADER, read } from './server-route.ts';

const DISABLED = text(401, 'ACL support disabled');

/** The views 1.10 gives: a policy (single) and a list entry (no Rules, Datacenters null). */
const policyView = (p: AclPolicy): JsonObject => ({ ...p }) as unknown as JsonObject;
const policyListView = (p: AclPolicy): JsonObject => ({
  ID: p.ID,
  Name: p.Name,
  Description: p.Description,
  Datacenters: p.Datacenters ?? null,
  Hash: p.Hash,
  CreateIndex: p.CreateIndex,
  ModifyIndex: p.ModifyIndex,
});
const tokenView = (t: AclToken): JsonObject => ({ ...t }) as unknown as JsonObject;

/** Go's encoding/json matches field names case-insensitively. */
function field(o: JsonObject, name: string): Json | undefined {
  const k = Object.keys(o).find((x) => x.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : o[k];
}
const str = (o: JsonObject, name: string): string | undefined => {
  const v = field(o, name);
  return typeof v === 'string' ? v : undefined;
};
const objects = (o: JsonObject, name: string): JsonObject[] => {
  const v = field(o, name);
  return Array.isArray(v)
    ? v.filter((x): x is JsonObject => typeof x === 'object' && x !== null && !Array.isArray(x))
    : [];
};
const strings = (o: JsonObject, name: string): string[] | undefined => {
  const v = field(o, name);
  return Array.isArray(v) ? v.map(String) : undefined;
};

/**
 * An ACL write: decode the body (400 `<what> decoding failed: …`), wait for the leader, need
 * acl:write, then `apply` (its AclWriteError is 1.10's 500).
 */
function write(
  what: string,
  apply: (acl: AclStore, body: JsonObject, m: RegExpExecArray) => Reply,
) {
  return async (ctx: ServerContext, req: Req, m: RegExpExecArray): Promise<Reply> => {
    if (!ctx.acl) return DISABLED;
    let body: JsonObject = {};
    if (req.method === 'PUT') {
      try {
        const raw = parseGoJson(req.body || '{}', 'decoder') as Json;
        body = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {};
      } catch (err) {
        if (err instanceof GoJsonError) return text(400, `${what} decoding failed: ${err.message}`);
        throw err;
      }
    }
    if (!(await ctx.awaitLeader())) return NO_LEADER;
    const authz = ctx.authorizer(req);
    if (isDenial(authz)) return authz;
    const denied = authorize(authz, need('acl', 'write'));
    if (denied) return denied;
    try {
      return apply(ctx.acl, body, m);
    } catch (err) {
      if (err instanceof AclWriteError) return text(500, err.message);
      throw err;
    }
  };
}

/** An ACL read: needs acl:read; a missing object is 403 `ACL not found` (1.10). */
function aclRead(
  produce: (acl: AclStore, m: RegExpExecArray) => JsonObject | JsonObject[] | undefined,
) {
  return async (ctx: ServerContext, req: Req, m: RegExpExecArray): Promise<Reply> => {
    const acl = ctx.acl;
    if (!acl) return DISABLED;
    return read(
      ctx,
      req,
      (a) => {
        const denied = authorize(a, need('acl', 'read'));
        if (denied) return denied;
        const out = produce(acl, m);
        return out === undefined ? text(403, 'ACL not found') : json(out);
      },
      { consistency: false },
    );
  };
}

const id = (m: RegExpExecArray): string => decodeURIComponent(m[1] as string);

export const ACL_ROUTES: Route[] = [
  {
    methods: ['PUT'],
    re: /^\/v1\/acl\/bootstrap$/,
    handle: async (ctx) => {
      if (!ctx.acl) return DISABLED;
      if (!(await ctx.awaitLeader())) return NO_LEADER;
      const index = ctx.acl.bootstrapResetIndex;
      // 1.10's handler writes this 403 itself: no Request error line (recording 11 a).
      if (index > 0)
        return {
          ...text(
            403,
            `Permission denied: ACL bootstrap no longer allowed (reset index: ${index})`,
          ),
          quiet: true,
        };
      return json(tokenView(ctx.acl.bootstrap()));
    },
  },
  {
    methods: ['PUT'],
    re: /^\/v1\/acl\/policy$/,
    handle: write('Policy', (acl, b) =>
      json(
        policyView(
          acl.createPolicy({
            Name: str(b, 'Name') ?? '',
            Description: str(b, 'Description') ?? '',
            Rules: str(b, 'Rules') ?? '',
            ...(strings(b, 'Datacenters') ? { Datacenters: strings(b, 'Datacenters') } : {}),
          }),
        ),
      ),
    ),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/acl\/policy\/name\/([^/]+)$/,
    handle: aclRead((acl, m) => {
      const p = acl.policy(id(m), 'name');
      return p && policyView(p);
    }),
  },
  {
    methods: ['GET', 'DELETE'],
    re: /^\/v1\/acl\/policy\/([^/]+)$/,
    handle: (ctx, req, m) =>
      req.method === 'DELETE'
        ? write('Policy', (acl) => {
            acl.deletePolicy(id(m));
            return json(true);
          })(ctx, req, m)
        : aclRead((acl) => {
            const p = acl.policy(id(m));
            return p && policyView(p);
          })(ctx, req, m),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/acl\/policies$/,
    handle: aclRead((acl) => acl.listPolicies().map(policyListView)),
  },
  {
    methods: ['PUT'],
    re: /^\/v1\/acl\/token$/,
    handle: write('Token', (acl, b) =>
      json(
        tokenView(
          acl.createToken({
            AccessorID: str(b, 'AccessorID'),
            SecretID: str(b, 'SecretID'),
            Description: str(b, 'Description'),
            Policies: objects(b, 'Policies').map((l) => ({
              ID: str(l, 'ID'),
              Name: str(l, 'Name'),
            })),
            ServiceIdentities: objects(b, 'ServiceIdentities').map((s) => ({
              ServiceName: str(s, 'ServiceName'),
              Datacenters: strings(s, 'Datacenters'),
            })),
          }),
        ),
      ),
    ),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/acl\/token\/self$/,
    // Any token the servers know may read itself; no token is `ACL not found` (not anonymous).
    handle: async (ctx, req) => {
      const acl = ctx.acl;
      if (!acl) return DISABLED;
      return read(
        ctx,
        req,
        () => {
          const t = req.token ? acl.token(req.token) : undefined;
          return t ? json(tokenView(t)) : text(403, 'ACL not found');
        },
        { consistency: false },
      );
    },
  },
  {
    methods: ['GET', 'DELETE'],
    re: /^\/v1\/acl\/token\/([^/]+)$/,
    handle: (ctx, req, m) =>
      req.method === 'DELETE'
        ? write('Token', (acl) => {
            acl.deleteToken(id(m));
            return json(true);
          })(ctx, req, m)
        : aclRead((acl) => {
            const t = acl.tokenByAccessor(id(m));
            return t && tokenView(t);
          })(ctx, req, m),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/acl\/tokens$/,
    handle: aclRead((acl) => acl.listTokens().map(tokenView)),
  },
];
