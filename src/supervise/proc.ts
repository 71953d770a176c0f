// A read of the Linux process table through /proc: who is whose child, in which process group,
// in which state. `ps` is not used: BusyBox `ps` (Alpine, our image) lacks the flags tools like
// tree-kill rely on, and may not be installed at all.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcEntry {
  pid: number;
  ppid: number;
  pgid: number;
  /** One letter: R, S, D, Z (zombie), T (stopped), ... */
  state: string;
  /** Clock ticks after boot: with the pid it names one process, even after the pid is reused. */
  startTime: number;
}

/** Parses one /proc/<pid>/stat line. The command name is in parentheses and may hold any byte. */
export function parseStat(line: string): ProcEntry | null {
  const open = line.indexOf(' (');
  const close = line.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  // After the command: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
  // utime stime cutime cstime priority nice num_threads itrealvalue starttime ...
  const rest = line.slice(close + 2).split(' ');
  const pid = Number(line.slice(0, open));
  const startTime = Number(rest[19]);
  if (!Number.isInteger(pid) || rest.length < 20 || !Number.isFinite(startTime)) return null;
  return {
    pid,
    state: rest[0] ?? '?',
    ppid: Number(rest[1]),
    pgid: Number(rest[2]),
    startTime,
  };
}

/** Every process visible in procRoot now. Processes that exit while being read are skipped. */
export function readProcTable(procRoot = '/proc'): ProcEntry[] {
  let names: string[];
  try {
    names = readdirSync(procRoot);
  } catch {
    return [];
  }
  const entries: ProcEntry[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const entry = parseStat(readFileSync(`${procRoot}/${name}/stat`, 'utf8'));
      if (entry) entries.push(entry);
    } catch {
      // Gone between readdir and read.
    }
  }
  return entries;
}

/**
 * The processes of a tree: the roots, everything in the given process groups, and every
 * descendant of those (by ppid), wherever they moved (setsid, setpgid). Roots are matched by pid
 * and start time, so a reused pid is never taken for the process that had it.
 */
export function collectTree(
  table: readonly ProcEntry[],
  roots: readonly Pick<ProcEntry, 'pid' | 'startTime'>[],
  groups: readonly number[] = [],
): ProcEntry[] {
  const byPid = new Map(table.map((e) => [e.pid, e]));
  const children = new Map<number, ProcEntry[]>();
  for (const entry of table) {
    const siblings = children.get(entry.ppid);
    if (siblings) siblings.push(entry);
    else children.set(entry.ppid, [entry]);
  }
  const found = new Map<number, ProcEntry>();
  const queue: ProcEntry[] = [];
  const visit = (entry: ProcEntry | undefined) => {
    if (!entry || found.has(entry.pid) || entry.pid === process.pid || entry.pid === 1) return;
    found.set(entry.pid, entry);
    queue.push(entry);
  };
  for (const root of roots) {
    const entry = byPid.get(root.pid);
    if (entry?.startTime === root.startTime) visit(entry);
  }
  for (const entry of table) if (groups.includes(entry.pgid)) visit(entry);
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!.pid) ?? []) visit(child);
  }
  return [...found.values()];
}

/** Children of parentPid in state Z: exited, and not (yet) reaped by their parent. */
export function countZombieChildren(parentPid = process.pid, procRoot = '/proc'): number {
  return readProcTable(procRoot).filter((e) => e.ppid === parentPid && e.state === 'Z').length;
}
