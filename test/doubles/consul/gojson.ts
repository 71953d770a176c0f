// Go-flavoured JSON for the consul double: parse errors worded like encoding/json, and output
// escaped like Go's encoder (<, >, & as \u003c…), compact or MarshalIndent-pretty.

export class GoJsonError extends Error {}

/** Parses like json.Unmarshal (`eof` = 'unmarshal') or json.Decoder (`eof` = 'decoder'). */
export function parseGoJson(text: string, eof: 'unmarshal' | 'decoder' = 'unmarshal'): unknown {
  const err = goJsonSyntaxError(text, eof);
  if (err) throw new GoJsonError(err);
  return JSON.parse(text) as unknown;
}

function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return `'"'`;
  return `'${c}'`;
}

/** The message encoding/json would give for a syntax error, or null when the text is valid. */
export function goJsonSyntaxError(text: string, eof: 'unmarshal' | 'decoder'): string | null {
  let i = 0;
  const eofMsg = eof === 'unmarshal' ? 'unexpected end of JSON input' : 'unexpected EOF';
  const ws = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i] as string)) i++;
  };
  const bad = (ctx: string): string => `invalid character ${quoteChar(text[i] as string)} ${ctx}`;
  const value = (): string | null => {
    ws();
    if (i >= text.length) return eofMsg;
    const c = text[i] as string;
    if (c === '{') return container('}', member, 'after object key:value pair');
    if (c === '[') return container(']', value, 'after array element');
    if (c === '"') return str();
    const lit = /^(true|false|null|-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?)/.exec(text.slice(i));
    if (lit) {
      i += lit[0].length;
      return null;
    }
    if ('tfn'.includes(c)) {
      // a truncated literal
      const word = /^[a-z]*/.exec(text.slice(i))?.[0] ?? '';
      if (i + word.length >= text.length) return eofMsg;
      i += word.length;
      return bad('in literal');
    }
    return bad('looking for beginning of value');
  };
  /** An object or array from its opening bracket: elements split by ',' up to `close`. */
  const container = (close: string, element: () => string | null, ctx: string): string | null => {
    i++;
    ws();
    if (text[i] === close) {
      i++;
      return null;
    }
    for (;;) {
      const e = element();
      if (e) return e;
      ws();
      if (i >= text.length) return eofMsg;
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === close) {
        i++;
        return null;
      }
      return bad(ctx);
    }
  };
  const member = (): string | null => {
    ws();
    if (i >= text.length) return eofMsg;
    if (text[i] !== '"') return bad('looking for beginning of object key string');
    const s = str();
    if (s) return s;
    ws();
    if (i >= text.length) return eofMsg;
    if (text[i] !== ':') return bad('after object key');
    i++;
    return value();
  };
  const str = (): string | null => {
    i++;
    while (i < text.length) {
      const c = text[i] as string;
      if (c === '\\') i += 2;
      else if (c === '"') {
        i++;
        return null;
      } else if (c < ' ') return bad('in string literal');
      else i++;
    }
    return eofMsg;
  };
  const v = value();
  if (v) return v;
  ws();
  if (i < text.length) return bad('after top-level value');
  return null;
}

/** Go's json.Marshal output (HTML-escaped); `pretty` = MarshalIndent with 4 spaces and a newline. */
export function goStringify(value: unknown, pretty = false): string {
  const s = pretty ? JSON.stringify(value, null, 4) + '\n' : JSON.stringify(value);
  return s.replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
