// The mesh view's judgements, as pure functions of what Consul and Envoy answered: how many
// instances of an upstream can serve, whether intentions let the call through, why an upstream
// cannot serve, and when a certificate is a worry.
import type { HealthEntry, Intention } from '../consul/index.ts';
import type { EnvoyCertificate, EnvoyCluster, RejectedListener } from '../envoy/index.ts';
import type { CheckStatus, MeshCertificate } from '../status/index.ts';

/** Check outputs are kept to this many characters: enough for an error, not for a page body. */
export const OUTPUT_MAX = 200;

export function trimOutput(output: string | undefined): string {
  const text = (output ?? '').trim().replace(/\s+/g, ' ');
  return text.length > OUTPUT_MAX ? `${text.slice(0, OUTPUT_MAX - 1)}…` : text;
}

/** Consul's check statuses; anything else (an unknown future one) counts as critical. */
export function checkStatus(status: string): CheckStatus {
  return status === 'passing' || status === 'warning' ? status : 'critical';
}

/**
 * An instance serves unless one of its checks is critical: a warning still serves, as in
 * Consul's xDS endpoints and DNS (`only_passing` is off by default).
 */
function serves(entry: HealthEntry): boolean {
  return !(entry.Checks ?? []).some((c) => checkStatus(c.Status) === 'critical');
}

export function countHealthy(entries: readonly HealthEntry[]): { healthy: number; total: number } {
  return { healthy: entries.filter(serves).length, total: entries.length };
}

/**
 * A sidecar's alias check fails with its service's check quoted (recording 05):
 * `Aliased check "Service 'users' check" failing: Get "http://...": ... connection refused`.
 * The quoted check is the one to name.
 */
// Its output may end at "failing:": the catalog keeps a check's output of its last status
// change (an output-only change syncs on Consul's check_update_interval, 5 min), seen on 1.14.9.
const ALIASED = /^Aliased check "(.+?)" failing:\s*(.*)$/s;

/**
 * Why an instance does not serve: a critical check, the one nearest the cause first: the
 * sidecar's alias of its service's check (which it quotes), then the others (the sidecar not
 * listening yet, the node's serf health).
 */
function failingCheck(entry: HealthEntry): string | null {
  const critical = (entry.Checks ?? []).filter((c) => checkStatus(c.Status) === 'critical');
  const check = critical.find((c) => ALIASED.test(c.Output?.trim() ?? '')) ?? critical[0];
  if (!check) return null;
  const instance = entry.Service.Proxy?.DestinationServiceID ?? entry.Service.ID;
  const aliased = ALIASED.exec(check.Output?.trim() ?? '');
  const [name, output] = aliased ? [aliased[1], aliased[2]] : [check.Name, check.Output];
  const said = trimOutput(output);
  return `${instance} check '${name}' critical${said ? `: ${said}` : ''}`;
}

/** What decides source -> destination, and whether it allows the call. */
export interface IntentionDecision {
  allowed: boolean | null;
  /** `users -> todos: deny`, or the default that applies. */
  intention: string | null;
  /** Set when it denies: the reason line. */
  denial: string | null;
}

/**
 * Consul 1.10's rule: the matching intentions come most precise first
 * (`/v1/connect/intentions/match`); the first whose source is the caller or `*` decides. An L7
 * intention (permissions, no action) lets the connection through and judges each request. With
 * none, the ACL default policy decides (Consul's X-Consul-Default-Acl-Policy header: allow
 * without ACLs).
 */
export function decideIntention(
  source: string,
  destination: string,
  intentions: readonly Intention[],
  defaultPolicy: string | undefined,
): IntentionDecision {
  const match = intentions.find((i) => i.SourceName === source || i.SourceName === '*');
  if (match) {
    const named = `${match.SourceName} -> ${match.DestinationName}`;
    if (match.Action === 'deny') {
      return {
        allowed: false,
        intention: `${named}: deny`,
        denial: `denied by intention ${named}`,
      };
    }
    const what = match.Action === 'allow' ? 'allow' : 'L7 permissions (judged per request)';
    return { allowed: true, intention: `${named}: ${what}`, denial: null };
  }
  if (defaultPolicy === 'deny') {
    return {
      allowed: false,
      intention: 'no intention; the default is deny',
      denial: `denied by default: no intention allows ${source} -> ${destination} (ACL default policy deny)`,
    };
  }
  if (defaultPolicy === 'allow') {
    return { allowed: true, intention: 'no intention; the default is allow', denial: null };
  }
  return { allowed: null, intention: null, denial: null };
}

/**
 * Consul 1.10 names an upstream's Envoy cluster `<service>.default.<dc>.internal.<trust domain>`
 * (an ingress gateway's too).
 */
