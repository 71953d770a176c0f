// Restart pacing: exponential backoff with full jitter (so programs that failed together do not
// retry together), and the crash-loop window that turns "keeps failing" into "failed for good".

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/** The upper bound of the delay before retry number `attempt` (0-based): initial * 2^attempt, capped. */
export function backoffCeiling(attempt: number, { initialMs, maxMs }: BackoffOptions): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
}

/** Full jitter: uniform in [0, ceiling]. `random` is injectable for tests. */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  return Math.round(random() * backoffCeiling(attempt, options));
}

/** Counts restarts inside a sliding window; full when maxRestarts happened within windowMs. */
export class RestartWindow {
  private times: number[] = [];

  constructor(
    readonly maxRestarts: number,
    readonly windowMs: number,
  ) {}

  /** True when another restart now would exceed the limit. */
  isExhausted(now = Date.now()): boolean {
    this.times = this.times.filter((t) => now - t < this.windowMs);
    return this.times.length >= this.maxRestarts;
  }

  record(now = Date.now()): void {
    this.times.push(now);
  }

  clear(): void {
    this.times = [];
  }
}
