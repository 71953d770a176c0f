import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderMetrics } from '../../src/status/metrics.ts';
import type { NodeStatus } from '../../src/status/model.ts';
import { busyMesh, nodeStatus, program, stage } from '../helpers/status-fixture.ts';

/** No stages, programs or config entries: nothing that would label a sample. */
const empty = {
  stages: [],
  programs: [],
  configEntries: [],
  spec: { generation: 1, hash: null },
} satisfies Partial<NodeStatus>;

test('renders every family with HELP and TYPE, samples in status order, exactly', () => {
  // Every value the text below shows is given here (a program's kind follows from its name).
  const status = nodeStatus({
    uptimeSeconds: 93.25,
    stages: [
      stage('http-up', 'done', {
        startedAt: '2026-01-01T00:00:00.000Z',
        finishedAt: '2026-01-01T00:00:00.120Z',
        durationSeconds: 0.12,
      }),
      stage('leader-known', 'running', {
        startedAt: '2026-01-01T00:00:00.120Z',
        durationSeconds: 8.5,
        error: 'No known Consul servers',
      }),
      stage('node-synced', 'pending', { durationSeconds: null }),
    ],
    programs: [
      program('consul', { state: 'ready', pid: 42, restarts: 0, ready: true, droppedLogLines: 0 }),
      program('sidecar:users-1', {
        state: 'running',
        pid: 43,
        restarts: 2,
        ready: false,
        lastExit: { code: 1, signal: null, at: '2026-01-01T00:00:05.000Z' },
        droppedLogLines: 17,
      }),
      program('gateway:ingress-service', {
        state: 'backoff',
        pid: null,
        restarts: 5,
        ready: false,
        lastExit: { code: null, signal: 'SIGKILL', at: '2026-01-01T00:00:06.000Z' },
        droppedLogLines: 0,
      }),
    ],
    configEntries: [
      { kind: 'service-defaults', name: 'users', state: 'written', error: null },
      { kind: 'service-defaults', name: 'todos', state: 'unchanged', error: null },
      { kind: 'ingress-gateway', name: 'ingress-service', state: 'pending', error: null },
      { kind: 'service-intentions', name: 'todos', state: 'failed', error: '400 bad' },
    ],
    ready: false,
    stage: 'leader-known',
    reason: 'stage leader-known: No known Consul servers',
    zombies: 2,
    degraded: { since: '2026-01-01T00:00:01.000Z', reason: 'No known Consul servers' },
    spec: { generation: 2, hash: 'abcdef012345' },
    reload: {
      at: '2026-01-01T00:00:10.000Z',
      result: 'refused',
      problems: ['datacenter: cannot change while the node runs; restart to change it'],
      changes: [],
    },
    mesh: busyMesh(),
  });

  assert.equal(
    renderMetrics(status),
    `# HELP meshvisor_ready 1 when every stage is done and every program is running and ready, else 0.
# TYPE meshvisor_ready gauge
meshvisor_ready 0
# HELP meshvisor_degraded 1 while the node, ready before, knows no cluster leader (servers lost), else 0.
# TYPE meshvisor_degraded gauge
meshvisor_degraded 1
# HELP meshvisor_spec_generation Which spec the node runs: 1 at start, one more for each reload that applied.
# TYPE meshvisor_spec_generation gauge
meshvisor_spec_generation 2
# HELP meshvisor_spec_info Always 1; its hash label (12 hex digits) changes when the running spec does.
# TYPE meshvisor_spec_info gauge
meshvisor_spec_info{hash="abcdef012345"} 1
# HELP meshvisor_last_reload_success 1 when the last reload applied (or found nothing to change), 0 when it failed; absent before any.
# TYPE meshvisor_last_reload_success gauge
meshvisor_last_reload_success 0
# HELP meshvisor_last_reload_timestamp_seconds Unix time of the last reload; absent before any.
# TYPE meshvisor_last_reload_timestamp_seconds gauge
meshvisor_last_reload_timestamp_seconds 1767225610
# HELP meshvisor_uptime_seconds Seconds since meshvisor started.
# TYPE meshvisor_uptime_seconds gauge
meshvisor_uptime_seconds 93.25
# HELP meshvisor_stage_duration_seconds Seconds a readiness stage took (so far, while it runs).
# TYPE meshvisor_stage_duration_seconds gauge
meshvisor_stage_duration_seconds{stage="http-up"} 0.12
meshvisor_stage_duration_seconds{stage="leader-known"} 8.5
# HELP meshvisor_program_up 1 when the supervised program is running (or running and ready), else 0.
# TYPE meshvisor_program_up gauge
meshvisor_program_up{program="consul",kind="consul"} 1
meshvisor_program_up{program="sidecar:users-1",kind="sidecar"} 1
meshvisor_program_up{program="gateway:ingress-service",kind="gateway"} 0
# HELP meshvisor_program_ready 1 when the supervised program passes its readiness probe, else 0.
# TYPE meshvisor_program_ready gauge
meshvisor_program_ready{program="consul",kind="consul"} 1
meshvisor_program_ready{program="sidecar:users-1",kind="sidecar"} 0
meshvisor_program_ready{program="gateway:ingress-service",kind="gateway"} 0
# HELP meshvisor_program_restarts_total Times the supervisor restarted the program.
# TYPE meshvisor_program_restarts_total counter
meshvisor_program_restarts_total{program="consul",kind="consul"} 0
meshvisor_program_restarts_total{program="sidecar:users-1",kind="sidecar"} 2
meshvisor_program_restarts_total{program="gateway:ingress-service",kind="gateway"} 5
# HELP meshvisor_log_lines_dropped_total Lines of the program's output dropped because stdout could not keep up.
# TYPE meshvisor_log_lines_dropped_total counter
meshvisor_log_lines_dropped_total{program="consul"} 0
meshvisor_log_lines_dropped_total{program="sidecar:users-1"} 17
meshvisor_log_lines_dropped_total{program="gateway:ingress-service"} 0
# HELP meshvisor_config_entry_written 1 when Consul holds the config entry as the spec defines it (written or unchanged), else 0.
# TYPE meshvisor_config_entry_written gauge
meshvisor_config_entry_written{kind="service-defaults",name="users"} 1
meshvisor_config_entry_written{kind="service-defaults",name="todos"} 1
meshvisor_config_entry_written{kind="ingress-gateway",name="ingress-service"} 0
meshvisor_config_entry_written{kind="service-intentions",name="todos"} 0
# HELP meshvisor_zombie_children Exited children of meshvisor not yet reaped (non-zero only when PID 1 without an init).
# TYPE meshvisor_zombie_children gauge
meshvisor_zombie_children 2
# HELP meshvisor_upstream_healthy_instances Connect instances of the upstream Consul's health API says are healthy.
# TYPE meshvisor_upstream_healthy_instances gauge
meshvisor_upstream_healthy_instances{source="users",service="todos",datacenter="our_dc"} 1
meshvisor_upstream_healthy_instances{source="users",service="notifications",datacenter="our_dc"} 0
meshvisor_upstream_healthy_instances{source="ingress-service",service="todos",datacenter="our_dc"} 1
# HELP meshvisor_upstream_instances Connect instances of the upstream, healthy or not.
# TYPE meshvisor_upstream_instances gauge
meshvisor_upstream_instances{source="users",service="todos",datacenter="our_dc"} 1
meshvisor_upstream_instances{source="users",service="notifications",datacenter="our_dc"} 2
meshvisor_upstream_instances{source="ingress-service",service="todos",datacenter="our_dc"} 1
# HELP meshvisor_upstream_serving 1 when nothing the node sees stops the upstream from serving (its /status reason is null), else 0.
# TYPE meshvisor_upstream_serving gauge
meshvisor_upstream_serving{source="users",service="todos",datacenter="our_dc"} 1
meshvisor_upstream_serving{source="users",service="notifications",datacenter="our_dc"} 0
meshvisor_upstream_serving{source="ingress-service",service="todos",datacenter="our_dc"} 1
# HELP meshvisor_service_check_status 1 for the check's current status as the local agent has it, 0 for the other two.
# TYPE meshvisor_service_check_status gauge
meshvisor_service_check_status{service_id="users-1",check="Service 'users' check",status="passing"} 1
meshvisor_service_check_status{service_id="users-1",check="Service 'users' check",status="warning"} 0
meshvisor_service_check_status{service_id="users-1",check="Service 'users' check",status="critical"} 0
meshvisor_service_check_status{service_id="users-1-sidecar-proxy",check="Connect Sidecar Listening",status="passing"} 1
meshvisor_service_check_status{service_id="users-1-sidecar-proxy",check="Connect Sidecar Listening",status="warning"} 0
meshvisor_service_check_status{service_id="users-1-sidecar-proxy",check="Connect Sidecar Listening",status="critical"} 0
meshvisor_service_check_status{service_id="users-1-sidecar-proxy",check="Connect Sidecar Aliasing users-1",status="passing"} 0
meshvisor_service_check_status{service_id="users-1-sidecar-proxy",check="Connect Sidecar Aliasing users-1",status="warning"} 0
meshvisor_service_check_status{service_id="users-1-sidecar-proxy",check="Connect Sidecar Aliasing users-1",status="critical"} 1
# HELP meshvisor_certificate_expiry_seconds Seconds until a proxy's leaf certificate or trusted CA root expires, as last read.
# TYPE meshvisor_certificate_expiry_seconds gauge
meshvisor_certificate_expiry_seconds{proxy="sidecar:users-1",kind="leaf",serial="3a:7f:01"} 7200
meshvisor_certificate_expiry_seconds{proxy="sidecar:users-1",kind="root",serial="0c"} 864000
# HELP meshvisor_proxy_rejected_updates xDS updates the proxy's Envoy rejected, by resource type, summed over its resources.
# TYPE meshvisor_proxy_rejected_updates gauge
meshvisor_proxy_rejected_updates{proxy="sidecar:users-1",type="lds"} 2
meshvisor_proxy_rejected_updates{proxy="sidecar:users-1",type="cds"} 0
# HELP meshvisor_mesh_view_age_seconds Seconds since the oldest part of the mesh view was read; absent before any read.
# TYPE meshvisor_mesh_view_age_seconds gauge
meshvisor_mesh_view_age_seconds 1.5
`,
  );
});

