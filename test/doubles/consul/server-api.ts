// Endpoints a 1.10 client forwards to the servers over RPC (status, catalog, health, config
// entries, intentions, CA roots, the ACL API). The server double answers them from its Catalog,
// resolving the caller's token after the leader wait: lists are filtered to what the token may
// read, writes it may not make are 403 `Permission denied`. A client double relays them over the
// internal link (agent.ts).
import type { Authorizer } from './acl.ts';
import { authorize, entryRead, entryWrite, isDenial, need } from './acl.ts';
import { ACL_ROUTES } from './acl-api.ts';
import type { JsonObject } from './config.ts';
import type { ConfigEntry } from './config-entries.ts';
import {
  CONFIG_KINDS,
  EntryDecodeError,
  decodeConfigEntry,
  intentionDecision,
  normalizeEntry,
  validateEntry,
} from './config-entries.ts';
import { GoJsonError, parseGoJson } from './gojson.ts';
import type { Reply, Req } from './http.ts';
import { json, text } from './http.ts';
import type { Route, ServerContext } from './server-route.ts';
import { NO_LEADER, read } from './server-route.ts';

// What a token may see of a list (1.10's ACL filters): nodes need node:read, service instances
// node:read and service:read, checks node:read (and service:read for a service's check).
const nodeOk = (a: Authorizer, node: unknown): boolean => a.allows('node', 'read', String(node));
const svcOk = (a: Authorizer, svc: unknown): boolean => a.allows('service', 'read', String(svc));
const checkOk = (a: Authorizer, c: JsonObject): boolean =>
  nodeOk(a, c.Node) && (!c.ServiceName || svcOk(a, c.ServiceName));
const healthOk = (a: Authorizer, e: JsonObject): boolean =>
  nodeOk(a, (e.Node as JsonObject).Node) && svcOk(a, (e.Service as JsonObject).Service);

const intentionsView = (ctx: ServerContext): JsonObject[] =>
  ctx.catalog.listIndexed('service-intentions').flatMap((e) =>
    ((e.value.Sources as JsonObject[]) ?? []).map((s) => ({
      SourceNS: 'default',
      SourceName: s.Name ?? '',
      DestinationNS: 'default',
      DestinationName: e.value.Name,
      SourceType: 'consul',
      Action: s.Action ?? '',
      Precedence: s.Precedence ?? 0,
      CreateIndex: e.create,
      ModifyIndex: e.modify,
    })),
  );

/** A PUT /v1/config body decoded as the agent's HTTP handler does it: the entry, or the 400. */
function decodeEntryBody(
  body: string,
): { entry: ConfigEntry; error?: undefined } | { entry?: undefined; error: Reply } {
  try {
    return { entry: normalizeEntry(decodeConfigEntry(parseGoJson(body, 'decoder'))) };
  } catch (err) {
    if (err instanceof GoJsonError || err instanceof EntryDecodeError)
      return { error: text(400, `Bad request: Request decoding failed: ${err.message}`) };
    throw err;
  }
}

async function putConfig(ctx: ServerContext, req: Req): Promise<Reply> {
  const { entry, error } = decodeEntryBody(req.body);
  if (error) return error;
  if (!(await ctx.awaitLeader())) return NO_LEADER;
  const authz = ctx.authorizer(req);
  if (isDenial(authz)) return authz;
  const denied = authorize(authz, entryWrite(entry));
  if (denied) return denied;
  try {
    validateEntry(entry, ctx.catalog);
  } catch (err) {
    return text(500, (err as Error).message);
  }
  const cas = req.query.get('cas');
  const existing = ctx.catalog.getIndexed(entry.Kind, entry.Name);
  if (cas !== null) {
    const want = Number(cas);
    const identical = existing && JSON.stringify(existing.value) === JSON.stringify(entry);
    if (want === 0 ? existing && !identical : existing?.modify !== want) return json(false);
  }
  ctx.catalog.setEntry(entry);
  ctx.onEntriesChanged();
  return json(true);
}

