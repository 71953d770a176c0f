// stdout as the logger's destination: records wait for SonicBoom's asynchronous writes in a
// bounded buffer, and how full that buffer is tells the relays of the children's output when to
// stop reading their pipes (backpressure), so that a burst is slowed down instead of lost:
//
//   open     --buffered >= highWaterBytes-->  paused    the relays stop reading: the kernel pipe
//                                                       fills and the child blocks in write(),
//                                                       as under supervisord
//   paused   --buffered <= lowWaterBytes--->  open      the relays read again
//   paused   --still paused after maxPauseMs-> shedding stdout is stuck or too slow: the relays
//                                                       read again, and records that do not fit
//                                                       in maxBytes are dropped and counted
//   shedding --buffered <= lowWaterBytes--->  open
//
// So a stuck log collector never blocks a child for longer than maxPauseMs at a stretch, nor the
// event loop at all, and memory stays bounded by maxBytes; a reader that keeps up loses nothing.
// meshvisor's own records are never held back, only bounded.
import { EventEmitter } from 'node:events';

/** What LogOutput writes to: stdout's SonicBoom (buffer mode), or a test's stand-in. */
export interface LogSink {
  /** Queues bytes for an asynchronous write; never blocks. */
  write(data: Buffer): void;
  /** listener(bytes) after each write that completed. */
  onWritten(listener: (bytes: number) => void): void;
  /** Calls back once what is queued is written. */
  flush?(callback?: (err?: Error) => void): void;
}

export interface OutputLimits {
  /** A record that would take the buffered bytes past this is dropped (and counted). */
  maxBytes: number;
  /** The relays pause at this many buffered bytes... */
  highWaterBytes: number;
  /** ...and read again once stdout has taken the buffer down to this. */
  lowWaterBytes: number;
  /** A pause that lasts this long ends in shedding: drops instead of a blocked child. */
  maxPauseMs: number;
}

/** What a relay of a child's output needs to know: whether to stop reading, and until when. */
export interface LogFlow {
  /** True while the buffer is past its high-water mark and stdout is still taking it. */
  readonly paused: boolean;
  /** Calls resume once the relays may read again (on the next microtask). */
  whenOpen(resume: () => void): void;
}

export type FlowState = 'open' | 'paused' | 'shedding';

/**
 * The bounded buffer in front of stdout. Emits 'shed' ({ pausedMs, bufferedBytes }) when a pause
 * turns into shedding, and 'caughtUp' ({ dropped }) when stdout has taken the backlog after that.
 */
export class LogOutput extends EventEmitter implements LogFlow {
  readonly limits: OutputLimits;
  #buffered = 0;
  #dropped = 0;
  #state: FlowState = 'open';
  #pausedAt = 0;
  #pauseTimer: NodeJS.Timeout | null = null;
  #droppedBeforeShedding = 0;
  #waiting: Array<() => void> = [];

  constructor(
    private readonly sink: LogSink,
    limits: OutputLimits,
  ) {
    super();
    this.limits = limits;
    sink.onWritten((bytes) => this.#written(bytes));
  }

  /** Bytes accepted and not yet written. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Records dropped so far because they did not fit. */
  get dropped(): number {
    return this.#dropped;
  }

  get state(): FlowState {
    return this.#state;
  }

  get paused(): boolean {
    return this.#state === 'paused';
  }

  /** pino's write: one or more whole records. Drops (synchronously) what does not fit. */
  write(records: string): void {
    const data = Buffer.from(records, 'utf8');
    if (this.#buffered + data.length > this.limits.maxBytes) {
      this.#dropped++;
      return;
    }
    this.#buffered += data.length;
    this.sink.write(data);
    if (this.#state === 'open' && this.#buffered >= this.limits.highWaterBytes) this.#pause();
  }

  whenOpen(resume: () => void): void {
    if (this.#state === 'paused') this.#waiting.push(resume);
    else queueMicrotask(resume);
  }

  flush(callback?: (err?: Error) => void): void {
    if (this.sink.flush) this.sink.flush(callback);
    else callback?.();
  }

  #written(bytes: number): void {
    this.#buffered = Math.max(0, this.#buffered - bytes);
    if (this.#state !== 'open' && this.#buffered <= this.limits.lowWaterBytes) this.#open();
  }

  #pause(): void {
    this.#state = 'paused';
    this.#pausedAt = Date.now();
    this.#pauseTimer = setTimeout(() => this.#shed(), this.limits.maxPauseMs).unref();
  }

  #shed(): void {
    this.#pauseTimer = null;
    if (this.#state !== 'paused') return;
    this.#state = 'shedding';
    this.#droppedBeforeShedding = this.#dropped;
    this.#releaseWaiting();
    this.emit('shed', { pausedMs: Date.now() - this.#pausedAt, bufferedBytes: this.#buffered });
  }

  #open(): void {
    if (this.#pauseTimer) clearTimeout(this.#pauseTimer);
    this.#pauseTimer = null;
    const was = this.#state;
    this.#state = 'open';
    this.#releaseWaiting();
    if (was === 'shedding') {
      this.emit('caughtUp', { dropped: this.#dropped - this.#droppedBeforeShedding });
    }
  }

  /** Resumes the waiting relays after the current callback (SonicBoom's, often) has returned. */
  #releaseWaiting(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resume of waiting) queueMicrotask(resume);
  }
}
