// The supervisor's public vocabulary, shared by Program, Supervisor and their callers.

export type RestartPolicy = 'always' | 'on-failure' | 'never';

export type ProgramState =
  'stopped' | 'starting' | 'running' | 'ready' | 'backoff' | 'fatal' | 'stopping' | 'exited';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export type OutputStream = 'stdout' | 'stderr';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: Date;
}

/** One line of a child's output, as a log record. */
export interface ParsedLine {
  level?: LogLevel;
  msg: string;
  fields?: Record<string, unknown>;
}

export interface ProgramSpec {
  /** 'consul', 'sidecar:users-1', 'gateway:ingress-service' */
  name: string;
  command: string;
  args: string[];
  /** The first spawn's argv, when it differs (consul's `-join` of servers that answered). */
  firstRunArgs?: string[];
  /** Merged over process.env; an undefined value removes the variable. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Default 'on-failure'. */
  restart?: RestartPolicy;
  /** Programs that must be READY before this one starts. */
  dependsOn?: string[];
  /**
   * Polled every intervalMs (default 500) after each spawn until it returns true; if timeoutMs
   * (default 60 s) passes first, the child is killed and restarted as a failure. A probe that
   * throws says why it is not ready: logged when it changes, kept as notReadyReason.
   */
  readiness?: {
    probe: (signal: AbortSignal) => Promise<boolean>;
    intervalMs?: number;
    timeoutMs?: number;
  };
  /** Default SIGTERM, sent to the program's process group. */
  stopSignal?: NodeJS.Signals;
  /** Default 10 s: after it the process group is SIGKILLed. */
  stopGraceMs?: number;
  /**
   * Called instead of sending stopSignal (`consul leave`, Envoy drain + quit). Resolving
   * 'signal' asks for stopSignal afterwards (work to do first, then the signal); throwing
   * sends it too. Either way the grace still bounds the stop. Calling `release` says the
   * program no longer needs its dependencies (an Envoy whose inbound listeners are closed):
   * a supervisor stop may begin stopping them while this one finishes. Until then, or its
   * exit, they wait.
   */
  stopTrigger?: (release: () => void) => Promise<void | 'signal'>;
  /** Defaults: first retry within 100 ms, cap 30 s, reset after 10 s of running. */
  backoff?: { initialMs?: number; maxMs?: number; resetAfterMs?: number };
  /** Default: 5 restarts within 60 s, and the next failure is fatal. */
  crashLoop?: { maxRestarts?: number; windowMs?: number };
  /** What to check when it crash-loops; appended to the fatal reason. */
  failureHint?: string;
  /** Turns an output line into a record; lines it throws on are relayed the default way. */
  parseLine?: (line: string, stream: OutputStream) => ParsedLine;
}

export interface ProgramSnapshot {
  name: string;
  state: ProgramState;
  pid: number | null;
  restarts: number;
  ready: boolean;
  lastExit: ExitInfo | null;
  /** The last few exits, oldest first. */
  recentExits: ExitInfo[];
  /** Output lines of this program the log destination dropped because it was full. */
  droppedLogLines: number;
  fatalReason: string | null;
  /** Why its readiness probe last said no (what the probe threw), while not ready; else null. */
  notReadyReason: string | null;
}
