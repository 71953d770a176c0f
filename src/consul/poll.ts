// Polling a condition until it holds, with backoff and full jitter, under a deadline. Each
// attempt throws to mean "not yet": a transient ConsulError or NotYet retries, anything else
// ends the poll at once (a 4xx is a bug in what we sent, not something time heals).
import { setTimeout as sleep } from 'node:timers/promises';
import { ConsulError } from './client.ts';

/** Thrown by an attempt whose answer was fine but whose condition does not hold yet. */
export class NotYet extends Error {
  override name = 'NotYet';
}

export class StageError extends Error {
  constructor(
    readonly stage: string,
    message: string,
    /** True when the deadline passed (exit 69); false when Consul rejected a request. */
    readonly timedOut: boolean,
    /** Consul's ACLs denied it (403): a token lacks a permission, a configuration problem. */
    readonly denied = false,
  ) {
    super(message);
    this.name = 'StageError';
  }
}

export interface PollOptions {
  /** Epoch ms after which the poll gives up. */
  deadline: number;
  signal: AbortSignal;
  /** What to check when the deadline passes; appended to the error. */
  hint: string;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Told each retryable failure (for status: the last error of a running stage). */
  onRetry?: (message: string) => void;
  /** Ends a backoff early when something says the condition may hold now (see LogWake). */
  wake?: Waker;
}

/** A backoff that something may cut short. */
export interface Waker {
  /** Resolves after `ms`, or sooner when woken; rejects with the signal's reason on abort. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/**
 * Wakes polls on the lines the agent logs as its state changes ("Starting server", "New leader
 * elected", "Synced node info"...): a poll waiting out its backoff checks again at once instead
 * of up to a backoff ceiling later. The answer still comes from the HTTP API; a line only says
 * when to ask. Lines nobody waits for are counted, so one logged while an attempt was in flight
 * still ends the next backoff.
 */
export class LogWake {
  private readonly counts = new Map<string, number>();
  private readonly waiters = new Set<{ messages: ReadonlySet<string>; wake: () => void }>();

  /** `tracked`: every message a poll may wait for; others are not even counted. */
  constructor(private readonly tracked: ReadonlySet<string>) {}

  /** The agent logged `message`. */
  saw(message: string): void {
    if (!this.tracked.has(message)) return;
    this.counts.set(message, (this.counts.get(message) ?? 0) + 1);
    for (const waiter of this.waiters) if (waiter.messages.has(message)) waiter.wake();
  }

  /** A waker for a poll that may hold once one of `messages` was logged. */
  on(messages: readonly string[]): Waker {
    const wanted = new Set(messages);
    const seen = () => messages.reduce((sum, m) => sum + (this.counts.get(m) ?? 0), 0);
    let before = seen();
    return {
      sleep: (ms, signal) =>
        new Promise<void>((resolve, reject) => {
          const done = (error?: unknown) => {
            clearTimeout(timer);
            this.waiters.delete(waiter);
            signal.removeEventListener('abort', onAbort);
            before = seen();
            if (error === undefined) resolve();
            else reject(error);
          };
          const onAbort = () => done(signal.reason ?? new Error('aborted'));
          const waiter = { messages: wanted, wake: () => done() };
          const timer = setTimeout(done, seen() > before ? 0 : ms);
          if (signal.aborted) return onAbort();
          this.waiters.add(waiter);
          signal.addEventListener('abort', onAbort, { once: true });
        }),
    };
  }
}

export function isRetryable(err: unknown): boolean {
  return err instanceof NotYet || (err instanceof ConsulError && err.transient);
}

export async function pollUntil<T>(
  stage: string,
  attempt: () => Promise<T>,
  options: PollOptions,
): Promise<T> {
  const minDelay = options.minDelayMs ?? 50;
  const maxDelay = options.maxDelayMs ?? 1000;
  let ceiling = minDelay;
  let lastError = 'no attempt finished';
  for (;;) {
    options.signal.throwIfAborted();
    try {
      return await attempt();
    } catch (err) {
      if (options.signal.aborted) throw options.signal.reason;
      const message = (err as Error).message;
      if (!isRetryable(err)) {
        const denied = err instanceof ConsulError && err.status === 403;
        throw new StageError(stage, `${stage}: ${message}`, false, denied);
      }
      lastError = message;
      options.onRetry?.(message);
    }
    const remaining = options.deadline - Date.now();
    if (remaining <= 0) {
      throw new StageError(
        stage,
        `${stage}: not done before the readiness deadline; last error: ${lastError}; check: ${options.hint}`,
        true,
      );
    }
    // Full jitter: a random delay up to a ceiling that doubles each try.
    const delay = Math.min(remaining, Math.max(10, Math.random() * ceiling));
    ceiling = Math.min(maxDelay, ceiling * 2);
    if (options.wake) await options.wake.sleep(delay, options.signal);
    else await sleep(delay, undefined, { signal: options.signal });
  }
}
