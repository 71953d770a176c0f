// `consul agent` (1.10.12) double: config, banner, hclog lines, HTTP API, server election,
// client retry_join and anti-entropy over an internal HTTP link on the serf LAN port, real
// health checks, signals and leave. See test/doubles/README.md for knobs and deviations.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer, request } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { Server as TcpServer } from 'node:net';
import { join } from 'node:path';
import type { Authorizer, Identity, Need } from './acl.ts';
import { ACL_NOT_FOUND, authorize, isDenial, missing, need } from './acl.ts';
import { authorizeAnswer, authorizeEarly } from './acl-authorize.ts';
import type { SyncItems, SyncVerdict } from './acl-sync.ts';
import { BlockedReport, vetSync } from './acl-sync.ts';
import { AclResolver, aclSettings, storeAuthorizer, storeResolution } from './acl-resolver.ts';
import { AclStore } from './acl-store.ts';
import type { AgentMember } from './api-client.ts';
import { Catalog } from './catalog.ts';
import type { NodeInfo } from './catalog.ts';
import { CheckLoop } from './checks.ts';
import { dialError } from './dial-error.ts';
import type { CheckResult } from './checks.ts';
import type { ConfigEntry } from './config-entries.ts';
import type { Json, JsonObject, RuntimeConfig } from './config.ts';
import {
  ConfigError,
  FlagError,
  buildRuntime,
  formatDuration,
  fsError,
  loadSources,
  parseAgentFlags,
} from './config.ts';
import type { AgentFlags } from './config.ts';
import debugTemplate from './debug-config.template.json' with { type: 'json' };
import { GoJsonError, parseGoJson } from './gojson.ts';
import type { Reply, Req } from './http.ts';
import { json, send, sleep, text, toReq } from './http.ts';
import { Logger, parseLevel } from './log.ts';
import { handleServerRequest, localReply, serverRoute } from './server-api.ts';
import type { ServerContext } from './server-route.ts';
import type {
  CheckDef,
  CheckState,
  CheckStatus,
  NodeService,
  ServiceDefinition,
} from './services.ts';
import {
  DecodeError,
  agentHealthCheckView,
  agentServiceView,
  aggregate,
  checkView,
  decodeChecks,
  decodeService,
  decodeStandaloneCheck,
  expandSidecar,
  isObj,
  validateService,
} from './services.ts';

import { VERSION } from './version.ts';
export { VERSION };

// ---------------------------------------------------------------------------------------------
// Timing knobs (env). Defaults are short; CONSUL_DOUBLE_SLOW=1 gives the recorded real timings.

function envMs(name: string, fast: number, slow: number): number {
  const v = process.env[name];
  if (v !== undefined && v !== '' && !Number.isNaN(Number(v))) return Number(v);
  return process.env.CONSUL_DOUBLE_SLOW === '1' ? slow : fast;
}

const T = {
  election: envMs('CONSUL_DOUBLE_ELECTION_MS', 300, 8500),
  leave: envMs('CONSUL_DOUBLE_LEAVE_MS', 1500, 3700),
  syncDelay: envMs('CONSUL_DOUBLE_SYNC_DELAY_MS', 1000, 1000),
  failure: envMs('CONSUL_DOUBLE_FAILURE_MS', 3000, 7000),
  reconnect: envMs('CONSUL_DOUBLE_RECONNECT_MS', 1000, 30000),
  rpcHold: envMs('CONSUL_DOUBLE_RPC_HOLD_MS', 7000, 7000),
  reconcile: envMs('CONSUL_DOUBLE_RECONCILE_MS', 80, 200),
  aeInterval: envMs('CONSUL_DOUBLE_AE_INTERVAL_MS', 60000, 60000),
  heartbeat: 1000,
  aeRetry: 15000,
};

// ---------------------------------------------------------------------------------------------

interface MemberRecord {
  member: AgentMember;
  node: NodeInfo;
  lastSeen: number;
}

interface LocalService {
  svc: NodeService;
  /** The proxy Config as registered, before central config (service-defaults) is merged in. */
  baseConfig?: JsonObject;
  source: 'file' | 'api';
  sidecarOf?: string;
  /** The ACL token it syncs with: its `token`, the sidecar's or parent's, the API caller's. */
  token: string;
  /** A proxy whose central config was resolved once (1.10 re-adds it then, checks and all). */
  centralResolved?: boolean;
}

interface LocalCheck {
  state: CheckState;
  loop?: CheckLoop;
  ttl?: NodeJS.Timeout;
  /** The ACL token it syncs with ('' = its service's, else the default token). */
  token: string;
}

/** An agent route: the permission 1.10 checks first (403 `Permission denied`), then the handler. */
interface AgentRoute {
  methods: string[];
  re: RegExp;
  need?: (m: RegExpExecArray) => Need;
  /** What the handler answers before it resolves the caller's token (undefined: go on). */
  early?: (r: Req) => Reply | undefined;
  handle: (r: Req, m: RegExpExecArray, authz: Authorizer) => Reply | Promise<Reply>;
}

interface KnownServer {
  member: AgentMember;
  lastContact: number;
  failed: boolean;
}

const NO_SERVERS = 'No known Consul servers';

function displayAddr(host: string, port: number): string {
  return host === '0.0.0.0' ? `[::]:${port}` : `${host}:${port}`;
}

function bindError(err: NodeJS.ErrnoException, host: string, port: number): string {
  const reason =
    err.code === 'EADDRINUSE'
      ? 'bind: address already in use'
      : err.code === 'EADDRNOTAVAIL'
        ? 'bind: cannot assign requested address'
        : err.code === 'EACCES'
          ? 'bind: permission denied'
          : err.message;
  return `listen tcp ${host}:${port}: ${reason}`;
}

