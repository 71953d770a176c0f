// A program asked for its version (`consul version`, `envoy --version`): the one kind of program
// doctor runs, and the one `run` runs before its programs (the Envoy a plan pairs with Consul).
import { spawn, type ChildProcess } from 'node:child_process';

/** How long a version query may take before it counts as "not runnable". */
export const VERSION_QUERY_TIMEOUT_MS = 3000;

export interface QueryOutcome {
  output?: string;
  problem?: string;
}

/**
 * Runs `<path> <args>` in its own process group, killed whole at the deadline (a wrapper script's
 * children included, so nothing it started outlives doctor or holds its pipes).
 */
export function queryVersion(
  path: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<QueryOutcome> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let child: ChildProcess;
    try {
      child = spawn(path, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      resolve({ problem: (err as Error).message });
      return;
    }
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }, VERSION_QUERY_TIMEOUT_MS);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < 64 * 1024) stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < 64 * 1024) stderr += chunk;
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const reasons: Record<string, string> = {
        ENOEXEC: 'exec format error: not a program for this machine (architecture?)',
        EACCES: 'permission denied',
      };
      resolve({ problem: reasons[err.code ?? ''] ?? err.message });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        resolve({ problem: `did not answer within ${VERSION_QUERY_TIMEOUT_MS / 1000} s` });
      } else if (code === 0) {
        resolve({ output: `${stdout}\n${stderr}` });
      } else {
        const firstLine = `${stderr}\n${stdout}`.split('\n').find((l) => l.trim() !== '') ?? '';
        const how = signal ? `was killed by ${signal}` : `exited ${code}`;
        resolve({ problem: `${how}${firstLine ? `: ${firstLine.trim()}` : ''}` });
      }
    });
  });
}
