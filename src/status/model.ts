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
  /** The mesh as this node sees it: its services' checks, its proxies, its upstreams. */
  mesh: MeshView;
  /** What happened to the node, oldest first; bounded (the newest are kept). */
  events: NodeEvent[];
  /** Requests meshvisor sent since it started, by peer (consul, envoy): what the node costs them. */
  requestsSent: Record<string, number>;
}

export interface NodeEvent {
  at: string;
  message: string;
}

export type CheckStatus = 'passing' | 'warning' | 'critical';

export interface MeshCheck {
  id: string;
  name: string;
  status: CheckStatus;
  /** The check's last output, trimmed and with secrets redacted. */
  output: string;
  /** When this node first saw the check in its current status. */
  since: string;
}

/** A service of the node (each sidecar and gateway too) with its checks as the local agent has them. */
export interface MeshService {
  id: string;
  name: string;
  checks: MeshCheck[];
}

export interface MeshCertificate {
  /** leaf: the proxy's own certificate; root: a CA root it trusts. */
  kind: 'leaf' | 'root';
  serial: string;
  expiresAt: string;
  secondsLeft: number;
  /** Set when the certificate is close to expiring without having been rotated. */
  warning: string | null;
}

/** An Envoy of the node, as its admin API answers. */
export interface MeshProxy {
  /** The program: sidecar:<service-id> or gateway:<name>. */
  name: string;
  /** Envoy's /ready answer (LIVE, PRE_INITIALIZING, DRAINING...), or null when it did not answer. */
  state: string | null;
  listeners: string[];
  /** Rejected xDS updates by resource type (lds, cds, ...), as Envoy counts them. */
  rejectedUpdates: Record<string, number>;
  /** The listener update Envoy rejected last, with its reason. */
  lastRejection: string | null;
  certificates: MeshCertificate[];
  /** Upstream connections that failed to connect, summed over its clusters. */
  connectFailures: number;
  /** When its admin API last answered; null before it did. */
  checkedAt: string | null;
  /** Why the last read failed (the view keeps the one before). */
  error: string | null;
}

/** A destination the node's proxies call: a sidecar's upstream or a service behind a gateway listener. */
export interface MeshUpstream {
  /** The service or gateway that calls it. */
  source: string;
  service: string;
  datacenter: string;
  /** Where the caller reaches it: the upstream's port on 127.0.0.1, or the gateway listener's. */
  localPort: number;
  /** Connect-capable instances Consul's health API says are healthy, and all of them. */
  healthy: number;
  total: number;
  /** Whether intentions allow source -> service; null while unknown. */
  allowed: boolean | null;
  /** The intention that decides (`users -> todos: deny`), or the default that does. */
  intention: string | null;
  /** The Envoy cluster's endpoints (Envoy mode), once its admin API answered. */
  envoyEndpoints: { healthy: number; total: number } | null;
  /** Why it cannot serve; null when nothing the node can see stops it. */
  reason: string | null;
  /** When Consul's health answer was last read; null before one. */
  checkedAt: string | null;
}

export interface MeshView {
  /** Seconds since the oldest part of the view was read (null before any read). */
  ageSeconds: number | null;
  /** What could not be read at the last try, one line each (the view keeps the older answers). */
  errors: string[];
  services: MeshService[];
  proxies: MeshProxy[];
  upstreams: MeshUpstream[];
}
