// The one logger: pino JSON lines on stdout. Writes are asynchronous through SonicBoom, behind a
// bounded buffer (LogOutput, src/log-output.ts): when stdout falls behind, the relays of the
// children's output stop reading their pipes until it catches up (the children block briefly, as
// under supervisord). If it has not caught up within a second (stuck, or far too slow), the
// relays read on and records beyond the bound are dropped and counted instead: neither memory nor
// a child's wait grows without end, and the event loop never waits for stdout. pino flushes the
// buffer synchronously on process exit. `transport:` is not used: it breaks once bundled (and
// the bundle leaves pino's transports out). `LOG_LEVEL` sets the level; `--pretty` formats
// records for humans (no pino-pretty at run time).
import { EventEmitter } from 'node:events';
import pino, { type Logger, type DestinationStream } from 'pino';
import { LogOutput, type LogFlow, type LogSink } from './log-output.ts';

export type { Logger, LogFlow };

/** Field names whose values are secrets wherever they appear in a record. */
const SECRET_PATHS = [
  'token',
  'tokens',
  'encrypt',
  '*.token',
  '*.tokens',
  '*.encrypt',
  'env.CONSUL_HTTP_TOKEN',
  'env.CONSUL_GOSSIP_KEY',
];
const CENSOR = '[redacted]';
/** The paths pino redacts itself in plainDataLogger's records... */
const EXACT_SECRET_PATHS = SECRET_PATHS.filter((path) => !path.startsWith('*.'));
/** ...and the keys that censorNested censors in each top-level object of them (`*.token`). */
const NESTED_SECRET_KEYS = SECRET_PATHS.filter((path) => path.startsWith('*.')).map((path) =>
  path.slice(2),
);

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Bytes of log records waiting for stdout beyond which new records are dropped. */
const DEFAULT_MAX_BUFFER_BYTES = 4 * 1024 * 1024;
/**
 * How long the children's pipes may stay paused for a stdout that does not take the backlog down
 * to the low-water mark. A reader that keeps up does it in milliseconds (from 1 MiB to 256 KiB:
 * ~5 ms into /dev/null or a pipe to `cat`, ~8 ms into a file, on a shared 2-CPU box), so a second
 * means stdout is stuck or far too slow. And no longer: Consul logs synchronously, so while its
 * pipe is full the goroutines that log wait; a second is well inside its timeouts (Raft's
 * heartbeat is 1 s times raft_multiplier 5, an RPC may wait 7 s for a leader).
 */
const MAX_PAUSE_MS = 1000;

export interface LoggerOptions {
  level?: string;
  pretty?: boolean;
  /**
   * Replaces stdout and its bounded buffer (tests): nothing is paused or bounded, and a stream
   * emitting 'drop' has its drops counted.
   */
  destination?: DestinationStream;
  /**
   * The stdout buffer bound, default 4 MiB. The relays pause at a quarter of it (the rest is room
   * for meshvisor's own records, and the line each relay is on), and read on at a sixteenth.
   */
  maxBufferBytes?: number;
}

/** Drops per pino stream; child loggers share their parent's stream. */
const dropCounters = new WeakMap<object, { readonly dropped: number }>();
/** The bounded buffer behind a pino stream, for the relays' flow control. */
const outputs = new WeakMap<object, LogOutput>();

export function createLogger(options: LoggerOptions = {}): Logger {
  const requested = options.level ?? process.env.LOG_LEVEL ?? 'info';
  const level = LEVELS.includes(requested) ? requested : 'info';
  let destination: DestinationStream;
  let output: LogOutput | undefined;
  if (options.destination) {
    destination = options.destination;
    const counter = { dropped: 0 };
    if (destination instanceof EventEmitter) destination.on('drop', () => counter.dropped++);
    dropCounters.set(destination, counter);
  } else {
    const maxBytes = options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
    output = new LogOutput(stdoutSink(), {
      maxBytes,
      highWaterBytes: Math.floor(maxBytes / 4),
      lowWaterBytes: Math.floor(maxBytes / 16),
      maxPauseMs: MAX_PAUSE_MS,
    });
    destination = options.pretty ? prettyDestination(output) : output;
    dropCounters.set(destination, output);
    outputs.set(destination, output);
  }
  const logger = pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: isoTime,
      redact: { paths: SECRET_PATHS, censor: CENSOR },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  output?.on('shed', ({ pausedMs, bufferedBytes }: { pausedMs: number; bufferedBytes: number }) =>
    logger.warn(
      { pausedMs, bufferedBytes },
      "stdout is not taking the log: the children's output is read again, and lines beyond the buffer are dropped (meshvisor_log_lines_dropped_total)",
    ),
  );
  output?.on('caughtUp', ({ dropped }: { dropped: number }) =>
    logger.info({ dropped }, 'stdout caught up with the log'),
  );
  if (level !== requested) logger.warn({ LOG_LEVEL: requested }, 'unknown LOG_LEVEL, using info');
  return logger;
}

