// Fabricated NodeStatus documents for the status server, the metrics and `meshvisor status`:
// one ready client node by default, and builders for the stages and programs a test varies.
import type {
  NodeStatus,
  ProgramKind,
  ProgramStatus,
  StageState,
  StageStatus,
} from '../../src/status/model.ts';

/** A stage in `state`; timings and error are null unless `extra` gives them. */
export function stage(
  name: string,
  state: StageState,
  extra: Partial<Omit<StageStatus, 'name' | 'state'>> = {},
): StageStatus {
  return {
    name,
    state,
    startedAt: null,
    finishedAt: null,
    durationSeconds: null,
    error: null,
    ...extra,
  };
}

/**
 * A ready program with no pid, restarts, exit or dropped lines unless `extra` gives them; its kind
 * is read from the name (consul, sidecar:<id>, gateway:<name>).
 */
export function program(
  name: string,
  extra: Partial<Omit<ProgramStatus, 'name'>> = {},
): ProgramStatus {
  return {
    name,
    kind: kindOf(name),
    state: 'ready',
    pid: null,
    restarts: 0,
    ready: true,
    lastExit: null,
    droppedLogLines: 0,
    notReadyReason: null,
    ...extra,
  };
}

function kindOf(name: string): ProgramKind {
  if (name.startsWith('sidecar:')) return 'sidecar';
  if (name.startsWith('gateway:')) return 'gateway';
  return 'consul';
}

/**
 * A ready client node c1-node (our_dc, 10.0.0.5): http-up done, consul ready as pid 42, the
 * service-defaults of users written; `overrides` replace whole fields.
 */
export function nodeStatus(overrides: Partial<NodeStatus> = {}): NodeStatus {
  return {
    version: '0.1.0',
    node: 'c1-node',
    role: 'client',
    datacenter: 'our_dc',
    address: '10.0.0.5',
    stage: 'ready',
    ready: true,
    reason: null,
    uptimeSeconds: 12.5,
    stages: [
      stage('http-up', 'done', {
        startedAt: '2026-01-01T00:00:00.000Z',
        finishedAt: '2026-01-01T00:00:00.120Z',
        durationSeconds: 0.12,
      }),
    ],
    programs: [program('consul', { pid: 42 })],
    consul: { leader: '10.0.1.10:8300', members: 3 },
    degraded: null,
    spec: { generation: 1, hash: '0123456789ab' },
    reload: null,
    configEntries: [{ kind: 'service-defaults', name: 'users', state: 'written', error: null }],
    zombies: 0,
    mesh: { ageSeconds: null, errors: [], services: [], proxies: [], upstreams: [] },
    events: [],
    requestsSent: {},
    ...overrides,
  };
}
