// Service and check definitions as the 1.10 agent holds them: decoded from config files
// (snake_case) or the agent API (CamelCase, case-insensitive, snake_case aliases), sidecar
// expansion, and the JSON views the agent, catalog and health endpoints return.
import { createHash } from 'node:crypto';
import type { Json, JsonObject } from './config.ts';
import { parseDuration } from './config.ts';

export interface Upstream {
  DestinationType: string;
  DestinationNamespace: string;
  DestinationName: string;
  Datacenter: string;
  LocalBindAddress: string;
  LocalBindPort: number;
  Config?: JsonObject;
}

export interface ProxyConfig {
  DestinationServiceName: string;
  DestinationServiceID: string;
  LocalServiceAddress: string;
  LocalServicePort: number;
  Config?: JsonObject;
  Upstreams: Upstream[];
}

export interface NodeService {
  Kind: string;
  ID: string;
  Service: string;
  Tags: string[];
  Meta: Record<string, string>;
  Port: number;
  Address: string;
  TaggedAddresses?: Record<string, { Address: string; Port: number }>;
  Weights: { Passing: number; Warning: number };
  EnableTagOverride: boolean;
  Proxy?: ProxyConfig;
  Native?: boolean;
}

export type CheckStatus = 'passing' | 'warning' | 'critical';

export interface CheckDef {
  CheckID: string;
  Name: string;
  Notes: string;
  ServiceID: string;
  Status: CheckStatus;
  Type: string; // http | tcp | ttl | alias | maintenance | ''
  HTTP?: string;
  Method?: string;
  Header?: Record<string, string[]>;
  Body?: string;
  TLSSkipVerify?: boolean;
  TCP?: string;
  AliasService?: string;
  IntervalMs: number;
  TimeoutMs: number;
  TtlMs: number;
  DeregisterCriticalServiceAfterMs: number;
}

/** A check as held in state: the definition plus what it currently reports. */
export interface CheckState {
  def: CheckDef;
  Node: string;
  Status: CheckStatus;
  Output: string;
  ServiceName: string;
  ServiceTags: string[];
}

export class DecodeError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Case-insensitive, snake_case-tolerant field access.

const canon = (k: string): string => k.toLowerCase().replace(/_/g, '');

export function isObj(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Fields {
  private readonly m = new Map<string, { key: string; value: Json }>();
  constructor(o: JsonObject) {
    for (const [k, v] of Object.entries(o)) this.m.set(canon(k), { key: k, value: v });
  }
  get(...names: string[]): Json | undefined {
    for (const n of names) {
      const hit = this.m.get(canon(n));
      if (hit !== undefined) return hit.value;
    }
    return undefined;
  }
  /** Rejects any field that is not one of `known` (the API's unknown-field error). */
  strict(known: string[]): void {
    const ok = new Set(known.map(canon));
    for (const [c, { key }] of this.m) {
      if (!ok.has(c)) throw new DecodeError(`Request decode failed: json: unknown field "${key}"`);
    }
  }
  str(...n: string[]): string {
    const v = this.get(...n);
    return v === undefined || v === null ? '' : String(v);
  }
  num(...n: string[]): number {
    const v = this.get(...n);
    return v === undefined || v === null || v === '' ? 0 : Number(v);
  }
  bool(...n: string[]): boolean {
    const v = this.get(...n);
    return v === true || v === 'true';
  }
  obj(...n: string[]): JsonObject | undefined {
    const v = this.get(...n);
    return isObj(v) ? v : undefined;
  }
  list(...n: string[]): Json[] {
    const v = this.get(...n);
    if (v === undefined || v === null) return [];
    return Array.isArray(v) ? v : [v];
  }
}

const SERVICE_FIELDS = [
  'Kind',
  'ID',
  'Name',
  'Tags',
  'Address',
  'TaggedAddresses',
  'Meta',
  'Port',
  'SocketPath',
  'Check',
  'Checks',
  'Weights',
  'Token',
  'EnableTagOverride',
  'Proxy',
  'Connect',
  'Namespace',
];
const CHECK_FIELDS = [
  'ID',
  'CheckID',
  'Name',
  'Notes',
  'Status',
  'ScriptArgs',
  'Args',
  'HTTP',
  'Header',
  'Method',
  'Body',
  'TCP',
  'GRPC',
  'GRPCUseTLS',
  'H2PING',
  'Interval',
  'Timeout',
  'TTL',
  'AliasNode',
  'AliasService',
  'DeregisterCriticalServiceAfter',
  'TLSServerName',
  'TLSSkipVerify',
  'SuccessBeforePassing',
  'FailuresBeforeCritical',
  'OutputMaxSize',
  'DockerContainerID',
  'Shell',
  'ServiceID',
  'Token',
  'DisableRedirects',
  'Script',
  'Namespace',
  'Definition',
];
const PROXY_FIELDS = [
  'DestinationServiceName',
  'DestinationServiceID',
  'LocalServiceAddress',
  'LocalServicePort',
  'LocalServiceSocketPath',
  'Mode',
  'TransparentProxy',
  'Config',
  'Upstreams',
  'MeshGateway',
  'Expose',
];
const UPSTREAM_FIELDS = [
  'DestinationType',
  'DestinationNamespace',
  'DestinationName',
  'Datacenter',
  'LocalBindAddress',
  'LocalBindPort',
  'LocalBindSocketPath',
  'LocalBindSocketMode',
  'Config',
  'MeshGateway',
  'CentrallyConfigured',
];

/** A service definition after decoding: the service, its checks, and an optional sidecar. */
export interface ServiceDefinition {
  service: NodeService;
  checks: Json[];
  sidecar?: JsonObject;
  /** The definition's ACL `token` ('' = none). */
  token: string;
}

function strMap(v: Json | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObj(v)) for (const [k, x] of Object.entries(v)) out[k] = String(x);
  return out;
}

