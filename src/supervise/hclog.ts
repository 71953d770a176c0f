// Consul's text log lines (hashicorp/go-hclog) as records:
//   2024-01-01T00:00:00.000Z [INFO]  agent.server: New leader elected: payload=node-a
// becomes { level: 'info', msg: 'New leader elected', fields: { module: 'agent.server', payload: 'node-a' } }.
// Other lines (the start-up banner, `==> error` lines, multi-line value continuations) stay text.
import { parseOutputLine } from './log-relay.ts';
import type { LogLevel, OutputStream, ParsedLine } from './types.ts';

const HCLOG_LINE = /^\d{4}-\d{2}-\d{2}T\S+\s+\[(TRACE|DEBUG|INFO|WARN|ERROR)\]\s+(.*)$/;
const MODULE_PREFIX = /^([\w.\-/]+): (.*)$/s;
/** One `key=value` (value bare or Go-quoted) followed by a space or the end. */
const KEY_VALUE = /([^\s="]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)(?: |$)/y;

const LEVELS: Record<string, LogLevel> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

export function parseHclogLine(line: string, stream: OutputStream): ParsedLine {
  if (line.trimStart().startsWith('{')) return parseOutputLine(line); // -log-json
  const match = HCLOG_LINE.exec(line);
  if (!match) {
    // Errors raised before the logger exists: `==> Error starting agent: ...` on stderr.
    if (stream === 'stderr' && line.startsWith('==> '))
      return { level: 'error', msg: line.slice(4) };
    return { msg: line };
  }
  const level = LEVELS[match[1]!];
  let body = match[2]!;
  const fields: Record<string, unknown> = {};
  const moduleMatch = MODULE_PREFIX.exec(body);
  if (moduleMatch) {
    fields.module = moduleMatch[1];
    body = moduleMatch[2]!;
  }
  // hclog writes `msg: k=v k=v`; the message itself may contain ": ", so take the first split
  // after which everything reads as key=value pairs.
  for (let at = body.indexOf(': '); at >= 0; at = body.indexOf(': ', at + 1)) {
    const pairs = parseKeyValues(body.slice(at + 2));
    if (pairs) return { level, msg: body.slice(0, at), fields: { ...pairs, ...fields } };
  }
  return { level, msg: body, fields };
}

/** `a=1 b="x y"` as { a: '1', b: 'x y' }, or null unless the whole text is such pairs. */
export function parseKeyValues(text: string): Record<string, string> | null {
  if (text === '') return null;
  const pairs: Record<string, string> = {};
  KEY_VALUE.lastIndex = 0;
  while (KEY_VALUE.lastIndex < text.length) {
    const match = KEY_VALUE.exec(text);
    if (!match) return null;
    pairs[match[1]!] = unquote(match[2]!);
  }
  return pairs;
}

function unquote(value: string): string {
  if (!value.startsWith('"')) return value;
  try {
    return JSON.parse(value) as string;
  } catch {
    return value.slice(1, -1); // Go escapes JSON does not know (\x..): keep them as written
  }
}