test('a node with nothing started yet still declares every family, and ends with a newline', () => {
  const text = renderMetrics(nodeStatus({ ...empty, ready: false, uptimeSeconds: 0 }));
  const families = [...text.matchAll(/^# TYPE (\S+) (gauge|counter)$/gm)].map((m) => m[1]);
  assert.deepEqual(families, [
    'meshvisor_ready',
    'meshvisor_degraded',
    'meshvisor_spec_generation',
    'meshvisor_spec_info',
    'meshvisor_last_reload_success',
    'meshvisor_last_reload_timestamp_seconds',
    'meshvisor_uptime_seconds',
    'meshvisor_stage_duration_seconds',
    'meshvisor_program_up',
    'meshvisor_program_ready',
    'meshvisor_program_restarts_total',
    'meshvisor_log_lines_dropped_total',
    'meshvisor_config_entry_written',
    'meshvisor_zombie_children',
    'meshvisor_upstream_healthy_instances',
    'meshvisor_upstream_instances',
    'meshvisor_upstream_serving',
    'meshvisor_service_check_status',
    'meshvisor_certificate_expiry_seconds',
    'meshvisor_proxy_rejected_updates',
    'meshvisor_mesh_view_age_seconds',
  ]);
  assert.match(text, /^meshvisor_ready 0$/m);
  assert.match(text, /^meshvisor_degraded 0$/m);
  assert.match(text, /^meshvisor_uptime_seconds 0$/m);
  assert.ok(text.endsWith('\n'));
  assert.ok(!text.includes('{'), 'no labelled sample when there are no stages/programs/entries');
  assert.doesNotMatch(text, /^meshvisor_mesh_view_age_seconds /m, 'no age before any read');
});

test('label values escape backslash, double quote and line feed, and nothing else', () => {
  const text = renderMetrics(
    nodeStatus({
      ...empty,
      configEntries: [
        { kind: 'service-router', name: 'a\\b"c\nd\te\u00e9', state: 'written', error: null },
      ],
    }),
  );
  assert.ok(
    text.includes(
      'meshvisor_config_entry_written{kind="service-router",name="a\\\\b\\"c\\nd\te\u00e9"} 1\n',
    ),
    text,
  );
});

test('every sample line parses as name{labels} value', () => {
  const text = renderMetrics(
    nodeStatus({
      ...empty,
      programs: [
        program('sidecar:we"ird\\id', {
          state: 'fatal',
          restarts: 10,
          ready: false,
          droppedLogLines: 3,
        }),
      ],
      mesh: busyMesh(),
    }),
  );
  const labelValue = '"(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
  const sample = new RegExp(
    `^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{[a-zA-Z_][a-zA-Z0-9_]*=${labelValue}(,[a-zA-Z_][a-zA-Z0-9_]*=${labelValue})*\\})? -?[0-9.e+-]+$`,
  );
  for (const line of text.trimEnd().split('\n')) {
    if (line.startsWith('# ')) continue;
    assert.match(line, sample);
  }
  assert.match(
    text,
    /^meshvisor_program_up\{program="sidecar:we\\"ird\\\\id",kind="sidecar"\} 0$/m,
  );
});

test("a check's status is an enum: one sample per status, 1 for the current one only", () => {
  const text = renderMetrics(nodeStatus({ ...empty, mesh: busyMesh() }));
  const samples = [
    ...text.matchAll(/^meshvisor_service_check_status\{(.*),status="(\w+)"\} (\d)$/gm),
  ];
  const byCheck = new Map<string, string[]>();
  for (const [, labels = '', status = '', value] of samples) {
    byCheck.set(labels, [...(byCheck.get(labels) ?? []), `${status}=${value}`]);
  }
  assert.equal(byCheck.size, 3, 'three checks');
  for (const [check, values] of byCheck) {
    assert.deepEqual(
      values.map((v) => v.split('=')[0]),
      ['passing', 'warning', 'critical'],
      check,
    );
    assert.equal(values.filter((v) => v.endsWith('=1')).length, 1, check);
  }
});

test('a check name with quotes, a backslash or a line feed is escaped in its label', () => {
  const mesh = busyMesh();
  const check = {
    ...mesh.services[0]!.checks[0]!,
    name: 'say "hi"\\\nnow',
    status: 'warning' as const,
  };
  const text = renderMetrics(
    nodeStatus({
      ...empty,
      mesh: { ...mesh, services: [{ id: 'a-1', name: 'a', checks: [check] }] },
    }),
  );
  assert.match(
    text,
    /^meshvisor_service_check_status\{service_id="a-1",check="say \\"hi\\"\\\\\\nnow",status="warning"\} 1$/m,
  );
});

test('an upstream with a reason is not serving; a proxy without rejections has no sample', () => {
  const mesh = busyMesh();
  const text = renderMetrics(nodeStatus({ ...empty, mesh }));
  const serving = [...text.matchAll(/^meshvisor_upstream_serving\{[^}]*\} (\d)$/gm)].map(
    (m) => m[1],
  );
  assert.deepEqual(
    serving,
    mesh.upstreams.map((u) => (u.reason === null ? '1' : '0')),
  );
  assert.doesNotMatch(text, /^meshvisor_proxy_rejected_updates\{proxy="gateway:ingress-service"/m);
});