function decodeUpstream(u: Json, strict: boolean): Upstream {
  if (!isObj(u)) throw new DecodeError('Request decode failed: upstream must be an object');
  const f = new Fields(u);
  if (strict) f.strict(UPSTREAM_FIELDS);
  return {
    DestinationType: f.str('DestinationType') || 'service',
    DestinationNamespace: f.str('DestinationNamespace'),
    DestinationName: f.str('DestinationName'),
    Datacenter: f.str('Datacenter'),
    LocalBindAddress: f.str('LocalBindAddress'),
    LocalBindPort: f.num('LocalBindPort'),
    ...(f.obj('Config') ? { Config: f.obj('Config') } : {}),
  };
}

function decodeProxy(p: JsonObject, strict: boolean): ProxyConfig {
  const f = new Fields(p);
  if (strict) f.strict(PROXY_FIELDS);
  return {
    DestinationServiceName: f.str('DestinationServiceName'),
    DestinationServiceID: f.str('DestinationServiceID'),
    LocalServiceAddress: f.str('LocalServiceAddress'),
    LocalServicePort: f.num('LocalServicePort'),
    ...(f.obj('Config') ? { Config: f.obj('Config') } : {}),
    Upstreams: f.list('Upstreams').map((u) => decodeUpstream(u, strict)),
  };
}

/** Decodes one service definition (file: snake_case; API: `strict` unknown-field check). */
export function decodeService(o: JsonObject, strict: boolean): ServiceDefinition {
  const f = new Fields(o);
  if (strict) f.strict(SERVICE_FIELDS);
  const name = f.str('Name');
  const kind = f.str('Kind');
  const weights = f.obj('Weights');
  const wf = weights ? new Fields(weights) : undefined;
  const connect = f.obj('Connect');
  const cf = connect ? new Fields(connect) : undefined;
  if (strict && cf) cf.strict(['Native', 'SidecarService', 'Proxy']);
  const proxy = f.obj('Proxy');
  const tagged: NodeService['TaggedAddresses'] = {};
  for (const [k, v] of Object.entries(f.obj('TaggedAddresses') ?? {})) {
    if (isObj(v)) {
      const tf = new Fields(v);
      tagged[k] = { Address: tf.str('Address'), Port: tf.num('Port') };
    }
  }
  const service: NodeService = {
    Kind: kind,
    ID: f.str('ID') || name,
    Service: name,
    Tags: f.list('Tags').map(String),
    Meta: strMap(f.get('Meta')),
    Port: f.num('Port'),
    Address: f.str('Address'),
    ...(Object.keys(tagged).length ? { TaggedAddresses: tagged } : {}),
    Weights: { Passing: wf?.num('Passing') || 1, Warning: wf?.num('Warning') || 1 },
    EnableTagOverride: f.bool('EnableTagOverride'),
    ...(proxy || kind === 'connect-proxy' ? { Proxy: decodeProxy(proxy ?? {}, strict) } : {}),
    ...(cf?.bool('Native') ? { Native: true } : {}),
  };
  const checks = [...f.list('Check'), ...f.list('Checks')];
  if (strict) for (const c of checks) if (isObj(c)) new Fields(c).strict(CHECK_FIELDS);
  const sidecar = cf?.obj('SidecarService');
  if (strict && sidecar) new Fields(sidecar).strict(SERVICE_FIELDS);
  return { service, checks, ...(sidecar ? { sidecar } : {}), token: f.str('Token') };
}

