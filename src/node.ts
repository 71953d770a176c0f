// The life of a node, top to bottom:
//   preflight -> status endpoint -> address -> render -> consul agent (supervised)
//   -> readiness stages -> config entries -> proxies (supervised, gated on Envoy /ready)
//   -> READY (degraded while the cluster is lost; SIGHUP reloads the spec) ... until SIGTERM/SIGINT
//      or a program fails for good
//   -> stop: not ready, services to maintenance, drain + quit each proxy, deregister, leave.
// Every step has a deadline; every failure names its stage, the last error and what to check.
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError, ExitCode } from './cli/exit-codes.ts';
import {
  ConsulClient,
  LogWake,
  NotYet,
  READINESS_STAGES,
  StageError,
  StageMemory,
  answeringJoinEntries,
  applyConfigEntry,
  pollUntil,
  type ReadinessTarget,
} from './consul/index.ts';
import { EnvoyAdmin, type ProxyPlan } from './envoy/index.ts';
import type { Logger } from './log.ts';
import { AddressError, acceptsTcp, discoverAddress } from './net/index.ts';
import {
  diffPlans,
  isEmpty,
  needsEnvoy,
  planNode,
  refusedChanges,
  type NodePlan,
  type PlanChanges,
} from './node-plan.ts';
import { NodeStatusBoard } from './node-status.ts';
import { writeRenderedFiles, type ConfigEntry } from './render/index.ts';
import { apiToken, secretValues, SpecError, type NodeSpec } from './spec/index.ts';
import {
  startStatusServer,
  type ReloadResult,
  type ReloadStatus,
  type StatusServer,
} from './status/index.ts';
import {
  Supervisor,
  countZombieChildren,
  findExecutable,
  parseHclogLine,
  type ParsedLine,
  type Program,
  type ProgramSpec,
} from './supervise/index.ts';

const CONSUL_STAGES = READINESS_STAGES.map((s) => s.name);
/** How often /status's view of the cluster (leader, members, degraded) is refreshed. */
const VIEW_REFRESH_MS = 2000;
/** The agent's stagger before the full sync a new server triggers (1.10 ae.go serverUpIntv). */
const SERVER_UP_SYNC_STAGGER_MS = 3000;
/** How long a join address may take to accept TCP before the agent starts without `-join`. */
const JOIN_PROBE_TIMEOUT_MS = 500;
/** Maintenance mode gets at most this share of the stop budget (capped at 2 s). */
const MAINTENANCE_MAX_MS = 2000;

/** One bring-up (the first, or again after consul restarted): aborted when superseded or stopped. */
interface BringUp {
  signal: AbortSignal;
  /** Epoch ms: timeouts.readySeconds from this consul spawn. */
  deadline: number;
}

/** Why the node's life ended, and so its exit code. */
type Outcome =
  { kind: 'stop'; signal: string } | { kind: 'fatal'; message: string; exitCode: ExitCode };

/** Reads the spec again from where it came from: what a reload applies. */
export type SpecReader = () => Promise<NodeSpec>;

export async function runNode(
  spec: NodeSpec,
  logger: Logger,
  readSpec: SpecReader = () => Promise.resolve(spec),
): Promise<ExitCode> {
  const node = new NodeLife(spec, logger, readSpec);
  return node.run();
}

