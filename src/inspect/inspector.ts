// The mesh as one node sees it, kept current in the background and read at any moment:
//   Consul  the local agent's checks (read every few seconds: the agent's own view, no server
//           RPC), each upstream's Connect instances and the intentions to it (blocking queries:
//           nothing is sent while nothing changes);
//   Envoy   each proxy's state, listeners, clusters, certificates and counters, and the listener
//           updates it rejected when it counts one (every 15 s, or sooner when someone reads
//           the view, at most once a second).
// Readers never wait on Consul or Envoy: a slow or failing one leaves the last answers in place,
// with their age and the error. Every text that came from outside is redacted before it is kept.
import type { ConsulApi, HealthEntry, Intention } from '../consul/index.ts';
import type {
  EnvoyAdmin,
  EnvoyCertificate,
  EnvoyCluster,
  RejectedListener,
} from '../envoy/index.ts';
import { redactText } from '../redact.ts';
import type { MeshCheck, MeshProxy, MeshUpstream, MeshView } from '../status/index.ts';
import {
  checkStatus,
  connectFailures,
  countHealthy,
  decideIntention,
  judgeCertificate,
  rejectedUpdates,
  trimOutput,
  upstreamCluster,
  upstreamReason,
  type IntentionDecision,
  type UpstreamFacts,
} from './judge.ts';
import type { MeshTargets, UpstreamTarget } from './targets.ts';
import { PeriodicRead, realClock, runBlockingWatch, type Clock } from './watch.ts';

export type MeshConsul = Pick<ConsulApi, 'agentChecks' | 'healthConnect' | 'intentionsTo'>;
export type MeshEnvoy = Pick<
  EnvoyAdmin,
  'readyState' | 'listenerNames' | 'rejectedListeners' | 'clusters' | 'certificates' | 'stats'
>;

export interface InspectorOptions {
  consul: MeshConsul;
  envoy: (adminAddress: string) => MeshEnvoy;
  /** Values that must never show (the tokens and keys of the spec the node runs now). */
  secrets: () => readonly string[];
  /** A line for the node's timeline: a check flipped, a certificate rotated, an upstream changed. */
  onEvent: (message: string) => void;
  /** Aborted when the node stops: every read ends. */
  signal: AbortSignal;
  clock?: Clock;
  checksEveryMs?: number;
  envoyEveryMs?: number;
  /** No read of one kind sooner than this after the last (readers' nudges, eager Consul answers). */
  minGapMs?: number;
  /** How long Consul may hold a blocking query. */
  waitSeconds?: number;
}

/** The counters read from each Envoy: rejected xDS updates, failed upstream connects. */
const ENVOY_STATS_FILTER = '(update_rejected|upstream_cx_connect_fail)$';
const LDS_REJECTED = 'listener_manager.lds.update_rejected';

interface Read<T> {
  value: T | null;
  error: string | null;
  /** ms of the last answer. */
  at: number | null;
}

interface EnvoyAnswer {
  state: string;
  listeners: string[];
  rejected: RejectedListener[];
  clusters: EnvoyCluster[];
  certificates: EnvoyCertificate[];
  stats: Map<string, number>;
}

interface WantedWatch {
  start: (signal: AbortSignal) => Promise<void>;
  /** Drops the watch's last answer once nothing wants it. */
  forget: () => void;
}

interface RunningWatch {
  controller: AbortController;
  forget: () => void;
}

interface IntentionsAnswer {
  intentions: Intention[];
  defaultPolicy: string | undefined;
}

export class MeshInspector {
  private readonly clock: Clock;
  private readonly minGapMs: number;
  private readonly waitSeconds: number;
  private targets: MeshTargets = { services: [], envoys: [], upstreams: [] };
  private checks: Read<Map<string, MeshCheck & { serviceId: string }>> = empty();
  /** By healthKey (service@datacenter). */
  private readonly health = new Map<string, Read<HealthEntry[]>>();
  /** By destination service. */
  private readonly intentions = new Map<string, Read<IntentionsAnswer>>();
  private readonly envoys = new Map<string, Read<EnvoyAnswer>>();
  /** Each running blocking watch, by `health:<service@dc>` or `intentions:<service>`. */
  private readonly watches = new Map<string, RunningWatch>();
  /** Whether each upstream could serve at the last look (for the timeline). */
  private readonly serving = new Map<string, boolean>();
  private readonly checksRead: PeriodicRead;
  private readonly envoyRead: PeriodicRead;