/** Validation the register endpoint applies (400 texts). */
export function validateService(def: ServiceDefinition): void {
  const s = def.service;
  if (!s.Service) throw new DecodeError('Missing service name');
  if (s.Address === '0.0.0.0' || s.Address === '::' || s.Address === '[::]') {
    throw new DecodeError('Invalid service address');
  }
  if (s.Kind === 'connect-proxy' && !s.Proxy?.DestinationServiceName) {
    throw new DecodeError(
      'Invalid Proxy configuration: Proxy.DestinationServiceName must be set for Connect proxy services',
    );
  }
}

/** The service's checks: `service:<id>` (one) or `service:<id>:N` (several). */
export function decodeChecks(svc: NodeService, checks: Json[]): CheckDef[] {
  return checks.filter(isObj).map((c, i) => {
    const f = new Fields(c);
    const checkId =
      f.str('CheckID', 'ID') ||
      (checks.length > 1 ? `service:${svc.ID}:${i + 1}` : `service:${svc.ID}`);
    return checkDef(f, checkId, f.str('Name') || `Service '${svc.Service}' check`, svc.ID);
  });
}

/** A node-level (or explicit) check definition from config/API. */
export function decodeStandaloneCheck(c: JsonObject): CheckDef {
  const f = new Fields(c);
  const name = f.str('Name');
  return checkDef(f, f.str('CheckID', 'ID') || name, name, f.str('ServiceID'));
}

function checkDef(f: Fields, id: string, name: string, serviceId: string): CheckDef {
  const http = f.str('HTTP');
  const tcp = f.str('TCP');
  const ttl = parseDuration(f.get('TTL') ?? undefined) ?? 0;
  const alias = f.str('AliasService');
  const interval = parseDuration(f.get('Interval') ?? undefined) ?? 0;
  if ((http || tcp) && interval <= 0) {
    throw new DecodeError(
      'Invalid check: Interval must be > 0 for Script, HTTP, H2PING, or TCP checks',
    );
  }
  const header: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(f.obj('Header') ?? {})) {
    header[k] = Array.isArray(v) ? v.map(String) : [String(v)];
  }
  const status = f.str('Status');
  return {
    CheckID: id,
    Name: name,
    Notes: f.str('Notes'),
    ServiceID: serviceId,
    Status: status === 'passing' || status === 'warning' ? status : 'critical',
    Type: http ? 'http' : tcp ? 'tcp' : ttl ? 'ttl' : alias ? 'alias' : '',
    ...(http
      ? { HTTP: http, Method: f.str('Method') || 'GET', Header: header, Body: f.str('Body') }
      : {}),
    ...(tcp ? { TCP: tcp } : {}),
    ...(alias ? { AliasService: alias } : {}),
    TLSSkipVerify: f.bool('TLSSkipVerify'),
    IntervalMs: interval > 0 ? Math.max(interval, 1000) : 0,
    TimeoutMs: parseDuration(f.get('Timeout') ?? undefined) ?? 10000,
    TtlMs: ttl,
    DeregisterCriticalServiceAfterMs:
      parseDuration(f.get('DeregisterCriticalServiceAfter') ?? undefined) ?? 0,
  };
}

// ---------------------------------------------------------------------------------------------
// Sidecar expansion (agent/sidecar_service.go).

export interface SidecarResult {
  service: NodeService;
  checks: CheckDef[];
  /** The sidecar_service's own `token` ('' = none: it inherits its parent's). */
  token: string;
}

