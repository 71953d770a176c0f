// Killing a program with everything it started. Each program is spawned as the leader of its own
// process group, so one kill(-pgid) reaches the group; descendants that left the group (setsid,
// setpgid, double-fork daemons) are found through /proc by ppid. Why not tree-kill: see
// docs/architecture.md, "Killing process trees".
import { collectTree, readProcTable, type ProcEntry } from './proc.ts';

/** What a tree looked like before anything was killed: orphans get reparented, so look first. */
export type TreeSnapshot = Pick<ProcEntry, 'pid' | 'startTime'>[];

/** The group of pgid and the descendants of the given processes, as they are now. */
export function snapshotTree(pgid: number, known: TreeSnapshot = []): TreeSnapshot {
  return collectTree(readProcTable(), known, [pgid]).map(({ pid, startTime }) => ({
    pid,
    startTime,
  }));
}

/** Sends a signal to a whole process group; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  return sendSignal(-pgid, signal);
}

/**
 * SIGKILLs the process group pgid, every process in `known` (a snapshot taken earlier) that is
 * still the same process, and all their descendants. The tree is frozen with SIGSTOP and walked
 * again until it stops growing, so a process forking while we look cannot leave a child behind.
 * Returns the pids that were signalled.
 */
export function killTree(pgid: number, known: TreeSnapshot = []): number[] {
  const members = new Map<number, ProcEntry>();
  for (let round = 0; round < 8; round++) {
    const roots = [...known, ...members.values()];
    // Zombies have exited already; they only wait for their parent to reap them.
    const fresh = collectTree(readProcTable(), roots, [pgid]).filter(
      (e) => !members.has(e.pid) && e.state !== 'Z',
    );
    if (fresh.length === 0) break;
    for (const entry of fresh) {
      members.set(entry.pid, entry);
      sendSignal(entry.pid, 'SIGSTOP');
    }
  }
  sendSignal(-pgid, 'SIGKILL');
  for (const pid of members.keys()) sendSignal(pid, 'SIGKILL');
  return [...members.keys()];
}

function sendSignal(target: number, signal: NodeJS.Signals): boolean {
  if (target === 0 || target === process.pid || Math.abs(target) === 1) return false;
  try {
    process.kill(target, signal);
    return true;
  } catch {
    // ESRCH: already gone. EPERM: not ours to kill (a setuid descendant); nothing we can do.
    return false;
  }
}
