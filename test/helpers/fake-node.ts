// A node's outside world in memory, for unit tests of its life (src/node/): a supervisor that
// runs readiness probes and stop triggers in the real one's order but spawns nothing, a Consul
// agent whose stages hold or wait on flags, an Envoy admin, and signals. Every call the node
// makes is written to `events`, in order, so a test can read a stop as the sequence it was.
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import {
  ConsulError,
  type BlockingOptions,
  type ConsulApi,
  type HealthCheck,
  type HealthEntry,
  type Intention,
} from '../../src/consul/index.ts';
import type {
  DrainScope,
  EnvoyCertificate,
  EnvoyCluster,
  RejectedListener,
} from '../../src/envoy/index.ts';
import type { MeshEnvoy } from '../../src/inspect/index.ts';
import { createLogger, type Logger } from '../../src/log.ts';
import type {
  NodeDeps,
  NodeSupervisor,
  ProxyAdmin,
  SupervisedProgram,
} from '../../src/node/index.ts';
import { parseSpec, type NodeSpec } from '../../src/spec/index.ts';
import type { ProgramSnapshot, ProgramSpec, ProgramState } from '../../src/supervise/index.ts';
import { freePort } from './loopback.ts';

const POLL_MS = 2;

class FakeProgram extends EventEmitter implements SupervisedProgram {
  state: ProgramState = 'stopped';
  spawns = 0;
  constructor(readonly spec: ProgramSpec) {
    super();
  }
}

/** The supervisor's contract without processes: spawn events, readiness, ordered stop triggers. */
export class FakeSupervisor extends EventEmitter implements NodeSupervisor {
  readonly programs = new Map<string, FakeProgram>();
  /** The deadline each supervisor stop was given. */
  readonly stops: number[] = [];

  constructor(private readonly events: string[]) {
    super();
  }

  add(spec: ProgramSpec): FakeProgram {
    const program = new FakeProgram(spec);
    this.programs.set(spec.name, program);
    this.events.push(`add ${spec.name}`);
    return program;
  }

  get(name: string): FakeProgram | undefined {
    return this.programs.get(name);
  }

  async start(names = [...this.programs.keys()], signal?: AbortSignal): Promise<void> {
    await Promise.all(names.map((name) => this.bringUp(this.program(name), signal)));
  }

  /** The program dies and is spawned again (a kill -9 of consul, say). */
  respawn(name: string): void {
    const program = this.program(name);
    this.events.push(`respawn ${name}`);
    void this.bringUp(program, undefined, true).catch(() => {});
  }

  async remove(name: string, graceMs?: number): Promise<void> {
    this.events.push(`remove ${name} grace=${graceMs}`);
    await this.stopProgram(this.program(name));
    this.programs.delete(name);
  }

  async stop({ deadlineMs }: { deadlineMs: number }): Promise<void> {
    this.stops.push(deadlineMs);
    const consul = this.programs.get('consul');
    const proxies = [...this.programs.values()].filter((p) => p !== consul);
    // Dependents first: consul stops once every proxy released it (or ended).
    const released = proxies.map((p) => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      return { ended: this.stopProgram(p, release).finally(release), gate };
    });
    await Promise.all(released.map((r) => r.gate));
    if (consul) await this.stopProgram(consul);
    await Promise.all(released.map((r) => r.ended));
  }

  async kill(): Promise<void> {
    this.events.push('kill');
    for (const p of this.programs.values()) p.state = 'stopped';
  }

  snapshot(): ProgramSnapshot[] {
    return [...this.programs.values()].map((p) => ({
      name: p.spec.name,
      state: p.state,
      pid: p.state === 'stopped' ? null : 1000 + p.spawns,
      restarts: Math.max(0, p.spawns - 1),
      ready: p.state === 'ready',
      lastExit: null,
      recentExits: [],
      droppedLogLines: 0,
      fatalReason: null,
      notReadyReason: null,
    }));
  }

  /** A program fails for good, as a crash loop would. */
  failForGood(name: string, reason: string): void {
    this.program(name).state = 'fatal';
    this.emit('fatal', name, reason);
  }

  private program(name: string): FakeProgram {
    const program = this.programs.get(name);
    if (!program) throw new Error(`fake supervisor: no program ${name}`);
    return program;
  }

  private async bringUp(program: FakeProgram, signal?: AbortSignal, again = false): Promise<void> {
    if (!again && (program.state === 'ready' || program.state === 'running')) return;
    program.spawns++;
    program.state = 'running';
    program.emit('spawn');
    const spawn = program.spawns;
    const probe = program.spec.readiness?.probe;
    while (probe && !(await probe(signal ?? new AbortController().signal))) {
      if (signal?.aborted) throw signal.reason;
      if (program.spawns !== spawn || program.state !== 'running') return;
      await sleep(POLL_MS);
    }
    if (program.spawns === spawn && program.state === 'running') program.state = 'ready';
  }

  private async stopProgram(program: FakeProgram, release: () => void = () => {}): Promise<void> {
    const { name, stopTrigger, stopSignal, stopGraceMs } = program.spec;
    if (program.state === 'stopped' || program.state === 'fatal') return;
    program.state = 'stopping';
    this.events.push(`stop ${name} grace=${stopGraceMs}`);
    const then = stopTrigger ? await stopTrigger(release).catch(() => 'signal' as const) : 'signal';
    if (then === 'signal') this.events.push(`signal ${name} ${stopSignal ?? 'SIGTERM'}`);
    program.state = 'stopped';
  }
}

