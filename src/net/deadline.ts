// Shared timing for discovery: a monotonic deadline and a sleep that an abort ends at once.
import { setTimeout as sleep } from 'node:timers/promises';

export class Deadline {
  private readonly endsAt: number;

  constructor(readonly seconds: number) {
    this.endsAt = performance.now() + seconds * 1000;
  }

  remainingMs(): number {
    return Math.max(0, this.endsAt - performance.now());
  }

  passed(): boolean {
    return this.remainingMs() === 0;
  }
}

/** Waits `ms`; an aborted signal rejects with the signal's reason (as fetch does). */
export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  await sleep(ms, undefined, signal ? { signal } : {}).catch((error: unknown) => {
    signal?.throwIfAborted();
    throw error;
  });
}
