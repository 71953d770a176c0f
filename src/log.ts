// The one logger: pino JSON lines on stdout. Writes are asynchronous through SonicBoom
// (pino.destination) with a bounded buffer: when stdout is slower than the children's output,
// records beyond the bound are dropped and counted instead of growing memory or blocking the
// event loop (which would stop the supervisor reading its children). pino flushes the buffer
// synchronously on process exit. `transport:` is not used: it breaks once bundled. `LOG_LEVEL`
// sets the level; `--pretty` formats records for humans (no pino-pretty at run time).
import { EventEmitter } from 'node:events';
import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger };

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

export interface LoggerOptions {
  level?: string;
  pretty?: boolean;
  /** Defaults to stdout; tests pass their own stream (one emitting 'drop' has its drops counted). */
  destination?: DestinationStream;
  /** The stdout buffer bound, default 4 MiB. */
  maxBufferBytes?: number;
}

/** Drops per destination stream; child loggers share their parent's stream. */
const dropCounters = new WeakMap<object, { dropped: number }>();

export function createLogger(options: LoggerOptions = {}): Logger {
  const requested = options.level ?? process.env.LOG_LEVEL ?? 'info';
  const level = LEVELS.includes(requested) ? requested : 'info';
  const counter = { dropped: 0 };
  let destination: DestinationStream;
  if (options.destination) {
    destination = options.destination;
    if (destination instanceof EventEmitter) destination.on('drop', () => counter.dropped++);
  } else {
    const stdout = pino.destination({
      dest: 1,
      sync: false,
      maxLength: options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES,
    });
    stdout.on('drop', () => counter.dropped++);
    destination = options.pretty ? prettyDestination(stdout) : stdout;
  }
  dropCounters.set(destination, counter);
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
  if (level !== requested) logger.warn({ LOG_LEVEL: requested }, 'unknown LOG_LEVEL, using info');
  return logger;
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
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  return (typeof stream === 'object' && stream && dropCounters.get(stream)?.dropped) || 0;
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
