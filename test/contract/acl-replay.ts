// Shared by the contract tests of recording 11 (ACLs on, default_policy deny): calls with a
// token, the recorded token of a request, comparing an answer with a record (status,
// Content-Type, text or JSON shape plus the names it lists: ACLs filter lists, so which
// nodes/services/members come back matters as much as the shape), CLI runs, and the polls of
// the recorded timelines reduced to their phases.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CONSUL_DOUBLE } from '../helpers/doubles.ts';
import type { HttpRecord } from './recordings.ts';
import { recordingPath, shapeDiff } from './recordings.ts';

export const DIR = '11-acl';
/** acl.tokens.master of configs/server.json: "management" in the records. */
export const MANAGEMENT = 'be9b1bc0-36ec-4d19-9364-c781b61db64b';
/** The token the recording used for "unknown token" calls. */
export const UNKNOWN = '00000000-0000-4000-8000-000000000000';

export interface Answer {
  status: number | null;
  type: string | null;
  body: string | null;
}

/** One HTTP call (token in X-Consul-Token, as curl sent it); status null: nothing listens. */
export async function call(
  method: string,
  url: string,
  token?: string,
  body?: string | null,
): Promise<Answer> {
  try {
    const res = await fetch(url, {
      method,
      headers: token ? { 'X-Consul-Token': token } : {},
      ...(body != null ? { body } : {}),
    });
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
  } catch (err) {
    if ((err as { cause?: { code?: string } }).cause?.code !== 'ECONNREFUSED') throw err;
    return { status: null, type: null, body: null };
  }
}

/** The X-Consul-Token a recorded curl call sent (undefined: none). */
export function tokenOf(rec: HttpRecord & { command?: string }): string | undefined {
  return /-H 'X-Consul-Token: ([^']*)'/.exec(rec.command ?? '')?.[1];
}

/** What a list or map answer names: nodes, members, services, service IDs, policy names. */
export function names(v: unknown): string[] | undefined {
  if (Array.isArray(v)) {
    return v
      .map((e: Record<string, unknown>) => {
        const node = e.Node as Record<string, unknown> | string | undefined;
        const svc = e.Service as Record<string, unknown> | undefined;
        if (svc && typeof node === 'object') return `${String(node.Node)}/${String(svc.ID)}`;
        if (e.ServiceID !== undefined) return `${String(e.Node)}/${String(e.ServiceID)}`;
        // A token by its description: accessors other than the built-in ones are random.
        if (e.AccessorID !== undefined) return String(e.Description);
        return String(e.Name ?? e.Node ?? e.ID ?? JSON.stringify(e));
      })
      .sort();
  }
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (o.Node && o.Services && typeof o.Services === 'object')
      return Object.keys(o.Services as object).sort();
    return Object.keys(o).sort();
  }
  return undefined;
}

/**
 * What the recording compares of a 200 /v1/agent/self (its README: the leader as the agent sees
 * it, the member status), plus the ACL mode it reports (Stats.consul.acl, the `acls` tag).
 */
function selfFacts(v: unknown, local: (s: string) => string): Record<string, unknown> {
  const b = v as {
    Stats: { consul: Record<string, string> };
    Member: { Status: number; Tags: Record<string, string> };
  };
  const c = b.Stats.consul;
  return {
    leader: c.leader,
    leader_addr: c.leader_addr === undefined ? undefined : local(c.leader_addr),
    known_servers: c.known_servers,
    acl: c.acl,
    status: b.Member.Status,
    acls: b.Member.Tags.acls,
  };
}

/**
 * Differences between a recorded answer and the double's (empty = faithful): status,
 * Content-Type, then the text (addresses mapped with `local`, optionally normalised with
 * `norm`) or the JSON's shape and names.
 */
