// Config entries as 1.10 decodes, validates and returns them (agent/structs/config_entry*.go).
// The same decoder serves `PUT /v1/config` and `consul config write`: case-insensitive names,
// snake_case aliases, unknown keys rejected as `invalid config key "X"`.
import type { Json, JsonObject } from './config.ts';
import { multiError } from './config.ts';

type Spec = 'v' | 'map' | { [canonicalName: string]: Spec } | { list: Spec };

const MESH_GW: Spec = { Mode: 'v' };
const TPROXY: Spec = { OutboundListenerPort: 'v', DialedDirectly: 'v' };
const EXPOSE: Spec = {
  Checks: 'v',
  Paths: { list: { ListenerPort: 'v', Path: 'v', LocalPathPort: 'v', Protocol: 'v' } },
};

const KINDS: Record<string, Record<string, Spec>> = {
  'service-defaults': {
    Protocol: 'v',
    Mode: 'v',
    TransparentProxy: TPROXY,
    MeshGateway: MESH_GW,
    Expose: EXPOSE,
    ExternalSNI: 'v',
    UpstreamConfig: 'map',
  },
  'proxy-defaults': {
    Config: 'map',
    Mode: 'v',
    TransparentProxy: TPROXY,
    MeshGateway: MESH_GW,
    Expose: EXPOSE,
  },
  'ingress-gateway': {
    TLS: { Enabled: 'v' },
    Listeners: {
      list: {
        Port: 'v',
        Protocol: 'v',
        Services: { list: { Name: 'v', Hosts: 'v', Namespace: 'v' } },
      },
    },
  },
  'terminating-gateway': { Services: 'v' },
  'service-intentions': {
    Sources: {
      list: {
        Name: 'v',
        Namespace: 'v',
        Action: 'v',
        Permissions: 'v',
        Precedence: 'v',
        Type: 'v',
        Description: 'v',
        LegacyID: 'v',
        LegacyMeta: 'map',
        LegacyCreateTime: 'v',
        LegacyUpdateTime: 'v',
      },
    },
  },
  'service-router': { Routes: 'v' },
  'service-splitter': { Splits: 'v' },
  'service-resolver': {
    DefaultSubset: 'v',
    Subsets: 'map',
    Redirect: 'map',
    Failover: 'map',
    ConnectTimeout: 'v',
    LoadBalancer: 'map',
  },
  mesh: { TransparentProxy: 'map' },
};
const COMMON: Record<string, Spec> = { Kind: 'v', Name: 'v', Namespace: 'v', Meta: 'map' };

export const CONFIG_KINDS = Object.keys(KINDS);

export class EntryDecodeError extends Error {}

const canon = (k: string): string => k.toLowerCase().replace(/_/g, '');

