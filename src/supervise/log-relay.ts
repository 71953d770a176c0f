// A child's output lines as pino records of its program: JSON object lines merge as fields, plain
// lines become msg, a program's parseLine hook may do better. When the logger's stdout buffer
// passes its high-water mark, the relay stops after the current line and pauses the child's pipe
// until stdout has caught up (backpressure: the child blocks in write() meanwhile). A pause lasts
// at most 1 s (src/log-output.ts): if stdout is stuck, the relay reads on and the buffer drops
// (and we count) what stdout cannot take, so a stuck log collector never blocks a child for long.
import type { Readable } from 'node:stream';
import { censorNested, droppedLogRecords, type LogFlow, type Logger } from '../log.ts';
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
  /** The program's logger (`program` bound); plainDataLogger's is cheaper, and as safe. */
  logger: Logger;
  parseLine?: ProgramSpec['parseLine'];
  /** Called once per line the log destination dropped. */
  onDrop: () => void;
  /** The logger's flow control: the relay stops reading while it is paused. None: never stops. */
  flow?: LogFlow;
}

/** Logs one output line of a program. */
export function relayLine(
  line: string,
  stream: OutputStream,
  truncated: boolean,
  options: RelayOptions,
): void {
  const parsed = readLine(line, stream, options.parseLine);
  if (parsed) writeRecord(parsed, { stream, truncated }, options);
}

/** A line as a record (the hook's reading, else the default); null for a blank line. */
function readLine(
  line: string,
  stream: OutputStream,
  parseLine: RelayOptions['parseLine'],
): ParsedLine | null {
  if (line.trim() === '') return null;
  if (parseLine) {
    try {
      return parseLine(line, stream);
    } catch {
      // A hook that cannot read a line leaves it to the default reading.
    }
  }
  return parseOutputLine(line);
}

function writeRecord(
  parsed: ParsedLine,
  extra: { stream: OutputStream; truncated?: boolean; repeated?: number },
  { logger, onDrop }: RelayOptions,
): void {
  const record: Record<string, unknown> = parsed.fields ? safeFields(parsed.fields) : {};
  record.stream = extra.stream;
  if (extra.truncated) record.truncated = true;
  if (extra.repeated) record.repeated = extra.repeated;
  const times = extra.repeated === 1 ? 'time' : 'times';
  const msg = extra.repeated
    ? `${parsed.msg} [repeated ${extra.repeated} more ${times}]`
    : parsed.msg;
  const before = droppedLogRecords(logger);
  logger[parsed.level ?? 'info'](censorNested(record), msg);
  if (droppedLogRecords(logger) > before) onDrop();
}

/** How long a run of identical lines goes unreported at most before its count is logged. */
export const REPEAT_REPORT_MS = 5000;
/** After the child exits, how long a partial last line waits for EOF before it is flushed. */
export const PARTIAL_LINE_WAIT_MS = 100;

/** A line of a run of identical ones: same level, message and fields. */
interface Run {
  parsed: ParsedLine;
  /** JSON of its fields, made when a line with its level and message comes. */
  fieldsKey?: string;
  repeats: number;
}

/**
 * A relay for one output stream of one child. A run of identical lines (same level, message and
 * fields: hclog's timestamp is not part of them) is logged once, then as one count when the run
 * ends or every REPEAT_REPORT_MS: a client without servers prints `No servers available` ~150
 * times in its first 20 ms, which would bury the lines that matter.
 */
export class StreamRelay {
  private readonly splitter: LineSplitter;
  private run: Run | null = null;
  private reportTimer: NodeJS.Timeout | null = null;
  /** The rest of a chunk read before the flow paused: taken first when it opens again. */
  private held: Buffer | null = null;
  /** The child exited while the relay was paused: wait for EOF again once it reads on. */
  private exitWhilePaused = false;
  /** The pipe reached EOF (or failed). */
  private ended = false;
  private readonly more: (() => boolean) | undefined;

  constructor(
    private readonly readable: Readable,
    private readonly stream: OutputStream,
    private readonly options: RelayOptions,
  ) {
    this.splitter = new LineSplitter((line, truncated) => this.onLine(line, truncated));
    const { flow } = options;
    this.more = flow && (() => !flow.paused);
    readable.on('data', (chunk: Buffer | string) => {
      const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      // Paused, yet data: node resumes a child's pipes when it exits (flushStdio). Kept in
      // order behind the rest, and paused again: at most a chunk more.
      if (this.held) {
        this.held = Buffer.concat([this.held, data]);
        readable.pause();
      } else this.read(data);
    });
    readable.once('end', () => this.end());
    // A read error ends the stream like EOF; the exit event still tells what happened.
    readable.on('error', () => this.end());
  }

  /**
   * Emits what is held, a pending partial line, and the count of a run of repeats: at EOF, or
   * shortly after the child exits (childExited).
   */
  flush(): void {
    const held = this.held;
    this.held = null;
    if (held) this.splitter.push(held);
    this.splitter.flush();
    this.reportRepeats();
  }

  /**
   * The child exited: its last line may lack a newline, and a grandchild may hold the pipe open,
   * so EOF may never come. Flushes after PARTIAL_LINE_WAIT_MS of reading on (a paused relay first
   * reads what waits in the pipe).
   */
  childExited(): void {
    setTimeout(() => {
      if (this.held) this.exitWhilePaused = true;
      else this.flush();
    }, PARTIAL_LINE_WAIT_MS).unref();
  }

  /** EOF or a read error: what is held still waits for the flow to open. */
  private end(): void {
    this.ended = true;
    if (!this.held) this.flush();
  }

  private read(chunk: Buffer): void {
    const taken = this.splitter.push(chunk, this.more);
    if (taken === chunk.length && !this.options.flow?.paused) return;
    // stdout is behind: leave the child's output in its pipe until it catches up.
    this.held = chunk.subarray(taken);
    this.readable.pause();
    this.options.flow!.whenOpen(() => this.readOn());
  }

  private readOn(): void {
    const held = this.held;
    if (!held) return; // flushed meanwhile (EOF or a read error)
    this.held = null;
    this.read(held);
    if (this.held) return;
    if (this.ended) {
      this.flush();
      return;
    }
    this.readable.resume();
    if (this.exitWhilePaused) {
      this.exitWhilePaused = false;
      this.childExited();
    }
  }

  private onLine(line: string, truncated: boolean): void {
    const parsed = readLine(line, this.stream, this.options.parseLine);
    if (!parsed) return;
    const run = this.run;
    if (!truncated && run && sameLine(run, parsed)) {
      run.repeats++;
      this.reportTimer ??= setTimeout(() => this.reportRepeats(), REPEAT_REPORT_MS).unref();
      return;
    }
    this.reportRepeats();
    this.run = truncated ? null : { parsed, repeats: 0 };
    writeRecord(parsed, { stream: this.stream, truncated }, this.options);
  }

  /** Logs how often the current run repeated since its last report; the run goes on. */
  private reportRepeats(): void {
    if (this.reportTimer) clearTimeout(this.reportTimer);
    this.reportTimer = null;
    if (!this.run || this.run.repeats === 0) return;
    writeRecord(this.run.parsed, { stream: this.stream, repeated: this.run.repeats }, this.options);
    this.run.repeats = 0;
  }
}

/** The fields are compared (as JSON) only when level and message are the same. */
function sameLine(run: Run, parsed: ParsedLine): boolean {
  if (parsed.msg !== run.parsed.msg || parsed.level !== run.parsed.level) return false;
  run.fieldsKey ??= JSON.stringify(run.parsed.fields);
  return JSON.stringify(parsed.fields) === run.fieldsKey;
}
