// A child's output lines as pino records of its program: JSON object lines merge as fields, plain
// lines become msg, a program's parseLine hook may do better. The relay never pauses the child's
// pipes; the logger's bounded destination drops (and we count) what stdout cannot take.
import type { Readable } from 'node:stream';
import { droppedLogRecords, type Logger } from '../log.ts';
import { LineSplitter } from './lines.ts';
import type { LogLevel, OutputStream, ParsedLine, ProgramSpec } from './types.ts';

const LEVEL_NAMES: Record<string, LogLevel> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  fatal: 'fatal',
  critical: 'fatal',
  crit: 'fatal',
  panic: 'fatal',
};

/** pino's numeric levels, which other pino-logging children write. */
const LEVEL_NUMBERS: Record<number, LogLevel> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** A level name or number as a pino level, or undefined when it is not one we know. */
export function toLogLevel(value: unknown): LogLevel | undefined {
  if (typeof value === 'number') return LEVEL_NUMBERS[value];
  if (typeof value === 'string') return LEVEL_NAMES[value.trim().toLowerCase()];
  return undefined;
}

const MESSAGE_KEYS = ['msg', 'message', '@message'];
const LEVEL_KEYS = ['level', '@level'];
/** Keys pino writes itself; a child's own are kept under a `child` prefix (time -> childTime). */
const RESERVED_KEYS = new Set(['time', 'pid', 'hostname', 'program', 'stream', 'truncated', 'msg']);

/** The default reading of a line: a JSON object merges as fields, anything else is msg. */
export function parseOutputLine(line: string): ParsedLine {
  if (!line.trimStart().startsWith('{')) return { msg: line };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { msg: line };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { msg: line };
  const fields: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  let msg = '';
  const messageKey = MESSAGE_KEYS.find((k) => typeof fields[k] === 'string');
  if (messageKey) {
    msg = fields[messageKey] as string;
    delete fields[messageKey];
  }
  let level: LogLevel | undefined;
  for (const key of LEVEL_KEYS) {
    const mapped = toLogLevel(fields[key]);
    if (mapped && !level) {
      level = mapped;
      delete fields[key];
    }
  }
  return { level, msg, fields };
}

/** Renames keys that would collide with the record's own (a child's `time` becomes `childTime`). */
function safeFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    const clashes = RESERVED_KEYS.has(key) || key === 'level';
    out[clashes ? `child${key[0]!.toUpperCase()}${key.slice(1)}` : key] = value;
  }
  return out;
}

export interface RelayOptions {
  /** The program's logger (`program` bound). */
  logger: Logger;
  parseLine?: ProgramSpec['parseLine'];
  /** Called once per line the log destination dropped. */
  onDrop: () => void;
}

/** Logs one output line of a program. */
export function relayLine(
  line: string,
  stream: OutputStream,
  truncated: boolean,
  { logger, parseLine, onDrop }: RelayOptions,
): void {
  if (line.trim() === '') return;
  let parsed: ParsedLine | undefined;
  if (parseLine) {
    try {
      parsed = parseLine(line, stream);
    } catch {
      // A hook that cannot read a line leaves it to the default reading.
    }
  }
  parsed ??= parseOutputLine(line);
  const record: Record<string, unknown> = { ...safeFields(parsed.fields ?? {}), stream };
  if (truncated) record.truncated = true;
  const before = droppedLogRecords(logger);
  logger[parsed.level ?? 'info'](record, parsed.msg);
  if (droppedLogRecords(logger) > before) onDrop();
}

/** A relay for one output stream of one child. */
export class StreamRelay {
  private readonly splitter: LineSplitter;

  constructor(readable: Readable, stream: OutputStream, options: RelayOptions) {
    this.splitter = new LineSplitter((line, truncated) =>
      relayLine(line, stream, truncated, options),
    );
    readable.on('data', (chunk: Buffer | string) =>
      this.splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk),
    );
    readable.once('end', () => this.flush());
    // A read error ends the stream like EOF; the exit event still tells what happened.
    readable.on('error', () => this.flush());
  }

  /**
   * Emits a pending partial line. Called at EOF, and by the program shortly after the child
   * exits: a grandchild may hold the pipe open, so EOF may never come.
   */
  flush(): void {
    this.splitter.flush();
  }
}