function isObj(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function decodeWith(v: Json, spec: Spec, errors: string[]): Json {
  if (spec === 'v' || spec === 'map') return v;
  if ('list' in spec && Object.keys(spec).length === 1) {
    const inner = spec.list as Spec;
    if (!Array.isArray(v)) return v === null ? null : [decodeWith(v, inner, errors)];
    return v.map((e) => decodeWith(e, inner, errors));
  }
  if (!isObj(v)) return v;
  const byCanon = new Map(Object.keys(spec).map((k) => [canon(k), k]));
  const out: JsonObject = {};
  for (const [k, sub] of Object.entries(v)) {
    const name = byCanon.get(canon(k));
    if (!name) {
      errors.push(`invalid config key "${k}"`);
      continue;
    }
    out[name] = decodeWith(sub, (spec as Record<string, Spec>)[name] as Spec, errors);
  }
  return out;
}

export interface ConfigEntry {
  Kind: string;
  Name: string;
  [k: string]: Json;
}

/** Decodes a raw object into a config entry, or throws with 1.10's decode message. */
export function decodeConfigEntry(raw: unknown): ConfigEntry {
  if (!isObj(raw))
    throw new EntryDecodeError('Payload does not contain a kind/Kind key at the top level');
  const kindKey = Object.keys(raw).find((k) => canon(k) === 'kind');
  const kind = kindKey === undefined ? undefined : raw[kindKey];
  if (typeof kind !== 'string') {
    throw new EntryDecodeError('Payload does not contain a kind/Kind key at the top level');
  }
  const spec = KINDS[kind];
  if (!spec) throw new EntryDecodeError(`invalid config entry kind: ${kind}`);
  const errors: string[] = [];
  const out = decodeWith(raw, { ...COMMON, ...spec }, errors) as JsonObject;
  if (errors.length) throw new EntryDecodeError(multiError(errors));
  return { ...out, Kind: kind, Name: typeof out.Name === 'string' ? out.Name : '' } as ConfigEntry;
}

// ---------------------------------------------------------------------------------------------
// Views (field order and defaults as GET /v1/config returns them).

function pick(e: ConfigEntry, ...keys: string[]): JsonObject {
  const out: JsonObject = {};
  for (const k of keys)
    if (e[k] !== undefined && e[k] !== null && e[k] !== '') out[k] = e[k] as Json;
  return out;
}

function intentionPrecedence(src: string, dst: string): number {
  if (dst === '*') return src === '*' ? 5 : 6;
  return src === '*' ? 8 : 9;
}

/** Normalises an accepted entry to what the server stores (defaults filled in). */
export function normalizeEntry(e: ConfigEntry): ConfigEntry {
  const base = { Kind: e.Kind, Name: e.Name };
  switch (e.Kind) {
    case 'service-defaults':
      return {
        ...base,
        ...pick(e, 'Protocol', 'Mode'),
        TransparentProxy: (e.TransparentProxy as JsonObject) ?? {},
        MeshGateway: (e.MeshGateway as JsonObject) ?? {},
        Expose: (e.Expose as JsonObject) ?? {},
        ...pick(e, 'ExternalSNI', 'UpstreamConfig', 'Meta'),
      };
    case 'proxy-defaults':
      return {
        ...base,
        ...pick(e, 'Config', 'Mode'),
        TransparentProxy: (e.TransparentProxy as JsonObject) ?? {},
        MeshGateway: (e.MeshGateway as JsonObject) ?? {},
        Expose: (e.Expose as JsonObject) ?? {},
        ...pick(e, 'Meta'),
      };
    case 'ingress-gateway': {
      const tls = (e.TLS as JsonObject | undefined) ?? {};
      const listeners = ((e.Listeners as JsonObject[] | null) ?? []).map((l) => ({
        Port: Number(l.Port ?? 0),
        Protocol: (l.Protocol as string) || 'tcp',
        Services: ((l.Services as JsonObject[] | null) ?? []).map((s) => ({
          Name: (s.Name as string) ?? '',
          Hosts: (s.Hosts as Json[] | undefined) ?? null,
        })),
      }));
      return {
        ...base,
        TLS: { Enabled: tls.Enabled === true },
        Listeners: listeners,
        ...pick(e, 'Meta'),
      };
    }
    case 'service-intentions': {
      const sources = ((e.Sources as JsonObject[] | null) ?? []).map((s) => ({
        Name: (s.Name as string) ?? '',
        ...(s.Action ? { Action: s.Action } : {}),
        ...(s.Permissions ? { Permissions: s.Permissions } : {}),
        Precedence: intentionPrecedence((s.Name as string) ?? '', e.Name),
        Type: 'consul',
        ...(s.Description ? { Description: s.Description } : {}),
      }));
      return { ...base, Sources: sources, ...pick(e, 'Meta') };
    }
    default: {
      const { Kind: _k, Name: _n, ...rest } = e;
      return { ...base, ...rest };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Validation (server side → HTTP 500 with the message).

export interface EntryLookup {
  get(kind: string, name: string): ConfigEntry | undefined;
  list(kind: string): ConfigEntry[];
}

const HTTP_LIKE = new Set(['http', 'http2', 'grpc']);
const PROTOCOLS = new Set(['tcp', 'http', 'http2', 'grpc']);

/** The protocol a service resolves to: service-defaults, else proxy-defaults global, else tcp. */
export function serviceProtocol(
  store: EntryLookup,
  service: string,
  override?: ConfigEntry,
): string {
  const sd =
    override?.Kind === 'service-defaults' && override.Name === service
      ? override
      : store.get('service-defaults', service);
  if (sd?.Protocol) return String(sd.Protocol);
  const pd = override?.Kind === 'proxy-defaults' ? override : store.get('proxy-defaults', 'global');
  const cfg = pd?.Config as JsonObject | undefined;
  if (cfg && typeof cfg.protocol === 'string') return cfg.protocol;
  return 'tcp';
}

function validateIngressShape(e: ConfigEntry): void {
  const seen = new Set<number>();
  for (const l of (e.Listeners as JsonObject[]) ?? []) {
    const port = l.Port as number;
    const protocol = l.Protocol as string;
    if (seen.has(port)) throw new Error(`listener port ${port} declared more than once`);
    seen.add(port);
    if (!PROTOCOLS.has(protocol)) {
      throw new Error(
        `protocol must be 'tcp', 'http', 'http2', or 'grpc'. '${protocol}' is an unsupported protocol`,
      );
    }
    const services = (l.Services as JsonObject[]) ?? [];
    if (protocol === 'tcp' && services.length > 1) {
      throw new Error(
        `Multiple services per listener are only supported for protocol = 'http' (listener on port ${port})`,
      );
    }
    for (const s of services) {
      const name = s.Name as string;
      if (!name) throw new Error(`Service name cannot be blank (listener on port ${port})`);
      if (name === '*' && protocol !== 'http') {
        throw new Error(
          `Wildcard service name is only valid for protocol = 'http' (listener on port ${port})`,
        );
      }
      const hosts = (s.Hosts as string[] | null) ?? [];
      if (hosts.length && protocol === 'tcp') {
        throw new Error(
          `Associating hosts to a service is not supported for the ${protocol} protocol (listener on port ${port})`,
        );
      }
      for (const h of hosts) {
        if (h.includes('*') && !(h === '*' || (h.startsWith('*.') && !h.slice(2).includes('*')))) {
          throw new Error(
            `Host "${h}" is not valid, a wildcard specifier is only allowed as the leftmost label`,
          );
        }
      }
    }
  }
}

function mismatch(service: string, protocol: string, listener: string): Error {
  return new Error(
    `service "${service}" has protocol "${protocol}", which does not match defined listener protocol "${listener}"`,
  );
}

/** A splitter's own rules; weights count in 0.01 % units of a float32, as 1.10 scales them. */
function validateSplits(e: ConfigEntry): void {
  const splits = (e.Splits as JsonObject[] | null) ?? [];
  if (!splits.length) throw new Error('no splits configured');
  const scaled = splits.reduce(
    (sum, s) => sum + Math.round(Math.fround(Math.fround(Number(s.Weight ?? 0)) * 100)),
    0,
  );
  if (scaled !== 100 * 100) {
    const total = Math.fround(Math.fround(scaled) / 100).toFixed(6);
    throw new Error(`the sum of all split weights must be 100, not ${total}`);
  }
}

/** Validates `e` (normalised) against itself and the other entries; throws the 1.10 message. */
export function validateEntry(e: ConfigEntry, store: EntryLookup): void {
  if (!e.Name) throw new Error('Name is required');
  switch (e.Kind) {
    case 'proxy-defaults':
      if (e.Name !== 'global')
        throw new Error(`invalid name ("${e.Name}"), only "global" is supported`);
      break;
    case 'ingress-gateway':
      validateIngressShape(e);
      for (const l of (e.Listeners as JsonObject[]) ?? []) {
        for (const s of (l.Services as JsonObject[]) ?? []) {
          const name = s.Name as string;
          if (name === '*') continue;
          const p = serviceProtocol(store, name);
          if (p !== l.Protocol) throw mismatch(name, p, l.Protocol as string);
        }
      }
      break;
    case 'service-intentions':
      ((e.Sources as JsonObject[]) ?? []).forEach((s, i) => {
        if (!s.Name) throw new Error(`Sources[${i}].Name is required`);
        if (!s.Permissions && s.Action !== 'allow' && s.Action !== 'deny') {
          throw new Error(`Sources[${i}].Action must be set to 'allow' or 'deny'`);
        }
      });
      break;
    case 'service-router':
    case 'service-splitter': {
      // The entry's own rules come before the discovery chain's protocol, as in 1.10.
      if (e.Kind === 'service-splitter') validateSplits(e);
      const p = serviceProtocol(store, e.Name);
      if (!HTTP_LIKE.has(p)) {
        throw new Error(
          `discovery chain "${e.Name}" uses a protocol "${p}" that does not permit advanced routing or splitting behavior`,
        );
      }
      break;
    }
    default:
      break;
  }
  if (e.Kind === 'service-defaults' || e.Kind === 'proxy-defaults') {
    // A protocol change must not break an ingress listener that names the service explicitly.
    for (const gw of store.list('ingress-gateway')) {
      for (const l of (gw.Listeners as JsonObject[]) ?? []) {
        for (const s of (l.Services as JsonObject[]) ?? []) {
          const name = s.Name as string;
          if (name === '*') continue;
          if (e.Kind === 'service-defaults' && name !== e.Name) continue;
          const p = serviceProtocol(store, name, e);
          if (p !== l.Protocol) throw mismatch(name, p, l.Protocol as string);
        }
      }
    }
  }
}

/** Intention decision for source → destination (ACLs off: default allow). */
export function intentionDecision(
  store: EntryLookup,
  source: string,
  destination: string,
): { allowed: boolean; reason: string } {
  const candidates: { src: string; dst: string; action: string; precedence: number }[] = [];
  for (const e of store.list('service-intentions')) {
    if (e.Name !== destination && e.Name !== '*') continue;
    for (const s of (e.Sources as JsonObject[]) ?? []) {
      if (s.Name === source || s.Name === '*') {
        candidates.push({
          src: s.Name as string,
          dst: e.Name,
          action: (s.Action as string) ?? 'allow',
          precedence: s.Precedence as number,
        });
      }
    }
  }
  candidates.sort((a, b) => b.precedence - a.precedence);
  const top = candidates[0];
  if (!top) return { allowed: true, reason: 'ACLs disabled, access is allowed by default' };
  return {
    allowed: top.action === 'allow',
    reason: `Matched L4 intention: default/${top.src} => default/${top.dst} (Precedence: ${top.precedence}, Action: ${top.action.toUpperCase()})`,
  };
}
