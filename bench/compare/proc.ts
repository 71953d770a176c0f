// What the bench reads from /proc about a supervisor process, without asking the supervisor: its
// memory and its direct children. Reading /proc never wakes the supervisor up, which matters for
// supervisord: any request on its socket runs its main loop, and so changes how fast it reacts
// (see README: "the observer effect").
import { readdirSync, readFileSync } from 'node:fs';

export interface Memory {
  rssKiB: number;
  pssKiB: number;
}

/** Rss and Pss of one process from /proc/<pid>/smaps_rollup (kB, as the kernel writes them). */
export function memoryOf(pid: number): Memory {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    if (!match) throw new Error(`/proc/${pid}/smaps_rollup has no ${name}`);
    return Number(match[1]);
  };
  return { rssKiB: field('Rss'), pssKiB: field('Pss') };
}

/** VmRSS from /proc/<pid>/status: cheaper than smaps_rollup, for sampling; 0 once it is gone. */
export function rssKiB(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * The direct children of `pid` (every thread's /proc/<pid>/task/<tid>/children: a process
 * forks from whichever thread calls fork). One small read per thread, cheap enough to poll.
 */
export function childrenOf(pid: number): Set<number> {
  const found = new Set<number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return found;
  }
  for (const tid of tids) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      for (const child of text.split(' ')) if (child.trim()) found.add(Number(child));
    } catch {
      // the thread ended meanwhile
    }
  }
  return found;
}

/** Samples VmRSS of `pid` every `everyMs` until stopped; keeps the peak. */
export function sampleRss(pid: number, everyMs = 50): { stop(): number } {
  let peak = rssKiB(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssKiB(pid))), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssKiB(pid));
    },
  };
}
