// Loading a spec: the source (-c FILE, $MESHVISOR_CONFIG, $MESHVISOR_CONFIG_JSON), the syntax
// (YAML or JSON, errors with line and column), interpolation, then the schema and its rules.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { SpecError, problemsFromIssues, type SpecProblem } from './errors.ts';
import { interpolate, type InterpolationReference } from './interpolate.ts';
import { jsonErrorOffset } from './json-offset.ts';
import { NodeSpecSchema, type NodeSpec } from './schema.ts';

export interface SpecSource {
  /** `-c FILE`; wins over the environment. */
  file?: string;
  /** Where $MESHVISOR_CONFIG / $MESHVISOR_CONFIG_JSON and `${VAR}` values come from. */
  env?: NodeJS.ProcessEnv;
}

interface SpecText {
  /** What problems name as the place: the file, or `$MESHVISOR_CONFIG_JSON`. */
  name: string;
  text: string;
  format: 'json' | 'yaml';
  kind: SpecOrigin['kind'];
}

/** Reads, parses, interpolates and validates the node spec; throws SpecError with every problem. */
export async function loadSpec(source: SpecSource): Promise<NodeSpec> {
  return (await loadSpecTraced(source)).spec;
}

/** Where the spec text comes from: a file (-c or $MESHVISOR_CONFIG) or inline JSON. */
export interface SpecOrigin {
  kind: 'file' | 'inline';
  /** The file's path, or `$MESHVISOR_CONFIG_JSON`. */
  name: string;
}

/** A loaded spec with what it was made from, for `meshvisor doctor` to say where values came from. */
export interface TracedSpec {
  spec: NodeSpec;
  origin: SpecOrigin;
  /** The document as written, after `${VAR}` interpolation and before defaults. */
  document: unknown;
  /** Each string value that used `${VAR}`, by its path in `document`. */
  references: InterpolationReference[];
}

/** The source loadSpec would read (the same order), or null when none is given. */
export function describeSpecSource(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): SpecOrigin | null {
  const path = file || env.MESHVISOR_CONFIG;
  if (path) return { kind: 'file', name: path };
  if (env.MESHVISOR_CONFIG_JSON) return { kind: 'inline', name: '$MESHVISOR_CONFIG_JSON' };
  return null;
}

/** loadSpec, also returning the interpolated document and its `${VAR}` references. */
export async function loadSpecTraced(source: SpecSource): Promise<TracedSpec> {
  const env = source.env ?? process.env;
  const text = await readSpecText(source.file, env);
  const parsed = parseSpecText(text);
  const { value, problems, references } = interpolate(parsed, env);
  if (problems.length > 0) throw new SpecError(problems);
  return {
    spec: parseSpec(value),
    origin: { kind: text.kind, name: text.name },
    document: value,
    references,
  };
}

/** Validates an already-parsed, interpolated document against the schema and its rules. */
export function parseSpec(document: unknown): NodeSpec {
  const result = NodeSpecSchema.safeParse(document);
  if (result.success) return result.data;
  throw new SpecError(problemsFromIssues(result.error.issues, knownKeysAt));
}

async function readSpecText(file: string | undefined, env: NodeJS.ProcessEnv): Promise<SpecText> {
  const path = file || env.MESHVISOR_CONFIG;
  if (path) {
    try {
      const text = await readFile(path, 'utf8');
      return {
        name: path,
        text,
        format: extname(path).toLowerCase() === '.json' ? 'json' : 'yaml',
        kind: 'file',
      };
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new SpecError([{ path, message: `cannot read the spec file (${reason})` }]);
    }
  }
  const inline = env.MESHVISOR_CONFIG_JSON;
  if (inline) {
    return { name: '$MESHVISOR_CONFIG_JSON', text: inline, format: 'json', kind: 'inline' };
  }
  throw new SpecError([
    {
      path: '(source)',
      message: 'no node spec: pass -c FILE, or set $MESHVISOR_CONFIG or $MESHVISOR_CONFIG_JSON',
    },
  ]);
}