class NodeLife {
  private readonly supervisor: Supervisor;
  private readonly board: NodeStatusBoard;
  private readonly outcome: Promise<Outcome>;
  private settle!: (outcome: Outcome) => void;
  private settled = false;
  private statusServer: StatusServer | null = null;
  private consulClient: ConsulClient | null = null;
  private consul: Program | null = null;
  /** What the node runs now; null until the address is known. A reload replaces it. */
  private plan: NodePlan | null = null;
  private address = '';
  private envoyPath: string | undefined;
  /** Reloads run one after another (a SIGHUP during a reload is applied after it). */
  private reloads: Promise<unknown> = Promise.resolve();
  private generation = 1;
  /** Aborted when the node stops: ends setup waits and every bring-up. */
  private readonly stopping = new AbortController();
  /** The bring-up in flight; a consul spawn aborts it and starts the next. */
  private bringUp = new AbortController();
  /** Registrations the agent logged as refused by ACLs: service ID -> the refused accessor. */
  private readonly aclRefusals = new Map<string, string>();
  /** True once the current bring-up reached READY: from then on a lost cluster is "degraded". */
  private broughtUp = false;
  /** When the running agent last added a server ('adding server'): its next full sync is due. */
  private serverAddedAt: number | null = null;
  /** Alive LAN members, from the last cluster view. */
  private lanMembers: number | null = null;
  /** The agent's log lines that end a readiness poll's backoff. */
  private readonly consulLog = new LogWake(new Set(READINESS_STAGES.flatMap((s) => s.wakeOn)));
  constructor(
    private readonly initialSpec: NodeSpec,
    private readonly logger: Logger,
    private readonly readSpec: SpecReader,
  ) {
    this.supervisor = new Supervisor({ logger });
    this.board = new NodeStatusBoard(
      { node: initialSpec.nodeName, role: initialSpec.role, datacenter: initialSpec.datacenter },
      () => this.supervisor.snapshot(),
      countZombieChildren,
    );
    this.outcome = new Promise((resolve) => (this.settle = resolve));
  }

  /** The spec the node runs: the plan's once there is one (a reload replaces it). */
  private get spec(): NodeSpec {
    return this.plan?.spec ?? this.initialSpec;
  }

  private end(outcome: Outcome): void {
    if (this.settled) return;
    this.settled = true;
    this.settle(outcome);
  }

