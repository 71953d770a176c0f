// `consul agent` configuration as 1.10 reads it: flags + -config-file/-config-dir (JSON), unknown
// keys rejected with the 1.10 wording, later files override scalars and concatenate lists.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { extname, join } from 'node:path';
import { GoJsonError, parseGoJson } from './gojson.ts';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export class ConfigError extends Error {}

// ---------------------------------------------------------------------------------------------
// The accepted keys (1.10 names). 'v' = scalar or list of scalars, 'map' = free-form object.
type Spec = 'v' | 'map' | { [k: string]: Spec } | { list: Spec };

const CHECK: Spec = Object.fromEntries(
  [
    'id',
    'check_id',
    'name',
    'notes',
    'service_id',
    'token',
    'status',
    'http',
    'method',
    'body',
    'tcp',
    'grpc',
    'grpc_use_tls',
    'h2ping',
    'interval',
    'timeout',
    'ttl',
    'alias_node',
    'alias_service',
    'deregister_critical_service_after',
    'tls_skip_verify',
    'tls_server_name',
    'success_before_passing',
    'failures_before_critical',
    'args',
    'script',
    'shell',
    'docker_container_id',
    'output_max_size',
    'disable_redirects',
  ]
    .map((k) => [k, 'v' as Spec])
    .concat([['header', 'map']]),
);
const UPSTREAM: Spec = {
  destination_type: 'v',
  destination_namespace: 'v',
  destination_name: 'v',
  datacenter: 'v',
  local_bind_address: 'v',
  local_bind_port: 'v',
  local_bind_socket_path: 'v',
  local_bind_socket_mode: 'v',
  config: 'map',
  mesh_gateway: { mode: 'v' },
};
const PROXY: Spec = {
  destination_service_name: 'v',
  destination_service_id: 'v',
  local_service_address: 'v',
  local_service_port: 'v',
  local_service_socket_path: 'v',
  mode: 'v',
  transparent_proxy: 'map',
  config: 'map',
  upstreams: { list: UPSTREAM },
  mesh_gateway: { mode: 'v' },
  expose: 'map',
};
/** The keys of a service definition that its `connect.sidecar_service` takes too. */
const SIDECAR: { [k: string]: Spec } = {
  id: 'v',
  name: 'v',
  kind: 'v',
  tags: 'v',
  address: 'v',
  port: 'v',
  meta: 'map',
  tagged_addresses: 'map',
  enable_tag_override: 'v',
  weights: { passing: 'v', warning: 'v' },
  check: CHECK,
  checks: { list: CHECK },
  proxy: PROXY,
  token: 'v',
};
export const SERVICE_SPEC: Spec = {
  ...SIDECAR,
  socket_path: 'v',
  connect: { native: 'v', sidecar_service: SIDECAR },
  namespace: 'v',
};
const PORTS: Spec = Object.fromEntries(
  [
    'dns',
    'http',
    'https',
    'grpc',
    'serf_lan',
    'serf_wan',
    'server',
    'sidecar_min_port',
    'sidecar_max_port',
    'expose_min_port',
    'expose_max_port',
  ].map((k) => [k, 'v' as Spec]),
);
const SCALARS = [
  'advertise_addr',
  'advertise_addr_wan',
  'advertise_addr_ipv4',
  'advertise_addr_wan_ipv4',
  'bind_addr',
  'bootstrap',
  'bootstrap_expect',
  'ca_file',
  'ca_path',
  'cert_file',
  'key_file',
  'check_update_interval',
  'client_addr',
  'datacenter',
  'data_dir',
  'default_query_time',
  'disable_anonymous_signature',
  'disable_coordinates',
  'disable_host_node_id',
  'disable_http_unprintable_char_filter',
  'disable_keyring_file',
  'disable_remote_exec',
  'disable_update_check',
  'discard_check_output',
  'discovery_max_stale',
  'domain',
  'alt_domain',
  'enable_agent_tls_for_checks',
  'enable_central_service_config',
  'enable_debug',
  'enable_local_script_checks',
  'enable_script_checks',
  'enable_syslog',
  'encrypt',
  'encrypt_verify_incoming',
  'encrypt_verify_outgoing',
  'leave_on_terminate',
  'log_file',
  'log_level',
  'log_json',
  'log_rotate_bytes',
  'log_rotate_duration',
  'log_rotate_max_files',
  'max_query_time',
  'node_id',
  'node_name',
  'pid_file',
  'primary_datacenter',
  'raft_protocol',
  'reconnect_timeout',
  'reconnect_timeout_wan',
  'recursors',
  'rejoin_after_leave',
  'retry_interval',
  'retry_interval_wan',
  'retry_join',
  'retry_join_wan',
  'retry_max',
  'retry_max_wan',
  'segment',
  'serf_lan',
  'serf_wan',
  'serf_lan_allowed_cidrs',
  'serf_wan_allowed_cidrs',
  'server',
  'server_name',
  'skip_leave_on_interrupt',
  'start_join',
  'start_join_wan',
  'syslog_facility',
  'tls_cipher_suites',
  'tls_min_version',
  'tls_prefer_server_cipher_suites',
  'translate_wan_addrs',
  'ui',
  'ui_dir',
  'verify_incoming',
  'verify_incoming_https',
  'verify_incoming_rpc',
  'verify_outgoing',
  'verify_server_hostname',
  'read_replica',
  'primary_gateways',
  'primary_gateways_interval',
  'advertise_reconnect_timeout',
];
const TOP: Spec = {
  ...Object.fromEntries(SCALARS.map((k) => [k, 'v' as Spec])),
  acl: {
    enabled: 'v',
    default_policy: 'v',
    down_policy: 'v',
    policy_ttl: 'v',
    role_ttl: 'v',
    token_ttl: 'v',
    enable_key_list_policy: 'v',
    enable_token_persistence: 'v',
    enable_token_replication: 'v',
    msp_disable_bootstrap: 'v',
    tokens: {
      master: 'v',
      agent_master: 'v',
      agent: 'v',
      default: 'v',
      replication: 'v',
      managed_service_provider: 'map',
    },
  },
  addresses: { dns: 'v', http: 'v', https: 'v', grpc: 'v' },
  auto_encrypt: { tls: 'v', allow_tls: 'v', dns_san: 'v', ip_san: 'v' },
  autopilot: 'map',
  auto_config: 'map',
  config_entries: 'map',
  dns_config: 'map',
  gossip_lan: 'map',
  gossip_wan: 'map',
  http_config: 'map',
  limits: 'map',
  node_meta: 'map',
  performance: 'map',
  rpc: 'map',
  telemetry: 'map',
  unix_sockets: 'map',
  watches: 'v',
  audit: 'map',
  segments: 'v',
  connect: {
    enabled: 'v',
    ca_provider: 'v',
    ca_config: 'map',
    enable_mesh_gateway_wan_federation: 'v',
  },
  ports: PORTS,
  ui_config: {
    enabled: 'v',
    dir: 'v',
    content_path: 'v',
    metrics_provider: 'v',
    metrics_provider_files: 'v',
    metrics_provider_options_json: 'v',
    metrics_proxy: 'map',
    dashboard_url_templates: 'map',
  },
  services: { list: SERVICE_SPEC },
  service: SERVICE_SPEC,
  checks: { list: CHECK },
  check: CHECK,
};

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(v: Json, spec: Spec, path: string, errors: string[]): void {
  if (spec === 'v' || spec === 'map') return;
  if ('list' in spec && typeof spec.list !== 'undefined' && Object.keys(spec).length === 1) {
    if (Array.isArray(v))
      v.forEach((e, i) => checkKeys(e, spec.list as Spec, `${path}[${i}]`, errors));
    else checkKeys(v, spec.list as Spec, path, errors);
    return;
  }
  const objSpec = spec as { [k: string]: Spec };
  const objs = Array.isArray(v) ? v : [v];
  for (const o of objs) {
    if (!isObject(o)) continue;
    for (const [k, sub] of Object.entries(o)) {
      const p = path ? `${path}.${k}` : k;
      const s = objSpec[k];
      if (s === undefined) errors.push(`invalid config key ${p}`);
      else checkKeys(sub, s, p, errors);
    }
  }
}