function listen(server: Server | TcpServer, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** POST JSON to another double's internal link. Rejects with a Go-style dial error. */
function linkRequest(
  hostPort: string,
  path: string,
  body: unknown,
  method = 'POST',
  timeoutMs = 5000,
  token = '',
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const idx = hostPort.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const payload = typeof body === 'string' ? body : JSON.stringify(body ?? null);
    const req = request(
      {
        host: hostPort.slice(0, idx),
        port: Number(hostPort.slice(idx + 1)),
        path,
        method,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          // A forwarded call carries its caller's token: the server resolves it.
          ...(token ? { 'x-consul-token': token } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) {
            if (typeof v === 'string') headers[k] = v;
          }
          resolve({
            status: res.statusCode ?? 0,
            headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    if (timeoutMs > 0)
      req.setTimeout(timeoutMs, () =>
        req.destroy(Object.assign(new Error('i/o timeout'), { code: 'ETIMEDOUT' })),
      );
    req.on('error', (err: NodeJS.ErrnoException) => reject(new Error(dialError(err, hostPort))));
    req.end(payload);
  });
}

// Headers the relayed replies keep (the rest are set again by send()).
const RELAY_HEADERS = [
  'x-consul-index',
  'x-consul-knownleader',
  'x-consul-lastcontact',
  'x-consul-effective-consistency',
  'x-consul-query-backend',
  'allow',
];
const canonHeader = (h: string): string =>
  h.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());

// ---------------------------------------------------------------------------------------------

class Agent {
  readonly log: Logger;
  readonly nodeId: string;
  readonly catalog?: Catalog;
  private leaderAddr = '';
  private leaderWaiters: (() => void)[] = [];
  private readonly services = new Map<string, LocalService>();
  private readonly checks = new Map<string, LocalCheck>();
  private readonly members = new Map<string, MemberRecord>();
  private server?: KnownServer;
  private joined = false;
  /** Set where 1.10 starts its state syncer: a server known before syncs at once. */
  private syncerStarted = false;
  private readonly httpServers: Server[] = [];
  private readonly tcpServers: TcpServer[] = [];
  private serfServer?: Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  private syncTimer?: NodeJS.Timeout;
  private readonly synced = new Map<string, string>();
  private nodeSynced = false;
  private stopping = false;
  private leaving?: Promise<void>;
  private exitResolve!: (code: number) => void;
  readonly exited: Promise<number>;
  private readonly startedAt = Date.now();
  readonly acl: AclResolver;
  /** The servers' ACL state (a server with ACLs on). */
  private readonly aclStore?: AclStore;
  /** What ACLs kept out of the catalog, logged as 1.10 does; retried on the AE interval. */
  private readonly blocked: BlockedReport;
  private aclRetry?: NodeJS.Timeout;

  constructor(
    public cfg: RuntimeConfig,
    private readonly flags: AgentFlags,
    nodeId: string,
  ) {
    this.log = new Logger(parseLevel(cfg.logLevel), cfg.logJson);
    this.nodeId = nodeId;
    if (cfg.server) this.catalog = new Catalog();
    this.exited = new Promise((r) => (this.exitResolve = r));
    const acl = aclSettings(cfg.raw);
    if (this.catalog && acl.enabled) {
      const catalog = this.catalog;
      this.aclStore = new AclStore(this.statePath('double-acl.json'), () => catalog.nextIndex());
    }
    this.acl = new AclResolver(
      acl,
      cfg.nodeName,
      this.aclStore ? { store: this.aclStore } : { ask: (secret) => this.askServer(secret) },
    );
    this.blocked = new BlockedReport(this.log, {
      nodeId,
      legacy: () => this.acl.legacy,
      rpcServer: () => {
        const s = this.server?.member;
        return cfg.server || !s ? undefined : `${s.Addr}:${s.Tags.port ?? 8300}`;
      },
      serviceOfCheck: (id) => this.checks.get(id)?.state.def.ServiceID ?? '',
      tokenOfService: (id) => this.services.get(id)?.token ?? '',
    });
  }

  /** The serf `acls` tag: 0 off, 2 legacy (before the leader set ACLs up / the mode check), 1. */
  private get aclTag(): string {
    if (!this.acl.enabled) return '0';
    return (this.aclStore ? this.aclStore.initialized : !this.acl.legacy) ? '1' : '2';
  }

  // --- identity -------------------------------------------------------------------------------

  get rpcAddr(): string {
    return `${this.cfg.advertiseAddr}:${this.cfg.ports.server}`;
  }

  private selfMember(): AgentMember {
    const c = this.cfg;
    const tags: Record<string, string> = c.server
      ? {
          acls: this.aclTag,
          ...(c.bootstrap ? { bootstrap: '1' } : {}),
          build: `${VERSION}:`,
          dc: c.datacenter,
          ft_fs: '1',
          ft_si: '1',
          id: this.nodeId,
          port: String(c.ports.server),
          raft_vsn: '3',
          role: 'consul',
          segment: '',
          vsn: '2',
          vsn_max: '3',
          vsn_min: '2',
          wan_join_port: String(c.ports.serfWan),
        }
      : {
          acls: this.aclTag,
          build: `${VERSION}:`,
          dc: c.datacenter,
          id: this.nodeId,
          role: 'node',
          segment: '',
          vsn: '2',
          vsn_max: '3',
          vsn_min: '2',
        };
    return {
      Name: c.nodeName,
      Addr: c.advertiseAddr,
      Port: c.ports.serfLan,
      Tags: tags,
      Status: this.leaving ? 2 : 1,
      ProtocolMin: 1,
      ProtocolMax: 5,
      ProtocolCur: 2,
      DelegateMin: 2,
      DelegateMax: 5,
      DelegateCur: 4,
    };
  }

  private nodeInfo(): NodeInfo {
    const a = this.cfg.advertiseAddr;
    return {
      ID: this.nodeId,
      Node: this.cfg.nodeName,
      Address: a,
      Datacenter: this.cfg.datacenter,
      TaggedAddresses: { lan: a, lan_ipv4: a, wan: a, wan_ipv4: a },
      Meta: { 'consul-network-segment': '', ...this.cfg.nodeMeta },
    };
  }

  private serverLabel(m: AgentMember): string {
    return `${m.Name} (Addr: tcp/${m.Addr}:${m.Tags.port ?? '8300'}) (DC: ${m.Tags.dc ?? ''})`;
  }

  private get module(): string {
    return this.cfg.server ? 'agent.server' : 'agent.client';
  }

  private later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    this.timers.add(t);
  }

  // --- leader (server) ------------------------------------------------------------------------

  private serverContext(): ServerContext {
    return {
      catalog: this.catalog as Catalog,
      datacenter: this.cfg.datacenter,
      rpcAddr: this.rpcAddr,
      trustDomain: this.nodeId,
      awaitLeader: () => this.awaitLeader(),
      leader: () => this.leaderAddr,
      onEntriesChanged: () => this.persistEntries(),
      authorizer: (req) =>
        storeAuthorizer(this.aclStore, req.token, this.acl.settings.defaultPolicy),
      ...(this.aclStore ? { acl: this.aclStore } : {}),
    };
  }

  awaitLeader(): Promise<boolean> {
    if (this.leaderAddr) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), T.rpcHold);
      this.leaderWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  private elect(): void {
    const c = this.cfg;
    const node = `Node at ${this.rpcAddr}`;
    this.log.warn('agent.server.raft', 'heartbeat timeout reached, starting election', {
      'last-leader': '',
    });
    this.log.info('agent.server.raft', 'entering candidate state', {
      node: `${node} [Candidate]`,
      term: 2,
    });
    this.log.info('agent.server.raft', 'election won', { tally: 1 });
    this.log.info('agent.server.raft', 'entering leader state', { leader: `${node} [Leader]` });
    this.log.info('agent.server', 'cluster leadership acquired');
    this.log.info('agent.server', 'New leader elected', { payload: c.nodeName });
    if (this.aclStore) {
      // The leader sets ACLs up; on a fresh data dir it also creates the built-in objects.
      this.log.info('agent.server', 'initializing acls');
      for (const line of this.aclStore.initialize(this.acl.settings.tokens.master))
        this.log.info('agent.server', line);
      // The `acls` tag is now 1: serf spreads the update.
      this.log.info('agent.server.serf.lan', `serf: EventMemberUpdate: ${c.nodeName}`);
      this.log.info(
        'agent.server.serf.wan',
        `serf: EventMemberUpdate: ${c.nodeName}.${c.datacenter}`,
      );
      this.log.info('agent.server', 'Updating LAN server', {
        server: this.serverLabel(this.selfMember()),
      });
    }
    this.leaderAddr = this.rpcAddr;
    this.log.info('agent.server.connect', 'initialized primary datacenter CA with provider', {
      provider: 'consul',
    });
    const catalog = this.catalog as Catalog;
    catalog.reconcileMember(this.nodeInfo(), true, this.consulService());
    this.log.info('agent.server', 'member joined, marking health alive', { member: c.nodeName });
    for (const rec of this.members.values()) {
      if (rec.member.Name !== c.nodeName && rec.member.Status === 1) {
        catalog.reconcileMember(rec.node, true);
      }
    }
    for (const w of this.leaderWaiters.splice(0)) w();
    this.scheduleSync(T.syncDelay);
  }

  // --- startup --------------------------------------------------------------------------------

  async start(): Promise<string | null> {
    const c = this.cfg;
    for (const w of c.warnings) this.log.warn('agent', w);
    if (c.server) for (const w of c.warnings) this.log.warn('agent.auto_config', w);

    this.members.set(c.nodeName, {
      member: this.selfMember(),
      node: this.nodeInfo(),
      lastSeen: Date.now(),
    });
    if (c.server) {
      this.log.info('agent.server.raft', 'initial configuration', {
        index: 1,
        servers: `[{Suffrage:Voter ID:${this.nodeId} Address:${this.rpcAddr}}]`,
      });
      this.log.info('agent.server.raft', 'entering follower state', {
        follower: `Node at ${this.rpcAddr} [Follower]`,
        leader: '',
      });
      this.loadEntries();
    }
    // Serf LAN stands in as the internal link between doubles.
    this.serfServer = createServer((req, res) => void this.onLink(req, res));
    try {
      await listen(this.serfServer, c.bindAddr, c.ports.serfLan);
    } catch (err) {
      const host = c.bindAddr;
      this.log.info(this.module, c.server ? 'shutting down server' : 'shutting down client');
      return c.server
        ? `Failed to start Consul server: Failed to start LAN Serf: Failed to create memberlist: Could not set up network transport: failed to obtain an address: Failed to start TCP listener on "${host}" port ${c.ports.serfLan}: ${bindError(err as NodeJS.ErrnoException, host, c.ports.serfLan)}`
        : `Failed to start Consul client: Failed to start lan serf: Failed to create memberlist: Could not set up network transport: failed to obtain an address: Failed to start TCP listener on "${host}" port ${c.ports.serfLan}: ${bindError(err as NodeJS.ErrnoException, host, c.ports.serfLan)}`;
    }
    const serfMod = c.server ? 'agent.server.serf.lan' : 'agent.client.serf.lan';
    if (c.server) {
      this.log.info(
        'agent.server.serf.wan',
        `serf: EventMemberJoin: ${c.nodeName}.${c.datacenter} ${c.advertiseAddr}`,
      );
    }
    this.log.info(serfMod, `serf: EventMemberJoin: ${c.nodeName} ${c.advertiseAddr}`);
    this.log.info('agent.router', 'Initializing LAN area manager');
    if (c.server) {
      this.log.info('agent.server', 'Adding LAN server', {
        server: this.serverLabel(this.selfMember()),
      });
    }

    try {
      this.loadFileServices();
      this.loadPersistedServices();
    } catch (err) {
      return (err as Error).message;
    }

    for (const a of c.clientAddrs) {
      this.log.info('agent', 'Started DNS server', {
        address: `${a}:${c.ports.dns}`,
        network: 'udp',
      });
      this.log.info('agent', 'Started DNS server', {
        address: `${a}:${c.ports.dns}`,
        network: 'tcp',
      });
    }
    for (const a of c.httpAddrs) {
      const s = createServer((req, res) => void this.onHttp(req, res));
      try {
        await listen(s, a, c.ports.http);
      } catch (err) {
        return bindError(err as NodeJS.ErrnoException, a, c.ports.http);
      }
      this.httpServers.push(s);
      this.log.info('agent', 'Starting server', {
        address: displayAddr(a, c.ports.http),
        network: 'tcp',
        protocol: 'http',
      });
    }
    if (c.ports.grpc > 0) {
      for (const a of c.grpcAddrs) {
        const s = createTcpServer((sock) => sock.on('error', () => undefined));
        try {
          await listen(s, a, c.ports.grpc);
        } catch (err) {
          return bindError(err as NodeJS.ErrnoException, a, c.ports.grpc);
        }
        this.tcpServers.push(s);
        this.log.info('agent', 'Started gRPC server', {
          address: displayAddr(a, c.ports.grpc),
          network: 'tcp',
        });
      }
    }
    // `-join`/start_join runs before the state syncer starts (command/agent: startupJoin, then
    // StartSync): its first full sync finds the server at once. A failed one exits 1.
    if (c.startJoin.length > 0 && !(await this.startJoin())) return null;
    this.syncerStarted = true;
    this.log.info('agent', 'started state syncer');
    this.log.info('agent', 'Consul agent running!');

    if (c.server) {
      const canElect = c.bootstrap || c.dev || c.bootstrapExpect <= 1;
      if (canElect) this.later(T.election, () => this.elect());
      this.every(500, () => this.sweepMembers());
      this.every(1000, () => void this.resolveCentralConfig());
      // 1.10 logs a failed anti-entropy run when no leader shows up within the RPC hold time.
      this.later(T.rpcHold, () => {
        if (!this.leaderAddr) {
          this.log.error('agent.anti_entropy', 'failed to sync remote state', {
            error: 'No cluster leader',
          });
        }
      });
    } else {
      this.scheduleSync(0);
      if (this.acl.enabled) this.watchAclMode();
    }
    if (c.retryJoin.length) void this.retryJoin();
    return null;
  }

  /**
   * A 1.10 client leaves legacy ACL mode once a check finds an ACL-enabled server: at start,
   * after 50 ms, then doubling to 30 s (monitorACLMode). A client that joins late stays in legacy
   * mode until the next check (recording 11 c: joined at 30 s, next check at 51 s).
   */
  private watchAclMode(wait = 50): void {
    if (this.serverReachable()) {
      this.acl.legacy = false;
      this.log.info('agent.client.serf.lan', `serf: EventMemberUpdate: ${this.cfg.nodeName}`);
      return;
    }
    this.later(wait, () => this.watchAclMode(Math.min(wait * 2, 30_000)));
  }

  /** A client resolving a token: its server's answer (undefined: no server answers). */
  private async askServer(secret: string): Promise<Identity | 'not found' | undefined> {
    const s = this.server;
    if (!s || s.failed) return undefined;
    try {
      const res = await linkRequest(`${s.member.Addr}:${s.member.Port}`, '/x/acl/resolve', {
        secret,
      });
      if (res.status === 200) return JSON.parse(res.body) as Identity;
      return res.status === 403 ? 'not found' : undefined;
    } catch {
      return undefined;
    }
  }

  // --- services & checks ----------------------------------------------------------------------

  private pickPort(id: string): number {
    const existing = this.services.get(id)?.svc.Port;
    if (existing) return existing;
    const used = new Set(
      [...this.services.values()].filter((s) => s.svc.ID !== id).map((s) => s.svc.Port),
    );
    for (let p = this.cfg.ports.sidecarMin; p <= this.cfg.ports.sidecarMax; p++) {
      if (!used.has(p)) return p;
    }
    throw new DecodeError(
      `no port provided for sidecar_service and none left in the configured range [${this.cfg.ports.sidecarMin}, ${this.cfg.ports.sidecarMax}]`,
      500,
    );
  }

  /** Registers a service (and its sidecar); returns the sidecar/gateway ID needing central config. */
  addService(def: ServiceDefinition, source: 'file' | 'api'): string | undefined {
    validateService(def);
    const svc = def.service;
    const checks = decodeChecks(svc, def.checks);
    let sidecar;
    if (def.sidecar) {
      try {
        sidecar = expandSidecar(svc, def.sidecar, (id) => this.pickPort(id));
      } catch (err) {
        if (err instanceof DecodeError || err instanceof ConfigError) {
          throw new DecodeError(
            `Bad request: Invalid SidecarService: ${err.message.replace(/^Invalid SidecarService: /, '')}`,
            500,
          );
        }
        throw err;
      }
    }
    this.putService(svc, checks, source, def.token);
    // A sidecar without a token of its own syncs with its service's (1.10).
    if (sidecar)
      this.putService(sidecar.service, sidecar.checks, source, sidecar.token || def.token, svc.ID);
    this.recomputeAliases();
    this.scheduleSync();
    if (sidecar) return sidecar.service.ID;
    return svc.Kind ? svc.ID : undefined;
  }

  private putService(
    svc: NodeService,
    checks: CheckDef[],
    source: 'file' | 'api',
    token: string,
    sidecarOf?: string,
  ): void {
    const prev = this.services.get(svc.ID);
    for (const [id, c] of this.checks) {
      if (c.state.def.ServiceID === svc.ID && !id.startsWith('_service_maintenance:'))
        this.removeCheck(id);
    }
    const baseConfig = svc.Proxy?.Config;
    this.services.set(svc.ID, {
      ...(baseConfig ? { baseConfig } : {}),
      svc,
      source: prev?.source === 'file' && source === 'api' ? 'api' : source,
      ...(sidecarOf ? { sidecarOf } : {}),
      token,
    });
    for (const def of checks) this.addCheck(def, svc);
  }

  removeService(id: string): boolean {
    const s = this.services.get(id);
    if (!s) return false;
    this.services.delete(id);
    for (const [cid, c] of this.checks) if (c.state.def.ServiceID === id) this.removeCheck(cid);
    for (const [sid, other] of this.services) if (other.sidecarOf === id) this.removeService(sid);
    this.recomputeAliases();
    this.scheduleSync();
    return true;
  }

  addCheck(def: CheckDef, svc?: NodeService, token = ''): void {
    if (this.checks.has(def.CheckID)) this.removeCheck(def.CheckID);
    const state: CheckState = {
      def,
      Node: this.cfg.nodeName,
      Status: def.Status,
      Output: '',
      ServiceName: svc?.Service ?? '',
      ServiceTags: svc?.Tags ?? [],
    };
    const local: LocalCheck = { state, token };
    this.checks.set(def.CheckID, local);
    if ((def.Type === 'http' || def.Type === 'tcp') && def.IntervalMs > 0) {
      local.loop = new CheckLoop(def, (r) => this.onCheckResult(def.CheckID, r));
      local.loop.start();
    } else if (def.Type === 'ttl') {
      this.armTtl(local);
    }
  }

  removeCheck(id: string): void {
    const c = this.checks.get(id);
    if (!c) return;
    c.loop?.stop();
    if (c.ttl) clearTimeout(c.ttl);
    this.checks.delete(id);
    this.scheduleSync();
  }

  private armTtl(c: LocalCheck): void {
    if (c.ttl) clearTimeout(c.ttl);
    c.ttl = setTimeout(() => {
      this.log.warn('agent', 'Check missed TTL, is now critical', { check: c.state.def.CheckID });
      this.setStatus(c, 'critical', `TTL expired`);
    }, c.state.def.TtlMs);
  }

  private onCheckResult(id: string, r: CheckResult): void {
    const c = this.checks.get(id);
    if (!c || this.stopping) return;
    if (r.status === 'critical') {
      if (r.socketError)
        this.log.warn('agent', 'Check socket connection failed', {
          check: id,
          error: r.socketError,
        });
      this.log.warn('agent', 'Check is now critical', { check: id });
    } else if (r.status === 'warning') {
      this.log.warn('agent', 'Check is now warning', { check: id });
    } else if (c.state.Status !== 'passing') {
      this.log.debug('agent', 'Check status updated', { check: id, status: 'passing' });
    }
    this.setStatus(c, r.status, r.output);
  }

  private setStatus(c: LocalCheck, status: CheckStatus, output: string): void {
    const changed = c.state.Status !== status;
    c.state = { ...c.state, Status: status, Output: output };
    if (changed && this.acl.enabled) this.blocked.markAlone(c.state.def.CheckID);
    if (c.state.def.Type !== 'alias') this.recomputeAliases();
    if (changed) this.scheduleSync();
  }

  private recomputeAliases(): void {
    for (const c of this.checks.values()) {
      const target = c.state.def.AliasService;
      if (c.state.def.Type !== 'alias' || !target) continue;
      const targets = [...this.checks.values()].filter((x) => x.state.def.ServiceID === target);
      let status: CheckStatus;
      let output: string;
      if (!this.services.has(target)) {
        status = 'critical';
        output = `Service ${target} could not be found on node ${this.cfg.nodeName}`;
      } else if (targets.length === 0) {
        status = 'passing';
        output = 'No checks found.';
      } else {
        status = aggregate(targets.map((t) => t.state.Status));
        const worst = targets.find((t) => t.state.Status === status);
        output =
          status === 'passing'
            ? 'All checks passing.'
            : `Aliased check "${worst?.state.def.Name}" ${status === 'critical' ? 'failing' : 'warning'}: ${worst?.state.Output}`;
      }
      if (c.state.Status !== status || c.state.Output !== output) {
        const changed = c.state.Status !== status;
        c.state = { ...c.state, Status: status, Output: output };
        if (changed) this.scheduleSync();
      }
    }
  }

  private loadFileServices(): void {
    for (const raw of this.cfg.services) {
      const def = decodeService(raw, false);
      try {
        this.addService(def, 'file');
      } catch (err) {
        throw new Error(
          `Failed to register service "${def.service.Service}": ${(err as Error).message}`,
        );
      }
    }
    for (const raw of this.cfg.checks) {
      const def = decodeStandaloneCheck(raw);
      const token = typeof raw.token === 'string' ? raw.token : '';
      this.addCheck(def, def.ServiceID ? this.services.get(def.ServiceID)?.svc : undefined, token);
    }
  }

  // --- persistence (data_dir) -----------------------------------------------------------------

  private statePath(name: string): string | undefined {
    return this.cfg.dataDir ? join(this.cfg.dataDir, name) : undefined;
  }

  private persistServices(): void {
    const p = this.statePath('double-services.json');
    if (!p) return;
    const defs = [...this.services.values()]
      .filter((s) => s.source === 'api' && !s.sidecarOf)
      .map((s) => s.svc.ID);
    const raw = defs.map((id) => this.apiDefs.get(id)).filter(Boolean);
    try {
      writeFileSync(p, JSON.stringify(raw));
    } catch {
      /* best effort */
    }
  }

  private readonly apiDefs = new Map<string, JsonObject>();

  private loadPersistedServices(): void {
    const p = this.statePath('double-services.json');
    if (!p) return;
    let raw: JsonObject[] = [];
    try {
      raw = JSON.parse(readFileSync(p, 'utf8')) as JsonObject[];
    } catch {
      return;
    }
    for (const r of raw) {
      try {
        const def = decodeService(r, true);
        if (this.services.has(def.service.ID)) continue;
        this.addService(def, 'api');
        this.apiDefs.set(def.service.ID, r);
      } catch {
        /* skip */
      }
    }
  }

  private persistEntries(): void {
    const p = this.statePath('double-config-entries.json');
    if (!p || !this.catalog) return;
    try {
      writeFileSync(p, JSON.stringify(this.catalog.allEntries()));
    } catch {
      /* best effort */
    }
  }

  private loadEntries(): void {
    const p = this.statePath('double-config-entries.json');
    if (!p || !this.catalog) return;
    try {
      for (const e of JSON.parse(readFileSync(p, 'utf8')) as ConfigEntry[])
        this.catalog.setEntry(e);
    } catch {
      /* none yet */
    }
  }

  // --- membership / join ----------------------------------------------------------------------

  private memberList(): AgentMember[] {
    const self = this.selfMember();
    const out = [...this.members.values()].map((r) =>
      r.member.Name === self.Name ? self : r.member,
    );
    // Real serf returns members in random order; shuffle a little so callers don't depend on it.
    return out.sort(() => Math.random() - 0.5);
  }

  private async joinOne(
    addr: string,
    opts: { syncAtOnce: boolean } = { syncAtOnce: false },
  ): Promise<AgentMember | null> {
    const target = addr.includes(':') ? addr : `${addr}:8301`;
    const res = await linkRequest(target, '/x/join', {
      member: this.selfMember(),
      node: this.nodeInfo(),
    });
    if (res.status !== 200) throw new Error(`Failed to join ${target}: ${res.body}`);
    const body = JSON.parse(res.body) as { members: AgentMember[]; server: AgentMember | null };
    for (const m of body.members) this.noteMember(m);
    if (body.server && !this.cfg.server) {
      const s = body.server;
      const sTarget = `${s.Addr}:${s.Port}`;
      if (sTarget !== target) {
        const r2 = await linkRequest(sTarget, '/x/join', {
          member: this.selfMember(),
          node: this.nodeInfo(),
        });
        const b2 = JSON.parse(r2.body) as { members: AgentMember[] };
        for (const m of b2.members) this.noteMember(m);
      }
      this.setServer(s, opts.syncAtOnce);
    }
    return body.server;
  }

  private noteMember(m: AgentMember): void {
    if (m.Name === this.cfg.nodeName) return;
    const prev = this.members.get(m.Name);
    if (!prev || prev.member.Status !== m.Status) {
      const mod = this.cfg.server ? 'agent.server.serf.lan' : 'agent.client.serf.lan';
      const ev =
        m.Status === 1
          ? 'EventMemberJoin'
          : m.Status === 3
            ? 'EventMemberLeave'
            : m.Status === 4
              ? 'EventMemberFailed'
              : '';
      if (ev && (prev || m.Status === 1)) this.log.info(mod, `serf: ${ev}: ${m.Name} ${m.Addr}`);
    }
    this.members.set(m.Name, {
      member: m,
      node: prev?.node ?? ({} as NodeInfo),
      lastSeen: Date.now(),
    });
  }

  /**
   * A server added once the syncer runs triggers a full sync after a stagger (1.10 ae.go:
   * random up to serverUpIntv, 3 s; here CONSUL_DOUBLE_SYNC_DELAY_MS); one known before it starts
   * (start_join) is synced with at once.
   */
  private setServer(m: AgentMember, syncAtOnce = false): void {
    const fresh = !this.server || this.server.failed;
    this.server = { member: m, lastContact: Date.now(), failed: false };
    if (fresh) {
      this.log.info('agent.client', 'adding server', { server: this.serverLabel(m) });
      this.startHeartbeat();
      this.nodeSynced = false;
      this.synced.clear();
      if (!syncAtOnce) this.serverUpSyncDue = Date.now() + T.syncDelay;
      this.scheduleSync(syncAtOnce ? 0 : T.syncDelay);
    }
  }

  private heartbeatOn = false;

  private startHeartbeat(): void {
    if (this.heartbeatOn) return;
    this.heartbeatOn = true;
    const beat = async (): Promise<void> => {
      if (this.stopping || this.leaving || !this.server) return;
      const s = this.server;
      try {
        const res = await linkRequest(
          `${s.member.Addr}:${s.member.Port}`,
          '/x/join',
          {
            member: this.selfMember(),
            node: this.nodeInfo(),
            heartbeat: true,
          },
          'POST',
          2000,
        );
        const body = JSON.parse(res.body) as { members: AgentMember[]; server: AgentMember | null };
        for (const m of body.members) this.noteMember(m);
        if (s.failed && body.server) this.setServer(body.server);
        s.lastContact = Date.now();
        await this.resolveCentralConfig();
      } catch {
        if (!s.failed && Date.now() - s.lastContact > T.failure) {
          s.failed = true;
          const failed = { ...s.member, Status: 4 };
          this.noteMember(failed);
          this.log.info('agent.client', 'removing server', { server: this.serverLabel(s.member) });
        }
      }
      this.later(s.failed ? T.reconnect : T.heartbeat, () => void beat());
    };
    this.later(T.heartbeat, () => void beat());
  }

  /** agent.JoinLAN: how many joined, and serf's multierror text when none did. */
  private async joinLan(addrs: string[]): Promise<{ n: number; error: string }> {
    this.log.info('agent', '(LAN) joining', { lan_addresses: `[${addrs.join(' ')}]` });
    const errors: string[] = [];
    let n = 0;
    for (const addr of addrs) {
      try {
        await this.joinOne(addr, { syncAtOnce: !this.syncerStarted });
        n++;
      } catch (err) {
        const target = addr.includes(':') ? addr : `${addr}:8301`;
        errors.push(
          `Failed to join ${target}: ${(err as Error).message.replace(/^Failed to join [^:]+:\d+: /, '')}`,
        );
      }
    }
    if (n > 0) this.log.info('agent', '(LAN) joined', { number_of_nodes: n });
    const count = errors.length === 1 ? '1 error occurred:' : `${errors.length} errors occurred:`;
    return { n, error: `${count}\n${errors.map((e) => `\t* ${e}`).join('\n')}\n\n` };
  }

  /** The command's startupJoin (recording 13): all addresses failing ends the agent with code 1. */
  private async startJoin(): Promise<boolean> {
    this.log.info('agent', 'Joining cluster');
    const { n, error } = await this.joinLan(this.cfg.startJoin);
    if (n === 0) {
      this.log.error('agent', error);
      await this.shutdown(1);
      return false;
    }
    this.log.info('agent', 'Join completed. Initial agents synced with', { agent_count: n });
    this.joined = true;
    return true;
  }

  private async retryJoin(): Promise<void> {
    const c = this.cfg;
    this.log.info('agent', 'Retry join is supported for the following discovery methods', {
      cluster: 'LAN',
      discovery_methods:
        'aliyun aws azure digitalocean k8s linode mdns os packet scaleway softlayer tencentcloud triton vsphere',
    });
    this.log.info('agent', 'Joining cluster...', { cluster: 'LAN' });
    let attempt = 0;
    const interval = envMs('CONSUL_DOUBLE_RETRY_INTERVAL_MS', c.retryIntervalMs, c.retryIntervalMs);
    while (!this.stopping) {
      attempt++;
      const { n, error } = await this.joinLan(c.retryJoin);
      if (n > 0) {
        this.log.info('agent', 'Join cluster completed. Synced with initial agents', {
          cluster: 'LAN',
          num_agents: n,
        });
        this.joined = true;
        return;
      }
      this.log.warn('agent', "(LAN) couldn't join", { number_of_nodes: 0, error });
      if (c.retryMax > 0 && attempt >= c.retryMax) {
        this.log.error('agent', 'Retry join failed', { cluster: 'LAN' });
        void this.shutdown(1);
        return;
      }
      this.log.warn('agent', 'Join cluster failed, will retry', {
        cluster: 'LAN',
        retry_interval: formatDuration(interval),
        error: '<nil>',
      });
      await new Promise<void>((r) => this.later(interval, r));
    }
  }

  /** Server side of the link: join/heartbeat (idempotent), leave, sync and forwarded RPCs. */
  private async onLink(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const r = await toReq(req);
    let reply: Reply;
    try {
      reply = await this.handleLink(r);
    } catch (err) {
      reply = text(500, (err as Error).message);
    }
    send(res, reply, false);
  }

  private async handleLink(r: Req): Promise<Reply> {
    if (this.stopping) return text(503, 'shutting down');
    if (r.path === '/x/join') {
      const body = JSON.parse(r.body) as {
        member: AgentMember;
        node: NodeInfo;
        heartbeat?: boolean;
      };
      if (this.cfg.server) this.memberAlive(body.member, body.node);
      const server = this.cfg.server
        ? this.selfMember()
        : this.server && !this.server.failed
          ? this.server.member
          : null;
      return json({ members: this.memberList(), server });
    }
    if (r.path === '/x/leave') {
      const body = JSON.parse(r.body) as { name: string };
      this.memberLeft(body.name);
      return json(true);
    }
    if (!this.cfg.server) return text(404, 'not a server');
    if (r.path === '/x/sync') {
      if (!(await this.awaitLeader())) return text(500, 'No cluster leader');
      const body = JSON.parse(r.body) as {
        node: NodeInfo;
        services: NodeService[];
        checks: CheckState[];
        acl?: SyncItems;
      };
      // Catalog.Register does not ask serf: a node that left and syncs once more is registered
      // again, and stays until the leader's next reconcile (seen on the real 1.10 agent).
      const rec = this.members.get(body.node.Node);
      if (!rec) return text(500, 'node not a member');
      return json(this.applySync(body.node, body.services, body.checks, body.acl));
    }
    if (r.path === '/x/acl/resolve') {
      const { secret } = JSON.parse(r.body) as { secret: string };
      // A server without ACLs enforces nothing: every token may do everything.
      if (!this.aclStore) return json({ accessorId: '', management: true, rules: [] });
      const id = this.aclStore.resolve(secret);
      return id ? json(id) : text(403, ACL_NOT_FOUND);
    }
    if (r.path === '/x/resolve') {
      const body = JSON.parse(r.body) as { service: string };
      return json(resolvedServiceConfig(this.catalog as Catalog, body.service));
    }
    if (r.path.startsWith('/rpc/')) {
      return handleServerRequest(this.serverContext(), { ...r, path: r.path.slice(4) });
    }
    return text(404, 'unknown link path');
  }

  /**
   * enable_central_service_config: a sidecar's Proxy.Config gets the destination's resolved
   * protocol (service-defaults, else proxy-defaults global), as 1.10 shows in /v1/agent/services.
   */
  private async resolveCentralConfig(): Promise<void> {
    if (!this.cfg.enableCentralServiceConfig) return;
    for (const local of this.services.values()) {
      const svc = local.svc;
      if (svc.Kind !== 'connect-proxy' || !svc.Proxy) continue;
      let resolved: JsonObject;
      try {
        resolved = await this.resolveFor(svc.Proxy.DestinationServiceName);
      } catch {
        return;
      }
      if (this.acl.enabled && !local.centralResolved) {
        // 1.10 re-adds a proxy once its central config arrives: its checks then sync on their own.
        local.centralResolved = true;
        for (const c of this.checks.values())
          if (c.state.def.ServiceID === svc.ID) this.blocked.markAlone(c.state.def.CheckID);
        this.scheduleSync();
      }
      const merged = { ...resolved, ...(local.baseConfig ?? {}) };
      const next = Object.keys(merged).length ? merged : undefined;
      if (JSON.stringify(next) !== JSON.stringify(svc.Proxy.Config)) {
        local.svc = { ...svc, Proxy: { ...svc.Proxy, ...(next ? { Config: next } : {}) } };
        if (!next) delete local.svc.Proxy?.Config;
        this.scheduleSync();
      }
    }
  }

  private async resolveFor(service: string): Promise<JsonObject> {
    if (this.catalog) return resolvedServiceConfig(this.catalog, service);
    const s = this.server;
    if (!s || s.failed) throw new Error(NO_SERVERS);
    const res = await linkRequest(
      `${s.member.Addr}:${s.member.Port}`,
      '/x/resolve',
      { service },
      'POST',
      2000,
    );
    if (res.status !== 200) throw new Error(res.body);
    return JSON.parse(res.body) as JsonObject;
  }

  private memberAlive(m: AgentMember, node: NodeInfo): void {
    const prev = this.members.get(m.Name);
    const wasAlive = prev?.member.Status === 1;
    this.members.set(m.Name, { member: { ...m, Status: 1 }, node, lastSeen: Date.now() });
    if (!wasAlive) {
      this.log.info('agent.server.serf.lan', `serf: EventMemberJoin: ${m.Name} ${m.Addr}`);
      // The leader reconciles the serf event a moment later: a (re)joining client already sees
      // the leader while its node is not in the catalog yet (recording 10).
      this.later(T.reconcile, () => {
        const rec = this.members.get(m.Name);
        if (!this.leaderAddr || rec?.member.Status !== 1) return; // elect() reconciles them
        this.log.info('agent.server', 'member joined, marking health alive', { member: m.Name });
        (this.catalog as Catalog).reconcileMember(rec.node, true);
      });
    }
  }

  private memberLeft(name: string): void {
    const rec = this.members.get(name);
    if (!rec) return;
    rec.member = { ...rec.member, Status: 3 };
    const mod = this.cfg.server ? 'agent.server.serf.lan' : 'agent.client.serf.lan';
    this.log.info(mod, `serf: EventMemberLeave: ${name} ${rec.member.Addr}`);
    if (this.catalog) {
      this.log.info('agent.server', 'deregistering member', { member: name, reason: 'left' });
      this.catalog.deregisterNode(name);
    }
  }

  private sweepMembers(): void {
    const now = Date.now();
    for (const rec of this.members.values()) {
      if (rec.member.Name === this.cfg.nodeName || rec.member.Status !== 1) continue;
      if (now - rec.lastSeen > T.failure) {
        rec.member = { ...rec.member, Status: 4 };
        this.log.info(
          'agent.server.serf.lan',
          `serf: EventMemberFailed: ${rec.member.Name} ${rec.member.Addr}`,
        );
        this.log.info('agent.server', 'member failed, marking health critical', {
          member: rec.member.Name,
        });
        if (this.leaderAddr) (this.catalog as Catalog).reconcileMember(rec.node, false);
      }
    }
  }

  // --- anti-entropy ---------------------------------------------------------------------------

  scheduleSync(delay = 50): void {
    if (this.stopping || this.leaving) return;
    const due = Date.now() + delay;
    if (this.syncTimer) {
      if (this.syncDue <= due) return;
      clearTimeout(this.syncTimer);
      this.timers.delete(this.syncTimer);
    }
    this.syncDue = due;
    this.syncTimer = this.later(delay, () => {
      this.syncTimer = undefined;
      void this.sync();
    });
  }

  private syncDue = 0;
  /** When the full sync a server-up made due runs; 0 once it has. It outlives a leave's start. */
  private serverUpSyncDue = 0;

  private localServicesForSync(): NodeService[] {
    const list = [...this.services.values()].map((s) => s.svc);
    if (this.cfg.server) list.push(this.consulService());
    return list;
  }

  /** The `consul` service every server registers for itself. */
  private consulService(): NodeService {
    return {
      Kind: '',
      ID: 'consul',
      Service: 'consul',
      Tags: [],
      Meta: {
        non_voter: 'false',
        raft_version: '3',
        read_replica: 'false',
        serf_protocol_current: '2',
        serf_protocol_max: '5',
        serf_protocol_min: '1',
        version: VERSION,
      },
      Port: this.cfg.ports.server,
      Address: '',
      Weights: { Passing: 1, Warning: 1 },
      EnableTagOverride: false,
    };
  }

  /** With ACLs on: the token each part of a sync is written with. */
  private syncItems(services: NodeService[], checks: CheckState[]): SyncItems {
    const fallback = this.acl.settings.tokens.default;
    const serviceToken = (id: string): string => this.services.get(id)?.token || fallback;
    return {
      node: this.cfg.nodeName,
      nodeToken: this.acl.agentToken,
      services: services.map((s) => ({
        id: s.ID,
        name: s.Service,
        // A server's own `consul` service is the leader's to register, not anti-entropy's.
        ...(this.services.has(s.ID) ? { token: serviceToken(s.ID) } : {}),
      })),
      checks: checks.map((c) => {
        const sid = c.def.ServiceID;
        const own = this.checks.get(c.def.CheckID)?.token;
        return {
          id: c.def.CheckID,
          ...(sid ? { service: c.ServiceName } : {}),
          token: own || (sid ? serviceToken(sid) : fallback),
        };
      }),
    };
  }

  /** A server writing an agent's state into its catalog, minus what the tokens may not write. */
  private applySync(
    node: NodeInfo,
    services: NodeService[],
    checks: CheckState[],
    items?: SyncItems,
  ): SyncVerdict {
    const store = this.aclStore;
    const verdict: SyncVerdict =
      store && items
        ? vetSync((t) => storeResolution(store, t, this.acl.settings.defaultPolicy), items)
        : { services: {}, checks: {} };
    (this.catalog as Catalog).syncNode(node, services, checks, {
      node: verdict.node !== undefined,
      services: new Set(Object.keys(verdict.services)),
      checks: new Set(Object.keys(verdict.checks)),
    });
    return verdict;
  }

  private async sync(): Promise<void> {
    if (this.stopping) return;
    if (Date.now() >= this.serverUpSyncDue) this.serverUpSyncDue = 0;
    const services = this.localServicesForSync();
    const checks = [...this.checks.values()].map((c) => c.state);
    const items = this.acl.enabled ? this.syncItems(services, checks) : undefined;
    let verdict: SyncVerdict = { services: {}, checks: {} };
    let error: string | null = null;
    if (this.cfg.server) {
      if (!this.leaderAddr) return; // elect() schedules the first sync
      verdict = this.applySync(this.nodeInfo(), services, checks, items);
    } else if (!this.server || this.server.failed) {
      error = NO_SERVERS;
    } else {
      const s = this.server.member;
      try {
        const res = await linkRequest(
          `${s.Addr}:${s.Port}`,
          '/x/sync',
          { node: this.nodeInfo(), services, checks, ...(items ? { acl: items } : {}) },
          'POST',
          0,
        );
        if (res.status !== 200) error = res.body;
        else if (items) verdict = JSON.parse(res.body) as SyncVerdict;
      } catch (err) {
        error = this.rpcConnError(err as Error, s);
      }
    }
    if (error) {
      this.log.error('agent.anti_entropy', 'failed to sync remote state', { error });
      this.scheduleSync(T.aeRetry);
      return;
    }
    if (!this.nodeSynced && verdict.node === undefined) {
      this.nodeSynced = true;
      this.log.info('agent', 'Synced node info');
    }
    // Blocked parts are tried again on the anti-entropy interval (1.10 marks them in sync).
    if (this.blocked.report(verdict) && !this.aclRetry)
      this.aclRetry = this.later(T.aeInterval, () => {
        this.aclRetry = undefined;
        this.blocked.reset();
        this.scheduleSync(0);
      });
    const seen = new Set<string>();
    for (const s of services) {
      if (s.ID === 'consul' && this.cfg.server) continue;
      const key = `svc:${s.ID}`;
      seen.add(key);
      if (s.ID in verdict.services) continue;
      const v = JSON.stringify(s);
      if (this.synced.get(key) !== v) {
        this.synced.set(key, v);
        this.log.info('agent', 'Synced service', { service: s.ID });
      }
    }
    for (const c of checks) {
      const key = `chk:${c.def.CheckID}`;
      seen.add(key);
      if (c.def.CheckID in verdict.checks) continue;
      this.blocked.synced(c.def.CheckID);
      const v = c.Status;
      const prev = this.synced.get(key);
      if (prev !== v) {
        this.synced.set(key, v);
        // Checks registered with their service are synced with it; only status changes are logged.
        if (prev !== undefined) this.log.info('agent', 'Synced check', { check: c.def.CheckID });
      }
    }
    for (const key of [...this.synced.keys()]) {
      if (!seen.has(key)) {
        this.synced.delete(key);
        if (key.startsWith('svc:'))
          this.log.info('agent', 'Deregistered service', { service: key.slice(4) });
        else this.log.info('agent', 'Deregistered check', { check: key.slice(4) });
      }
    }
  }

  // --- HTTP API -------------------------------------------------------------------------------

  private async onHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const r = await toReq(req);
    r.token = this.acl.callerToken(r.token);
    const pretty = this.cfg.dev || r.query.has('pretty');
    let reply: Reply;
    try {
      reply = await this.route(r);
    } catch (err) {
      reply =
        err instanceof DecodeError
          ? text(err.status, err.message)
          : text(500, (err as Error).message);
    }
    // A missing config entry is a handler error, logged like the others (recording 13's logs:
    // `Request error: method=GET url=/v1/config/… error="Config entry not found …"`).
    if (
      reply.status >= 400 &&
      (reply.status !== 404 || r.path.startsWith('/v1/config/')) &&
      typeof reply.body === 'string' &&
      !reply.json &&
      !reply.quiet
    ) {
      const query = r.query.toString().replace(/(^|&)token=[^&]*/, '$1token=<hidden>');
      this.log.error('agent.http', 'Request error', {
        method: r.method,
        url: r.path + (query ? `?${query}` : ''),
        from: r.remote,
        error: reply.body,
      });
    }
    if (this.acl.enabled)
      reply = {
        ...reply,
        headers: {
          ...reply.headers,
          'X-Consul-Default-Acl-Policy': this.acl.settings.defaultPolicy,
        },
      };
    send(res, reply, pretty);
  }

  /** How the client's RPC pool words a server it cannot dial (its RPC port; the link is serf's). */
  private rpcConnError(err: Error, s: AgentMember): string {
    const dial = err.message
      .replace(/^dial tcp /, `dial tcp ${this.cfg.advertiseAddr}:0->`)
      .replace(`:${s.Port}:`, `:${s.Tags.port ?? 8300}:`);
    return `rpc error getting client: failed to get conn: ${dial}`;
  }

  /** Forwards a server-side request (or answers it locally on a server). */
  private async forward(r: Req): Promise<Reply> {
    if (this.cfg.server) return handleServerRequest(this.serverContext(), r);
    const local = localReply(r);
    if (local) return local;
    const blocking = /^\/v1\/(catalog|health)\//.test(r.path);
    if (!this.server || this.server.failed) {
      return text(
        500,
        NO_SERVERS,
        blocking
          ? {
              'X-Consul-Index': '1',
              'X-Consul-Knownleader': 'false',
              'X-Consul-Lastcontact': '0',
              'X-Consul-Query-Backend': 'blocking-query',
            }
          : undefined,
      );
    }
    const s = this.server.member;
    try {
      const q = r.query.toString();
      const res = await linkRequest(
        `${s.Addr}:${s.Port}`,
        `/rpc${r.path}${q ? `?${q}` : ''}`,
        r.body,
        r.method,
        0,
        r.token,
      );
      const headers: Record<string, string> = {};
      for (const h of RELAY_HEADERS)
        if (res.headers[h]) headers[canonHeader(h)] = res.headers[h] as string;
      // The server's error (a 500, an ACL 403) comes back as the RPC's error, wrapped once by the
      // client's pool; what the handler answers after the RPC (404 Config entry not found), or
      // an endpoint 1.10 answers in the agent itself, is not.
      const rpcError =
        res.status === 500 || (res.status === 403 && !serverRoute(r.path)?.agentEndpoint);
      if (rpcError) return text(res.status, `rpc error making call: ${res.body}`, headers);
      const isJson = (res.headers['content-type'] ?? '').includes('json');
      return {
        status: res.status,
        headers,
        body: isJson ? (JSON.parse(res.body) as unknown) : res.body,
        json: isJson,
      };
    } catch (err) {
      return text(500, this.rpcConnError(err as Error, s));
    }
  }

  /** agent:<access> on this agent's node (agent/self, reload, leave, join). */
  private agentNeed(access: 'read' | 'write'): Need {
    return need('agent', access, this.cfg.nodeName);
  }

  /**
   * The agent's own endpoints (the rest go to the servers, see forward()), each with the
   * permission 1.10 checks before answering; what depends on the request (the service to
   * register, the one to update) the handler checks with the same authorize().
   */
  private readonly routes: AgentRoute[] = [
    {
      methods: ['GET'],
      re: /^\/v1\/agent\/self$/,
      need: () => this.agentNeed('read'),
      handle: () => json(this.selfView()),
    },
    {
      methods: ['GET'],
      re: /^\/v1\/agent\/members$/,
      handle: (r, _m, a) => this.membersView(r, a),
    },
    {
      methods: ['GET'],
      re: /^\/v1\/agent\/services$/,
      // Filtered to the services the token may read (an unusable token sees `{}`).
      handle: (_r, _m, a) =>
        json(
          Object.fromEntries(
            [...this.services.values()]
              .filter((s) => a.allows('service', 'read', s.svc.Service))
              .sort((x, y) => (x.svc.ID < y.svc.ID ? -1 : 1))
              .map((s) => [s.svc.ID, agentServiceView(s.svc, this.cfg.datacenter)]),
          ),
        ),
    },
    {
      methods: ['GET'],
      re: /^\/v1\/agent\/checks$/,
      handle: (_r, _m, a) =>
        json(
          Object.fromEntries(
            [...this.checks.values()]
              .filter((c) =>
                c.state.def.ServiceID
                  ? a.allows('service', 'read', c.state.ServiceName)
                  : a.allows('node', 'read', this.cfg.nodeName),
              )
              .sort((x, y) => (x.state.def.CheckID < y.state.def.CheckID ? -1 : 1))
              .map((c) => [c.state.def.CheckID, checkView(c.state)]),
          ),
        ),
    },
    {
      methods: ['PUT'],
      re: /^\/v1\/agent\/service\/register$/,
      handle: (r, _m, a) => this.register(r, a),
    },
    {
      methods: ['PUT'],
      re: /^\/v1\/agent\/service\/deregister\/(.+)$/,
      handle: (_r, m, a) => {
        const id = decodeURIComponent(m[1] as string);
        const denied = this.vetServiceUpdate(id, a);
        if (denied) return denied;
        this.removeService(id);
        this.apiDefs.delete(id);
        this.persistServices();
        return { status: 200 };
      },
    },
    {
      methods: ['PUT'],
      re: /^\/v1\/agent\/service\/maintenance\/(.+)$/,
      handle: (r, m, a) => this.maintenance(r, decodeURIComponent(m[1] as string), a),
    },
    {
      methods: ['GET'],
      re: /^\/v1\/agent\/service\/(.+)$/,
      handle: (_r, m, a) => {
        const id = decodeURIComponent(m[1] as string);
        const s = this.services.get(id);
        if (!s) return text(404, `unknown service ID: ${id}`);
        const denied = authorize(a, need('service', 'read', s.svc.Service));
        if (denied) return denied;
        const view = agentServiceView(s.svc, this.cfg.datacenter, true);
        return json(view, { 'X-Consul-Contenthash': String(view.ContentHash) });
      },
    },
    {
      methods: ['GET'],
      re: /^\/v1\/agent\/health\/service\/(id|name)\/(.+)$/,
      handle: (r, m, a) =>
        this.agentHealth(r, m[1] as string, decodeURIComponent(m[2] as string), a),
    },
    {
      methods: ['PUT'],
      re: /^\/v1\/agent\/check\/register$/,
      handle: (r, _m, a) => this.registerCheck(r, a),
    },
    {
      methods: ['PUT'],
      re: /^\/v1\/agent\/check\/deregister\/(.+)$/,
      handle: (_r, m, a) => {
        const id = decodeURIComponent(m[1] as string);
        const denied = this.vetCheckUpdate(id, a);
        if (denied) return denied;
        if (!this.checks.has(id)) return text(500, `Unknown check ${JSON.stringify(id)}`);
        this.removeCheck(id);
        this.recomputeAliases();
        return { status: 200 };
      },
    },
    {
      methods: ['PUT'],
      re: /^\/v1\/agent\/check\/(pass|warn|fail|update)\/(.+)$/,
      handle: (r, m, a) => {
        const id = decodeURIComponent(m[2] as string);
        return this.vetCheckUpdate(id, a) ?? this.ttlUpdate(r, m[1] as string, id);
      },
    },
    {
      // Answered by the agent with its own ACL resolver (a client asks its servers), recording 15.
      methods: ['POST'],
      re: /^\/v1\/internal\/acl\/authorize$/,
      early: (r) => authorizeEarly(this.acl.enabled, r.body),
      handle: (r, _m, a) => authorizeAnswer(a, r.body),
    },
    {
      methods: ['PUT'],
      re: /^\/v1\/agent\/leave$/,
      need: () => this.agentNeed('write'),
      handle: async () => {
        await this.gracefulLeave();
        this.later(10, () => void this.shutdown(0));
        return { status: 200 };
      },
    },
    {
      methods: ['PUT'],
      re: /^\/v1\/agent\/reload$/,
      need: () => this.agentNeed('write'),
      handle: async () => {
        const err = this.reload();
        if (!err && this.serverReachable()) await this.resolveCentralConfig();
        return err ? text(500, err) : { status: 200 };
      },
    },
    {
      methods: ['PUT'],
      re: /^\/v1\/agent\/join\/(.+)$/,
      need: () => this.agentNeed('write'),
      handle: async (_r, m) => {
        try {
          await this.joinOne(decodeURIComponent(m[1] as string));
          return { status: 200 };
        } catch (err) {
          return text(500, `1 error occurred:\n\t* ${(err as Error).message}\n\n`);
        }
      },
    },
  ];

  private async route(r: Req): Promise<Reply> {
    const route = this.routes.find((x) => x.re.test(r.path));
    if (!route) return serverRoute(r.path) ? this.forward(r) : text(404, '404 page not found\n');
    if (!route.methods.includes(r.method))
      return text(405, `method ${r.method} not allowed`, {
        Allow: ['OPTIONS', ...route.methods].sort().join(','),
      });
    const early = route.early?.(r);
    if (early) return early;
    const authz = await this.acl.authorizer(r.token);
    if (isDenial(authz)) return authz;
    const m = route.re.exec(r.path) as RegExpExecArray;
    return (route.need && authorize(authz, route.need(m))) ?? route.handle(r, m, authz);
  }

  /** 1.10's vetServiceUpdate (ACLs on): service:write on the service; unknown is a 500. */
  private vetServiceUpdate(id: string, authz: Authorizer): Reply | undefined {
    if (!this.acl.enabled) return undefined;
    const s = this.services.get(id);
    if (!s) return text(500, `Unknown service ${JSON.stringify(id)}`);
    return authorize(authz, need('service', 'write', s.svc.Service), missing);
  }

  /** 1.10's vetCheckUpdate (ACLs on): write on the check's service, or node:write. */
  private vetCheckUpdate(id: string, authz: Authorizer): Reply | undefined {
    if (!this.acl.enabled) return undefined;
    const c = this.checks.get(id);
    if (!c) return text(500, `Unknown check ${JSON.stringify(id)}`);
    return authorize(authz, this.checkNeed(c.state.def.ServiceID, c.state.ServiceName), missing);
  }

  private checkNeed(serviceId: string, serviceName: string): Need {
    return serviceId
      ? need('service', 'write', serviceName)
      : need('node', 'write', this.cfg.nodeName);
  }

  /**
   * 1.10's vetServiceRegister: service:write on the service, on one it replaces, on a proxy's
   * destination, and on its sidecar (`Permission denied: Missing service:write on users`).
   */
  private vetRegister(def: ServiceDefinition, authz: Authorizer): Reply | undefined {
    const s = def.service;
    const names = [s.Service];
    const existing = this.services.get(s.ID);
    if (existing) names.push(existing.svc.Service);
    if (s.Kind === 'connect-proxy' && s.Proxy) names.push(s.Proxy.DestinationServiceName);
    if (def.sidecar) {
      const name = Object.entries(def.sidecar).find(([k]) => k.toLowerCase() === 'name')?.[1];
      names.push(typeof name === 'string' && name ? name : `${s.Service}-sidecar-proxy`);
    }
    return authorize(
      authz,
      names.map((n) => need('service', 'write', n)),
      missing,
    );
  }

  /** LAN members filtered by node:read (recording 11 f: `node "cluster-1"` sees only itself). */
  private membersView(r: Req, authz: Authorizer): Reply {
    if (r.query.get('wan') === '1' || r.query.get('wan') === 'true') {
      if (!this.cfg.server) return json([]);
      const self = this.selfMember();
      const { wan_join_port: _wan, ...tags } = self.Tags;
      return json([
        {
          ...self,
          Name: `${self.Name}.${this.cfg.datacenter}`,
          Port: this.cfg.ports.serfWan,
          Tags: tags,
        },
      ]);
    }
    return json(this.memberList().filter((m) => authz.allows('node', 'read', m.Name)));
  }

  /** Stats.consul.acl: disabled, legacy (as the `acls` tag says 2), enabled. */
  private get aclStat(): string {
    return { '0': 'disabled', '1': 'enabled', '2': 'legacy' }[this.aclTag] ?? 'disabled';
  }

  /** The ACL fields of DebugConfig with ACLs on (the template's are an ACL-less agent's). */
  private aclDebugConfig(): JsonObject {
    const a = this.acl.settings;
    const raw = (this.cfg.raw.acl ?? {}) as JsonObject;
    return {
      ACLDefaultPolicy: a.defaultPolicy,
      ACLDownPolicy: a.downPolicy,
      ACLsEnabled: true,
      ACLTokens: {
        ...((debugTemplate as JsonObject).ACLTokens as JsonObject),
        DataDir: this.cfg.dataDir,
        EnablePersistence: raw.enable_token_persistence === true,
      },
    };
  }

  private selfView(): JsonObject {
    const c = this.cfg;
    const leader = c.server
      ? this.leaderAddr
      : this.server && !this.server.failed
        ? `${this.server.member.Addr}:${this.server.member.Tags.port ?? 8300}`
        : '';
    const addr = (host: string, port: number): string => `tcp://${host}:${port}`;
    const debug: JsonObject = {
      ...(debugTemplate as JsonObject),
      AdvertiseAddrLAN: c.advertiseAddr,
      AdvertiseAddrWAN: c.advertiseAddr,
      BindAddr: c.bindAddr,
      Bootstrap: c.bootstrap,
      BootstrapExpect: c.bootstrap && c.bootstrapExpect === 1 ? 0 : c.bootstrapExpect,
      ClientAddrs: c.clientAddrs,
      ConnectEnabled: c.connectEnabled,
      ConnectSidecarMaxPort: c.ports.sidecarMax,
      ConnectSidecarMinPort: c.ports.sidecarMin,
      DataDir: c.dataDir,
      Datacenter: c.datacenter,
      DevMode: c.dev,
      DisableUpdateCheck: c.disableUpdateCheck,
      DNSPort: c.ports.dns,
      EnableCentralServiceConfig: c.enableCentralServiceConfig,
      GRPCAddrs: c.ports.grpc > 0 ? c.grpcAddrs.map((a) => addr(a, c.ports.grpc)) : [],
      GRPCPort: c.ports.grpc,
      HTTPAddrs: c.httpAddrs.map((a) => addr(a, c.ports.http)),
      HTTPPort: c.ports.http,
      HTTPSPort: c.ports.https,
      LeaveOnTerm: c.leaveOnTerminate,
      NodeID: this.nodeId,
      NodeMeta: c.nodeMeta,
      NodeName: c.nodeName,
      PrimaryDatacenter: c.datacenter,
      RetryJoinIntervalLAN: formatDuration(c.retryIntervalMs),
      RetryJoinLAN: c.retryJoin,
      RetryJoinMaxAttemptsLAN: c.retryMax,
      RPCAdvertiseAddr: addr(c.advertiseAddr, c.ports.server),
      RPCBindAddr: addr(c.bindAddr, c.ports.server),
      SerfAdvertiseAddrLAN: addr(c.advertiseAddr, c.ports.serfLan),
      SerfBindAddrLAN: addr(c.bindAddr, c.ports.serfLan),
      SerfPortLAN: c.ports.serfLan,
      SerfPortWAN: c.ports.serfWan,
      ServerMode: c.server,
      ServerPort: c.ports.server,
      SkipLeaveOnInt: c.skipLeaveOnInterrupt,
      StartJoinAddrsLAN: c.startJoin,
      ...(this.acl.enabled ? this.aclDebugConfig() : {}),
    };
    const members = this.memberList();
    const count = (s: number): string => String(members.filter((m) => m.Status === s).length);
    return {
      Config: {
        Datacenter: c.datacenter,
        PrimaryDatacenter: c.datacenter,
        NodeName: c.nodeName,
        NodeID: this.nodeId,
        Revision: '',
        Server: c.server,
        Version: VERSION,
      },
      DebugConfig: debug,
      Coord: { Vec: [0, 0, 0, 0, 0, 0, 0, 0], Error: 1.5, Adjustment: 0, Height: 1e-5 },
      Member: this.selfMember() as unknown as JsonObject,
      Stats: {
        agent: {
          check_monitors: '0',
          check_ttls: String(
            [...this.checks.values()].filter((x) => x.state.def.Type === 'ttl').length,
          ),
          checks: String(this.checks.size),
          services: String(this.services.size),
        },
        build: { prerelease: '', revision: '', version: VERSION },
        consul: c.server
          ? {
              acl: this.aclStat,
              bootstrap: String(c.bootstrap),
              known_datacenters: '1',
              leader: String(this.leaderAddr !== ''),
              leader_addr: leader,
              server: 'true',
            }
          : {
              acl: this.aclStat,
              known_servers: this.server && !this.server.failed ? '1' : '0',
              server: 'false',
            },
        ...(c.server
          ? {
              raft: {
                applied_index: String(this.catalog?.index ?? 0),
                commit_index: String(this.catalog?.index ?? 0),
                fsm_pending: '0',
                last_contact: this.leaderAddr ? '0' : 'never',
                last_log_index: String(this.catalog?.index ?? 0),
                last_log_term: this.leaderAddr ? '2' : '1',
                last_snapshot_index: '0',
                last_snapshot_term: '0',
                latest_configuration: `[{Suffrage:Voter ID:${this.nodeId} Address:${this.rpcAddr}}]`,
                latest_configuration_index: '0',
                num_peers: '0',
                protocol_version: '3',
                protocol_version_max: '3',
                protocol_version_min: '0',
                snapshot_version_max: '1',
                snapshot_version_min: '0',
                state: this.leaderAddr ? 'Leader' : 'Follower',
                term: this.leaderAddr ? '2' : '1',
              },
            }
          : {}),
        runtime: {
          arch: 'amd64',
          cpu_count: '2',
          goroutines: '100',
          max_procs: '2',
          os: 'linux',
          version: 'go1.19.8',
        },
        serf_lan: {
          coordinate_resets: '0',
          encrypted: String(c.encrypt !== ''),
          event_queue: '0',
          event_time: '1',
          failed: count(4),
          health_score: '0',
          intent_queue: '0',
          left: count(3),
          member_time: '1',
          members: String(members.length),
          query_queue: '0',
          query_time: '1',
        },
        ...(c.server
          ? {
              serf_wan: {
                coordinate_resets: '0',
                encrypted: String(c.encrypt !== ''),
                event_queue: '0',
                event_time: '1',
                failed: '0',
                health_score: '0',
                intent_queue: '0',
                left: '0',
                member_time: '1',
                members: '1',
                query_queue: '0',
                query_time: '1',
              },
            }
          : {}),
      },
      Meta: { 'consul-network-segment': '' },
      ...(c.ports.grpc > 0
        ? {
            xDS: {
              SupportedProxies: { envoy: ['1.20.2', '1.18.6', '1.17.4', '1.16.5', '1.15.5'] },
            },
          }
        : {}),
    };
  }

  private serverReachable(): boolean {
    return this.cfg.server || (!!this.server && !this.server.failed);
  }

  private async register(r: Req, authz: Authorizer): Promise<Reply> {
    let raw: unknown;
    try {
      raw = parseGoJson(r.body, 'decoder');
    } catch (err) {
      if (err instanceof GoJsonError) return text(400, `Request decode failed: ${err.message}`);
      throw err;
    }
    if (!isObj(raw))
      return text(400, 'Request decode failed: json: cannot unmarshal into ServiceDefinition');
    const def = decodeService(raw, true);
    // 1.10 keeps the caller's token for the service's syncs (a body `Token` is not used).
    def.token = r.token;
    validateService(def);
    const denied = this.vetRegister(def, authz);
    if (denied) return denied;
    const needsCentral = this.addService(def, 'api');
    this.apiDefs.set(def.service.ID, { ...raw, Token: r.token });
    this.persistServices();
    if (this.serverReachable()) await this.resolveCentralConfig();
    if (needsCentral && this.cfg.enableCentralServiceConfig && !this.serverReachable()) {
      if (def.service.Kind) this.removeService(def.service.ID);
      else this.removeService(needsCentral);
      return text(
        500,
        `could not retrieve initial service_defaults config for service "${needsCentral}": ${NO_SERVERS}`,
      );
    }
    return { status: 200 };
  }

  private registerCheck(r: Req, authz: Authorizer): Reply {
    let raw: unknown;
    try {
      raw = parseGoJson(r.body, 'decoder');
    } catch (err) {
      return text(400, `Request decode failed: ${(err as Error).message}`);
    }
    if (!isObj(raw)) return text(400, 'Request decode failed');
    const def = decodeStandaloneCheck(raw);
    if (!def.Name) return text(400, 'Missing check name');
    const svc = def.ServiceID ? this.services.get(def.ServiceID)?.svc : undefined;
    if (def.ServiceID && !svc) return text(400, `ServiceID "${def.ServiceID}" does not exist`);
    const denied = authorize(authz, this.checkNeed(def.ServiceID, svc?.Service ?? ''), missing);
    if (denied) return denied;
    this.addCheck(def, svc, r.token);
    this.recomputeAliases();
    this.scheduleSync();
    return { status: 200 };
  }

  private ttlUpdate(r: Req, op: string, id: string): Reply {
    const c = this.checks.get(id);
    if (!c)
      return text(
        404,
        `Unknown check ID "${id}". Ensure that the check ID is passed, not the check name.`,
      );
    if (c.state.def.Type !== 'ttl') return text(500, `Check "${id}" is not a TTL check`);
    let status: CheckStatus = op === 'pass' ? 'passing' : op === 'warn' ? 'warning' : 'critical';
    let output = r.query.get('note') ?? '';
    if (op === 'update') {
      const body = (r.body ? JSON.parse(r.body) : {}) as JsonObject;
      const s = String(body.Status ?? '');
      if (!['passing', 'warning', 'critical'].includes(s))
        return text(400, `Invalid check status: "${s}"`);
      status = s as CheckStatus;
      output = String(body.Output ?? '');
    }
    this.setStatus(c, status, output);
    this.armTtl(c);
    return { status: 200 };
  }

  private maintenance(r: Req, id: string, authz: Authorizer): Reply {
    const enable = r.query.get('enable');
    if (enable === null) return text(400, 'Missing value for enable');
    if (enable !== 'true' && enable !== 'false')
      return text(400, `Invalid value for enable: "${enable}"`);
    const denied = this.vetServiceUpdate(id, authz);
    if (denied) return denied;
    const s = this.services.get(id);
    if (!s) return text(404, `Unknown service ID "${id}"`);
    const checkId = `_service_maintenance:${id}`;
    if (enable === 'true') {
      if (!this.checks.has(checkId)) {
        const reason =
          r.query.get('reason') ||
          'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.';
        this.addCheck(
          {
            CheckID: checkId,
            Name: 'Service Maintenance Mode',
            Notes: reason,
            ServiceID: id,
            Status: 'critical',
            Type: 'maintenance',
            IntervalMs: 0,
            TimeoutMs: 0,
            TtlMs: 0,
            DeregisterCriticalServiceAfterMs: 0,
          },
          s.svc,
          r.token,
        );
        this.log.info('agent', 'Service entered maintenance mode', { service: id });
      }
    } else if (this.checks.has(checkId)) {
      this.removeCheck(checkId);
      this.log.info('agent', 'Service left maintenance mode', { service: id });
    }
    this.recomputeAliases();
    this.scheduleSync();
    return { status: 200 };
  }

  private agentHealth(r: Req, by: string, key: string, authz: Authorizer): Reply {
    // By name, 1.10 checks service:read before looking; by ID, once it found the service.
    const byName = by === 'name' && authorize(authz, need('service', 'read', key));
    if (byName) return byName;
    const list = [...this.services.values()].filter((s) =>
      by === 'id' ? s.svc.ID === key : s.svc.Service === key,
    );
    const entry = (s: LocalService): { status: CheckStatus; body: JsonObject } => {
      const checks = [...this.checks.values()].filter((c) => c.state.def.ServiceID === s.svc.ID);
      const status = aggregate(checks.map((c) => c.state.Status));
      return {
        status,
        body: {
          AggregatedStatus: status,
          Service: agentServiceView(s.svc, this.cfg.datacenter),
          Checks: checks.map((c) => agentHealthCheckView(c.state)),
        },
      };
    };
    const code = (s: CheckStatus): number => (s === 'passing' ? 200 : s === 'warning' ? 429 : 503);
    const textFormat = r.query.get('format') === 'text';
    if (by === 'id') {
      const s = list[0];
      if (!s)
        return textFormat
          ? text(404, `ServiceId ${key} not found`)
          : text(404, `ServiceId ${key} not found`);
      const denied = authorize(authz, need('service', 'read', s.svc.Service));
      if (denied) return denied;
      const e = entry(s);
      if (textFormat) return text(code(e.status), e.status);
      return {
        status: code(e.status),
        body: e.body,
        json: true,
        headers: { 'X-Consul-Reason': e.status },
      };
    }
    if (list.length === 0) return text(404, `ServiceName ${key} Not Found`);
    const entries = list.map(entry);
    const worst = aggregate(entries.map((e) => e.status));
    if (textFormat) return text(code(worst), worst);
    return {
      status: code(worst),
      body: entries.map((e) => e.body),
      json: true,
      headers: { 'X-Consul-Reason': worst },
    };
  }

  // --- reload ---------------------------------------------------------------------------------

  /** Re-reads the config files; returns the error text, or null. */
  reload(): string | null {
    let cfg: RuntimeConfig;
    try {
      const loaded = loadSources(this.flags.sources, this.flags.fragment, this.flags.configFormat);
      cfg = buildRuntime(loaded.raw, this.flags.dev, loaded.warnings);
    } catch (err) {
      return (err as Error).message;
    }
    for (const w of cfg.warnings) this.log.warn('agent.auto_config', w);
    this.log.warn(
      'agent',
      'DEPRECATED Backwards compatibility with pre-1.9 metrics enabled. These metrics will be removed in a future version of Consul. Set `telemetry { disable_compat_1.9 = true }` to disable them.',
    );
    // Not reloaded in 1.10: ports, addresses, data_dir, server mode, datacenter.
    this.cfg = {
      ...this.cfg,
      logLevel: cfg.logLevel,
      services: cfg.services,
      checks: cfg.checks,
      nodeMeta: cfg.nodeMeta,
    };
    this.log.level = parseLevel(cfg.logLevel);
    const fileIds = new Set<string>();
    const wanted: ServiceDefinition[] = [];
    try {
      for (const raw of cfg.services) {
        const def = decodeService(raw, false);
        fileIds.add(def.service.ID);
        wanted.push(def);
      }
    } catch (err) {
      return (err as Error).message;
    }
    for (const [id, s] of [...this.services]) {
      if (s.source === 'file' && !s.sidecarOf && !fileIds.has(id)) this.removeService(id);
    }
    for (const def of wanted) {
      try {
        this.addService(def, 'file');
      } catch (err) {
        this.log.error('agent', 'Failed to register service', {
          service: def.service.ID,
          error: (err as Error).message,
        });
      }
    }
    return null;
  }

  // --- leave & shutdown -----------------------------------------------------------------------

  gracefulLeave(): Promise<void> {
    if (this.leaving) return this.leaving;
    this.leaving = (async () => {
      const c = this.cfg;
      this.log.info(this.module, c.server ? 'server starting leave' : 'client starting leave');
      // 1.10's syncer runs on during the leave's propagation delay: a full sync a server-up made
      // due still lands (and registers the node again once the leader removed it). Local changes
      // sync at once in 1.10, so none is left pending here.
      if (this.syncTimer && this.serverUpSyncDue === 0) clearTimeout(this.syncTimer);
      const s = this.server;
      if (!c.server && s && !s.failed) {
        try {
          await linkRequest(
            `${s.member.Addr}:${s.member.Port}`,
            '/x/leave',
            { name: c.nodeName },
            'POST',
            2000,
          );
        } catch {
          /* the server is gone: leave anyway */
        }
      }
      await sleep(Math.min(350, T.leave));
      const mod = c.server ? 'agent.server.serf.lan' : 'agent.client.serf.lan';
      this.log.info(mod, `serf: EventMemberLeave: ${c.nodeName} ${c.advertiseAddr}`);
      const self = this.members.get(c.nodeName);
      if (self) self.member = { ...self.member, Status: 3 };
      if (c.server) this.catalog?.deregisterNode(c.nodeName);
      await sleep(Math.max(0, T.leave - 350));
    })();
    return this.leaving;
  }

  async shutdown(code: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const c = this.cfg;
    this.log.info('agent', 'Requesting shutdown');
    if (c.server) {
      this.log.info('agent.server', 'shutting down server');
      if (!this.leaving) {
        this.log.warn('agent.server.serf.lan', 'serf: Shutdown without a Leave');
        this.log.warn('agent.server.serf.wan', 'serf: Shutdown without a Leave');
      }
      this.log.info('agent.router.manager', 'shutting down');
    } else {
      this.log.info('agent.client', 'shutting down client');
      if (!this.leaving) this.log.warn('agent.client.serf.lan', 'serf: Shutdown without a Leave');
    }
    for (const t of this.timers) clearTimeout(t);
    for (const ch of this.checks.values()) {
      ch.loop?.stop();
      if (ch.ttl) clearTimeout(ch.ttl);
    }
    this.log.info('agent', c.server ? 'consul server down' : 'consul client down');
    this.log.info('agent', 'shutdown complete');
    for (const a of c.clientAddrs) {
      this.log.info('agent', 'Stopping server', {
        protocol: 'DNS',
        address: `${a}:${c.ports.dns}`,
        network: 'tcp',
      });
      this.log.info('agent', 'Stopping server', {
        protocol: 'DNS',
        address: `${a}:${c.ports.dns}`,
        network: 'udp',
      });
    }
    for (const a of c.httpAddrs) {
      this.log.info('agent', 'Stopping server', {
        address: displayAddr(a, c.ports.http),
        network: 'tcp',
        protocol: 'http',
      });
    }
    const closing = [
      ...this.httpServers,
      ...this.tcpServers,
      ...(this.serfServer ? [this.serfServer] : []),
    ];
    for (const s of closing) {
      s.close();
      if ('closeAllConnections' in s) (s as Server).closeAllConnections();
    }
    this.log.info('agent', 'Waiting for endpoints to shut down');
    this.log.info('agent', 'Endpoints down');
    this.log.info('agent', 'Exit code', { code });
    this.exitResolve(code);
  }

  /** Signal handling as command/agent does it in 1.10. */
  installSignals(): void {
    const name: Record<string, string> = {
      SIGINT: 'interrupt',
      SIGTERM: 'terminated',
      SIGHUP: 'hangup',
    };
    const onSignal = (sig: NodeJS.Signals): void => {
      if (this.stopping) return;
      this.log.info('agent', 'Caught', { signal: name[sig] ?? sig });
      if (this.leaving) {
        this.log.info('agent', 'Caught second signal, Exiting', { signal: name[sig] ?? sig });
        void this.shutdown(1);
        return;
      }
      if (sig === 'SIGHUP') {
        const err = this.reload();
        if (err) this.log.error('agent', 'Reload config failed', { error: err });
        return;
      }
      const leave =
        (sig === 'SIGTERM' && this.cfg.leaveOnTerminate) ||
        (sig === 'SIGINT' && !this.cfg.skipLeaveOnInterrupt);
      if (!leave) {
        this.log.info('agent', 'Graceful shutdown disabled. Exiting');
        void this.shutdown(1);
        return;
      }
      this.log.info('agent', 'Gracefully shutting down agent...');
      const timeout = setTimeout(() => {
        this.log.info('agent', 'Timeout on graceful leave. Exiting');
        void this.shutdown(1);
      }, 15000);
      void this.gracefulLeave().then(() => {
        clearTimeout(timeout);
        if (this.stopping) return;
        this.log.info('agent', 'Graceful exit completed');
        void this.shutdown(0);
      });
    };
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  }
}

