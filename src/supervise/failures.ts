// How a program's failure reads: a spawn error (and whether any retry could fix it), and the
// crash loop that ends a program for good. These are the lines an operator reads first.
import type { RestartWindow } from './backoff.ts';
import type { ExitInfo, ProgramSpec } from './types.ts';

/** Spawn errors that no retry can fix, and what they mean for a program's command. */
const PERMANENT_SPAWN_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory (not installed, not on PATH, or a missing cwd)',
  EACCES: 'permission denied (is it executable?)',
  ENOTDIR: 'a component of the path is not a directory',
  ENOEXEC: 'not an executable format',
};

export function spawnFailure(
  err: NodeJS.ErrnoException,
  spec: Pick<ProgramSpec, 'command' | 'cwd'>,
): { reason: string; permanent: boolean } {
  const code = err.code ?? 'unknown';
  const meaning = PERMANENT_SPAWN_ERRORS[code];
  const where = spec.cwd ? ` (cwd ${spec.cwd})` : '';
  return {
    reason: `cannot run ${spec.command}${where}: ${code}: ${meaning ?? err.message}`,
    permanent: meaning !== undefined,
  };
}

export function crashLoopReason(loop: {
  window: Pick<RestartWindow, 'maxRestarts' | 'windowMs'>;
  recentExits: readonly ExitInfo[];
  lastWords: string | null;
  failureHint: string | undefined;
}): string {
  const { maxRestarts, windowMs } = loop.window;
  const exits = loop.recentExits.slice(-maxRestarts - 1).map(describeExit);
  const said = loop.lastWords ? `; its last words: ${loop.lastWords}` : '';
  const hint = loop.failureHint ? `; check: ${loop.failureHint}` : '';
  return `crash loop: ${maxRestarts} restarts within ${windowMs / 1000}s, each dying before it was ready; last exits: ${exits.join(', ') || 'none (spawn failed)'}${said}${hint}`;
}

export function describeExit(info: ExitInfo | null): string {
  if (!info) return 'never ran';
  return info.signal ? `signal ${info.signal}` : `code ${info.code}`;
}