/** hashicorp/go-multierror's text. */
export function multiError(errors: string[]): string {
  const head = errors.length === 1 ? '1 error occurred:' : `${errors.length} errors occurred:`;
  return `${head}\n${errors.map((e) => `\t* ${e}`).join('\n')}\n\n`;
}

/** Validates the keys of one parsed config fragment; throws the 1.10 message. */
export function validateKeys(file: string, obj: Json, spec: Spec = TOP): void {
  const errors: string[] = [];
  checkKeys(obj, spec, '', errors);
  if (errors.length) throw new ConfigError(`failed to parse ${file}: ${multiError(errors)}`);
}

/** Later scalars win, lists concatenate, objects merge. */
export function merge(a: JsonObject, b: JsonObject): JsonObject {
  const out: JsonObject = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    if (Array.isArray(prev) && Array.isArray(v)) out[k] = [...prev, ...v];
    else if (isObject(prev) && isObject(v)) out[k] = merge(prev, v);
    else out[k] = v;
  }
  return out;
}

export interface Source {
  kind: 'file' | 'dir';
  path: string;
}

export interface LoadedConfig {
  raw: JsonObject;
  warnings: string[];
}

/** Reads every source (files; dirs alphabetically, non-recursively), then the flag fragment. */
export function loadSources(
  sources: Source[],
  flagFragment: JsonObject,
  format?: string,
): LoadedConfig {
  const warnings: string[] = [];
  let raw: JsonObject = {};
  const files: string[] = [];
  for (const src of sources) {
    let st;
    try {
      st = statSync(src.path);
    } catch (err) {
      throw new ConfigError(`Error reading '${src.path}': ${fsError(err, 'stat', src.path)}`);
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(src.path).sort()) {
        const p = join(src.path, name);
        if (statSync(p).isDirectory()) continue;
        files.push(p);
      }
    } else files.push(src.path);
  }
  for (const file of files) {
    const ext = extname(file);
    const fmt = format ?? (ext === '.json' ? 'json' : ext === '.hcl' ? 'hcl' : undefined);
    if (!fmt) {
      warnings.push(
        `skipping file ${file}, extension must be .hcl or .json, or config format must be set`,
      );
      continue;
    }
    if (fmt === 'hcl') {
      throw new ConfigError(
        `failed to parse ${file}: the consul test double reads JSON config files only (HCL is not supported by the double)`,
      );
    }
    let parsed: unknown;
    try {
      parsed = parseGoJson(readFileSync(file, 'utf8'));
    } catch (err) {
      if (err instanceof GoJsonError)
        throw new ConfigError(`failed to parse ${file}: ${err.message}`);
      throw new ConfigError(`Error reading '${file}': ${fsError(err, 'open', file)}`);
    }
    if (!isObject(parsed as Json))
      throw new ConfigError(`failed to parse ${file}: config must be an object`);
    validateKeys(file, parsed as Json);
    raw = merge(raw, parsed as JsonObject);
  }
  raw = merge(raw, flagFragment);
  return { raw, warnings };
}

