// The two ways the mesh view reads: a blocking query that Consul answers when its data changes
// (nothing sent while nothing changes), and a periodic read that readers may bring forward, at
// most once per `minGapMs` (agent checks, Envoy's admin API: neither blocks).
import type { Indexed } from '../consul/index.ts';

export interface Clock {
  now(): number;
  /** Resolves after ms, or at once when `signal` aborts (never rejects). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    }),
};

/** Failed reads back off from 1 s to this. */
const MAX_BACKOFF_MS = 10_000;

export interface BlockingWatch<T> {
  fetch(index: number, signal: AbortSignal): Promise<Indexed<T>>;
  onAnswer(answer: Indexed<T>): void;
  onError(err: unknown): void;
  /** Consul may answer a blocking query at once (a change, or a no-op write): not faster than this. */
  minGapMs: number;
  signal: AbortSignal;
  clock: Clock;
}

/** Runs until `signal` aborts. Consul's rules: an index that goes backwards starts over at 0. */
export async function runBlockingWatch<T>(watch: BlockingWatch<T>): Promise<void> {
  const { signal, clock } = watch;
  let index = 0;
  let failures = 0;
  while (!signal.aborted) {
    const started = clock.now();
    try {
      const answer = await watch.fetch(index, signal);
      failures = 0;
      index = answer.index < index ? 0 : Math.max(answer.index, 1);
      watch.onAnswer(answer);
    } catch (err) {
      if (signal.aborted) return;
      failures += 1;
      watch.onError(err);
      await clock.sleep(Math.min(1000 * 2 ** (failures - 1), MAX_BACKOFF_MS), signal);
      continue;
    }
    const elapsed = clock.now() - started;
    if (elapsed < watch.minGapMs) await clock.sleep(watch.minGapMs - elapsed, signal);
  }
}

/**
 * A read repeated every `everyMs`, and brought forward by `nudge()` when the last one started
 * at least `minGapMs` ago. One at a time: a nudge during a read does nothing.
 */
export class PeriodicRead {
  private lastStart = Number.NEGATIVE_INFINITY;
  private running = false;
  private wake: (() => void) | null = null;

  constructor(
    private readonly read: () => Promise<void>,
    private readonly options: { everyMs: number; minGapMs: number; clock: Clock },
  ) {}

  /** Reads now, then every `everyMs`, until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock } = this.options;
    while (!signal.aborted) {
      await this.once();
      const nudged = new AbortController();
      const stop = () => nudged.abort();
      signal.addEventListener('abort', stop, { once: true });
      this.wake = stop;
      await clock.sleep(this.options.everyMs, nudged.signal);
      signal.removeEventListener('abort', stop);
      this.wake = null;
    }
  }

  /** A reader wants fresher data: read now unless a read ran within minGapMs. */
  nudge(): void {
    if (this.running) return;
    if (this.options.clock.now() - this.lastStart < this.options.minGapMs) return;
    this.wake?.();
  }

  private async once(): Promise<void> {
    this.running = true;
    this.lastStart = this.options.clock.now();
    try {
      await this.read();
    } finally {
      this.running = false;
    }
  }
}