function parseSpecText(spec: SpecText): unknown {
  if (spec.format === 'json') return parseJson(spec);
  const document = parseDocument(spec.text, { uniqueKeys: true, prettyErrors: true });
  const problems = document.errors.map((error) => {
    const [start] = error.linePos ?? [];
    // Pretty errors append " at line L, column C:" and a code frame; the place goes in the path.
    const message = error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '');
    return syntaxProblem(spec.name, start?.line, start?.col, message);
  });
  if (problems.length > 0) throw new SpecError(problems);
  return document.toJS();
}

function parseJson(spec: SpecText): unknown {
  let value: unknown;
  try {
    value = JSON.parse(spec.text);
  } catch (err) {
    const { line, col } = lineAndColumn(spec.text, jsonErrorOffset(spec.text));
    // V8 appends the offending source (it may hold a secret) and a position; the place is in
    // the path instead.
    const clean = (err as Error).message
      .replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, '')
      .replace(/ in JSON at position \d+.*$/s, '');
    throw new SpecError([syntaxProblem(spec.name, line, col, clean)]);
  }
  // JSON.parse keeps the last of two equal keys without a word; a typo'd duplicate must not
  // silently win, and YAML (a superset of JSON) reports them with their place. Parsing it as
  // YAML costs ~7 ms on a start, so only when the text holds more keys than the value does.
  if (countKeysInText(spec.text) === countKeysInValue(value)) return value;
  const duplicates = parseDocument(spec.text, { uniqueKeys: true }).errors.filter(
    (error) => error.code === 'DUPLICATE_KEY',
  );
  if (duplicates.length > 0) {
    throw new SpecError(
      duplicates.map((error) => {
        const [start] = error.linePos ?? [];
        return syntaxProblem(spec.name, start?.line, start?.col, 'duplicate key');
      }),
    );
  }
  return value;
}

/** Every string literal of a valid JSON text, in order, and whether a ':' follows it (a key). */
const JSON_STRING = /"(?:[^"\\]|\\.)*"(\s*:)?/g;

function countKeysInText(text: string): number {
  let keys = 0;
  for (const match of text.matchAll(JSON_STRING)) if (match[1] !== undefined) keys++;
  return keys;
}

function countKeysInValue(value: unknown): number {
  if (Array.isArray(value))
    return value.reduce((sum: number, item) => sum + countKeysInValue(item), 0);
  if (value === null || typeof value !== 'object') return 0;
  let keys = 0;
  for (const item of Object.values(value)) keys += 1 + countKeysInValue(item);
  return keys;
}

function lineAndColumn(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, col: (before.at(-1)?.length ?? 0) + 1 };
}

function syntaxProblem(
  name: string,
  line: number | undefined,
  col: number | undefined,
  message: string,
): SpecProblem {
  return { path: line === undefined ? name : `${name}:${line}:${col ?? 1}`, message };
}

let inputSchema: Record<string, unknown> | undefined;

/** The JSON Schema of the spec as users write it (defaults optional, transforms ignored). */
export function specJsonSchema(): Record<string, unknown> {
  inputSchema ??= z.toJSONSchema(NodeSpecSchema, { io: 'input' }) as Record<string, unknown>;
  return inputSchema;
}

/** Property names the schema allows at a path, read from the JSON Schema. */
function knownKeysAt(path: readonly PropertyKey[]): string[] {
  let node: unknown = specJsonSchema();
  for (const part of path) {
    node = typeof part === 'number' ? field(node, 'items') : field(field(node, 'properties'), part);
    node = field(node, 'anyOf') ? objectBranch(field(node, 'anyOf')) : node;
  }
  const properties = field(node, 'properties');
  return properties && typeof properties === 'object' ? Object.keys(properties) : [];
}

function field(node: unknown, key: PropertyKey): unknown {
  return node && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined;
}

function objectBranch(branches: unknown): unknown {
  return Array.isArray(branches) ? branches.find((b) => field(b, 'properties')) : undefined;
}
