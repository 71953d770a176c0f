// One supervised child and its state machine:
//   stopped -> starting -> running [-> ready] -> (exit) -> backoff -> starting ... | exited | fatal
//   any live state -> stopping -> exited
// Liveness comes from the child's 'exit'/'error' events only, never from its pipes closing: a
// grandchild holding stdout open must not make us think the program still runs (or hang us).
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { logFlow, plainDataLogger, type Logger } from '../log.ts';
import { backoffDelay, RestartWindow } from './backoff.ts';
import { crashLoopReason, describeExit, spawnFailure } from './failures.ts';
import { killTree, signalGroup, snapshotTree } from './kill-tree.ts';
import { parseOutputLine, StreamRelay } from './log-relay.ts';
import type {
  ExitInfo,
  OutputStream,
  ProgramSnapshot,
  ProgramSpec,
  ProgramState,
  RestartPolicy,
} from './types.ts';

const DEFAULT_RESTART: RestartPolicy = 'on-failure';
const DEFAULT_STOP_GRACE_MS = 10_000;
const DEFAULT_BACKOFF = { initialMs: 100, maxMs: 30_000, resetAfterMs: 10_000 };
const DEFAULT_CRASH_LOOP = { maxRestarts: 5, windowMs: 60_000 };
const DEFAULT_PROBE_INTERVAL_MS = 500;
const DEFAULT_READY_TIMEOUT_MS = 60_000;
/** One probe call may take this long before its signal aborts. */
const PROBE_ATTEMPT_MS = 5_000;
/** How long to wait for the exit event after SIGKILL before giving up on a process (D state). */
const KILL_WAIT_MS = 5_000;
const RECENT_EXITS = 10;

interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly spawnedAt: number;
  /** Resolves at the child's 'exit' event. */
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | null;
  /** Aborted when the child exits or is being stopped: ends its readiness probe. */
  readonly probing: AbortController;
  readinessFailed: boolean;
  /** Its readiness probe passed: an exit after that is a death in service, not a failed start. */
  becameReady: boolean;
  readonly relays: StreamRelay[];
}

/** How a stop in progress can be hurried: a second stop with a shorter grace. */
interface StopInProgress {
  readonly done: Promise<ExitInfo | null>;
  /** Its stopTrigger released its dependencies, or it exited. */
  readonly released: Promise<void>;
  shortenGrace(graceMs: number): void;
}

export class Program extends EventEmitter {
  readonly spec: ProgramSpec;
  readonly #logger: Logger;
  /** For the child's output lines. */
  readonly #relayLogger: Logger;
  #state: ProgramState = 'stopped';
  #child: Child | null = null;
  #ready = false;
  #restarts = 0;
  #attempt = 0;
  readonly #window: RestartWindow;
  #recentExits: ExitInfo[] = [];
  #droppedLogLines = 0;
  /** The child's last error line (or stderr line): a crash loop's reason quotes it. */
  #lastWords: string | null = null;
  #fatalReason: string | null = null;
  #notReadyReason: string | null = null;
  #stopRequested = false;
  #restartsHeld = false;
  #restartTimer: NodeJS.Timeout | null = null;
  #stopping: StopInProgress | null = null;
  #spawnedOnce = false;