/** The central config a proxy for `service` gets: proxy-defaults global Config + protocol. */
function resolvedServiceConfig(catalog: Catalog, service: string): JsonObject {
  const global = catalog.get('proxy-defaults', 'global');
  const sd = catalog.get('service-defaults', service);
  return {
    ...((global?.Config as JsonObject | undefined) ?? {}),
    ...(sd?.Protocol ? { protocol: sd.Protocol } : {}),
  };
}

// ---------------------------------------------------------------------------------------------

function setupDataDir(dir: string, nodeIdFromConfig?: string): string {
  try {
    const st = statSync(dir);
    if (!st.isDirectory()) throw new ConfigError(`data_dir ${dir} is not a directory`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof ConfigError) throw err;
    if (code === 'ENOTDIR')
      throw new ConfigError(`Error getting info on data_dir: ${fsError(err, 'stat', dir)}`);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (mkErr) {
      throw new ConfigError(`failed to setup node ID: ${fsError(mkErr, 'mkdir', dir)}`);
    }
  }
  const file = join(dir, 'node-id');
  try {
    const existing = readFileSync(file, 'utf8').trim();
    if (existing) return existing;
  } catch {
    /* first start */
  }
  const id = nodeIdFromConfig ?? randomUUID();
  try {
    writeFileSync(file, id);
  } catch (err) {
    throw new ConfigError(
      `failed to setup node ID: failed to write NodeID to disk: ${fsError(err, 'open', file)}`,
    );
  }
  return id;
}

