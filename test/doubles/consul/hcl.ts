// A small HCL1 subset — enough for config-entry files (`consul config write x.hcl`) and ACL
// policy rules: `key = value`, blocks `key { … }` and labelled blocks `key "label" { … }`
// (→ `{ key: { label: { … } } }`, blocks of one key merged), lists, strings, numbers, bools,
// comments. Errors are worded like hashicorp/hcl v1 ("At 3:17: literal not terminated").
import type { Json, JsonObject } from './config.ts';

export class HclError extends Error {}

interface Tok {
  t: 'ident' | 'string' | 'number' | 'bool' | 'punct' | 'eof';
  v: string;
  line: number;
  col: number;
}

function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let line = 1;
  let col = 1;
  const adv = (n = 1): void => {
    for (let k = 0; k < n; k++) {
      if (src[i] === '\n') {
        line++;
        col = 1;
      } else col++;
      i++;
    }
  };
  while (i < src.length) {
    const c = src[i] as string;
    if (c === '#' || (c === '/' && src[i + 1] === '/')) {
      while (i < src.length && src[i] !== '\n') adv();
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      adv(2);
      while (i < src.length && !(src[i] === '*' && src[i + 1] === '/')) adv();
      adv(2);
      continue;
    }
    if (/\s/.test(c)) {
      adv();
      continue;
    }
    const start = { line, col };
    if (c === '"') {
      let v = '';
      adv();
      for (;;) {
        const d = src[i];
        if (d === undefined || d === '\n') {
          throw new HclError(`At ${line}:${col}: literal not terminated`);
        }
        if (d === '\\') {
          const e = src[i + 1] ?? '';
          v += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          adv(2);
          continue;
        }
        adv();
        if (d === '"') break;
        v += d;
      }
      toks.push({ t: 'string', v, ...start });
      continue;
    }
    const num = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(src.slice(i));
    if (num) {
      toks.push({ t: 'number', v: num[0], ...start });
      adv(num[0].length);
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(src.slice(i));
    if (id) {
      toks.push({
        t: id[0] === 'true' || id[0] === 'false' ? 'bool' : 'ident',
        v: id[0],
        ...start,
      });
      adv(id[0].length);
      continue;
    }
    if ('={}[],'.includes(c)) {
      toks.push({ t: 'punct', v: c, ...start });
      adv();
      continue;
    }
    throw new HclError(`At ${line}:${col}: illegal char`);
  }
  toks.push({ t: 'eof', v: '', line, col: col + 1 });
  return toks;
}

const NAMES: Record<string, string> = {
  '{': 'LBRACE',
  '}': 'RBRACE',
  '[': 'LBRACK',
  ']': 'RBRACK',
  '=': 'ASSIGN',
  ',': 'COMMA',
};
const tokName = (t: Tok): string =>
  t.t === 'eof' ? 'EOF' : t.t === 'punct' ? (NAMES[t.v] ?? t.v) : t.t.toUpperCase();

const isObject = (v: Json | undefined): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Labelled blocks of one key (`service "a" {…} service "b" {…}`) share one object. */
function mergeBlocks(a: JsonObject, b: JsonObject): JsonObject {
  const out: JsonObject = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isObject(prev) && isObject(v) ? mergeBlocks(prev, v) : v;
  }
  return out;
}

/** Parses HCL text into a JSON object (blocks become objects). */
export function parseHcl(src: string): JsonObject {
  const toks = tokenize(src);
  let p = 0;
  const peek = (): Tok => toks[p] as Tok;
  const next = (): Tok => toks[p++] as Tok;

  const body = (closing: boolean): JsonObject => {
    const out: JsonObject = {};
    for (;;) {
      const t = peek();
      if (t.t === 'eof') {
        if (closing)
          throw new HclError(`At ${t.line}:${t.col}: object expected closing RBRACE got: EOF`);
        return out;
      }
      if (closing && t.t === 'punct' && t.v === '}') {
        next();
        return out;
      }
      if (t.t !== 'ident' && t.t !== 'string') {
        throw new HclError(`At ${t.line}:${t.col}: expected: IDENT | STRING got: ${tokName(t)}`);
      }
      next();
      const labels: string[] = [];
      while (peek().t === 'string') labels.push(next().v);
      const after = peek();
      let v: Json;
      if (after.t === 'punct' && after.v === '=' && labels.length === 0) {
        next();
        v = value();
      } else if (after.t === 'punct' && after.v === '{') {
        next();
        v = body(true);
        for (const label of labels.reverse()) v = { [label]: v };
      } else {
        throw new HclError(
          `At ${after.line}:${after.col}: key '${t.v}' expected start of object ('{') or assignment ('=')`,
        );
      }
      const prev = out[t.v];
      out[t.v] = labels.length && isObject(prev) && isObject(v) ? mergeBlocks(prev, v) : v;
      if (peek().t === 'punct' && peek().v === ',') next();
    }
  };

  const value = (): Json => {
    const t = next();
    if (t.t === 'string') return t.v;
    if (t.t === 'number') return Number(t.v);
    if (t.t === 'bool') return t.v === 'true';
    if (t.t === 'punct' && t.v === '{') return body(true);
    if (t.t === 'punct' && t.v === '[') {
      const items: Json[] = [];
      for (;;) {
        const n = peek();
        if (n.t === 'punct' && n.v === ']') {
          next();
          return items;
        }
        if (n.t === 'eof')
          throw new HclError(`At ${n.line}:${n.col}: list expected closing RBRACK got: EOF`);
        items.push(value());
        if (peek().t === 'punct' && peek().v === ',') next();
      }
    }
    throw new HclError(
      `At ${t.line}:${t.col}: Unknown token: ${t.line}:${t.col} ${tokName(t)} ${t.v}`,
    );
  };

  return body(false);
}