  constructor(private readonly options: InspectorOptions) {
    this.clock = options.clock ?? realClock;
    this.minGapMs = options.minGapMs ?? 1000;
    this.waitSeconds = options.waitSeconds ?? 60;
    const { clock, minGapMs } = this;
    this.checksRead = new PeriodicRead(() => this.readChecks(), {
      everyMs: options.checksEveryMs ?? 2000,
      minGapMs,
      clock,
    });
    this.envoyRead = new PeriodicRead(() => this.readEnvoys(), {
      everyMs: options.envoyEveryMs ?? 15_000,
      minGapMs,
      clock,
    });
    void this.checksRead.run(options.signal);
    void this.envoyRead.run(options.signal);
  }

  /** What to watch: the plan's (a reload hands over the new plan's). */
  setTargets(targets: MeshTargets): void {
    this.targets = targets;
    const wanted = new Map<string, WantedWatch>();
    for (const u of targets.upstreams) {
      const health = healthKey(u);
      wanted.set(`health:${health}`, {
        start: (signal) => this.watchHealth(u, signal),
        forget: () => this.health.delete(health),
      });
      wanted.set(`intentions:${u.service}`, {
        start: (signal) => this.watchIntentions(u.service, signal),
        forget: () => this.intentions.delete(u.service),
      });
    }
    for (const [key, watch] of this.watches) {
      if (wanted.has(key)) continue;
      watch.controller.abort();
      watch.forget();
      this.watches.delete(key);
    }
    for (const [key, { start, forget }] of wanted) {
      if (this.watches.has(key)) continue;
      const controller = new AbortController();
      this.options.signal.addEventListener('abort', () => controller.abort(), { once: true });
      this.watches.set(key, { controller, forget });
      void start(controller.signal);
    }
    for (const proxy of this.envoys.keys()) {
      if (!targets.envoys.some((e) => e.proxy === proxy)) this.envoys.delete(proxy);
    }
    this.envoyRead.nudge();
  }

  /**
   * The view now, from the last answers. `fresh` (someone looks at it) asks for fresher ones:
   * at most one read of each kind a second, however many readers.
   */
  view(fresh: boolean): MeshView {
    if (fresh) {
      this.checksRead.nudge();
      this.envoyRead.nudge();
    }
    return this.compose();
  }

  private compose(): MeshView {
    const now = this.clock.now();
    const checks = this.checks.value;
    const services = this.targets.services.map(({ id, name }) => ({
      id,
      name,
      checks: [...(checks?.values() ?? [])]
        .filter((c) => c.serviceId === id)
        .map(({ serviceId: _, ...check }) => check)
        .sort((a, b) => a.name.localeCompare(b.name)),
    }));
    const proxies = this.targets.envoys.map(({ proxy }) => this.proxyView(proxy, now));
    const upstreams = this.targets.upstreams.map((u) => this.upstreamView(u));
    const reads: Read<unknown>[] = [
      this.checks,
      ...this.health.values(),
      ...this.intentions.values(),
      ...this.envoys.values(),
    ];
    const times = reads.map((r) => r.at).filter((at): at is number => at !== null);
    return {
      ageSeconds:
        times.length === reads.length && times.length > 0
          ? Math.round(now - Math.min(...times)) / 1000
          : null,
      errors: this.errors(),
      services,
      proxies,
      upstreams,
    };
  }

  private errors(): string[] {
    const errors: string[] = [];
    if (this.checks.error) errors.push(`agent checks: ${this.checks.error}`);
    for (const [key, read] of this.health) {
      if (read.error) errors.push(`health of ${key}: ${read.error}`);
    }
    for (const [service, read] of this.intentions) {
      if (read.error) errors.push(`intentions to ${service}: ${read.error}`);
    }
    for (const [proxy, read] of this.envoys) {
      if (read.error) errors.push(`${proxy} admin API: ${read.error}`);
    }
    return errors;
  }

