// NodeStatus -> Prometheus text exposition format 0.0.4. Pure: the same status always renders the
// same text, so tests compare exact output and the server stays a serializer.
// Format: https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
import type { CheckStatus, MeshUpstream, NodeStatus } from './model.ts';

/** The Content-Type a scraper expects for this text. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;

interface Sample {
  labels: Labels;
  value: number;
}

interface Family {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  samples: Sample[];
}

/** Program states in which the child process exists and is serving (see supervise/Program). */
const UP_STATES = new Set(['running', 'ready']);

/** Config entry states meaning Consul holds what the spec asks for. */
const ENTRY_IN_CONSUL = new Set(['written', 'unchanged']);

/** Every status a check can have: each gets a sample, 1 for the current one (the enum pattern). */
const CHECK_STATUSES: readonly CheckStatus[] = ['passing', 'warning', 'critical'];

export function renderMetrics(status: NodeStatus): string {
  const programLabels = (p: NodeStatus['programs'][number]): Labels => ({
    program: p.name,
    kind: p.kind,
  });
  const { mesh } = status;
  const upstreamLabels = (u: MeshUpstream): Labels => ({
    source: u.source,
    service: u.service,
    datacenter: u.datacenter,
  });
  const families: Family[] = [
    {
      name: 'meshvisor_ready',
      type: 'gauge',
      help: '1 when every stage is done and every program is running and ready, else 0.',
      samples: [{ labels: {}, value: bool(status.ready) }],
    },
    {
      name: 'meshvisor_degraded',
      type: 'gauge',
      help: '1 while the node, ready before, knows no cluster leader (servers lost), else 0.',
      samples: [{ labels: {}, value: bool(status.degraded != null) }],
    },
    {
      name: 'meshvisor_spec_generation',
      type: 'gauge',
      help: 'Which spec the node runs: 1 at start, one more for each reload that applied.',
      samples: [{ labels: {}, value: status.spec.generation }],
    },
    {
      name: 'meshvisor_spec_info',
      type: 'gauge',
      help: 'Always 1; its hash label (12 hex digits) changes when the running spec does.',
      samples: status.spec.hash ? [{ labels: { hash: status.spec.hash }, value: 1 }] : [],
    },
    {
      name: 'meshvisor_last_reload_success',
      type: 'gauge',
      help: '1 when the last reload applied (or found nothing to change), 0 when it failed; absent before any.',
      samples: status.reload
        ? [{ labels: {}, value: bool(['applied', 'unchanged'].includes(status.reload.result)) }]
        : [],
    },
    {
      name: 'meshvisor_last_reload_timestamp_seconds',
      type: 'gauge',
      help: 'Unix time of the last reload; absent before any.',
      samples: status.reload ? [{ labels: {}, value: Date.parse(status.reload.at) / 1000 }] : [],
    },
    {
      name: 'meshvisor_uptime_seconds',
      type: 'gauge',
      help: 'Seconds since meshvisor started.',
      samples: [{ labels: {}, value: status.uptimeSeconds }],
    },
    {
      name: 'meshvisor_stage_duration_seconds',
      type: 'gauge',
      help: 'Seconds a readiness stage took (so far, while it runs).',
      // A pending stage has no duration yet: no sample rather than a misleading 0.
      samples: status.stages.flatMap((s) =>
        s.durationSeconds === null ? [] : [{ labels: { stage: s.name }, value: s.durationSeconds }],
      ),
    },
    {
      name: 'meshvisor_program_up',
      type: 'gauge',
      help: '1 when the supervised program is running (or running and ready), else 0.',
      samples: status.programs.map((p) => ({
        labels: programLabels(p),
        value: bool(UP_STATES.has(p.state)),
      })),
    },
    {
      name: 'meshvisor_program_ready',
      type: 'gauge',
      help: '1 when the supervised program passes its readiness probe, else 0.',
      samples: status.programs.map((p) => ({ labels: programLabels(p), value: bool(p.ready) })),
    },
    {
      name: 'meshvisor_program_restarts_total',
      type: 'counter',
      help: 'Times the supervisor restarted the program.',
      samples: status.programs.map((p) => ({ labels: programLabels(p), value: p.restarts })),
    },
    {
      name: 'meshvisor_log_lines_dropped_total',
      type: 'counter',
      help: "Lines of the program's output dropped because stdout could not keep up.",
      samples: status.programs.map((p) => ({
        labels: { program: p.name },
        value: p.droppedLogLines,
      })),
    },
    {
      name: 'meshvisor_config_entry_written',
      type: 'gauge',
      help: '1 when Consul holds the config entry as the spec defines it (written or unchanged), else 0.',
      samples: status.configEntries.map((e) => ({
        labels: { kind: e.kind, name: e.name },
        value: bool(ENTRY_IN_CONSUL.has(e.state)),
      })),
    },
    {
      name: 'meshvisor_zombie_children',
      type: 'gauge',
      help: 'Exited children of meshvisor not yet reaped (non-zero only when PID 1 without an init).',
      samples: [{ labels: {}, value: status.zombies }],
    },
    {
      name: 'meshvisor_upstream_healthy_instances',
      type: 'gauge',
      help: "Connect instances of the upstream Consul's health API says are healthy.",
      samples: mesh.upstreams.map((u) => ({ labels: upstreamLabels(u), value: u.healthy })),
    },
    {
      name: 'meshvisor_upstream_instances',
      type: 'gauge',
      help: 'Connect instances of the upstream, healthy or not.',
      samples: mesh.upstreams.map((u) => ({ labels: upstreamLabels(u), value: u.total })),
    },
    {
      name: 'meshvisor_upstream_serving',
      type: 'gauge',
      help: '1 when nothing the node sees stops the upstream from serving (its /status reason is null), else 0.',
      samples: mesh.upstreams.map((u) => ({
        labels: upstreamLabels(u),
        value: bool(u.reason === null),
      })),
    },
    {
      name: 'meshvisor_service_check_status',
      type: 'gauge',
      help: "1 for the check's current status as the local agent has it, 0 for the other two.",
      samples: mesh.services.flatMap((svc) =>
        svc.checks.flatMap((c) =>
          CHECK_STATUSES.map((st) => ({
            labels: { service_id: svc.id, check: c.name, status: st },
            value: bool(c.status === st),
          })),
        ),
      ),
    },
    {
      name: 'meshvisor_certificate_expiry_seconds',
      type: 'gauge',
      help: "Seconds until a proxy's leaf certificate or trusted CA root expires, as last read.",
      samples: mesh.proxies.flatMap((p) =>
        p.certificates.map((c) => ({
          labels: { proxy: p.name, kind: c.kind, serial: c.serial },
          value: c.secondsLeft,
        })),
      ),
    },
    {
      // A gauge, not a counter: Envoy counts rejections per resource (eds per cluster) and this
      // is their sum by type, which falls when a cluster goes away, not only when Envoy restarts.
      // As a counter such a fall reads as a reset, and increase() would report the remaining sum
      // as new rejections; delta() or changes() on the gauge do not.
      name: 'meshvisor_proxy_rejected_updates',
      type: 'gauge',
      help: "xDS updates the proxy's Envoy rejected, by resource type, summed over its resources.",
      samples: mesh.proxies.flatMap((p) =>
        Object.entries(p.rejectedUpdates).map(([type, n]) => ({
          labels: { proxy: p.name, type },
          value: n,
        })),
      ),
    },
    {
      name: 'meshvisor_mesh_view_age_seconds',
      type: 'gauge',
      help: 'Seconds since the oldest part of the mesh view was read; absent before any read.',
      samples: mesh.ageSeconds === null ? [] : [{ labels: {}, value: mesh.ageSeconds }],
    },
  ];
  return families.map(renderFamily).join('');
}

function renderFamily(family: Family): string {
  let text = `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n`;
  for (const sample of family.samples) {
    text += `${family.name}${renderLabels(sample.labels)} ${formatValue(sample.value)}\n`;
  }
  return text;
}

function renderLabels(labels: Labels): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

/** Label values: backslash, double quote and line feed are escaped; nothing else is. */
function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** HELP text: backslash and line feed are escaped (a double quote is literal there). */
function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

/** Go's ParseFloat reads JS number text; only the non-finite values are spelled differently. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function bool(value: boolean): number {
  return value ? 1 : 0;
}