export function compare(
  rec: HttpRecord,
  got: Answer,
  local: (s: string) => string,
  norm: (s: string) => string = (s) => s,
): string[] {
  const problems: string[] = [];
  if (got.status !== rec.status)
    problems.push(`status: expected ${rec.status}, got ${got.status} (${got.body?.slice(0, 300)})`);
  const type = rec.headers['Content-Type'] ?? null;
  if (type !== got.type) problems.push(`Content-Type: expected ${type}, got ${got.type}`);
  if (type?.includes('json') && got.type?.includes('json')) {
    const expected = rec.body_json !== undefined ? rec.body_json : JSON.parse(rec.body ?? 'null');
    const actual = JSON.parse(local(got.body ?? 'null')) as unknown;
    if (new URL(rec.url).pathname === '/v1/agent/self') {
      const [e, a] = [selfFacts(expected, local), selfFacts(actual, local)];
      if (JSON.stringify(e) !== JSON.stringify(a))
        problems.push(`agent/self: expected ${JSON.stringify(e)}, got ${JSON.stringify(a)}`);
      return problems;
    }
    problems.push(...shapeDiff(expected, actual));
    const [e, a] = [names(expected), names(JSON.parse(got.body ?? 'null'))];
    if (JSON.stringify(e) !== JSON.stringify(a))
      problems.push(`names: expected ${JSON.stringify(e)}, got ${JSON.stringify(a)}`);
  } else if (norm(got.body ?? '') !== norm(local(rec.body ?? ''))) {
    problems.push(
      `body: expected ${JSON.stringify(rec.body)}, got ${JSON.stringify(got.body?.slice(0, 300))}`,
    );
  }
  return problems;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the consul double with `args` (cwd: `cwd`), env added to this process's. */
export function runConsul(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<CliResult> {
  const child = spawn(CONSUL_DOUBLE, args, {
    cwd,
    env: { ...process.env, CONSUL_HTTP_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** The env a recorded CLI call added (`CONSUL_HTTP_TOKEN=…`), as an object. */
export function envAdded(rec: { env_added?: string[] }): Record<string, string> {
  return Object.fromEntries(
    (rec.env_added ?? []).map((kv) => [
      kv.slice(0, kv.indexOf('=')),
      kv.slice(kv.indexOf('=') + 1),
    ]),
  );
}

// --- polls ---------------------------------------------------------------------------------

export interface Target {
  /** The recorded target label, e.g. `/v1/agent/self token=management`. */
  label: string;
  url: string;
  token?: string;
}

interface Sample {
  status?: number;
  body?: string;
  error?: string;
}

/**
 * A sample reduced to what the recording's facts are about: the status and the error text, the
 * leader, which nodes/services a list names, a catalog node with or without its tagged
 * addresses; a 200 /v1/agent/self is just "self" (its body is cut in the recordings).
 */
export function phaseOf(url: string, s: Sample, local: (s: string) => string): string {
  if (s.status === undefined) return 'no answer';
  const body = s.body ?? '';
  if (s.status !== 200) return `${s.status} ${body}`;
  const path = new URL(url).pathname;
  const ids = (re: RegExp): string =>
    [...body.matchAll(re)]
      .map((m) => m[1])
      .sort()
      .join(',');
  if (path === '/v1/agent/self') return '200 self';
  if (path === '/v1/status/leader') return `200 ${local(body)}`;
  if (path === '/v1/agent/services') return `200 {${ids(/"ID":"([^"]+)"/g)}}`;
  if (path.startsWith('/v1/catalog/node/'))
    return body === 'null'
      ? '200 null'
      : `200 node ${body.includes('"TaggedAddresses":null') ? 'bare' : 'with addresses'} {${ids(/"ID":"([^"]+)","Service"/g)}}`;
  if (path.startsWith('/v1/catalog/service/')) return `200 [${ids(/"ServiceID":"([^"]+)"/g)}]`;
  if (path === '/v1/catalog/nodes') return `200 [${ids(/"Node":"([^"]+)"/g)}]`;
  return `200 ${body}`;
}

/** Collapses repeats: the phases a target went through. */
export function collapse(list: string[]): string[] {
  return list.filter((p, i) => i === 0 || p !== list[i - 1]);
}

interface Timeline {
  targets: [string, string, string | null][];
  changes: (Sample & { target: string; url: string })[];
}

/** Per recorded target: the phases of `<folder>/<file>` once the agent answered. */
export function recordedPhases(
  rel: string,
  local: (s: string) => string,
): Map<string, { target: Target; phases: string[] }> {
  const t = JSON.parse(readFileSync(recordingPath(`${DIR}/${rel}`), 'utf8')) as Timeline;
  const out = new Map<string, { target: Target; phases: string[] }>();
  for (const [label, url, token] of t.targets) {
    const phases = t.changes
      .filter((c) => c.target === label && c.status !== undefined)
      .map((c) => phaseOf(url, c, local));
    out.set(label, {
      target: { label, url: local(url), ...(token ? { token } : {}) },
      phases: collapse(phases),
    });
  }
  return out;
}

/**
 * Polls every target every `everyMs` (each on its own, like the recording's pollers) until
 * `stop(latest)` says so (`latest`: each target's last phase); returns each target's phases.
 */
export async function poll(
  targets: Target[],
  stop: (latest: Map<string, string>) => boolean,
  local: (s: string) => string,
  everyMs = 50,
): Promise<Map<string, string[]>> {
  const seen = new Map<string, string[]>(targets.map((t) => [t.label, []]));
  const latest = new Map<string, string>();
  await Promise.all(
    targets.map(async (t) => {
      const list = seen.get(t.label) as string[];
      while (!stop(latest)) {
        const a = await call('GET', t.url, t.token);
        if (a.status !== null) {
          const phase = phaseOf(t.url, { status: a.status, body: a.body ?? '' }, local);
          list.push(phase);
          latest.set(t.label, phase);
        }
        await sleep(everyMs);
      }
    }),
  );
  return new Map([...seen].map(([k, v]) => [k, collapse(v)]));
}
