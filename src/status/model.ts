// The shape of a node's status: what `GET /status` serves and `meshvisor status` reads.
// src/node/status-board.ts builds it from the supervisor's program snapshots and the readiness
// stages; it never carries a secret (no tokens, no gossip key, no environment).

export type StageState = 'pending' | 'running' | 'done' | 'failed';

export interface StageStatus {
  /** http-up, leader-known, node-synced, services-registered, config-entries, proxies-ready, stop */
  name: string;
  state: StageState;
  startedAt: string | null;
  finishedAt: string | null;
  /** Seconds from start to finish (or to now while running). */
  durationSeconds: number | null;
  /** The last error seen while the stage was polling (it may still heal), or why it failed. */
  error: string | null;
}

export type ProgramKind = 'consul' | 'sidecar' | 'gateway';

export interface ExitRecord {
  code: number | null;
  signal: string | null;
  at: string;
}

export interface ProgramStatus {
  /** consul, sidecar:<service-id>, gateway:<name> */
  name: string;
  kind: ProgramKind;
  state: string;
  pid: number | null;
  restarts: number;
  ready: boolean;
  lastExit: ExitRecord | null;
  /** Log lines dropped because stdout could not keep up. */
  droppedLogLines: number;
  /** Why its readiness check last said no, while not ready (e.g. a listener Envoy rejected). */
  notReadyReason: string | null;
}

export interface ConfigEntryStatus {
  kind: string;
  name: string;
  /** pending: not written yet; written: we wrote it; unchanged: Consul already had it; failed */
  state: 'pending' | 'written' | 'unchanged' | 'failed';
  error: string | null;
}

/** How a reload (SIGHUP, `meshvisor reload`) ended. */
export type ReloadResult = 'applied' | 'unchanged' | 'invalid' | 'refused' | 'failed';

export interface ReloadStatus {
  at: string;
  result: ReloadResult;
  /** What was wrong (invalid: the spec's problems; refused: fields that need a restart). */
  problems: string[];
  /** What changed, one line each (applied). */
  changes: string[];
}

export interface NodeStatus {
  version: string;
  node: string;
  role: 'server' | 'client';
  datacenter: string;
  address: string | null;
  /** The stage in progress, 'ready' once all are done, 'stopping'/'stopped' at the end. */
  stage: string;
  ready: boolean;
  /** Why the node is not ready; null when it is. */
  reason: string | null;
  uptimeSeconds: number;
  stages: StageStatus[];
  programs: ProgramStatus[];
  consul: { leader: string | null; members: number | null };
  /**
   * Set while a node that was ready has lost its cluster (no leader known: servers down or
   * unreachable). Its proxies keep serving what they have, so readiness stays (an orchestrator
   * would otherwise replace every healthy task at once); this says what is wrong and since when.
   */
  degraded: { since: string; reason: string } | null;
  /** Which spec the node runs: each applied reload adds one to the generation. */
  spec: { generation: number; hash: string | null };
  /** The last reload, until the next one; null before any. */
  reload: ReloadStatus | null;
  configEntries: ConfigEntryStatus[];
  /** Zombie children of meshvisor (non-zero only when it runs as PID 1 without an init). */
  zombies: number;
}
