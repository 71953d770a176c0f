// Endpoints a 1.10 client forwards to the servers over RPC (status, catalog, health, config
// entries, intentions, CA roots). The server double answers them from its Catalog; a client
// double relays them over the internal link (agent.ts).
import type { JsonObject } from './config.ts';
import type { Catalog } from './catalog.ts';
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

export interface ServerContext {
  catalog: Catalog;
  datacenter: string;
  rpcAddr: string;
  trustDomain: string;
  /** Resolves true once a leader exists, false after the RPC hold timeout. */
  awaitLeader(): Promise<boolean>;
  leader(): string;
  onEntriesChanged(): void;
}

const NO_LEADER = text(500, 'No cluster leader');

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

/** A blocking read: waits for the leader, then for ?index to pass, then answers. */
async function read(
  ctx: ServerContext,
  req: Req,
  produce: () => Reply,
  consistency = true,
): Promise<Reply> {
  if (!(await ctx.awaitLeader())) return NO_LEADER;
  const index = req.query.get('index');
  if (index !== null) await ctx.catalog.waitFor(Number(index), parseWait(req.query.get('wait')));
  const r = produce();
  return { ...r, headers: { ...blockingHeaders(ctx, consistency), ...(r.headers ?? {}) } };
}

interface Route {
  methods: string[];
  re: RegExp;
  handle: (ctx: ServerContext, req: Req, m: RegExpExecArray) => Promise<Reply>;
  /** What the receiving agent's HTTP handler rejects itself, before any RPC. */
  local?: (req: Req) => Reply | undefined;
}

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
    handle: (ctx, req) => read(ctx, req, () => json(ctx.catalog.nodesList())),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/catalog\/services$/,
    handle: (ctx, req) => read(ctx, req, () => json(ctx.catalog.servicesMap())),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/catalog\/service\/([^/]+)$/,
    handle: (ctx, req, m) =>
      read(ctx, req, () =>
        json(
          ctx.catalog.catalogService(
            decodeURIComponent(m[1] as string),
            req.query.get('tag') ?? undefined,
          ),
        ),
      ),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/catalog\/connect\/([^/]+)$/,
    handle: (ctx, req, m) =>
      read(ctx, req, () => {
        const name = decodeURIComponent(m[1] as string);
        const ids = new Set(
          ctx.catalog
            .healthService(name, { connect: true, passing: false })
            .map((e) => `${(e.Node as JsonObject).Node}/${(e.Service as JsonObject).ID}`),
        );
        const all = Object.keys(ctx.catalog.servicesMap()).flatMap((s) =>
          ctx.catalog.catalogService(s),
        );
        return json(all.filter((s) => ids.has(`${s.Node}/${s.ServiceID}`)));
      }),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/catalog\/node\/([^/]+)$/,
    handle: (ctx, req, m) =>
      read(ctx, req, () => json(ctx.catalog.catalogNode(decodeURIComponent(m[1] as string)))),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/health\/(service|connect)\/([^/]+)$/,
    handle: (ctx, req, m) =>
      read(ctx, req, () =>
        json(
          ctx.catalog.healthService(decodeURIComponent(m[2] as string), {
            connect: m[1] === 'connect',
            passing: req.query.has('passing') && req.query.get('passing') !== 'false',
            tag: req.query.get('tag') ?? undefined,
          }),
        ),
      ),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/health\/checks\/([^/]+)$/,
    handle: (ctx, req, m) =>
      read(ctx, req, () =>
        json(ctx.catalog.healthChecksOfService(decodeURIComponent(m[1] as string))),
      ),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/health\/node\/([^/]+)$/,
    handle: (ctx, req, m) =>
      read(ctx, req, () => json(ctx.catalog.healthNode(decodeURIComponent(m[1] as string)))),
  },
  {
    methods: ['GET'],
    re: /^\/v1\/health\/state\/([^/]+)$/,
    handle: async (ctx, req, m) => {
      const state = m[1] as string;
      if (!['any', 'passing', 'warning', 'critical'].includes(state)) {
        return text(400, `Invalid check state: ${state}`);
      }
      return read(ctx, req, () => json(ctx.catalog.healthState(state)));
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
        () =>
          json(
            ctx.catalog
              .listIndexed(kind)
              .map((e) => ({ ...e.value, CreateIndex: e.create, ModifyIndex: e.modify })),
          ),
        false,
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
        ctx.catalog.deleteEntry(kind, name);
        ctx.onEntriesChanged();
        return json({});
      }
      return read(
        ctx,
        req,
        () => {
          const e = ctx.catalog.getIndexed(kind, name);
          if (!e) return text(404, `Config entry not found for "${kind}" / "${name}"`);
          return json({ ...e.value, CreateIndex: e.create, ModifyIndex: e.modify });
        },
        false,
      );
    },
  },
  {
    methods: ['GET'],
    re: /^\/v1\/connect\/intentions$/,
    handle: (ctx, req) => read(ctx, req, () => json(intentionsView(ctx))),
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
      return json({ Allowed: intentionDecision(ctx.catalog, source, destination).allowed });
    },
  },
  {
    methods: ['GET'],
    re: /^\/v1\/connect\/intentions\/match$/,
    handle: (ctx, req) =>
      read(ctx, req, () => {
        const names = req.query.getAll('name');
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
    handle: (ctx, req) =>
      read(ctx, req, () => {
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
      }),
  },
  {
    methods: ['POST'],
    re: /^\/v1\/agent\/connect\/authorize$/,
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
      const d = intentionDecision(ctx.catalog, src, target);
      return json({ Authorized: d.allowed, Reason: d.reason });
    },
  },
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
