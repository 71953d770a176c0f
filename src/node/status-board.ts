// What the node knows about itself, gathered in one place so the status endpoint can read it
// at any moment: stages with timings, config entries, and the supervisor's programs. It holds
// no secret: only names, states, timings and Consul's public answers.
import type {
  ConfigEntryStatus,
  MeshView,
  NodeEvent,
  NodeStatus,
  ProgramKind,
  ProgramStatus,
  ReloadStatus,
  StageStatus,
} from '../status/model.ts';
import type { ProgramSnapshot } from '../supervise/index.ts';
import { requestsSent } from '../net/index.ts';
import { VERSION } from '../version.ts';

export interface NodeIdentity {
  node: string;
  role: 'server' | 'client';
  datacenter: string;
}

/** The timeline keeps this many events, the newest. */
export const EVENTS_KEPT = 100;

const NO_MESH_VIEW: MeshView = {
  ageSeconds: null,
  errors: [],
  services: [],
  proxies: [],
  upstreams: [],
};

export class NodeStatusBoard {
  private readonly startedAt = Date.now();
  private readonly stages = new Map<string, StageStatus>();
  private readonly entries = new Map<string, ConfigEntryStatus>();
  private address: string | null = null;
  private phase = 'starting';
  private stopping = false;
  private consul: NodeStatus['consul'] = { leader: null, members: null };
  private degraded: NodeStatus['degraded'] = null;
  private spec: NodeStatus['spec'] = { generation: 1, hash: null };
  private lastReload: ReloadStatus | null = null;
  /** Set while a reload applies: the node's programs and registrations are in flux. */
  private reloading: string | null = null;
  private readonly events: NodeEvent[] = [];
  /** The mesh view once the node has one (src/inspect); `fresh` asks it to read again soon. */
  private meshView: ((fresh: boolean) => MeshView) | null = null;
  /** Each program's last state, to tell its exits and restarts in the timeline. */
  private readonly programStates = new Map<string, string>();

  constructor(
    private readonly identity: NodeIdentity,
    private readonly programs: () => ProgramSnapshot[],
    private readonly zombies: () => number,
  ) {}

  /** A line in the node's timeline (names and states only: never a secret). */
  event(message: string): void {
    this.events.push({ at: new Date().toISOString(), message });
    if (this.events.length > EVENTS_KEPT) this.events.splice(0, this.events.length - EVENTS_KEPT);
  }

  setMeshView(view: (fresh: boolean) => MeshView): void {
    this.meshView = view;
  }

