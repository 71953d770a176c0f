// The one logger: pino JSON lines on stdout, written synchronously (pino.destination to fd 1),
// because `transport:` breaks once bundled. `LOG_LEVEL` sets the level; `--pretty` swaps the
// destination for a small human-readable formatter (no pino-pretty at run time).
import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Field names whose values are secrets wherever they appear in a record. */
const SECRET_PATHS = [
  'token',
  'aclToken',
  'encrypt',
  '*.token',
  '*.aclToken',
  '*.encrypt',
  'env.CONSUL_HTTP_TOKEN',
  'env.CONSUL_GOSSIP_KEY',
];

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export interface LoggerOptions {
  level?: string;
  pretty?: boolean;
  /** Defaults to stdout; tests pass their own stream. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const requested = options.level ?? process.env.LOG_LEVEL ?? 'info';
  const level = LEVELS.includes(requested) ? requested : 'info';
  const destination =
    options.destination ??
    (options.pretty
      ? prettyDestination(process.stdout)
      : pino.destination({ dest: 1, sync: true }));
  const logger = pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: SECRET_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  if (level !== requested) logger.warn({ LOG_LEVEL: requested }, 'unknown LOG_LEVEL, using info');
  return logger;
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

function prettyDestination(out: NodeJS.WriteStream): DestinationStream {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line) out.write(formatPretty(line) + '\n');
    },
  };
}