/** Go-style text for a Node fs error: "open X: no such file or directory". */
export function fsError(err: unknown, op: string, path: string): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  const reason: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOTDIR: 'not a directory',
    EISDIR: 'is a directory',
    EEXIST: 'file exists',
  };
  return `${op} ${path}: ${(code && reason[code]) ?? (err as Error)?.message ?? String(err)}`;
}

// ---------------------------------------------------------------------------------------------
// Durations and typed accessors.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60000,
  h: 3600000,
};

/** Go duration ("1m30s", "500ms") or a number of nanoseconds → milliseconds. */
export function parseDuration(v: Json | undefined, what = 'duration'): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number') return v / 1e6;
  if (typeof v !== 'string')
    throw new ConfigError(`${what}: invalid duration ${JSON.stringify(v)}`);
  if (v === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(v); m; m = re.exec(v)) {
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    consumed += m[0].length;
  }
  if (consumed !== v.length || consumed === 0) {
    throw new ConfigError(`${what}: time: invalid duration "${v}"`);
  }
  return total;
}

/** Go's time.Duration.String() for whole milliseconds (enough for what the double prints). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  let s = ms / 1000;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const sec = Number.isInteger(s) ? `${s}s` : `${Number(s.toFixed(3))}s`;
  if (h) return `${h}h${m}m${sec}`;
  if (m) return `${m}m${sec}`;
  return sec;
}

function str(o: JsonObject, k: string): string | undefined {
  const v = o[k];
  return v === undefined || v === null ? undefined : String(v);
}
function num(o: JsonObject | undefined, k: string): number | undefined {
  const v = o?.[k];
  if (v === undefined || v === null || v === '') return undefined;
  return Number(v);
}
function bool(o: JsonObject | undefined, k: string): boolean | undefined {
  const v = o?.[k];
  if (v === undefined || v === null) return undefined;
  return v === true || v === 'true';
}
function obj(o: JsonObject, k: string): JsonObject | undefined {
  const v = o[k];
  return isObject(v) ? v : undefined;
}
function list(o: JsonObject, k: string): Json[] {
  const v = o[k];
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

// ---------------------------------------------------------------------------------------------

export interface RuntimeConfig {
  dev: boolean;
  datacenter: string;
  nodeName: string;
  nodeId?: string;
  dataDir: string;
  server: boolean;
  bootstrap: boolean;
  bootstrapExpect: number;
  bindAddr: string;
  advertiseAddr: string;
  clientAddrs: string[];
  httpAddrs: string[];
  grpcAddrs: string[];
  ports: {
    http: number;
    https: number;
    grpc: number;
    dns: number;
    serfLan: number;
    serfWan: number;
    server: number;
    sidecarMin: number;
    sidecarMax: number;
  };
  retryJoin: string[];
  retryIntervalMs: number;
  retryMax: number;
  startJoin: string[];
  leaveOnTerminate: boolean;
  skipLeaveOnInterrupt: boolean;
  logLevel: string;
  logJson: boolean;
  connectEnabled: boolean;
  enableCentralServiceConfig: boolean;
  uiEnabled: boolean;
  encrypt: string;
  verifyIncoming: boolean;
  verifyOutgoing: boolean;
  autoEncryptTls: boolean;
  aclEnabled: boolean;
  aclDefaultPolicy: string;
  nodeMeta: Record<string, string>;
  disableUpdateCheck: boolean;
  services: JsonObject[];
  checks: JsonObject[];
  raw: JsonObject;
  warnings: string[];
}

function isPrivateV4(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number) as [number, number];
  return (
    a === 10 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127)
  );
}

/** go-sockaddr GetPrivateIP as consul uses it for bind_addr 0.0.0.0. */
function detectPrivateIp(): string {
  const ips = Object.values(networkInterfaces())
    .flat()
    .filter((i) => i && i.family === 'IPv4' && !i.internal && isPrivateV4(i.address))
    .map((i) => i!.address);
  const unique = [...new Set(ips)];
  if (unique.length === 0) throw new ConfigError('No private IPv4 address found');
  if (unique.length > 1) {
    throw new ConfigError(
      "Multiple private IPv4 addresses found. Please configure one with 'bind' and/or 'advertise'.",
    );
  }
  return unique[0] as string;
}