  /** A program changed state: its exits, restarts and readiness go into the timeline. */
  programChanged(snapshot: ProgramSnapshot): void {
    const before = this.programStates.get(snapshot.name);
    this.programStates.set(snapshot.name, snapshot.state);
    if (before === snapshot.state) return;
    const exit = snapshot.lastExit;
    const how = exit ? (exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`) : '';
    if (snapshot.state === 'ready') this.event(`${snapshot.name} ready`);
    else if (snapshot.state === 'backoff')
      this.event(`${snapshot.name} exited (${how}); restarting`);
    else if (snapshot.state === 'fatal') this.event(`${snapshot.name} failed for good (${how})`);
    else if (snapshot.state === 'exited') this.event(`${snapshot.name} exited (${how})`);
  }

  setAddress(address: string): void {
    this.address = address;
  }

  setConsulView(view: NodeStatus['consul']): void {
    this.consul = view;
  }

  setSpec(hash: string, generation: number): void {
    this.spec = { generation, hash };
  }

  reloadStarted(what: string): void {
    this.reloading = what;
  }

  reloadFinished(status: ReloadStatus): void {
    this.reloading = null;
    this.lastReload = status;
    const detail = status.result === 'applied' ? status.changes : status.problems;
    this.event(`reload ${status.result}${detail.length ? `: ${detail.join('; ')}` : ''}`);
  }

  isDegraded(): boolean {
    return this.degraded !== null;
  }

  /** The cluster is lost (reason) or back (null); `since` stays from the first sign of trouble. */
  setDegraded(reason: string | null): void {
    if (reason === null) {
      if (this.degraded) this.event('recovered: the cluster is back');
      this.degraded = null;
    } else {
      if (!this.degraded) this.event(`degraded: ${reason}`);
      this.degraded = { since: this.degraded?.since ?? new Date().toISOString(), reason };
    }
  }

  stageStarted(name: string): void {
    if (name === 'stop') this.event('stop started');
    this.phase = name;
    this.stages.set(name, {
      name,
      state: 'running',
      startedAt: new Date().toISOString(),
      finishedAt: null,
      durationSeconds: null,
      error: null,
    });
  }

  /** The last retryable error of a running stage: what it is waiting on. */
  stageWaiting(name: string, error: string): void {
    const stage = this.stages.get(name);
    if (stage) stage.error = error;
  }

  stageFinished(name: string, error?: string): StageStatus | undefined {
    const stage = this.stages.get(name);
    if (!stage) return undefined;
    const now = new Date();
    stage.finishedAt = now.toISOString();
    stage.durationSeconds = seconds(
      now.getTime() - Date.parse(stage.startedAt ?? now.toISOString()),
    );
    stage.state = error === undefined ? 'done' : 'failed';
    stage.error = error ?? null;
    this.event(
      error === undefined
        ? `stage ${name} done in ${stage.durationSeconds} s`
        : `stage ${name} failed: ${error}`,
    );
    return stage;
  }

  /** Consul restarted: its stages must be passed again before the node is ready. */
  resetStages(names: readonly string[]): void {
    for (const name of names) this.stages.delete(name);
  }

  entryPending(kind: string, name: string): void {
    this.entries.set(`${kind}/${name}`, { kind, name, state: 'pending', error: null });
  }

  entryResult(kind: string, name: string, state: ConfigEntryStatus['state'], error?: string): void {
    this.entries.set(`${kind}/${name}`, { kind, name, state, error: error ?? null });
  }

  setPhase(phase: string): void {
    this.phase = phase;
    if (phase === 'stopping' || phase === 'stopped') this.stopping = true;
  }

  /**
   * Ready: every stage of the bring-up done, every program ready, and not stopping. `fresh`
   * (a reader of /status, /metrics, the page; not /readyz) asks the mesh view to read again soon.
   */
  snapshot(requiredStages: readonly string[], { fresh = false } = {}): NodeStatus {
    const programs = this.programs().map(toProgramStatus);
    const reason = this.notReadyReason(requiredStages, programs);
    return {
      version: VERSION,
      ...this.identity,
      address: this.address,
      stage: reason === null ? 'ready' : this.phase,
      ready: reason === null,
      reason,
      uptimeSeconds: seconds(Date.now() - this.startedAt),
      stages: [...this.stages.values()].map((s) =>
        s.state === 'running' && s.startedAt
          ? { ...s, durationSeconds: seconds(Date.now() - Date.parse(s.startedAt)) }
          : { ...s },
      ),
      programs,
      consul: { ...this.consul },
      degraded: this.degraded && { ...this.degraded },
      spec: { ...this.spec },
      reload: this.lastReload && { ...this.lastReload },
      configEntries: [...this.entries.values()].map((e) => ({ ...e })),
      zombies: this.zombies(),
      mesh: this.meshView?.(fresh) ?? NO_MESH_VIEW,
      events: this.events.map((e) => ({ ...e })),
      requestsSent: requestsSent(),
    };
  }

  private notReadyReason(
    requiredStages: readonly string[],
    programs: ProgramStatus[],
  ): string | null {
    if (this.stopping) return 'the node is stopping';
    if (this.reloading) return `reloading: ${this.reloading}`;
    const pending = requiredStages.find((name) => this.stages.get(name)?.state !== 'done');
    if (pending !== undefined) {
      const stage = this.stages.get(pending);
      return stage?.error ? `stage ${pending}: ${stage.error}` : `stage ${pending} not done`;
    }
    const notReady = programs.find((p) => !p.ready);
    if (!notReady) return null;
    const why = notReady.notReadyReason ? `: ${notReady.notReadyReason}` : '';
    return `program ${notReady.name} is ${notReady.state}${why}`;
  }
}

function toProgramStatus(snapshot: ProgramSnapshot): ProgramStatus {
  return {
    name: snapshot.name,
    kind: programKind(snapshot.name),
    state: snapshot.state,
    pid: snapshot.pid,
    restarts: snapshot.restarts,
    ready: snapshot.ready,
    lastExit: snapshot.lastExit && {
      code: snapshot.lastExit.code,
      signal: snapshot.lastExit.signal,
      at: snapshot.lastExit.at.toISOString(),
    },
    droppedLogLines: snapshot.droppedLogLines,
    notReadyReason: snapshot.notReadyReason,
  };
}

/** Program names encode their kind: consul, sidecar:<id>, gateway:<name>. */
function programKind(name: string): ProgramKind {
  if (name.startsWith('sidecar:')) return 'sidecar';
  if (name.startsWith('gateway:')) return 'gateway';
  return 'consul';
}

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}
