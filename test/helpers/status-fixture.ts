// Fabricated NodeStatus documents for the status server, the metrics and `meshvisor status`:
// one ready client node by default (its mesh and events empty), builders for the stages and
// programs a test varies, and a busy mesh and a timeline for the tests that show them.
import type {
  MeshView,
  NodeEvent,
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

/**
 * A node's mesh with something to show in every part (nodeStatus's default is empty): users-1
 * passing, its sidecar's alias check critical with a long multi-line output; users -> todos
 * serving, users -> notifications not (no healthy instance, intentions deny); the users
 * sidecar's Envoy with rejected listener updates, a leaf 2 h from expiry and a root with a
 * warning; the ingress gateway's Envoy not answering. Read 1.5 s ago, with one read that failed.
 */
export function busyMesh(): MeshView {
  return {
    ageSeconds: 1.5,
    errors: ['envoy gateway:ingress-service: connect ECONNREFUSED 127.0.0.1:19001'],
    services: [
      {
        id: 'users-1',
        name: 'users',
        checks: [
          {
            id: 'service:users-1',
            name: "Service 'users' check",
            status: 'passing',
            output: 'HTTP GET http://127.0.0.1:8080/health: 200 OK Output: ok',
            since: '2026-01-01T00:00:05.000Z',
          },
        ],
      },
      {
        id: 'users-1-sidecar-proxy',
        name: 'users-sidecar-proxy',
        checks: [
          {
            id: 'service:users-1-sidecar-proxy:1',
            name: 'Connect Sidecar Listening',
            status: 'passing',
            output: 'TCP connect 127.0.0.1:21000: Success',
            since: '2026-01-01T00:00:06.000Z',
          },
          {
            id: 'service:users-1-sidecar-proxy:2',
            name: 'Connect Sidecar Aliasing users-1',
            status: 'critical',
            output: `No checks found.\n${'x'.repeat(300)}`,
            since: '2026-01-01T00:00:07.000Z',
          },
        ],
      },
    ],
    proxies: [
      {
        name: 'sidecar:users-1',
        state: 'LIVE',
        listeners: ['public_listener', 'todos', 'notifications'],
        rejectedUpdates: { lds: 2, cds: 0 },
        lastRejection: 'public_listener: cannot bind 0.0.0.0:21000',
        certificates: [
          {
            kind: 'leaf',
            serial: '3a:7f:01',
            expiresAt: '2026-01-01T02:00:00.000Z',
            secondsLeft: 7200,
            warning: null,
          },
          {
            kind: 'root',
            serial: '0c',
            expiresAt: '2026-01-11T00:00:00.000Z',
            secondsLeft: 864000,
            warning: 'CA root expires in 10 days',
          },
        ],
        connectFailures: 3,
        checkedAt: '2026-01-01T00:00:10.000Z',
        error: null,
      },
      {
        name: 'gateway:ingress-service',
        state: null,
        listeners: [],
        rejectedUpdates: {},
        lastRejection: null,
        certificates: [],
        connectFailures: 0,
        checkedAt: null,
        error: 'connect ECONNREFUSED 127.0.0.1:19001',
      },
    ],
    upstreams: [
      {
        source: 'users',
        service: 'todos',
        datacenter: 'our_dc',
        localPort: 1234,
        healthy: 1,
        total: 1,
        allowed: true,
        intention: 'users -> todos: allow',
        envoyEndpoints: { healthy: 1, total: 1 },
        reason: null,
        checkedAt: '2026-01-01T00:00:10.000Z',
      },
      {
        source: 'users',
        service: 'notifications',
        datacenter: 'our_dc',
        localPort: 1235,
        healthy: 0,
        total: 2,
        allowed: false,
        intention: 'default: deny',
        envoyEndpoints: null,
        reason:
          "no healthy instance: notifications-1 check 'Service 'notifications' check' critical: connection refused (and 1 more)",
        checkedAt: '2026-01-01T00:00:10.000Z',
      },
      {
        source: 'ingress-service',
        service: 'todos',
        datacenter: 'our_dc',
        localPort: 8080,
        healthy: 1,
        total: 1,
        allowed: null,
        intention: null,
        envoyEndpoints: null,
        reason: null,
        checkedAt: null,
      },
    ],
  };
}

/** `count` events one second apart from 2026-01-01T00:00:00Z, `event 1` to `event <count>`. */
export function events(count: number): NodeEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    message: `event ${i + 1}`,
  }));
}