function banner(cfg: RuntimeConfig, nodeId: string): string {
  const c = cfg;
  return [
    '==> Starting Consul agent...',
    `           Version: '${VERSION}'`,
    `           Node ID: '${nodeId}'`,
    `         Node name: '${c.nodeName}'`,
    `        Datacenter: '${c.datacenter}' (Segment: '${c.server ? '<all>' : ''}')`,
    `            Server: ${c.server} (Bootstrap: ${c.bootstrap})`,
    `       Client Addr: [${c.clientAddrs.join(' ')}] (HTTP: ${c.ports.http}, HTTPS: ${c.ports.https}, gRPC: ${c.ports.grpc}, DNS: ${c.ports.dns})`,
    `      Cluster Addr: ${c.advertiseAddr} (LAN: ${c.ports.serfLan}, WAN: ${c.ports.serfWan})`,
    `           Encrypt: Gossip: ${c.encrypt !== ''}, TLS-Outgoing: ${c.verifyOutgoing}, TLS-Incoming: ${c.verifyIncoming}, Auto-Encrypt-TLS: ${c.autoEncryptTls}`,
    '',
    '==> Log data will now stream in as it occurs:',
    '',
    '',
  ].join('\n');
}

export async function runAgent(args: string[]): Promise<number> {
  let flags: AgentFlags;
  try {
    flags = parseAgentFlags(args);
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`${err.message}\nUsage: consul agent [options]\n`);
      return 1;
    }
    throw err;
  }
  let cfg: RuntimeConfig;
  let nodeId: string;
  try {
    const loaded = loadSources(flags.sources, flags.fragment, flags.configFormat);
    cfg = buildRuntime(loaded.raw, flags.dev, loaded.warnings);
    nodeId = cfg.dev ? (cfg.nodeId ?? randomUUID()) : setupDataDir(cfg.dataDir, cfg.nodeId);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`==> ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  process.stdout.write(banner(cfg, nodeId));
  const agent = new Agent(cfg, flags, nodeId);
  agent.installSignals();
  const startErr = await agent.start();
  if (startErr) {
    agent.log.error('agent', 'Error starting agent', { error: startErr });
    agent.log.info('agent', 'Exit code', { code: 1 });
    setTimeout(() => process.exit(1), 20).unref();
    return 1;
  }
  const code = await agent.exited;
  setTimeout(() => process.exit(code), 50).unref();
  return code;
}

export type { Json };
