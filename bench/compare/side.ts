// What the figures need from a supervisor under test, whichever it is. Each side implements it
// through its own interface (supervisord: XML-RPC on its unix socket and supervisorctl;
// meshvisor: its status endpoint and `meshvisor status`), so a figure is written once.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestHost } from '../../test/helpers/netns.ts';

export type SideName = 'supervisord' | 'meshvisor';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ProgramView {
  pid: number | null;
  /** supervisord: RUNNING (alive for startsecs); meshvisor: ready (its probe passed). */
  up: boolean;
}

export interface Supervised {
  readonly side: SideName;
  /** The supervisor process itself: python3 running supervisord, or node running meshvisor. */
  readonly pid: number;
  readonly exited: Promise<Exit>;
  /** This side's name for the sidecar of a service (`envoy-<id>` / `sidecar:<id>`). */
  sidecarProgram(serviceId: string): string;
  /** Every program up, as this supervisor defines it (all RUNNING / READY: /readyz 200). */
  allUp(): Promise<boolean>;
  /**
   * ms from exec (`execWall`, epoch ms; `t0`, performance.now()) until every program was up, found
   * without waking the supervisor where asking would change what is measured (supervisord).
   */
  untilAllUp(t0: number, execWall: number, timeoutMs: number): Promise<number>;
  /** One program as the supervisor's API reports it. */
  program(name: string): Promise<ProgramView>;
  /** Restarts so far, summed over the programs, as far as the supervisor tells. */
  restarts(): Promise<number>;
  /** One status read through the API, in this process (XML-RPC / fetch /status). */
  apiStatus(): Promise<void>;
  /** One status read through the CLI (`supervisorctl status` / `meshvisor status`). */
  cliStatus(): Promise<void>;
  /** One cheap status call with a deadline: does the supervisor still answer? */
  ping(timeoutMs: number): Promise<void>;
  /** Whether the supervisor gave the program up for good (supervisord FATAL, meshvisor fatal). */
  gaveUp(name: string): Promise<boolean>;
}

/** What to do with a supervisor's stdout: drained by default, so output never blocks it. */
export type StdoutHandler = (stdout: Readable) => void;

export const drainStdout: StdoutHandler = (stdout) => void stdout.resume();

/**
 * Spawns `cmd` in the host's namespace (the pid is the command's: `ip netns exec` execs), its
 * stdout a FIFO at `fifo` that the bench reads. A FIFO, not Node's default socketpair: as in a
 * container (containerd hands out FIFOs) and because supervisord's `stdout_logfile=/dev/stdout`
 * cannot open a socket (ENXIO); both sides get the same kind of stdout, with a pipe's 64 KiB buffer.
 */
export function spawnSupervisor(
  host: TestHost,
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  onStdout: StdoutHandler,
  fifo: string,
): { pid: number; exited: Promise<Exit> } {
  execFileSync('mkfifo', ['-m', '600', fifo]);
  // The read end first, non-blocking, so opening the write end does not wait for a reader.
  const readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeFd = openSync(fifo, constants.O_WRONLY);
  let child: ChildProcess;
  try {
    child = host.spawn(cmd, args, { stdio: ['ignore', writeFd, 'pipe'], env });
  } finally {
    closeSync(writeFd);
  }
  if (child.pid === undefined) {
    closeSync(readFd);
    throw new Error(`could not spawn ${cmd}`);
  }
  const stdout = new Socket({ fd: readFd, readable: true, writable: false });
  stdout.on('error', () => undefined); // EOF or a killed writer: nothing more to read
  onStdout(stdout);
  child.stderr!.resume();
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { pid: child.pid, exited };
}

/**
 * Polls `probe` every `everyMs` until it returns a value (not undefined); ms since `t0` and the
 * value. A throwing probe counts as "not yet". Rejects past `timeoutMs` with `what` and the last
 * error, or at once if `exited` settles first.
 */
export async function pollUntil<T>(
  what: string,
  t0: number,
  timeoutMs: number,
  everyMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
  exited?: Promise<unknown>,
): Promise<{ ms: number; value: T }> {
  let gone = false;
  void exited?.then(() => (gone = true));
  let last = 'not yet';
  while (performance.now() - t0 < timeoutMs && !gone) {
    try {
      const value = await probe();
      if (value !== undefined) return { ms: performance.now() - t0, value };
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(everyMs);
  }
  throw new Error(
    `${what}: not within ${timeoutMs} ms${gone ? ' (the supervisor exited)' : ''}; last: ${last}`,
  );
}
