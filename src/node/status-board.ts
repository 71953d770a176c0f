// What the node knows about itself, gathered in one place so the status endpoint can read it
// at any moment: stages with timings, config entries, and the supervisor's programs. It holds
// no secret: only names, states, timings and Consul's public answers.
import type {
  ConfigEntryStatus,
  NodeStatus,
  ProgramKind,
  ProgramStatus,
  ReloadStatus,
  StageStatus,
} from '../status/model.ts';
import type { ProgramSnapshot } from '../supervise/index.ts';
import { VERSION } from '../version.ts';

export interface NodeIdentity {
  node: string;
  role: 'server' | 'client';
  datacenter: string;
}

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

  constructor(
    private readonly identity: NodeIdentity,
    private readonly programs: () => ProgramSnapshot[],
    private readonly zombies: () => number,
  ) {}

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
  }

  isDegraded(): boolean {
    return this.degraded !== null;
  }

  /** The cluster is lost (reason) or back (null); `since` stays from the first sign of trouble. */
  setDegraded(reason: string | null): void {
    if (reason === null) this.degraded = null;
    else this.degraded = { since: this.degraded?.since ?? new Date().toISOString(), reason };
  }

  stageStarted(name: string): void {
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

  /** Ready: every stage of the bring-up done, every program ready, and not stopping. */
  snapshot(requiredStages: readonly string[]): NodeStatus {
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
