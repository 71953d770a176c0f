// Shared by the supervisor tests: a logger that keeps its records, /proc liveness checks, and
// cleanup by pid that works even when the code under test failed.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, type Logger } from '../../src/log.ts';
import { parseStat } from '../../src/supervise/proc.ts';

export type LogRecord = Record<string, unknown>;

export function captureLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const destination = {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line) records.push(JSON.parse(line) as LogRecord);
    },
  };
  return { logger: createLogger({ level: 'debug', destination }), records };
}

/** True while pid names a process that has not exited (zombies count as exited). */
export function isAlive(pid: number): boolean {
  try {
    const entry = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return entry !== null && entry.state !== 'Z';
  } catch {
    return false;
  }
}

/** /proc/PID/cmdline or environ, one argument or variable a line; '' once the process is gone. */
export function processFile(pid: number, file: 'cmdline' | 'environ'): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8').replaceAll('\0', '\n');
  } catch {
    return '';
  }
}

/** Polls until predicate() is truthy; throws after timeoutMs naming what was awaited. */
export async function waitFor<T>(
  predicate: () => T,
  what: string,
  timeoutMs = 5000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = predicate();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** SIGKILLs each pid and its process group; for t.after, so nothing outlives a failed test. */
export function killPids(pids: Iterable<number | null | undefined>): void {
  for (const pid of pids) {
    if (!pid || pid === process.pid) continue;
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

/** `node -e <code>` as a program command. */
export function nodeScript(code: string): { command: string; args: string[] } {
  return { command: process.execPath, args: ['-e', code] };
}