/** Expands `connect.sidecar_service`; `pickPort` returns the port or throws (range used up). */
export function expandSidecar(
  parent: NodeService,
  sidecar: JsonObject,
  pickPort: (id: string) => number,
): SidecarResult {
  const f = new Fields(sidecar);
  if (f.str('ID'))
    throw new DecodeError("Invalid SidecarService: sidecar_service can't specify an ID");
  const def = decodeService(
    { ...sidecar, name: f.str('Name') || `${parent.Service}-sidecar-proxy` },
    false,
  );
  const s = def.service;
  s.ID = `${parent.ID}-sidecar-proxy`;
  s.Kind = 'connect-proxy';
  if (s.Tags.length === 0) s.Tags = [...parent.Tags];
  if (Object.keys(s.Meta).length === 0) s.Meta = { ...parent.Meta };
  if (!s.Address) s.Address = parent.Address;
  const proxy = s.Proxy ?? decodeProxy({}, false);
  proxy.DestinationServiceName = parent.Service;
  proxy.DestinationServiceID = parent.ID;
  proxy.LocalServiceAddress ||= '127.0.0.1';
  proxy.LocalServicePort ||= parent.Port;
  s.Proxy = proxy;
  if (!s.Port) s.Port = pickPort(s.ID);
  let checks = decodeChecks(s, def.checks);
  if (checks.length === 0) {
    const base = {
      Notes: '',
      ServiceID: s.ID,
      Status: 'critical' as const,
      TimeoutMs: 10000,
      TtlMs: 0,
    };
    checks = [
      {
        ...base,
        CheckID: `service:${s.ID}:1`,
        Name: 'Connect Sidecar Listening',
        Type: 'tcp',
        TCP: `${s.Address || '127.0.0.1'}:${s.Port}`,
        IntervalMs: 10000,
        DeregisterCriticalServiceAfterMs: 0,
      },
      {
        ...base,
        CheckID: `service:${s.ID}:2`,
        Name: `Connect Sidecar Aliasing ${parent.ID}`,
        Type: 'alias',
        AliasService: parent.ID,
        IntervalMs: 0,
        DeregisterCriticalServiceAfterMs: 0,
      },
    ];
  }
  return { service: s, checks, token: def.token };
}

// ---------------------------------------------------------------------------------------------
// JSON views.

const upstreamAgentView = (u: Upstream): JsonObject => ({
  DestinationType: u.DestinationType,
  ...(u.DestinationNamespace ? { DestinationNamespace: u.DestinationNamespace } : {}),
  DestinationName: u.DestinationName,
  ...(u.Datacenter ? { Datacenter: u.Datacenter } : {}),
  ...(u.LocalBindAddress ? { LocalBindAddress: u.LocalBindAddress } : {}),
  LocalBindPort: u.LocalBindPort,
  ...(u.Config ? { Config: u.Config } : {}),
  MeshGateway: {},
});

function proxyAgentView(s: NodeService): JsonObject | undefined {
  if (s.Kind === 'connect-proxy' && s.Proxy) {
    const p = s.Proxy;
    return {
      DestinationServiceName: p.DestinationServiceName,
      DestinationServiceID: p.DestinationServiceID,
      LocalServiceAddress: p.LocalServiceAddress,
      LocalServicePort: p.LocalServicePort,
      ...(p.Config ? { Config: p.Config } : {}),
      ...(p.Upstreams.length ? { Upstreams: p.Upstreams.map(upstreamAgentView) } : {}),
      MeshGateway: {},
      Expose: {},
    };
  }
  if (s.Kind) return { MeshGateway: {}, Expose: {} };
  return undefined;
}

/** The service as /v1/agent/services shows it (and /v1/agent/service/:id with ContentHash). */
export function agentServiceView(s: NodeService, datacenter: string, withHash = false): JsonObject {
  const proxy = proxyAgentView(s);
  const base: JsonObject = {
    ...(s.Kind ? { Kind: s.Kind } : {}),
    ID: s.ID,
    Service: s.Service,
    Tags: s.Tags,
    Meta: s.Meta,
    Port: s.Port,
    Address: s.Address,
    ...(s.TaggedAddresses ? { TaggedAddresses: s.TaggedAddresses } : {}),
    Weights: s.Weights,
    EnableTagOverride: s.EnableTagOverride,
  };
  if (withHash) base.ContentHash = contentHash(s);
  return {
    ...base,
    ...(proxy ? { Proxy: proxy } : {}),
    ...(s.Native ? { Connect: { Native: true } } : {}),
    Datacenter: datacenter,
  };
}