/** stdout as a SonicBoom in buffer mode, which queues records without copying them again. */
function stdoutSink(): LogSink {
  // The bound is LogOutput's. Buffer mode: in utf8 mode each write measures the whole pending
  // string (up to 16 KiB), ~2.5 µs for a 170-byte record, more than the relay spends on a line.
  const stdout = pino.destination({ dest: 1, sync: false, contentMode: 'buffer' });
  return {
    // Its types know strings only; in buffer mode it takes Buffers.
    write: (data) => void stdout.write(data as unknown as string),
    onWritten: (listener) => void stdout.on('write', listener),
    flush: (callback) => stdout.flush(callback),
  };
}

let isoTimeMs = -1;
let isoTimeField = '';
/** pino's isoTime, formatted once per millisecond: a burst logs dozens of records in each. */
function isoTime(): string {
  const now = Date.now();
  if (now !== isoTimeMs) {
    isoTimeMs = now;
    isoTimeField = `,"time":"${new Date(now).toISOString()}"`;
  }
  return isoTimeField;
}

/**
 * A child of logger for records of plain data (JSON values: a child's output lines as fields), to
 * be passed through censorNested first. pino runs its wildcard redaction (`*.token`) on every
 * value of every record, ~0.5 µs each, which is most of what relaying a line costs; this logger
 * redacts only the other paths, and censorNested does the wildcard ones in a few ns.
 */
export function plainDataLogger(logger: Logger): Logger {
  return logger.child({}, { redact: { paths: EXACT_SECRET_PATHS, censor: CENSOR } });
}

/**
 * The record with `*.token`, `*.tokens` and `*.encrypt` censored as pino's redaction does: in
 * each top-level object (not array) that has such a key of its own. Copies what it changes.
 */
export function censorNested(record: Record<string, unknown>): Record<string, unknown> {
  let censored = record;
  for (const key of Object.keys(record)) {
    const value = record[key];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
    for (const secret of NESTED_SECRET_KEYS) {
      if (!Object.hasOwn(value, secret)) continue;
      if (censored === record) censored = { ...record };
      censored[key] = { ...(censored[key] as object), [secret]: CENSOR };
    }
  }
  return censored;
}

/**
 * How many records the logger's destination has dropped so far (it and all its children).
 * A write drops synchronously, so comparing the count around one log call tells whether that
 * record was dropped.
 */
export function droppedLogRecords(logger: Logger): number {
  const stream = loggerStream(logger);
  return (stream && dropCounters.get(stream)?.dropped) || 0;
}

/** The flow control of the logger's stdout buffer; undefined for a test's own destination. */
export function logFlow(logger: Logger): LogFlow | undefined {
  const stream = loggerStream(logger);
  return stream ? outputs.get(stream) : undefined;
}

function loggerStream(logger: Logger): object | undefined {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  return typeof stream === 'object' && stream !== null ? stream : undefined;
}

const LEVEL_TAGS: Record<string, string> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO ',
  warn: 'WARN ',
  error: 'ERROR',
  fatal: 'FATAL',
};

/** `12:00:01 INFO  [sidecar:users-1] message key=value`: for people, not for log pipelines. */
export function formatPretty(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { time, level, msg, program, pid: _pid, ...rest } = record;
  const clock = typeof time === 'string' ? time.slice(11, 19) : '';
  const tag = LEVEL_TAGS[String(level)] ?? String(level);
  const who = typeof program === 'string' ? ` [${program}]` : '';
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${clock} ${tag}${who} ${String(msg ?? '')}${fields ? ' ' + fields : ''}`;
}

interface Sink {
  write(chunk: string): unknown;
  flush(cb?: (err?: Error) => void): void;
}

function prettyDestination(out: Sink): DestinationStream & { flush(cb?: () => void): void } {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line) out.write(formatPretty(line) + '\n');
    },
    flush(cb?: () => void) {
      out.flush(() => cb?.());
    },
  };
}