/** What the fake agent answers: each flag is one readiness stage's condition. */
export interface AgentConditions {
  httpUp: boolean;
  leader: string;
  /** Service IDs the agent holds, and the ones the catalog shows for this node. */
  registered: string[];
  synced: string[];
  /** false: config entry writes answer 500 (the servers busy) until it turns true. */
  entriesAccepted: boolean;
  /** Set: writing an entry answers 400 with this message (Consul rejects it). */
  entryRejection: string | null;
}

export class FakeConsul implements ConsulApi {
  readonly httpAddr = '127.0.0.1:8500';
  readonly entries = new Map<string, Record<string, unknown>>();

  constructor(
    readonly conditions: AgentConditions,
    private readonly events: string[],
  ) {}

  async answers(): Promise<boolean> {
    return this.conditions.httpUp;
  }

  async self() {
    this.up();
    return { Config: { NodeName: 'node-1', Datacenter: 'dc1', Version: '1.10.12' } };
  }

  async leader(): Promise<string> {
    this.up();
    return this.conditions.leader;
  }

  async members() {
    this.up();
    return [{ Name: 'node-1', Addr: '127.0.0.1', Status: 1 }];
  }

  async services() {
    this.up();
    return Object.fromEntries(
      this.conditions.registered.map((id) => [id, { ID: id, Service: id, Port: 21000 }]),
    );
  }

  async catalogNode(): Promise<{ serviceIds: string[] } | null> {
    this.up();
    return this.conditions.synced.length > 0 ? { serviceIds: this.conditions.synced } : null;
  }

  async maintenance(serviceId: string, enable: boolean): Promise<void> {
    this.up();
    this.events.push(`maintenance ${serviceId} ${enable}`);
  }

  async deregister(serviceId: string): Promise<void> {
    this.up();
    this.events.push(`deregister ${serviceId}`);
  }

  async readConfigEntry(kind: string, name: string) {
    this.up();
    const entry = this.entries.get(`${kind}/${name}`);
    return entry ? { Kind: kind, Name: name, ...entry, ModifyIndex: 1 } : null;
  }

  async writeConfigEntry(entry: Record<string, unknown>): Promise<boolean> {
    if (this.conditions.entryRejection) {
      throw new ConsulError(this.conditions.entryRejection, 400, false);
    }
    if (!this.conditions.entriesAccepted) throw new ConsulError('fake: no leader', 500, true);
    this.events.push(`write ${String(entry.Kind)}/${String(entry.Name)}`);
    this.entries.set(`${String(entry.Kind)}/${String(entry.Name)}`, entry);
    return true;
  }

  async reload(): Promise<void> {
    this.events.push('consul reload');
  }

  /** What the mesh view reads: set them, then `meshChanged()` answers the blocking queries. */
  readonly mesh = {
    checks: {} as Record<string, HealthCheck>,
    health: new Map<string, HealthEntry[]>(),
    intentions: new Map<string, Intention[]>(),
    defaultPolicy: 'allow',
    index: 1,
  };
  private readonly meshChange = new EventEmitter();

  meshChanged(): void {
    this.mesh.index += 1;
    this.meshChange.emit('change');
  }

  async agentChecks(): Promise<Record<string, HealthCheck>> {
    this.up();
    return { ...this.mesh.checks };
  }

  async healthConnect(service: string, _dc: string, options: BlockingOptions) {
    await this.block(options);
    return this.indexed(this.mesh.health.get(service) ?? []);
  }

  async intentionsTo(service: string, options: BlockingOptions) {
    await this.block(options);
    return this.indexed(this.mesh.intentions.get(service) ?? []);
  }

