// Where each value of the spec came from: written in the spec (a file or $MESHVISOR_CONFIG_JSON),
// an environment variable (`${VAR}`), or a schema default. Secrets (the fields the schema
// describes as "(secret)", and any value holding one of the spec's secret values) are never
// shown: only where they came from.
import {
  formatPath,
  secretValues,
  specJsonSchema,
  type InterpolationReference,
  type TracedSpec,
} from '../spec/index.ts';
import type { SpecValue } from './report.ts';

type Path = (string | number)[];

/** Every leaf of the loaded spec, in the schema's order, with its origin. */
export function specValues(traced: TracedSpec): SpecValue[] {
  const secretPatterns = secretFieldPatterns();
  const secrets = secretValues(traced.spec);
  const references = new Map<string, InterpolationReference>(
    traced.references.map((r) => [formatPath(r.path), r]),
  );
  return leaves(traced.spec).map(({ path, value }) => {
    const place = locate(traced.document, path);
    const reference = place.found ? references.get(formatPath(place.path)) : undefined;
    const secret =
      secretPatterns.some((pattern) => matches(pattern, path)) ||
      (typeof value === 'string' && secrets.some((s) => value.includes(s)));
    const origin = !place.found
      ? 'default'
      : reference?.variables.some((v) => v.set)
        ? 'env'
        : 'spec';
    const entry: SpecValue = { path: formatPath(path), origin, secret };
    if (!secret) entry.value = value;
    if (reference) entry.variables = reference.variables.map((v) => ({ ...v }));
    const note = defaultNote(path, place.found);
    if (note) entry.note = note;
    return entry;
  });
}

/** Values that are secrets but written in the spec itself rather than taken from a variable. */
export function literalSecrets(values: SpecValue[]): SpecValue[] {
  return values.filter((v) => v.secret && v.origin !== 'env');
}

/** `consul.encrypt  (secret, from $CONSUL_GOSSIP_KEY)`, aligned, one line per value. */
export function describeValues(values: SpecValue[], sourceKind: 'file' | 'inline'): string[] {
  const width = Math.min(44, Math.max(0, ...values.map((v) => v.path.length)));
  const valueWidth = Math.min(
    40,
    Math.max(0, ...values.map((v) => (v.secret ? 0 : show(v.value).length))),
  );
  const written = sourceKind === 'file' ? 'file' : '$MESHVISOR_CONFIG_JSON';
  return values.map((v) => {
    const vars = v.variables ?? [];
    const setVars = vars.filter((x) => x.set).map((x) => `$${x.name}`);
    const unset = vars.filter((x) => !x.set).map((x) => `$${x.name}`);
    const fallback = unset.length > 0 ? `${unset.join(', ')} unset: the written :- default` : '';
    let from: string;
    if (v.origin === 'default') from = v.note ? `default (${v.note})` : 'default';
    else if (v.origin === 'env') from = [setVars.join(', '), fallback].filter(Boolean).join('; ');
    else from = fallback ? `${written} (${fallback})` : written;
    if (v.secret) {
      const how = v.origin === 'env' ? `from ${from}` : `written in the ${from}`;
      return `${v.path.padEnd(width)}  (secret, ${how})`;
    }
    return `${v.path.padEnd(width)}  ${show(v.value).padEnd(valueWidth)}  ${from}`;
  });
}

function show(value: unknown): string {
  if (typeof value === 'string') return value === '' ? '""' : value;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Defaults the schema computes from other values rather than a constant. */
function defaultNote(path: Path, found: boolean): string | undefined {
  if (found) return undefined;
  if (path.length === 1 && path[0] === 'nodeName') return 'the hostname';
  if (path.length === 3 && path[0] === 'services' && path[2] === 'id') return 'the name';
  return undefined;
}

/** The leaves of a value: primitives, empty lists and empty objects, with their paths. */
function leaves(value: unknown, path: Path = []): { path: Path; value: unknown }[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [{ path, value }];
    return value.flatMap((item, i) => leaves(item, [...path, i]));
  }
  if (isRecord(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return [{ path, value }];
    return entries.flatMap(([key, item]) => leaves(item, [...path, key]));
  }
  return [{ path, value }];
}

/**
 * Where a leaf of the parsed spec sits in the document as written. A leaf the document does not
 * have came from a default, unless an ancestor is a plain value the schema expanded (a gateway
 * listener's `services: [users]` becomes `{ name: users }`): then it came from that value.
 */
function locate(document: unknown, path: Path): { found: boolean; path: Path } {
  let node = document;
  for (let i = 0; i < path.length; i++) {
    const key = path[i] as string | number;
    if (!isRecord(node) && !Array.isArray(node)) return { found: true, path: path.slice(0, i) };
    const next = (node as Record<string | number, unknown>)[key];
    if (next === undefined) return { found: false, path: path.slice(0, i) };
    node = next;
  }
  return { found: true, path };
}

/** Paths of the fields the schema describes as secret, `[]` standing for any list index. */
function secretFieldPatterns(): string[][] {
  const patterns: string[][] = [];
  const walk = (node: unknown, path: string[]): void => {
    if (!isRecord(node)) return;
    if (typeof node.description === 'string' && /\(secret\)/i.test(node.description)) {
      patterns.push(path);
    }
    if (isRecord(node.properties)) {
      for (const [key, child] of Object.entries(node.properties)) walk(child, [...path, key]);
    }
    if (node.items) walk(node.items, [...path, '[]']);
    for (const branch of [node.anyOf, node.oneOf, node.allOf]) {
      if (Array.isArray(branch)) for (const b of branch) walk(b, path);
    }
  };
  walk(specJsonSchema(), []);
  return patterns;
}

function matches(pattern: string[], path: Path): boolean {
  return (
    pattern.length === path.length &&
    pattern.every((part, i) => (part === '[]' ? typeof path[i] === 'number' : part === path[i]))
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