  private proxyView(proxy: string, now: number): MeshProxy {
    const read = this.envoys.get(proxy) ?? empty<EnvoyAnswer>();
    const answer = read.value;
    const last = answer?.rejected[0];
    return {
      name: proxy,
      state: answer?.state ?? null,
      listeners: answer?.listeners ?? [],
      rejectedUpdates: answer ? rejectedUpdates(answer.stats) : {},
      lastRejection: last ? `${last.name}: ${last.details}` : null,
      certificates: (answer?.certificates ?? []).map((c) => judgeCertificate(c, now)),
      connectFailures: answer ? connectFailures(answer.stats) : 0,
      checkedAt: iso(read.at),
      error: read.error,
    };
  }

  private upstreamFacts(u: UpstreamTarget): { facts: UpstreamFacts; checkedAt: number | null } {
    const health = this.health.get(healthKey(u)) ?? empty<HealthEntry[]>();
    const intentions = this.intentions.get(u.service) ?? empty<IntentionsAnswer>();
    const envoy = this.targets.envoys.some((e) => e.proxy === u.proxy)
      ? this.envoys.get(u.proxy)?.value
      : undefined;
    return {
      checkedAt: health.at,
      facts: {
        service: u.service,
        datacenter: u.datacenter,
        localPort: u.localPort,
        health: health.value
          ? { entries: health.value }
          : health.error
            ? { error: health.error }
            : null,
        intention: intentionDecision(u, intentions),
        envoy: envoy
          ? {
              cluster: upstreamCluster(envoy.clusters, u.service, u.datacenter),
              rejections: envoy.rejected,
            }
          : null,
      },
    };
  }

  private upstreamView(u: UpstreamTarget): MeshUpstream {
    const { facts, checkedAt } = this.upstreamFacts(u);
    const counts =
      facts.health && 'entries' in facts.health
        ? countHealthy(facts.health.entries)
        : { healthy: 0, total: 0 };
    return {
      source: u.source,
      service: u.service,
      datacenter: u.datacenter,
      localPort: u.localPort,
      ...counts,
      allowed: facts.intention.allowed,
      intention: facts.intention.intention,
      envoyEndpoints: facts.envoy?.cluster?.endpoints ?? null,
      reason: upstreamReason(facts),
      checkedAt: iso(checkedAt),
    };
  }

  /** After new answers: a line in the timeline for each upstream that began or ceased to serve. */
  private noteUpstreams(): void {
    for (const u of this.targets.upstreams) {
      const { facts } = this.upstreamFacts(u);
      if (facts.health === null || 'error' in facts.health) continue;
      const reason = upstreamReason(facts);
      const key = `${u.source}->${u.service}@${u.datacenter}`;
      const was = this.serving.get(key);
      this.serving.set(key, reason === null);
      if (was === undefined ? reason === null : was === (reason === null)) continue;
      this.options.onEvent(
        reason === null
          ? `upstream ${u.service} of ${u.source} can serve`
          : `upstream ${u.service} of ${u.source} cannot serve: ${reason}`,
      );
    }
  }

  private async readChecks(): Promise<void> {
    try {
      const answer = await this.options.consul.agentChecks();
      const now = this.clock.now();
      const before = this.checks.value;
      const next = new Map<string, MeshCheck & { serviceId: string }>();
      for (const [id, check] of Object.entries(answer)) {
        const status = checkStatus(check.Status);
        const old = before?.get(id);
        const name = this.redact(check.Name);
        if (old && old.status !== status) {
          this.options.onEvent(
            `check '${name}' of ${check.ServiceID || 'the node'}: ${old.status} -> ${status}`,
          );
        }
        next.set(id, {
          id,
          name,
          status,
          output: this.redact(trimOutput(check.Output)),
          since: old && old.status === status ? old.since : new Date(now).toISOString(),
          serviceId: check.ServiceID ?? '',
        });
      }
      this.checks = { value: next, error: null, at: now };
    } catch (err) {
      this.checks = { ...this.checks, error: this.describe(err) };
    }
  }