  /** A blocking query: at once for index 0 or a newer index, else until meshChanged or abort. */
  private async block({ index, signal }: BlockingOptions): Promise<void> {
    this.up();
    if (index === 0 || index < this.mesh.index) return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        signal?.removeEventListener('abort', aborted);
        resolve();
      };
      const aborted = () => {
        this.meshChange.off('change', done);
        reject(new Error('aborted'));
      };
      this.meshChange.once('change', done);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }

  private indexed<T>(value: T) {
    const headers = new Map([['x-consul-default-acl-policy', this.mesh.defaultPolicy]]);
    return { value, index: this.mesh.index, headers };
  }

  async leave(): Promise<void> {
    this.up();
    this.events.push('leave');
  }

  private up(): void {
    if (!this.conditions.httpUp) throw new ConsulError('connection refused', null, true);
  }
}

export class FakeEnvoyAdmin implements ProxyAdmin, MeshEnvoy {
  constructor(
    private readonly address: string,
    private readonly world: { envoyLive: boolean; events: string[] },
  ) {}

  async isServing(): Promise<boolean> {
    return this.world.envoyLive;
  }

  /** `drain <admin>` / `close <admin>` (graceful or not), `(all)` after it for a gateway's. */
  async drain(scope: DrainScope, { graceful }: { graceful: boolean }): Promise<void> {
    const all = scope === 'all' ? ' (all)' : '';
    this.world.events.push(`${graceful ? 'drain' : 'close'} ${this.address}${all}`);
  }

  async quit(): Promise<void> {
    this.world.events.push(`quit ${this.address}`);
  }

  async readyState(): Promise<string> {
    return this.world.envoyLive ? 'LIVE' : 'PRE_INITIALIZING';
  }

  async listenerNames(): Promise<string[]> {
    return this.world.envoyLive ? ['public_listener:127.0.0.1:21000'] : [];
  }

  async rejectedListeners(): Promise<RejectedListener[]> {
    return [];
  }

  async clusters(): Promise<EnvoyCluster[]> {
    return [];
  }

  async certificates(): Promise<EnvoyCertificate[]> {
    return [];
  }

  async stats(): Promise<Map<string, number>> {
    return new Map();
  }
}

/** A node's whole outside world, and the spec it runs (in a temporary directory). */
export class FakeWorld {
  readonly events: string[] = [];
  readonly conditions: AgentConditions = {
    httpUp: true,
    leader: '127.0.0.1:8300',
    registered: [],
    synced: [],
    entriesAccepted: true,
    entryRejection: null,
  };
  envoyLive = true;
  consulFound = true;
  /** What `envoy --version` says. */
  envoyVersion: string | null = '1.36.4';
  readonly signals = new EventEmitter();
  readonly supervisor = new FakeSupervisor(this.events);
  readonly consul = new FakeConsul(this.conditions, this.events);
  readonly dir = mkdtempSync(join(tmpdir(), 'meshvisor-node-'));
  readonly log: string[] = [];
  readonly logger: Logger = createLogger({
    level: 'debug',
    destination: new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        this.log.push(...chunk.toString().trim().split('\n'));
        done();
      },
    }),
  });

  readonly deps: NodeDeps = {
    supervisor: () => this.supervisor,
    consulClient: () => this.consul,
    envoyAdmin: (address) => new FakeEnvoyAdmin(address, this),
    envoyReader: (address) => new FakeEnvoyAdmin(address, this),
    answeringJoins: async () => [],
    acceptsTcp: async () => this.envoyLive,
    findExecutable: (name) => (name === 'consul' && !this.consulFound ? null : `/fake/bin/${name}`),
    envoyVersion: async () => this.envoyVersion,
    countZombies: () => 0,
    signals: this.signals as unknown as NodeDeps['signals'],
  };

  /** A server node with one service and its sidecar, on a free status port. */
  async spec(overrides: Record<string, unknown> = {}): Promise<NodeSpec> {
    const statusPort = await freePort();
    return parseSpec({
      datacenter: 'dc1',
      role: 'server',
      nodeName: 'node-1',
      address: { ip: '127.0.0.1' },
      consul: {
        dataDir: join(this.dir, 'data'),
        configDir: join(this.dir, 'consul.d'),
        server: { bootstrapExpect: 1 },
      },
      services: [
        { name: 'web', id: 'web-1', port: 8080, protocol: 'http', sidecar: { upstreams: [] } },
      ],
      status: { listen: `127.0.0.1:${statusPort}` },
      timeouts: { readySeconds: 30, stopSeconds: 10, drainSeconds: 0, propagationSeconds: 0 },
      ...overrides,
    });
  }

  /** Every stage's condition holds for `serviceIds`. */
  allUp(serviceIds = ['web-1', 'web-1-sidecar-proxy']): void {
    Object.assign(this.conditions, {
      httpUp: true,
      leader: '127.0.0.1:8300',
      registered: serviceIds,
      synced: serviceIds,
      entriesAccepted: true,
    });
    this.envoyLive = true;
  }

  cleanUp(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