export function contentHash(s: NodeService): string {
  return createHash('sha256').update(JSON.stringify(s)).digest('hex').slice(0, 16);
}

/** The Proxy object of a catalog NodeService / ServiceNode. */
export function catalogProxyView(s: NodeService): JsonObject {
  const p = s.Kind === 'connect-proxy' ? s.Proxy : undefined;
  return {
    ...(p
      ? {
          DestinationServiceName: p.DestinationServiceName,
          DestinationServiceID: p.DestinationServiceID,
          LocalServiceAddress: p.LocalServiceAddress,
          LocalServicePort: p.LocalServicePort,
        }
      : {}),
    Mode: '',
    ...(p?.Config ? { Config: p.Config } : {}),
    ...(p && p.Upstreams.length
      ? {
          Upstreams: p.Upstreams.map((u) => ({
            DestinationType: u.DestinationType,
            DestinationName: u.DestinationName,
            Datacenter: u.Datacenter,
            ...(u.LocalBindAddress ? { LocalBindAddress: u.LocalBindAddress } : {}),
            LocalBindPort: u.LocalBindPort,
            ...(u.Config ? { Config: u.Config } : {}),
            MeshGateway: {},
          })),
        }
      : {}),
    MeshGateway: {},
    Expose: {},
  };
}

/** NodeService as /v1/health/service and /v1/catalog/node show it. */
export function catalogNodeServiceView(s: NodeService, create: number, modify: number): JsonObject {
  return {
    ...(s.Kind ? { Kind: s.Kind } : {}),
    ID: s.ID,
    Service: s.Service,
    Tags: s.Tags,
    Address: s.Address,
    ...(s.TaggedAddresses ? { TaggedAddresses: s.TaggedAddresses } : {}),
    Meta: Object.keys(s.Meta).length ? s.Meta : null,
    Port: s.Port,
    Weights: s.Weights,
    EnableTagOverride: s.EnableTagOverride,
    Proxy: catalogProxyView(s),
    Connect: s.Native ? { Native: true } : {},
    CreateIndex: create,
    ModifyIndex: modify,
  };
}

/** The fields every view of a check starts with. */
const checkFields = (c: CheckState): JsonObject => ({
  Node: c.Node,
  CheckID: c.def.CheckID,
  Name: c.def.Name,
  Status: c.Status,
  Notes: c.def.Notes,
  Output: c.Output,
  ServiceID: c.def.ServiceID,
  ServiceName: c.ServiceName,
});

/** A check as /v1/agent/checks (indexes 0) and the catalog/health endpoints show it. */
export function checkView(c: CheckState, create = 0, modify = 0): JsonObject {
  return {
    ...checkFields(c),
    ServiceTags: c.ServiceTags,
    Type: c.def.Type,
    Interval: '',
    Timeout: '',
    ExposedPort: 0,
    Definition: {},
    CreateIndex: create,
    ModifyIndex: modify,
  };
}

/** The odd shape /v1/agent/health/service/* uses for checks (recorded: Type "", full Definition). */
export function agentHealthCheckView(c: CheckState): JsonObject {
  return {
    ...checkFields(c),
    ServiceTags: null,
    Type: '',
    Definition: {
      Interval: '0s',
      Timeout: '0s',
      DeregisterCriticalServiceAfter: '0s',
      HTTP: '',
      Header: null,
      Method: '',
      Body: '',
      TLSServerName: '',
      TLSSkipVerify: false,
      TCP: '',
      GRPC: '',
      GRPCUseTLS: false,
    },
    CreateIndex: 0,
    ModifyIndex: 0,
  };
}

/** Worst of a set of statuses (critical > warning > passing); passing when empty. */
export function aggregate(statuses: CheckStatus[]): CheckStatus {
  if (statuses.includes('critical')) return 'critical';
  if (statuses.includes('warning')) return 'warning';
  return 'passing';
}