const ROUTES: Route[] = [
  { methods: ['GET'], re: /^\/v1\/status\/leader$/, handle: async (ctx) => json(ctx.leader()) },
  { methods: ['GET'], re: /^\/v1\/status\/peers$/, handle: async (ctx) => json([ctx.rpcAddr]) },
  {
    methods: ['GET'],
    re: /^\/v1\/catalog\/datacenters$/,
    handle: async (ctx) => json([ctx.datacenter]),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/catalog\/nodes$/,
    handle: (ctx, req) =>
      read(ctx, req, (a) => json(ctx.catalog.nodesList().filter((n) => nodeOk(a, n.Node)))),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/catalog\/services$/,
    handle: (ctx, req) =>
      read(ctx, req, (a) =>
        json(
          Object.fromEntries(
            Object.entries(ctx.catalog.servicesMap()).filter(([name]) => svcOk(a, name)),
          ),
        ),
      ),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/catalog\/service\/([^/]+)$/,
    handle: (ctx, req, m) =>
      read(ctx, req, (a) =>
        json(
          ctx.catalog
            .catalogService(decodeURIComponent(m[1] as string), req.query.get('tag') ?? undefined)
            .filter((e) => nodeOk(a, e.Node) && svcOk(a, e.ServiceName)),
        ),
      ),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/catalog\/connect\/([^/]+)$/,
    handle: (ctx, req, m) =>
      read(ctx, req, (a) => {
        const name = decodeURIComponent(m[1] as string);
        // Finding a service's proxies needs service:read on it (else an empty answer).
        if (!svcOk(a, name)) return json([]);
        const ids = new Set(
          ctx.catalog
            .healthService(name, { connect: true, passing: false })
            .map((e) => `${(e.Node as JsonObject).Node}/${(e.Service as JsonObject).ID}`),
        );
        const all = Object.keys(ctx.catalog.servicesMap()).flatMap((s) =>
          ctx.catalog.catalogService(s),
        );
        return json(
          all.filter(
            (s) =>
              ids.has(`${s.Node}/${s.ServiceID}`) && nodeOk(a, s.Node) && svcOk(a, s.ServiceName),
          ),
        );
      }),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/catalog\/node\/([^/]+)$/,
    handle: (ctx, req, m) =>
      read(ctx, req, (a) => {
        const name = decodeURIComponent(m[1] as string);
        const node = nodeOk(a, name) ? ctx.catalog.catalogNode(name) : null;
        if (!node) return json(null);
        const services = Object.entries(node.Services as JsonObject).filter(([, s]) =>
          svcOk(a, (s as JsonObject).Service),
        );
        return json({ ...node, Services: Object.fromEntries(services) });
      }),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/health\/(service|connect)\/([^/]+)$/,
    handle: (ctx, req, m) =>
      read(ctx, req, (a) => {
        const name = decodeURIComponent(m[2] as string);
        if (m[1] === 'connect' && !svcOk(a, name)) return json([]);
        return json(
          ctx.catalog
            .healthService(name, {
              connect: m[1] === 'connect',
              passing: req.query.has('passing') && req.query.get('passing') !== 'false',
              tag: req.query.get('tag') ?? undefined,
            })
            .filter((e) => healthOk(a, e)),
        );
      }),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/health\/checks\/([^/]+)$/,
    handle: (ctx, req, m) =>
      read(ctx, req, (a) =>
        json(
          ctx.catalog
            .healthChecksOfService(decodeURIComponent(m[1] as string))
            .filter((c) => checkOk(a, c)),
        ),
      ),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/health\/node\/([^/]+)$/,
    handle: (ctx, req, m) =>
      read(ctx, req, (a) =>
        json(
          ctx.catalog.healthNode(decodeURIComponent(m[1] as string)).filter((c) => checkOk(a, c)),
        ),
      ),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/health\/state\/([^/]+)$/,
    handle: async (ctx, req, m) => {
      const state = m[1] as string;
      if (!['any', 'passing', 'warning', 'critical'].includes(state)) {
        return text(400, `Invalid check state: ${state}`);
      }
      return read(ctx, req, (a) =>
        json(ctx.catalog.healthState(state).filter((c) => checkOk(a, c))),
      );
    },
  },
  {
    methods: ['PUT'],
    re: /^\/v1\/config$/,
    handle: putConfig,
    local: (req) => decodeEntryBody(req.body).error,
  },
  {
    methods: ['GET'],
    re: /^\/v1\/config\/([^/]+)$/,
    handle: async (ctx, req, m) => {
      const kind = decodeURIComponent(m[1] as string);
      if (!CONFIG_KINDS.includes(kind)) return text(500, `invalid config entry kind: ${kind}`);
      return read(
        ctx,
        req,
        (a) =>
          json(
            ctx.catalog
              .listIndexed(kind)
              .filter((e) => !authorize(a, entryRead(kind, e.value.Name)))
              .map((e) => ({ ...e.value, CreateIndex: e.create, ModifyIndex: e.modify })),
          ),
        { consistency: false },
      );
    },
  },
  {
    methods: ['GET', 'DELETE'],
    re: /^\/v1\/config\/([^/]+)\/([^/]+)$/,
    handle: async (ctx, req, m) => {
      const kind = decodeURIComponent(m[1] as string);
      const name = decodeURIComponent(m[2] as string);
      if (!CONFIG_KINDS.includes(kind)) return text(500, `invalid config entry kind: ${kind}`);
      if (req.method === 'DELETE') {
        if (!(await ctx.awaitLeader())) return NO_LEADER;
        const authz = ctx.authorizer(req);
        if (isDenial(authz)) return authz;
        // 1.10 vets a delete like a write of that kind and name (CanWrite).
        const denied = authorize(authz, entryWrite({ Kind: kind, Name: name }));
        if (denied) return denied;
        ctx.catalog.deleteEntry(kind, name);
        ctx.onEntriesChanged();
        return json({});
      }
      return read(
        ctx,
        req,
        (a) => {
          const denied = authorize(a, entryRead(kind, name));
          if (denied) return denied;
          const e = ctx.catalog.getIndexed(kind, name);
          if (!e) return text(404, `Config entry not found for "${kind}" / "${name}"`);
          return json({ ...e.value, CreateIndex: e.create, ModifyIndex: e.modify });
        },
        { consistency: false },
      );
    },
  },
  {
    methods: ['GET'],
    re: /^\/v1\/connect\/intentions$/,
    handle: (ctx, req) =>
      read(ctx, req, (a) =>
        json(
          intentionsView(ctx).filter((i) =>
            a.allows('intention', 'read', String(i.DestinationName)),
          ),
        ),
      ),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/connect\/intentions\/check$/,
    handle: async (ctx, req) => {
      const source = req.query.get('source') ?? '';
      const destination = req.query.get('destination') ?? '';
      if (!source) return text(400, "required query parameter 'source' not set");
      if (!destination) return text(400, "required query parameter 'destination' not set");
      if (!(await ctx.awaitLeader())) return NO_LEADER;
      // Only pass/fail comes back, so 1.10 asks for service:read, not intention:read.
      const authz = ctx.authorizer(req);
      if (isDenial(authz)) return authz;
      const denied = authorize(authz, need('service', 'read', destination));
      if (denied) return denied;
      return json({ Allowed: intentionDecision(ctx.catalog, source, destination).allowed });
    },
  },
  {
    methods: ['GET'],
    re: /^\/v1\/connect\/intentions\/match$/,
    handle: (ctx, req) =>
      read(ctx, req, (a) => {
        const names = req.query.getAll('name');
        const denied = authorize(
          a,
          names.map((n) => need('intention', 'read', n)),
        );
        if (denied) return denied;
        const by = req.query.get('by') === 'source' ? 'SourceName' : 'DestinationName';
        const all = intentionsView(ctx);
        return json(
          Object.fromEntries(
            names.map((n) => [n, all.filter((i) => i[by] === n || i[by] === '*')]),
          ),
        );
      }),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/(agent\/)?connect\/ca\/roots$/,
    // The CA roots are public: 1.10 checks no token for them.
    handle: (ctx, req) =>
      read(
        ctx,
        req,
        () => {
          const id = '9f:4a:44:ad:20:c9:70:e4:cb:1e:81:27:c3:48:ce:3b:5b:28:8f:d3';
          return json({
            ActiveRootID: id,
            TrustDomain: `${ctx.trustDomain}.consul`,
            Roots: [
              {
                ID: id,
                Name: 'Consul CA Primary Cert',
                SerialNumber: 7,
                SigningKeyID: '04:4b:d6:2e:9b:c1:36:da:d0:8b:e7:81:04:fe:5f:82:2f:9f:f8:73',
                ExternalTrustDomain: ctx.trustDomain,
                NotBefore: '2026-01-01T00:00:00Z',
                NotAfter: '2036-01-01T00:00:00Z',
                RootCert:
                  '-----BEGIN CERTIFICATE-----\n(consul double: no real CA)\n-----END CERTIFICATE-----\n',
                IntermediateCerts: null,
                Active: true,
                PrivateKeyType: 'ec',
                PrivateKeyBits: 256,
                CreateIndex: 8,
                ModifyIndex: 8,
              },
            ],
          });
        },
        { open: true },
      ),
  },
  {
    methods: ['POST'],
    re: /^\/v1\/agent\/connect\/authorize$/,
    agentEndpoint: true,
    handle: async (ctx, req) => {
      let body: JsonObject;
      try {
        body = parseGoJson(req.body, 'decoder') as JsonObject;
      } catch (err) {
        return text(400, `Request decode failed: ${(err as Error).message}`);
      }
      const target = String(body.Target ?? '');
      const uri = String(body.ClientCertURI ?? '');
      if (!target) return text(400, 'Target service must be specified');
      const src = /\/svc\/([^/]+)$/.exec(uri)?.[1];
      if (!src) return text(400, 'ClientCertURI not a valid Connect identifier');
      if (!(await ctx.awaitLeader())) return NO_LEADER;
      const authz = ctx.authorizer(req);
      if (isDenial(authz)) return authz;
      const denied = authorize(authz, need('service', 'write', target));
      if (denied) return denied;
      const d = intentionDecision(ctx.catalog, src, target);
      return json({ Authorized: d.allowed, Reason: d.reason });
    },
  },
  ...ACL_ROUTES,
];

/** Allowed methods when the path is served here, or undefined when it is not a server path. */
export function serverRoute(path: string): Route | undefined {
  return ROUTES.find((r) => r.re.test(path));
}

/**
 * The answer a client agent gives without its server: what its HTTP handler rejects itself,
 * the same whether the server is up, down, leaderless or never known (recording 12).
 */
export function localReply(req: Req): Reply | undefined {
  const route = serverRoute(req.path);
  return route?.methods.includes(req.method) ? route.local?.(req) : undefined;
}

export async function handleServerRequest(ctx: ServerContext, req: Req): Promise<Reply> {
  const route = serverRoute(req.path);
  if (!route) return text(404, `404 page not found`);
  if (!route.methods.includes(req.method)) {
    return text(405, `method ${req.method} not allowed`, {
      Allow: ['OPTIONS', ...route.methods].sort().join(','),
    });
  }
  return route.handle(ctx, req, route.re.exec(req.path) as RegExpExecArray);
}
