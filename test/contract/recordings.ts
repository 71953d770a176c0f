// Loading the real Consul 1.10.12 recordings (../shared/recordings/consul-1.10.12) and comparing
// a double's answer with them: same status, same JSON shape (keys and value types, recursively;
// arrays compared as multisets of shapes), or the same text once addresses/ids are normalised.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RECORDINGS = fileURLToPath(
  new URL('../../../shared/recordings/consul-1.10.12/', import.meta.url),
);

export interface HttpRecord {
  kind: 'http';
  recorded_at: string;
  netns: string;
  method: string;
  url: string;
  request_body: string | null;
  status: number | null;
  headers: Record<string, string>;
  body: string | null;
  body_json?: unknown;
  note?: string;
}

export interface CliRecord {
  kind: 'cli';
  recorded_at: string;
  netns: string;
  argv: string[];
  exit_code: number;
  stdout: string;
  stderr: string;
}

export type Record_ = HttpRecord | CliRecord;

export function loadRecord(rel: string): Record_ {
  return JSON.parse(readFileSync(join(RECORDINGS, rel), 'utf8')) as Record_;
}

export function recordingPath(rel: string): string {
  return join(RECORDINGS, rel);
}

/** The recorded IPs 10.77.0.X and where the contract test runs them (loopback 127.0.77.X). */
export const toLocalIp = (s: string): string => s.replace(/\b10\.77\.0\.(\d+)\b/g, '127.0.77.$1');
export const toRecordedIp = (s: string): string =>
  s.replace(/\b127\.0\.77\.(\d+)\b/g, '10.77.0.$1');

/**
 * Recordings 10 and 12 ran in namespaces on 10.88.0.X. Each contract test replays them on a
 * loopback net of its own (`net`, e.g. 127.0.88), as test files may run in parallel.
 */
export const onLoopback =
  (net: string) =>
  (s: string): string =>
    s.replace(/\b10\.88\.0\.(\d+)\b/g, `${net}.$1`);

/** A type signature of a JSON value: keys and value types, recursively. */
export function shape(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${[...new Set(v.map(shape))].sort().join('|')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${k}:${shape(o[k])}`)
      .join(',')}}`;
  }
  return typeof v;
}

/** Differences between two JSON values' shapes, as readable paths (empty = same shape). */
export function shapeDiff(expected: unknown, actual: unknown, path = '$'): string[] {
  const te = expected === null ? 'null' : Array.isArray(expected) ? 'array' : typeof expected;
  const ta = actual === null ? 'null' : Array.isArray(actual) ? 'array' : typeof actual;
  if (te !== ta) return [`${path}: expected ${te}, got ${ta}`];
  if (te === 'array') {
    const e = expected as unknown[];
    const a = actual as unknown[];
    if (e.length !== a.length) return [`${path}: expected ${e.length} elements, got ${a.length}`];
    const es = e.map(shape).sort();
    const as = a.map(shape).sort();
    const diffs: string[] = [];
    es.forEach((s, i) => {
      if (s !== as[i]) {
        const ei = e.find((x) => shape(x) === s);
        const ai = a.find((x) => shape(x) === as[i]);
        diffs.push(...shapeDiff(ei, ai, `${path}[*]`));
      }
    });
    return diffs;
  }
  if (te === 'object') {
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const diffs: string[] = [];
    for (const k of Object.keys(e)) {
      if (!(k in a)) diffs.push(`${path}.${k}: missing`);
      else diffs.push(...shapeDiff(e[k], a[k], `${path}.${k}`));
    }
    for (const k of Object.keys(a)) if (!(k in e)) diffs.push(`${path}.${k}: unexpected`);
    return diffs;
  }
  return [];
}

/** Text normalised for comparison: recorded IPs, uuids, temp dirs, whitespace runs. */
export function normText(s: string, tmp?: string): string {
  let t = toRecordedIp(s);
  if (tmp) t = t.split(tmp).join('/var/lib/rec');
  return t
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
    .replace(/ {2,}/g, ' ')
    .replace(/"(Create|Modify)Index": \d+/g, '"$1Index": N');
}