export function upstreamCluster(
  clusters: readonly EnvoyCluster[],
  service: string,
  datacenter: string,
): EnvoyCluster | undefined {
  const prefix = `${service}.default.${datacenter}.internal.`;
  return clusters.find((c) => c.name.startsWith(prefix));
}

export interface UpstreamFacts {
  service: string;
  datacenter: string;
  localPort: number;
  /** Consul's health answer, or why it could not be read (null before any try). */
  health: { entries: readonly HealthEntry[] } | { error: string } | null;
  intention: IntentionDecision;
  /** Envoy mode: the proxy's answer. Null in built-in mode, or before Envoy answered. */
  envoy: { cluster: EnvoyCluster | undefined; rejections: readonly RejectedListener[] } | null;
}

/**
 * The one line that says why an upstream cannot serve, the first that holds of: its listener
 * rejected, no instance, no healthy instance, intentions deny, Envoy has no healthy endpoint.
 * Null when nothing the node can see stops it.
 */
export function upstreamReason(facts: UpstreamFacts): string | null {
  const { service, datacenter, health, envoy } = facts;
  const rejected = envoy?.rejections.find(
    (r) => r.name.startsWith(`${service}:`) || r.name.endsWith(`:${facts.localPort}`),
  );
  if (rejected) return `listener rejected: ${rejected.name}: ${rejected.details}`;
  if (health === null) return `not known yet: Consul's health of ${service} not read`;
  if ('error' in health) return `not known: Consul's health of ${service}: ${health.error}`;
  if (health.entries.length === 0) {
    return `no instance of ${service} with a sidecar in ${datacenter}`;
  }
  if (!health.entries.some(serves)) {
    const first = health.entries.map(failingCheck).find((line) => line !== null);
    const more = health.entries.length > 1 ? ` (and ${health.entries.length - 1} more)` : '';
    return `no healthy instance: ${first ?? service}${more}`;
  }
  if (facts.intention.denial) return facts.intention.denial;
  if (envoy) {
    if (!envoy.cluster) return `Envoy has no cluster for ${service} yet`;
    if (envoy.cluster.endpoints.healthy === 0) {
      return `Envoy cluster ${envoy.cluster.name} has 0 healthy endpoints of ${envoy.cluster.endpoints.total}`;
    }
  }
  return null;
}

/** A CA root this close to its end is a worry: roots are long-lived and replaced by hand. */
const ROOT_WARNING_SECONDS = 30 * 24 * 3600;
/**
 * Consul renews a leaf between 60% and 90% of its lifetime (connect_ca_leaf.go's soft expiry):
 * a leaf with less than the last 10% left has not been rotated when it should have been.
 */
const LEAF_ROTATED_BY = 0.9;

export function judgeCertificate(cert: EnvoyCertificate, now: number): MeshCertificate {
  const expires = Date.parse(cert.expiresAt);
  const from = Date.parse(cert.validFrom);
  const secondsLeft = Math.round((expires - now) / 1000);
  let warning: string | null = null;
  if (secondsLeft <= 0) warning = `expired at ${cert.expiresAt}`;
  else if (cert.kind === 'root' && secondsLeft < ROOT_WARNING_SECONDS) {
    warning = `CA root expires in ${days(secondsLeft)}`;
  } else if (cert.kind === 'leaf' && Number.isFinite(from)) {
    const lifetime = (expires - from) / 1000;
    if (secondsLeft < lifetime * (1 - LEAF_ROTATED_BY)) {
      warning = `leaf not rotated: expires in ${days(secondsLeft)} (Consul renews it by 90% of its lifetime)`;
    }
  }
  return { kind: cert.kind, serial: cert.serial, expiresAt: cert.expiresAt, secondsLeft, warning };
}

function days(seconds: number): string {
  if (seconds < 2 * 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 2 * 86400) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}

/** `update_rejected` counters by xDS type: lds, cds, rds, eds (each cluster's EDS), sds. */
export function rejectedUpdates(stats: ReadonlyMap<string, number>): Record<string, number> {
  const byType: Record<string, number> = {};
  for (const [name, value] of stats) {
    if (!name.endsWith('.update_rejected')) continue;
    const type =
      /\.(lds|cds|rds|sds|eds)\.update_rejected$/.exec(name)?.[1] ??
      (name.startsWith('cluster.') ? 'eds' : 'other');
    byType[type] = (byType[type] ?? 0) + value;
  }
  return byType;
}

/** Connection attempts to upstream hosts that failed, over every cluster. */
export function connectFailures(stats: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const [name, value] of stats) if (name.endsWith('.upstream_cx_connect_fail')) sum += value;
  return sum;
}