/** Builds the runtime config from the merged raw config (the 1.10 builder's rules we need). */
export function buildRuntime(raw: JsonObject, dev: boolean, warnings: string[]): RuntimeConfig {
  const dcRaw = str(raw, 'datacenter') ?? 'dc1';
  const datacenter = dcRaw.toLowerCase();
  if (datacenter === '') throw new ConfigError('datacenter cannot be empty');
  if (!/^[a-z0-9_-]+$/.test(datacenter)) {
    throw new ConfigError(
      `datacenter can only contain lowercase alphanumeric, - or _ characters. received: "${datacenter}"`,
    );
  }
  const dataDir = str(raw, 'data_dir') ?? '';
  if (!dev && dataDir === '') throw new ConfigError('data_dir cannot be empty');

  const server = bool(raw, 'server') ?? dev;
  const bootstrapExpect = num(raw, 'bootstrap_expect') ?? 0;
  let bootstrap = bool(raw, 'bootstrap') ?? dev;
  if (bootstrapExpect > 0 && !server) {
    throw new ConfigError("'bootstrap_expect > 0' requires 'server = true'");
  }
  if (dev && bootstrapExpect > 0)
    throw new ConfigError("'bootstrap_expect > 0' not allowed in dev mode");
  if (bootstrapExpect === 1) {
    warnings.push('BootstrapExpect is set to 1; this is the same as Bootstrap mode.');
    bootstrap = true;
  }
  if (bootstrap && !dev) warnings.push('bootstrap = true: do not enable unless necessary');
  if (raw.ui !== undefined) {
    warnings.unshift("The 'ui' field is deprecated. Use the 'ui_config.enabled' field instead.");
  }

  const bindAddr = str(raw, 'bind_addr') ?? (dev ? '127.0.0.1' : '0.0.0.0');
  let advertiseAddr = str(raw, 'advertise_addr') ?? '';
  if (['0.0.0.0', '::', '[::]'].includes(advertiseAddr)) {
    throw new ConfigError('Advertise address cannot be 0.0.0.0, :: or [::]');
  }
  if (!advertiseAddr) advertiseAddr = bindAddr === '0.0.0.0' ? detectPrivateIp() : bindAddr;

  const clientAddrs = (str(raw, 'client_addr') ?? '127.0.0.1').split(/\s+/).filter(Boolean);
  const addresses = obj(raw, 'addresses') ?? {};
  const httpAddrs = str(addresses, 'http')?.split(/\s+/).filter(Boolean) ?? clientAddrs;
  const grpcAddrs = str(addresses, 'grpc')?.split(/\s+/).filter(Boolean) ?? clientAddrs;

  const p = obj(raw, 'ports');
  const ports = {
    http: num(p, 'http') ?? 8500,
    https: num(p, 'https') ?? -1,
    grpc: num(p, 'grpc') ?? (dev ? 8502 : -1),
    dns: num(p, 'dns') ?? 8600,
    serfLan: num(p, 'serf_lan') ?? 8301,
    serfWan: num(p, 'serf_wan') ?? 8302,
    server: num(p, 'server') ?? 8300,
    sidecarMin: num(p, 'sidecar_min_port') ?? 21000,
    sidecarMax: num(p, 'sidecar_max_port') ?? 21255,
  };
  if (ports.sidecarMin > ports.sidecarMax) {
    throw new ConfigError('sidecar_min_port must be less than or equal to sidecar_max_port');
  }

  const encrypt = str(raw, 'encrypt') ?? '';
  if (encrypt) {
    const key = Buffer.from(encrypt, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encrypt) || ![16, 24, 32].includes(key.length)) {
      throw new ConfigError(
        `encrypt has invalid key: illegal base64 data or key size (${key.length} bytes)`,
      );
    }
  }
  const autoEncrypt = obj(raw, 'auto_encrypt');
  const autoEncryptTls = bool(autoEncrypt, 'tls') ?? false;
  if (autoEncryptTls && server)
    throw new ConfigError('auto_encrypt.tls can only be used on a client.');
  if ((bool(autoEncrypt, 'allow_tls') ?? false) && !server) {
    throw new ConfigError('auto_encrypt.allow_tls can only be used on a server.');
  }

  const acl = obj(raw, 'acl');
  const connect = obj(raw, 'connect');
  const uiConfig = obj(raw, 'ui_config');
  const nodeMeta: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(raw, 'node_meta') ?? {})) nodeMeta[k] = String(v);

  return {
    dev,
    datacenter,
    nodeName: str(raw, 'node_name') ?? hostname(),
    nodeId: str(raw, 'node_id'),
    dataDir,
    server,
    bootstrap,
    bootstrapExpect,
    bindAddr,
    advertiseAddr,
    clientAddrs,
    httpAddrs,
    grpcAddrs,
    ports,
    retryJoin: list(raw, 'retry_join').map(String),
    retryIntervalMs: parseDuration(raw.retry_interval, 'retry_interval') ?? 30000,
    retryMax: num(raw, 'retry_max') ?? 0,
    startJoin: list(raw, 'start_join').map(String),
    leaveOnTerminate: bool(raw, 'leave_on_terminate') ?? !server,
    skipLeaveOnInterrupt: bool(raw, 'skip_leave_on_interrupt') ?? server,
    logLevel: str(raw, 'log_level') ?? (dev ? 'DEBUG' : 'INFO'),
    logJson: bool(raw, 'log_json') ?? false,
    connectEnabled: bool(connect, 'enabled') ?? dev,
    enableCentralServiceConfig: bool(raw, 'enable_central_service_config') ?? true,
    uiEnabled: bool(uiConfig, 'enabled') ?? bool(raw, 'ui') ?? dev,
    encrypt,
    verifyIncoming: bool(raw, 'verify_incoming') ?? false,
    verifyOutgoing: bool(raw, 'verify_outgoing') ?? false,
    autoEncryptTls,
    aclEnabled: bool(acl, 'enabled') ?? false,
    aclDefaultPolicy: str(acl ?? {}, 'default_policy') ?? 'allow',
    nodeMeta,
    disableUpdateCheck: bool(raw, 'disable_update_check') ?? false,
    services: [...list(raw, 'services'), ...list(raw, 'service')].filter(isObject),
    checks: [...list(raw, 'checks'), ...list(raw, 'check')].filter(isObject),
    raw,
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------
// Flags (Go flag package style: -name=value, -name value, --name; bools take no value).

const BOOL_FLAGS = new Set([
  'dev',
  'server',
  'bootstrap',
  'ui',
  'log-json',
  'disable-host-node-id',
  'disable-keyring-file',
  'enable-script-checks',
  'enable-local-script-checks',
  'rejoin',
  'syslog',
  'non-voting-server',
  'read-replica',
]);
const VALUE_FLAGS: Record<string, (frag: JsonObject, v: string) => void> = {
  'data-dir': (f, v) => (f.data_dir = v),
  node: (f, v) => (f.node_name = v),
  'node-id': (f, v) => (f.node_id = v),
  datacenter: (f, v) => (f.datacenter = v),
  bind: (f, v) => (f.bind_addr = v),
  client: (f, v) => (f.client_addr = v),
  advertise: (f, v) => (f.advertise_addr = v),
  'retry-join': (f, v) => (f.retry_join = [...((f.retry_join as Json[]) ?? []), v]),
  join: (f, v) => (f.start_join = [...((f.start_join as Json[]) ?? []), v]),
  'retry-interval': (f, v) => (f.retry_interval = v),
  'retry-max': (f, v) => (f.retry_max = Number(v)),
  'bootstrap-expect': (f, v) => (f.bootstrap_expect = Number(v)),
  'log-level': (f, v) => (f.log_level = v),
  encrypt: (f, v) => (f.encrypt = v),
  domain: (f, v) => (f.domain = v),
  'pid-file': (f, v) => (f.pid_file = v),
  'ui-dir': (f, v) => (f.ui_dir = v),
  'node-meta': (f, v) => {
    const [k, val = ''] = v.split(':');
    f.node_meta = { ...((f.node_meta as JsonObject) ?? {}), [k as string]: val };
  },
  'http-port': (f, v) => (f.ports = { ...((f.ports as JsonObject) ?? {}), http: Number(v) }),
  'https-port': (f, v) => (f.ports = { ...((f.ports as JsonObject) ?? {}), https: Number(v) }),
  'grpc-port': (f, v) => (f.ports = { ...((f.ports as JsonObject) ?? {}), grpc: Number(v) }),
  'dns-port': (f, v) => (f.ports = { ...((f.ports as JsonObject) ?? {}), dns: Number(v) }),
  'serf-lan-port': (f, v) =>
    (f.ports = { ...((f.ports as JsonObject) ?? {}), serf_lan: Number(v) }),
  'serf-wan-port': (f, v) =>
    (f.ports = { ...((f.ports as JsonObject) ?? {}), serf_wan: Number(v) }),
  'server-port': (f, v) => (f.ports = { ...((f.ports as JsonObject) ?? {}), server: Number(v) }),
  'log-file': (f, v) => (f.log_file = v),
  'serf-lan-bind': (f, v) => (f.serf_lan = v),
  'serf-wan-bind': (f, v) => (f.serf_wan = v),
  'alt-domain': (f, v) => (f.alt_domain = v),
  recursor: (f, v) => (f.recursors = [...((f.recursors as Json[]) ?? []), v]),
  segment: (f, v) => (f.segment = v),
  'primary-gateway': (f, v) =>
    (f.primary_gateways = [...((f.primary_gateways as Json[]) ?? []), v]),
};

export interface AgentFlags {
  sources: Source[];
  fragment: JsonObject;
  dev: boolean;
  configFormat?: string;
}

export class FlagError extends Error {}

export function parseAgentFlags(args: string[]): AgentFlags {
  const sources: Source[] = [];
  const fragment: JsonObject = {};
  let dev = false;
  let configFormat: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!arg.startsWith('-') || arg === '-' || arg === '--') {
      throw new FlagError(`unexpected argument: ${arg}`);
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const inline = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (BOOL_FLAGS.has(name)) {
      const on = inline === undefined || inline === 'true' || inline === '1';
      if (name === 'dev') dev = on;
      else if (name === 'server') fragment.server = on;
      else if (name === 'bootstrap') fragment.bootstrap = on;
      else if (name === 'ui') fragment.ui_config = { enabled: on };
      else if (name === 'log-json') fragment.log_json = on;
      else if (name === 'disable-host-node-id') fragment.disable_host_node_id = on;
      continue;
    }
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const v = args[++i];
      if (v === undefined) throw new FlagError(`flag needs an argument: -${name}`);
      return v;
    };
    if (name === 'config-file') sources.push({ kind: 'file', path: takeValue() });
    else if (name === 'config-dir') sources.push({ kind: 'dir', path: takeValue() });
    else if (name === 'config-format') configFormat = takeValue();
    else if (name === 'hcl') {
      takeValue();
      throw new FlagError('-hcl is not supported by the consul test double (JSON config only)');
    } else {
      const set = VALUE_FLAGS[name];
      if (!set) throw new FlagError(`flag provided but not defined: -${name}`);
      set(fragment, takeValue());
    }
  }
  return { sources, fragment, dev, configFormat };
}
