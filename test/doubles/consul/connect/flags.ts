// Go `flag` package parsing, as the consul CLI uses it: `-name value`, `-name=value`, `--name`,
// bool flags only as `-name` or `-name=false`; parsing stops at `--` (consumed) or at the first
// non-flag argument, and the rest is returned (for `connect envoy`: passed through to Envoy).

export type FlagKind = 'string' | 'bool' | 'list';
export type FlagSpecs = Record<string, FlagKind>;

export class FlagError extends Error {}

export interface ParsedFlags {
  strings: Map<string, string>;
  bools: Map<string, boolean>;
  lists: Map<string, string[]>;
  rest: string[];
}

const BOOL_VALUES: Record<string, boolean> = {
  '1': true,
  t: true,
  T: true,
  true: true,
  TRUE: true,
  True: true,
  '0': false,
  f: false,
  F: false,
  false: false,
  FALSE: false,
  False: false,
};

export function parseGoFlags(args: string[], specs: FlagSpecs): ParsedFlags {
  const out: ParsedFlags = { strings: new Map(), bools: new Map(), lists: new Map(), rest: [] };
  let i = 0;
  while (i < args.length) {
    const arg = args[i] as string;
    if (arg.length < 2 || !arg.startsWith('-')) break;
    if (arg === '--') {
      i++;
      break;
    }
    i++;
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    if (body === '' || body.startsWith('-') || body.startsWith('=')) {
      throw new FlagError(`bad flag syntax: ${arg}`);
    }
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    const kind = specs[name];
    if (!kind) throw new FlagError(`flag provided but not defined: -${name}`);
    if (kind === 'bool') {
      const v = inline === undefined ? true : BOOL_VALUES[inline];
      if (v === undefined) {
        throw new FlagError(`invalid boolean value "${inline}" for -${name}: parse error`);
      }
      out.bools.set(name, v);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i >= args.length) throw new FlagError(`flag needs an argument: -${name}`);
      value = args[i++] as string;
    }
    if (kind === 'list') out.lists.set(name, [...(out.lists.get(name) ?? []), value]);
    else out.strings.set(name, value);
  }
  out.rest = args.slice(i);
  return out;
}

/** The flags every consul HTTP command takes (command/flags/http.go). */
export const HTTP_FLAGS: FlagSpecs = {
  'http-addr': 'string',
  token: 'string',
  'token-file': 'string',
  'ca-file': 'string',
  'ca-path': 'string',
  'client-cert': 'string',
  'client-key': 'string',
  'tls-server-name': 'string',
  datacenter: 'string',
  stale: 'bool',
};