  async run(): Promise<ExitCode> {
    const { spec, logger } = this;
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.settled) {
        logger.warn({ signal }, 'second signal: killing every program now');
        void this.supervisor.kill();
        return;
      }
      logger.info({ signal }, 'stop requested');
      this.end({ kind: 'stop', signal });
      // Whatever the node is waiting for (its address, a stage) ends now.
      this.stopping.abort(new Error('stop requested'));
    };
    const onHangup = () => void this.reload('SIGHUP');
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', onHangup);
    try {
      // Preflight: nothing starts unless every binary is there.
      const consulPath = requireExecutable(spec.consul.binary, 'consul.binary');
      this.envoyPath = needsEnvoy(spec)
        ? requireExecutable(spec.proxy.envoyBinary, 'proxy.envoyBinary')
        : undefined;

      // The status endpoint answers from the first moment, so a long address wait can be read.
      // Its listen address may be the node's own, not up yet: then it starts once that is known.
      this.statusServer = await this.startStatusEndpoint({ addressPending: true });

      const address = await this.stage('address', this.stopping.signal, () =>
        discoverAddress(spec.address, {
          signal: this.stopping.signal,
          onWait: (message) => {
            this.board.stageWaiting('address', message);
            logger.info({ stage: 'address' }, message);
          },
        }).catch((err: unknown) => {
          if (!(err instanceof AddressError)) throw err;
          throw new CliError(
            `address: ${err.message}`,
            err.kind === 'config' ? ExitCode.config : ExitCode.unavailable,
          );
        }),
      );
      this.board.setAddress(address);
      this.address = address;
      logger.info({ address }, 'node address');

      const plan = planNode(spec, address, { envoyBinaryPath: this.envoyPath });
      await writeRenderedFiles(plan.rendered.files);
      this.plan = plan;
      this.board.setSpec(plan.hash, this.generation);
      logger.info({ files: plan.rendered.files.map((f) => f.path) }, 'agent config rendered');

      this.statusServer ??= await this.startStatusEndpoint({ addressPending: false });

      const httpAddr = `${address}:${spec.consul.ports.http}`;
      this.consulClient = new ConsulClient({ httpAddr, token: apiToken(spec) });

      this.supervisor.on('fatal', (name: string, reason: string) =>
        this.end({
          kind: 'fatal',
          message: `${name} failed for good: ${reason}`,
          exitCode: ExitCode.failed,
        }),
      );
      // A client that reaches a server now joins it before its agent starts syncing, and is in
      // the catalog at once instead of after anti-entropy's random stagger of up to 3 s
      // (recording 13). First run only: `-join` exits 1 when nothing joins; restarts have
      // retry_join (and serf's snapshot).
      const joinFirst =
        spec.role === 'client' ? await answeringJoinEntries(spec, JOIN_PROBE_TIMEOUT_MS) : [];
      const consulSpec = this.consulProgram(consulPath, plan.rendered.agentArgs);
      if (joinFirst.length > 0) {
        logger.info({ join: joinFirst }, 'servers answer: joining them first');
        consulSpec.firstRunArgs = [...consulSpec.args, ...joinFirst.flatMap((a) => ['-join', a])];
      }
      this.consul = this.supervisor.add(consulSpec);
      this.consul.on('spawn', () => this.onConsulSpawn());
      void this.supervisor.start(['consul']).catch(() => {
        // A consul that never becomes ready shows up as 'fatal' or as a stage deadline.
      });
      this.watchConsulView();

      const outcome = await this.outcome;
      return await this.stop(outcome);
    } catch (err) {
      // A stop requested during setup aborts it: that is the stop, not a failure.
      if (this.settled) return await this.stop(await this.outcome);
      // Setup failed (status port taken, configDir not writable...): one line, not a stack.
      const failure =
        err instanceof CliError ? err : new CliError((err as Error).message, ExitCode.failed);
      if (!(err instanceof CliError)) logger.debug({ err }, 'setup failure');
      await this.stop({ kind: 'fatal', message: failure.message, exitCode: failure.exitCode });
      throw failure;
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.off('SIGHUP', onHangup);
    }
  }

  /** Each (re)start of consul runs the bring-up again: its state may be new. */
  private onConsulSpawn(): void {
    this.serverAddedAt = null;
    this.bringUp.abort(new Error('consul restarted'));
    this.bringUp = new AbortController();
    this.broughtUp = false;
    this.aclRefusals.clear();
    this.board.setDegraded(null);
    this.board.resetStages([...CONSUL_STAGES, 'config-entries', 'proxies-ready']);
    const run: BringUp = {
      signal: AbortSignal.any([this.stopping.signal, this.bringUp.signal]),
      deadline: Date.now() + this.spec.timeouts.readySeconds * 1000,
    };
    this.bringUpNode(run).catch((err: unknown) => {
      if (run.signal.aborted) return;
      if (err instanceof StageError) {
        this.end({
          kind: 'fatal',
          message: err.message,
          // A rejected entry or a token that lacks a permission is the configuration's fault.
          exitCode: err.timedOut
            ? ExitCode.unavailable
            : err.denied || err.stage === 'config-entries'
              ? ExitCode.config
              : ExitCode.failed,
        });
        return;
      }
      this.end({ kind: 'fatal', message: (err as Error).message, exitCode: ExitCode.failed });
    });
  }

  private async bringUpNode(run: BringUp): Promise<void> {
    const client = this.consulClient!;
    const plan = this.plan!;
    const { signal, deadline } = run;
    const entries = plan.rendered.configEntries;
    const target = this.readinessTarget(plan);
    const memory = new StageMemory();
    for (const stage of READINESS_STAGES) {
      await this.stage(stage.name, signal, () =>
        pollUntil(stage.name, () => stage.check(client, target, memory), {
          deadline,
          signal,
          maxDelayMs: stage.maxPollDelayMs,
          wake: this.consulLog.on(stage.wakeOn),
          hint: stage.hint(target),
          onRetry: (message) => this.board.stageWaiting(stage.name, message),
        }),
      );
      // /status names the leader from the moment it is known, not a refresh period later.
      if (stage.name === 'leader-known') await this.refreshConsulView();
    }

    if (entries.length > 0) {
      await this.stage('config-entries', signal, () => this.writeEntries(entries, run));
    }

    // Proxies are added once; each bring-up waits for all of them to be ready. A consul restart
    // leaves them running (Envoy reconnects to the agent's xDS by itself).
    if (plan.proxies.length > 0) {
      await this.stage('proxies-ready', signal, () => this.startProxies(plan.proxies, run));
    }
    this.broughtUp = true;
    void this.refreshConsulView();
    this.logger.info({ stage: 'ready' }, 'node is READY');
  }

  private readinessTarget(plan: NodePlan): ReadinessTarget {
    const { spec } = plan;
    return {
      nodeName: spec.nodeName,
      serviceIds: plan.serviceIds,
      autoEncrypt: spec.role === 'client' && spec.consul.tls?.autoEncrypt === true,
      aclRefusals: this.aclRefusals,
    };
  }

  /** Writes config entries in order (read, compare, CAS); the board shows each one's fate. */
  private async writeEntries(entries: readonly ConfigEntry[], run: BringUp): Promise<void> {
    for (const entry of entries) this.board.entryPending(entry.Kind, entry.Name);
    for (const entry of entries) {
      try {
        const result = await applyConfigEntry(this.consulClient!, entry, {
          ...run,
          onRetry: (message) => this.board.stageWaiting('config-entries', message),
        });
        this.board.entryResult(entry.Kind, entry.Name, result);
        this.logger.info({ kind: entry.Kind, name: entry.Name, result }, 'config entry');
      } catch (err) {
        this.board.entryResult(entry.Kind, entry.Name, 'failed', (err as Error).message);
        throw err;
      }
    }
  }

  /** Adds the proxies not supervised yet and waits until all of them are ready. */
  private async startProxies(proxies: readonly ProxyPlan[], run: BringUp): Promise<void> {
    for (const proxy of proxies) {
      if (!this.supervisor.get(proxy.name)) this.supervisor.add(this.proxyProgram(proxy));
    }
    const timeout = AbortSignal.timeout(Math.max(0, run.deadline - Date.now()));
    try {
      await this.supervisor.start(
        proxies.map((p) => p.name),
        AbortSignal.any([run.signal, timeout]),
      );
    } catch (err) {
      if (timeout.aborted && !run.signal.aborted) {
        throw new StageError(
          'proxies-ready',
          `proxies-ready: not ready before the readiness deadline; check: the sidecar/gateway programs' logs and Envoy's admin /ready`,
          true,
        );
      }
      throw err;
    }
  }

  /**
   * Runs one named stage with timings in the status board and a log line when done. A stage
   * aborted by its own signal (superseded by a consul restart, or a stop) is not marked failed:
   * the board may already show the next run's stage of the same name.
   */
  private async stage<T>(name: string, signal: AbortSignal, body: () => Promise<T>): Promise<T> {
    this.board.stageStarted(name);
    try {
      const value = await body();
      const stage = this.board.stageFinished(name);
      this.logger.info({ stage: name, seconds: stage?.durationSeconds }, 'stage done');
      return value;
    } catch (err) {
      if (!signal.aborted) {
        this.board.stageFinished(name, (err as Error).message);
        this.logger.error({ stage: name, err: (err as Error).message }, 'stage failed');
      }
      throw err;
    }
  }

  private async startStatusEndpoint(opts: {
    addressPending: boolean;
  }): Promise<StatusServer | null> {
    const { listen } = this.spec.status;
    try {
      return await startStatusServer({
        listen,
        getStatus: () => this.board.snapshot(this.requiredStages()),
        onReload: () => this.reload('meshvisor reload'),
        logger: this.logger,
      });
    } catch (err) {
      const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
      if (!opts.addressPending || code !== 'EADDRNOTAVAIL') throw err;
      this.logger.info(
        { listen },
        'status endpoint: its address is not up yet; listening once it is',
      );
      return null;
    }
  }

  private consulProgram(consulPath: string, agentArgs: string[]): ProgramSpec {
    const { spec } = this;
    const isServer = spec.role === 'server';
    return {
      name: 'consul',
      command: consulPath,
      args: agentArgs,
      // The agent reads its tokens and the gossip key from the 0600 file, nothing from here.
      env: this.childEnv(),
      restart: 'always',
      // Ready once its HTTP API answers at all: a run killed after that (kill -9, OOM) served and
      // is restarted at once; only runs that die before it count towards the crash-loop limit.
      readiness: {
        intervalMs: 100,
        timeoutMs: spec.timeouts.readySeconds * 1000,
        probe: (signal) => this.consulClient!.answers(signal),
      },
      // A server leaves only through `consul leave` (it would shrink the quorum); on a plain
      // SIGTERM it exits 1 by design and stays a raft peer (contract §2).
      stopSignal: isServer ? 'SIGTERM' : 'SIGINT',
      stopGraceMs: spec.timeouts.stopSeconds * 1000,
      parseLine: (line, stream) => {
        const parsed = parseHclogLine(line, stream);
        this.noteAclRefusal(parsed);
        if (parsed.msg === 'adding server') this.serverAddedAt = Date.now();
        this.consulLog.saw(parsed.msg);
        return parsed;
      },
      stopTrigger: async () => {
        await this.deregisterServices();
        if (isServer) return 'signal';
        await this.awaitDueFullSync();
        // A client leaves gracefully and then exits 0; the node shows "left", not "failed".
        await this.consulClient!.leave();
      },
    };
  }

  private proxyProgram(plan: ProxyPlan): ProgramSpec {
    const { spec } = this;
    const admin = plan.adminAddress ? new EnvoyAdmin(plan.adminAddress) : null;
    return {
      name: plan.name,
      command: this.consul!.spec.command,
      args: plan.args,
      env: { ...this.childEnv(), ...(plan.token ? { CONSUL_HTTP_TOKEN: plan.token } : {}) },
      // With ACLs, `consul connect envoy` that cannot see its proxy says "No sidecar proxy
      // registered" (the list is filtered, not denied: recording 11, fact 9), not 403.
      failureHint: spec.consul.acl?.enabled ? this.proxyTokenHint(plan) : undefined,
      restart: 'always',
      dependsOn: ['consul'],
      stopGraceMs: spec.timeouts.stopSeconds * 1000,
      readiness: {
        intervalMs: 250,
        timeoutMs: spec.timeouts.readySeconds * 1000,
        probe: admin
          ? (signal) => admin.isLive(signal)
          : () => this.builtinProxyListening(plan.serviceId),
      },
      stopTrigger: admin
        ? async (release) => {
            // Inbound only: the app may still finish requests through its upstreams.
            const { drainSeconds, propagationSeconds } = spec.timeouts;
            const drainEnds = Date.now() + drainSeconds * 1000;
            await admin.drainInbound();
            // Peers still routing here on a stale endpoint list get accepted for a moment...
            await sleep(Math.min(propagationSeconds, drainSeconds) * 1000);
            // ...then nothing new is: the agent may deregister and leave while connections finish.
            await admin.closeInbound();
            release();
            await sleep(Math.max(0, drainEnds - Date.now()));
            await admin.quit();
          }
        : undefined,
    };
  }

  /** What the token of a proxy needs (the Consul service name, not the ID, is what policies name). */
  private proxyTokenHint(plan: ProxyPlan): string {
    const service = this.spec.services.find((s) => s.id === plan.serviceId);
    const [field, needs] = service
      ? ['services[].token', `service "${service.name}-sidecar-proxy" write`]
      : ['gateways[].token', `service "${plan.serviceId}" write`];
    return `the ACL token this proxy gets (${field}, else consul.acl.tokens.service, else the meshvisor token) needs ${needs}, service_prefix "" read and node_prefix "" read (docs/acl.md)`;
  }

  /**
   * "Service registration blocked by ACLs: service=users-1 accessorID=…" (recording 11): the
   * servers refused the token a service registers with. Right after a join the agent may log it
   * with an empty accessorID before its tokens resolve: only a resolved accessor is a refusal.
   */
  private noteAclRefusal(line: ParsedLine): void {
    if (line.msg !== 'Service registration blocked by ACLs') return;
    const service = line.fields?.service;
    const accessor = line.fields?.accessorID;
    if (typeof service === 'string' && typeof accessor === 'string' && accessor !== '') {
      this.aclRefusals.set(service, accessor);
    }
  }

  /** The stages READY requires: the plan's, or the consul stages before there is one. */
  private requiredStages(): readonly string[] {
    return this.plan?.requiredStages ?? ['address', ...CONSUL_STAGES];
  }

  /** The built-in proxy is ready when its public listener (the sidecar's port) accepts TCP. */
  private async builtinProxyListening(serviceId: string): Promise<boolean> {
    try {
      const services = await this.consulClient!.services();
      const port = services[`${serviceId}-sidecar-proxy`]?.Port;
      return port !== undefined && (await acceptsTcp('127.0.0.1', port));
    } catch {
      return false;
    }
  }

  /**
   * What children inherit: meshvisor's environment less every variable carrying a secret of the
   * spec (the ones that fed `${...}` in secret fields, an inline MESHVISOR_CONFIG_JSON) and less
   * CONSUL_HTTP_TOKEN: a proxy gets exactly its own token, set by proxyProgram.
   */
  private childEnv(): Record<string, undefined> {
    const secrets = secretValues(this.spec);
    const dropped = Object.entries(process.env).filter(
      ([name, value]) =>
        name === 'CONSUL_HTTP_TOKEN' ||
        (value !== undefined && secrets.some((secret) => value.includes(secret))),
    );
    return Object.fromEntries(dropped.map(([name]) => [name, undefined]));
  }

  /** The cluster view in /status (leader, members, degraded), refreshed in the background. */
  private watchConsulView(): void {
    const timer = setInterval(() => void this.refreshConsulView(), VIEW_REFRESH_MS);
    timer.unref();
    void this.outcome.then(() => clearInterval(timer));
  }

  /**
   * Once the node is up, a lost leader (servers stopped or unreachable) makes it degraded, not
   * unready: its proxies keep serving what they have, and an orchestrator acting on readiness
   * would replace every healthy task of the cluster at once. Before that, the stages say it.
   */
  private async refreshConsulView(): Promise<void> {
    const client = this.consulClient;
    if (!client || this.settled) return;
    const [leader, members] = await Promise.allSettled([client.leader(), client.members()]);
    const leaderAddr = leader.status === 'fulfilled' && leader.value !== '' ? leader.value : null;
    this.lanMembers =
      members.status === 'fulfilled' ? members.value.filter((m) => m.Status === 1).length : null;
    this.board.setConsulView({ leader: leaderAddr, members: this.lanMembers });
    if (!this.broughtUp || this.settled) return;
    const wasDegraded = this.board.isDegraded();
    if (leaderAddr !== null) {
      if (wasDegraded)
        this.logger.info({ leader: leaderAddr }, 'cluster leader known again: no longer degraded');
      this.board.setDegraded(null);
      return;
    }
    const why =
      leader.status === 'rejected' ? (leader.reason as Error).message : 'no cluster leader elected';
    const reason = `no cluster leader known: ${why}`;
    if (!wasDegraded)
      this.logger.warn({ reason }, 'degraded: the node lost its cluster; its proxies keep serving');
    this.board.setDegraded(reason);
  }

  /**
   * A client agent that adds a server (its join, a rejoin after a restart) runs a full
   * anti-entropy sync after a random stagger of up to 3 s, more in clusters over 128 nodes
   * (1.10 agent/ae/ae.go). If that sync lands during the leave's 3 s propagation delay, it
   * registers the node again after the leader removed it, and the catalog keeps an empty node
   * until the leader's next reconcile (seen on the real agent when stopping within 3 s of a
   * consul restart). So the leave waits out the stagger; a stop long after the join waits nothing.
   */
  private async awaitDueFullSync(): Promise<void> {
    if (this.serverAddedAt === null) return;
    const members = this.lanMembers ?? 1;
    const scale = members <= 128 ? 1 : Math.ceil(Math.log2(members) - Math.log2(128)) + 1;
    const wait = this.serverAddedAt + SERVER_UP_SYNC_STAGGER_MS * scale - Date.now();
    if (wait <= 0) return;
    this.logger.info(
      { waitMs: Math.round(wait) },
      "leave: waiting out the agent's due anti-entropy sync (it joined a server moments ago)",
    );
    await sleep(wait);
  }

  private async setMaintenance(): Promise<void> {
    const client = this.consulClient;
    if (!client) return;
    await Promise.all(
      this.spec.services.map((s) =>
        client
          .maintenance(s.id, true, 'meshvisor: node stopping')
          .catch((err: unknown) =>
            this.logger.warn(
              { service: s.id, err: (err as Error).message },
              'maintenance mode failed',
            ),
          ),
      ),
    );
  }

  private async deregisterServices(): Promise<void> {
    const client = this.consulClient;
    if (!client) return;
    const ids = [...this.spec.services.map((s) => s.id), ...this.spec.gateways.map((g) => g.name)];
    await Promise.all(
      ids.map((id) =>
        client
          .deregister(id)
          .catch((err: unknown) =>
            this.logger.warn({ service: id, err: (err as Error).message }, 'deregister failed'),
          ),
      ),
    );
  }

  /**
   * Reload (SIGHUP, `meshvisor reload`): read the spec again from where it came from, and apply
   * the difference to the running node. A bad spec or a change that needs a restart changes
   * nothing. Otherwise, in the order a stop uses for what goes away: removed services into
   * maintenance, their proxies drained and quit; then the agent's file is re-rendered and the
   * agent reloads it (services and checks added, changed, removed); the catalog must hold the new
   * services; new or changed entries are written; new proxies start, gated on Envoy's /ready.
   * Unchanged programs keep their pids. Reloads run one after another.
   */
  reload(trigger: string): Promise<ReloadStatus> {
    const next = this.reloads.then(() => this.applyReload(trigger));
    this.reloads = next.catch(() => {});
    return next;
  }

  private async applyReload(trigger: string): Promise<ReloadStatus> {
    const finish = (result: ReloadResult, problems: string[] = [], changes: string[] = []) => {
      const status: ReloadStatus = { at: new Date().toISOString(), result, problems, changes };
      this.board.reloadFinished(status);
      const log = result === 'applied' || result === 'unchanged' ? 'info' : 'error';
      for (const problem of problems) this.logger[log]({ trigger, result }, `reload: ${problem}`);
      this.logger[log]({ trigger, result, changes, generation: this.generation }, 'reload done');
      return status;
    };
    const current = this.plan;
    if (!current || !this.broughtUp || this.settled) {
      return finish('refused', ['the node is not READY yet (or stopping): restart to change it']);
    }
    let spec: NodeSpec;
    try {
      spec = await this.readSpec();
    } catch (err) {
      if (err instanceof SpecError) return finish('invalid', err.message.split('\n'));
      return finish('failed', [`reading the spec: ${(err as Error).message}`]);
    }
    const refused = refusedChanges(current.spec, spec);
    if (refused.length > 0) {
      return finish(
        'refused',
        refused.map((path) => `${path}: cannot change while the node runs; restart to change it`),
      );
    }
    let plan: NodePlan;
    try {
      const envoyPath = needsEnvoy(spec)
        ? (this.envoyPath ?? requireExecutable(spec.proxy.envoyBinary, 'proxy.envoyBinary'))
        : this.envoyPath;
      const held = new Map(
        current.proxies.map((p) => [p.name, Number(p.adminAddress?.split(':').at(-1))]),
      );
      plan = planNode(spec, this.address, { envoyBinaryPath: envoyPath, heldAdminPorts: held });
      this.envoyPath = envoyPath;
    } catch (err) {
      return finish('failed', [(err as Error).message]);
    }
    const changes = diffPlans(current, plan);
    if (isEmpty(changes)) return finish('unchanged');

    const run: BringUp = {
      signal: AbortSignal.any([this.stopping.signal, this.bringUp.signal]),
      deadline: Date.now() + spec.timeouts.readySeconds * 1000,
    };
    this.board.reloadStarted(`spec generation ${this.generation + 1}`);
    try {
      await this.applyChanges(current, plan, changes, run);
    } catch (err) {
      return finish('failed', [(err as Error).message], describeChanges(changes));
    }
    return finish('applied', [], describeChanges(changes));
  }

  private async applyChanges(
    current: NodePlan,
    plan: NodePlan,
    changes: PlanChanges,
    run: BringUp,
  ): Promise<void> {
    const client = this.consulClient!;
    // What goes away goes as in a stop: out of rotation, drained, quit, then deregistered.
    await Promise.all(
      changes.removedServices.map((id) =>
        client.maintenance(id, true, 'meshvisor: removed by a reload'),
      ),
    );
    await Promise.all(
      changes.stopProxies.map((p) => this.supervisor.remove(p.name, this.stopGraceMs(plan))),
    );
    await Promise.all(
      [...changes.removedServices, ...changes.removedGateways].map((id) => client.deregister(id)),
    );

    if (changes.agentConfig) {
      await writeRenderedFiles(plan.rendered.files);
      await client.reload();
    }
    // From here the node runs the new plan: a consul restart brings this one up.
    this.plan = plan;
    this.generation++;
    this.board.setSpec(plan.hash, this.generation);

    const target = this.readinessTarget(plan);
    const memory = new StageMemory();
    for (const stage of READINESS_STAGES.filter((s) => s.name !== 'http-up')) {
      await pollUntil(`reload ${stage.name}`, () => stage.check(client, target, memory), {
        ...run,
        wake: this.consulLog.on(stage.wakeOn),
        hint: stage.hint(target),
      });
    }
    // Peers see the removal once the servers' catalog no longer holds what went away.
    const gone = [
      ...changes.removedServices.flatMap((id) => [id, `${id}-sidecar-proxy`]),
      ...changes.removedGateways,
    ];
    if (gone.length > 0) {
      await pollUntil(
        'reload deregistration',
        async () => {
          const node = await client.catalogNode(plan.spec.nodeName);
          const left = gone.filter((id) => node?.serviceIds.includes(id));
          if (left.length > 0) throw new NotYet(`the catalog still holds ${left.join(', ')}`);
        },
        { ...run, hint: "the agent log for 'failed to sync remote state'" },
      );
    }
    if (changes.entries.length > 0) await this.writeEntries(changes.entries, run);
    if (changes.startProxies.length > 0) await this.startProxies(changes.startProxies, run);
  }

  private stopGraceMs(plan: NodePlan): number {
    return plan.spec.timeouts.stopSeconds * 1000;
  }

  /**
   * The ordered stop, inside timeouts.stopSeconds: not ready at once, services out of
   * rotation, then the supervisor stops proxies (drain, wait, quit) before consul
   * (deregister, leave); whatever outlives the deadline is killed with its process tree.
   */
  private async stop(outcome: Outcome): Promise<ExitCode> {
    this.end(outcome);
    this.stopping.abort(new Error('stopping'));
    this.board.setPhase('stopping');
    this.board.stageStarted('stop');
    if (outcome.kind === 'fatal') this.logger.error({ err: outcome.message }, 'node failed');
    // One budget for the whole stop: maintenance counts inside it.
    const deadline = Date.now() + this.spec.timeouts.stopSeconds * 1000;
    if (this.consul?.state === 'ready' || this.consul?.state === 'running') {
      const maintenanceBudget = new AbortController();
      await Promise.race([
        this.setMaintenance(),
        sleep(Math.min(MAINTENANCE_MAX_MS, (deadline - Date.now()) / 4), undefined, {
          signal: maintenanceBudget.signal,
        }).catch(() => {}),
      ]);
      // The process exits as soon as its work is done: no timer may outlive the race.
      maintenanceBudget.abort();
    }
    await this.supervisor.stop({ deadlineMs: Math.max(0, deadline - Date.now()) });
    this.board.stageFinished('stop');
    this.board.setPhase('stopped');
    await this.statusServer?.close();
    this.logger.info({ outcome: outcome.kind }, 'node stopped');
    return outcome.kind === 'stop' ? ExitCode.ok : outcome.exitCode;
  }
}

function requireExecutable(nameOrPath: string, field: string): string {
  const path = findExecutable(nameOrPath);
  if (!path) {
    throw new CliError(
      `${field}: "${nameOrPath}" is not an executable file${nameOrPath.includes('/') ? '' : ' on PATH'}`,
      ExitCode.unavailable,
    );
  }
  return path;
}

/** One line per change a reload applied, for its log line and /status. */
function describeChanges(changes: PlanChanges): string[] {
  const started = new Set(changes.startProxies.map((p) => p.name));
  const stopped = new Set(changes.stopProxies.map((p) => p.name));
  return [
    ...changes.stopProxies.map((p) => `${started.has(p.name) ? 'restarted' : 'stopped'} ${p.name}`),
    ...changes.startProxies.filter((p) => !stopped.has(p.name)).map((p) => `started ${p.name}`),
    ...changes.removedGateways.map((name) => `deregistered gateway ${name}`),
    ...(changes.agentConfig ? ['re-rendered the agent config; consul reloaded it'] : []),
    ...changes.entries.map((e) => `wrote config entry ${e.Kind}/${e.Name}`),
  ];
}