  constructor(spec: ProgramSpec, options: { logger: Logger }) {
    super();
    this.spec = spec;
    this.#logger = options.logger.child({ program: spec.name });
    // The relay censors its records' nested secrets itself (censorNested): cheaper per line.
    this.#relayLogger = plainDataLogger(this.#logger);
    this.#window = new RestartWindow(
      spec.crashLoop?.maxRestarts ?? DEFAULT_CRASH_LOOP.maxRestarts,
      spec.crashLoop?.windowMs ?? DEFAULT_CRASH_LOOP.windowMs,
    );
  }

  get name(): string {
    return this.spec.name;
  }

  get state(): ProgramState {
    return this.#state;
  }

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  snapshot(): ProgramSnapshot {
    return {
      name: this.name,
      state: this.#state,
      pid: this.pid,
      restarts: this.#restarts,
      ready: this.#ready,
      lastExit: this.#recentExits.at(-1) ?? null,
      recentExits: [...this.#recentExits],
      droppedLogLines: this.#droppedLogLines,
      fatalReason: this.#fatalReason,
      notReadyReason: this.#ready ? null : this.#notReadyReason,
    };
  }

  /** Spawns the program unless it is already alive or about to restart. */
  start(): void {
    if (this.#state === 'stopping') throw new Error(`${this.name}: cannot start while stopping`);
    if (this.#child || this.#state === 'backoff' || this.#state === 'starting') return;
    this.#stopRequested = false;
    this.#restartsHeld = false;
    this.#fatalReason = null;
    this.#attempt = 0;
    this.#window.clear();
    this.#spawn();
  }

  /**
   * Resolves when the program is ready (running, for a program without a probe). Waits through
   * restarts; rejects when it fails for good, exits without a restart, is stopped, or on abort.
   */
  whenReady(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const settled = (): boolean => {
        if (this.#ready) resolve();
        else if (this.#state === 'fatal')
          reject(new Error(`${this.name} failed: ${this.#fatalReason}`));
        else if (this.#stopRequested) reject(new Error(`${this.name} was stopped`));
        else if (this.#state === 'exited') {
          reject(new Error(`${this.name} exited (${describeExit(this.snapshot().lastExit)})`));
        } else return false;
        return true;
      };
      const cleanup = () => {
        this.off('state', onState);
        signal?.removeEventListener('abort', onAbort);
      };
      const onState = () => {
        if (settled()) cleanup();
      };
      const onAbort = () => {
        cleanup();
        reject(signal?.reason ?? new Error('aborted'));
      };
      if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
      if (settled()) return;
      this.on('state', onState);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Stops the program: its stopTrigger, else stopSignal to its process group; after graceMs the
   * group and every descendant are SIGKILLed; whatever it leaves behind is swept either way.
   * Resolves with the exit (null if it never ran). A second call may shorten the grace.
   */
  stop(options: { graceMs?: number } = {}): Promise<ExitInfo | null> {
    this.#stopRequested = true;
    this.#cancelRestart();
    const graceMs = options.graceMs ?? this.spec.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    if (this.#stopping) {
      this.#stopping.shortenGrace(graceMs);
      return this.#stopping.done;
    }
    const child = this.#child;
    if (!child) {
      if (this.#state === 'backoff' || this.#state === 'starting') this.#setState('exited');
      return Promise.resolve(this.snapshot().lastExit);
    }
    return this.#stopChild(child, graceMs);
  }

  /**
   * Resolves once a stopping program no longer needs its dependencies (its stopTrigger released
   * them, or it exited); at once when it is not stopping.
   */
  whenReleased(): Promise<void> {
    return this.#stopping?.released ?? Promise.resolve();
  }

  /** SIGKILLs the process group and every descendant now; no restart follows. */
  async kill(): Promise<void> {
    this.#stopRequested = true;
    this.#cancelRestart();
    const child = this.#child;
    if (!child) {
      if (this.#state === 'backoff' || this.#state === 'starting') this.#setState('exited');
      return;
    }
    if (this.#state !== 'stopping') this.#enterStopping(child);
    const pids = killTree(child.pid);
    this.#logger.warn({ pids }, 'killed the process tree');
    await Promise.race([child.exited, sleep(KILL_WAIT_MS, null, { ref: false })]);
  }

  /** From now on an exit is final (the supervisor is shutting down). */
  holdRestarts(): void {
    this.#restartsHeld = true;
    if (this.#cancelRestart()) this.#setState('exited');
  }

  #setState(state: ProgramState): void {
    this.#state = state;
    this.emit('state', this.snapshot());
  }

  #cancelRestart(): boolean {
    if (!this.#restartTimer) return false;
    clearTimeout(this.#restartTimer);
    this.#restartTimer = null;
    return true;
  }

  #spawn(): void {
    const { spec } = this;
    this.#ready = false;
    this.#notReadyReason = null;
    this.#setState('starting');
    const args = (!this.#spawnedOnce && spec.firstRunArgs) || spec.args;
    this.#spawnedOnce = true;
    let subprocess: ChildProcess;
    try {
      // node:child_process, not execa: nothing here needs more than spawn, and execa's modules
      // stayed resident (~3 MiB of meshvisor's RSS; bench/README.md, "where the memory goes").
      subprocess = spawn(spec.command, args, {
        cwd: spec.cwd,
        // Over our own environment; a variable set to undefined is not passed at all.
        env: spec.env ? { ...process.env, ...spec.env } : process.env,
        // Its own process group: a terminal's or tini's group signal does not reach it behind
        // our back, and kill(-pgid) reaches all of it.
        detached: true,
        // We read the pipes ourselves, line by line.
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      this.#onSpawnError(err as NodeJS.ErrnoException);
      return;
    }
    const pid = subprocess.pid;
    if (pid === undefined) {
      subprocess.once('error', (err: NodeJS.ErrnoException) => this.#onSpawnError(err));
      return;
    }
    const relayOptions = {
      logger: this.#relayLogger,
      parseLine: (line: string, stream: OutputStream) => {
        const parsed = spec.parseLine ? spec.parseLine(line, stream) : parseOutputLine(line);
        // Consul logs its fatal errors on stdout at [ERROR]; other programs use stderr.
        const alarming = parsed.level === 'error' || parsed.level === 'fatal';
        if ((alarming || stream === 'stderr') && line.trim() !== '') {
          this.#lastWords = line.trim();
        }
        return parsed;
      },
      onDrop: () => this.#droppedLogLines++,
      // Shared by every program: while stdout is behind, all of them wait.
      flow: logFlow(this.#logger),
    };
    let onExit!: (info: ExitInfo) => void;
    const child: Child = {
      process: subprocess,
      pid,
      spawnedAt: Date.now(),
      exited: new Promise((resolve) => (onExit = resolve)),
      exitInfo: null,
      probing: new AbortController(),
      readinessFailed: false,
      becameReady: false,
      relays: [
        new StreamRelay(subprocess.stdout!, 'stdout', relayOptions),
        new StreamRelay(subprocess.stderr!, 'stderr', relayOptions),
      ],
    };
    this.#child = child;
    subprocess.once('spawn', () => this.#onRunning(child));
    subprocess.once('exit', (code, signal) => {
      const info: ExitInfo = { code, signal, at: new Date() };
      child.exitInfo = info;
      onExit(info);
      this.#onExit(child, info);
    });
    // After a successful spawn, 'error' only reports a failed kill(); we do not use kill().
    subprocess.on('error', (err) => this.#logger.warn({ err: err.message }, 'child process error'));
    this.#logger.info({ childPid: pid, command: spec.command, args }, 'spawned');
  }

  #onRunning(child: Child): void {
    if (this.#child !== child || this.#state !== 'starting') return;
    this.#ready = !this.spec.readiness;
    this.#setState('running');
    this.emit('spawn', child.pid);
    if (this.#ready) this.emit('ready');
    else void this.#probeUntilReady(child);
  }

  #onSpawnError(err: NodeJS.ErrnoException): void {
    const { reason, permanent } = spawnFailure(err, this.spec);
    this.#child = null;
    this.#ready = false;
    if (this.#stopRequested || this.#restartsHeld) {
      this.#setState('exited');
    } else if (permanent) {
      this.#fail(reason);
    } else {
      this.#logger.error({ err: reason }, 'spawn failed');
      this.#restartOrFinish(true, false);
    }
  }

  #onExit(child: Child, info: ExitInfo): void {
    if (this.#child === child) this.#child = null;
    child.probing.abort();
    this.#ready = false;
    this.#recentExits = [...this.#recentExits, info].slice(-RECENT_EXITS);
    child.relays.forEach((relay) => relay.childExited());
    // What the program started dies with it: a restart would find its ports taken otherwise.
    signalGroup(child.pid, 'SIGKILL');
    const ranMs = info.at.getTime() - child.spawnedAt;
    const final = this.#stopRequested || this.#restartsHeld;
    this.#logger[final ? 'info' : 'warn'](
      { code: info.code, signal: info.signal, ranMs },
      final ? 'exited' : 'exited unexpectedly',
    );
    this.emit('exit', info);
    if (final) this.#setState('exited');
    else
      this.#restartOrFinish(
        child.readinessFailed || info.code !== 0,
        this.#servedWell(child, ranMs),
      );
  }

  /**
   * A run that became ready (or, without a probe, outlived the stable period) was healthy: its
   * death (kill -9, OOM) is not a crash loop, and its restart starts the backoff afresh. Only runs
   * that die before that count towards the crash-loop limit.
   */
  #servedWell(child: Child, ranMs: number): boolean {
    if (this.spec.readiness) return child.becameReady;
    return ranMs >= (this.spec.backoff?.resetAfterMs ?? DEFAULT_BACKOFF.resetAfterMs);
  }

  #restartOrFinish(failed: boolean, servedWell: boolean): void {
    const policy = this.spec.restart ?? DEFAULT_RESTART;
    if (policy === 'never' || (policy === 'on-failure' && !failed)) {
      this.#setState('exited');
      return;
    }
    const { initialMs, maxMs } = { ...DEFAULT_BACKOFF, ...this.spec.backoff };
    if (servedWell) {
      this.#attempt = 0;
    } else {
      if (this.#window.isExhausted()) {
        this.#fail(
          crashLoopReason({
            window: this.#window,
            recentExits: this.#recentExits,
            lastWords: this.#lastWords,
            failureHint: this.spec.failureHint,
          }),
        );
        return;
      }
      this.#window.record();
    }
    const delayMs = backoffDelay(this.#attempt++, { initialMs, maxMs });
    this.#setState('backoff');
    this.#logger.info({ delayMs, restarts: this.#restarts }, 'restarting after backoff');
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = null;
      this.#restarts++;
      this.#spawn();
    }, delayMs);
  }

  #fail(reason: string): void {
    this.#fatalReason = reason;
    this.#setState('fatal');
    this.#logger.error({ err: reason, recentExits: this.#recentExits }, 'failed for good');
    this.emit('fatal', reason);
  }

  async #probeUntilReady(child: Child): Promise<void> {
    const { probe, intervalMs, timeoutMs } = {
      intervalMs: DEFAULT_PROBE_INTERVAL_MS,
      timeoutMs: DEFAULT_READY_TIMEOUT_MS,
      ...this.spec.readiness!,
    };
    const deadline = child.spawnedAt + timeoutMs;
    const { signal } = child.probing;
    let lastError: string | undefined;
    while (!signal.aborted && Date.now() < deadline) {
      const attemptMs = Math.min(PROBE_ATTEMPT_MS, deadline - Date.now());
      try {
        const ready = await probe(AbortSignal.any([signal, AbortSignal.timeout(attemptMs)]));
        if (ready && !signal.aborted) {
          child.becameReady = true;
          this.#ready = true;
          this.#setState('ready');
          this.#logger.info({ afterMs: Date.now() - child.spawnedAt }, 'ready');
          this.emit('ready');
          return;
        }
        lastError = undefined;
      } catch (err) {
        const reason = (err as Error).message;
        // Said once when it changes (an Envoy that rejected its listener says so at every poll).
        if (reason !== lastError && !signal.aborted) {
          this.#logger.warn({ reason }, 'not ready');
        }
        lastError = reason;
      }
      this.#notReadyReason = lastError ?? null;
      const pause = Math.min(intervalMs, deadline - Date.now());
      await sleep(Math.max(0, pause), undefined, { signal }).catch(() => {});
    }
    if (signal.aborted) return;
    child.readinessFailed = true;
    this.#logger.warn(
      { timeoutMs, lastError },
      'not ready before the readiness deadline: killing it (counts as a failure)',
    );
    killTree(child.pid);
  }

  #enterStopping(child: Child): void {
    this.#ready = false;
    child.probing.abort();
    this.#setState('stopping');
  }

  #stopChild(child: Child, graceMs: number): Promise<ExitInfo | null> {
    this.#enterStopping(child);
    // Before anything is signalled: once a parent dies, its orphans are no longer its children.
    const tree = snapshotTree(child.pid);
    let deadline = Date.now() + graceMs;
    let timer: NodeJS.Timeout | undefined;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let graceOver!: () => void;
    const graceEnded = new Promise<'grace'>((resolve) => (graceOver = () => resolve('grace')));
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(graceOver, Math.max(0, deadline - Date.now()));
    };
    arm();
    const done = (async () => {
      void this.#sendStop(child, graceMs, release);
      const outcome = await Promise.race([child.exited, graceEnded]);
      clearTimeout(timer);
      if (outcome === 'grace') {
        this.#logger.warn({ graceMs }, 'did not exit within the grace: killing its process tree');
        killTree(child.pid, tree);
      }
      const info = await Promise.race([child.exited, sleep(KILL_WAIT_MS, null, { ref: false })]);
      if (!info) this.#logger.error({ childPid: child.pid }, 'still alive after SIGKILL');
      const leftovers = killTree(child.pid, tree);
      if (leftovers.length > 0) this.#logger.warn({ pids: leftovers }, 'killed leftover processes');
      return info;
    })().finally(() => {
      this.#stopping = null;
      release();
    });
    this.#stopping = {
      done,
      released,
      shortenGrace: (ms) => {
        if (Date.now() + ms >= deadline) return;
        deadline = Date.now() + ms;
        arm();
      },
    };
    return done;
  }

  async #sendStop(child: Child, graceMs: number, release: () => void): Promise<void> {
    const signal = this.spec.stopSignal ?? 'SIGTERM';
    if (this.spec.stopTrigger) {
      this.#logger.info({ graceMs }, 'stopping (stop trigger)');
      try {
        if ((await this.spec.stopTrigger(release)) !== 'signal') return;
      } catch (err) {
        if (child.exitInfo) return;
        this.#logger.warn(
          { err: (err as Error).message, signal },
          'stop trigger failed: signalling',
        );
      }
    } else {
      this.#logger.info({ signal, graceMs }, 'stopping');
    }
    if (!child.exitInfo) signalGroup(child.pid, signal);
  }
}