  /**
   * One Envoy after another, one request at a time: ten sidecars read at once held fifty sockets
   * and their answers together, ~2 MiB of RSS at the top of the node's budget (bench figure 4).
   */
  private async readEnvoys(): Promise<void> {
    for (const { proxy, adminAddress } of this.targets.envoys) {
      const admin = this.options.envoy(adminAddress);
      const before = this.envoys.get(proxy);
      try {
        const stats = await admin.stats(ENVOY_STATS_FILTER);
        const state = await admin.readyState();
        const listeners = await admin.listenerNames();
        const clusters = await admin.clusters();
        const certificates = await admin.certificates();
        // The config dump (every listener's whole config, certificates inline) only when Envoy
        // counts a rejected listener update: it is what names the listener and the reason.
        const rejected = (stats.get(LDS_REJECTED) ?? 0) > 0 ? await admin.rejectedListeners() : [];
        const answer: EnvoyAnswer = {
          state,
          listeners,
          rejected: rejected.map((r) => ({
            name: r.name,
            details: this.redact(trimOutput(r.details)),
          })),
          clusters,
          certificates,
          stats,
        };
        this.noteRotation(proxy, before?.value?.certificates, certificates);
        this.envoys.set(proxy, { value: answer, error: null, at: this.clock.now() });
      } catch (err) {
        this.envoys.set(proxy, { ...(before ?? empty()), error: this.describe(err) });
      }
    }
    this.noteUpstreams();
  }

  private noteRotation(
    proxy: string,
    before: EnvoyCertificate[] | undefined,
    now: EnvoyCertificate[],
  ): void {
    const leaf = (list: EnvoyCertificate[] | undefined) => list?.find((c) => c.kind === 'leaf');
    const old = leaf(before);
    const next = leaf(now);
    if (old && next && old.serial !== next.serial) {
      this.options.onEvent(`${proxy}: leaf certificate rotated (expires ${next.expiresAt})`);
    }
  }

  private watchHealth(u: UpstreamTarget, signal: AbortSignal): Promise<void> {
    const key = healthKey(u);
    return runBlockingWatch({
      fetch: (index, s) =>
        this.options.consul.healthConnect(u.service, u.datacenter, {
          index,
          waitSeconds: this.waitSeconds,
          signal: s,
        }),
      onAnswer: (answer) => {
        this.health.set(key, {
          value: this.redactEntries(answer.value),
          error: null,
          at: this.clock.now(),
        });
        this.noteUpstreams();
      },
      onError: (err) =>
        this.health.set(key, { ...(this.health.get(key) ?? empty()), error: this.describe(err) }),
      minGapMs: this.minGapMs,
      signal,
      clock: this.clock,
    });
  }

  private watchIntentions(service: string, signal: AbortSignal): Promise<void> {
    return runBlockingWatch({
      fetch: (index, s) =>
        this.options.consul.intentionsTo(service, {
          index,
          waitSeconds: this.waitSeconds,
          signal: s,
        }),
      onAnswer: (answer) => {
        const value = {
          intentions: answer.value,
          defaultPolicy: answer.headers.get('x-consul-default-acl-policy'),
        };
        this.intentions.set(service, { value, error: null, at: this.clock.now() });
        this.noteUpstreams();
      },
      onError: (err) =>
        this.intentions.set(service, {
          ...(this.intentions.get(service) ?? empty()),
          error: this.describe(err),
        }),
      minGapMs: this.minGapMs,
      signal,
      clock: this.clock,
    });
  }

  /** Check outputs are kept redacted: they may quote a header or a URL with a token. */
  private redactEntries(entries: HealthEntry[]): HealthEntry[] {
    return entries.map((e) => ({
      ...e,
      Checks: (e.Checks ?? []).map((c) => ({ ...c, Output: this.redact(c.Output ?? '') })),
    }));
  }

  private redact(text: string): string {
    return redactText(text, this.options.secrets());
  }

  private describe(err: unknown): string {
    return this.redact(trimOutput(err instanceof Error ? err.message : String(err)));
  }
}

function intentionDecision(u: UpstreamTarget, read: Read<IntentionsAnswer>): IntentionDecision {
  if (read.value) {
    return decideIntention(u.source, u.service, read.value.intentions, read.value.defaultPolicy);
  }
  return {
    allowed: null,
    intention: read.error ? `unknown: ${read.error}` : null,
    denial: null,
  };
}

const healthKey = (u: UpstreamTarget) => `${u.service}@${u.datacenter}`;

function empty<T>(): Read<T> {
  return { value: null, error: null, at: null };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
