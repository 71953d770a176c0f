// `meshvisor status [--url URL] [--ready] [--json]`: reads a running node's status endpoint.
// It runs as the image's HEALTHCHECK every few seconds, so it loads only node:http: `fetch`
// would pull in undici, about 70 ms more per run on these machines (bench/status-cli.mjs).
import { request } from 'node:http';
import { DEFAULT_STATUS_LISTEN, listenUrl } from '../spec/listen.ts';
import type { MeshView, NodeEvent, NodeStatus } from '../status/model.ts';
import { ExitError, ExitCode } from '../exit.ts';
import type { CommandValues } from './command.ts';

const DEFAULT_URL = listenUrl(DEFAULT_STATUS_LISTEN);
/** Docker's default HEALTHCHECK timeout is 30 s; answer well inside it, and inside ECS's 5 s. */
const TIMEOUT_MS = 3_000;
/** A status document is a few KiB; anything far larger is not meshvisor answering. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Lines are cut to the terminal's width, or to this when stdout is not a terminal. */
const DEFAULT_WIDTH = 120;
/** The timeline keeps 100 events; the table shows the newest, `--json` has them all. */
const SHOWN_EVENTS = 10;
/** A cut column keeps at least this much, however narrow the terminal. */
const MIN_LAST_COLUMN = 20;

export default async function status(values: CommandValues): Promise<number> {
  const base = statusUrl(values);
  const json = values.json === true;
  return values.ready === true ? checkReady(base, json) : showStatus(base, json);
}

/** `--ready`: 0 only on 200 from /readyz; anything else, unreachable included, is 1. */
async function checkReady(base: string, json: boolean): Promise<number> {
  const answer = await get(base, '/readyz');
  if (json) {
    process.stdout.write(answer.body.endsWith('\n') ? answer.body : answer.body + '\n');
    return answer.code === 200 ? ExitCode.ok : ExitCode.failed;
  }
  if (answer.code === 200) {
    process.stdout.write('ready\n');
    return ExitCode.ok;
  }
  if (answer.code !== 503) throw notMeshvisor(base, '/readyz', answer.code);
  const body = parseJson(answer.body);
  const stage = isRecord(body) && typeof body.stage === 'string' ? body.stage : 'unknown';
  const reason =
    isRecord(body) && typeof body.reason === 'string' ? body.reason : 'no reason given';
  // The orchestration's reasons usually name the stage already ("stage leader-known: ...").
  const where = reason.includes(stage) ? '' : ` (stage ${clean(stage)})`;
  process.stdout.write(`not ready${where}: ${clean(reason)}\n`);
  return ExitCode.failed;
}

/** Default and `--json`: exit 0 whenever the status could be read, ready or not. */
async function showStatus(base: string, json: boolean): Promise<number> {
  const answer = await get(base, '/status');
  if (answer.code !== 200) throw notMeshvisor(base, '/status', answer.code);
  const doc = parseJson(answer.body);
  if (!isNodeStatus(doc)) {
    throw new ExitError(`${base}/status did not answer with a meshvisor status`, ExitCode.failed);
  }
  process.stdout.write(
    json
      ? JSON.stringify(doc, null, 2) + '\n'
      : formatStatus(doc, Date.now(), process.stdout.columns || DEFAULT_WIDTH),
  );
  return ExitCode.ok;
}

/** --url, else $MESHVISOR_STATUS_URL, else the default listen address. */
export function statusUrl(values: CommandValues): string {
  return baseUrl(
    typeof values.url === 'string' ? values.url : (process.env.MESHVISOR_STATUS_URL ?? DEFAULT_URL),
  );
}

/** Accepts `host:port` without a scheme; only plain http, as the endpoint never speaks TLS. */
function baseUrl(raw: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ExitError(`bad --url "${raw}": expected http://HOST:PORT`, ExitCode.usage);
  }
  if (url.protocol !== 'http:') {
    throw new ExitError(
      `bad --url "${raw}": the status endpoint speaks plain http`,
      ExitCode.usage,
    );
  }
  return url.href.replace(/\/+$/, '');
}

export interface Answer {
  code: number;
  body: string;
}

function get(base: string, path: string): Promise<Answer> {
  return call(base, path, { method: 'GET', timeoutMs: TIMEOUT_MS });
}

/** One exchange with the endpoint under one deadline; network failures become a ExitError. */
export function call(
  base: string,
  path: string,
  { method, timeoutMs }: { method: string; timeoutMs: number },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) =>
      reject(
        new ExitError(`cannot reach ${base}: ${networkReason(err, timeoutMs)}`, ExitCode.failed),
      );
    const req = request(base + path, { method, headers: { Accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) req.destroy(Object.assign(new Error(), { code: 'ETOOBIG' }));
        else chunks.push(chunk);
      });
      res.on('end', () =>
        resolve({ code: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', fail);
      // A cut connection must never end quietly: with nothing left to wait on, Node would exit 0
      // and a HEALTHCHECK would count a half answer as healthy.
      res.on('close', () => {
        if (!res.complete) fail(Object.assign(new Error(), { code: 'ECONNRESET' }));
      });
    });
    // One deadline for the whole exchange: `timeout` alone only notices an idle socket.
    const timer = setTimeout(
      () => req.destroy(Object.assign(new Error(), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    req.on('close', () => clearTimeout(timer));
    req.on('error', fail);
    req.end();
  });
}

function networkReason(err: NodeJS.ErrnoException, timeoutMs: number): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ETIMEDOUT':
      return `no answer within ${timeoutMs / 1000} s`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    case 'ETOOBIG':
      return `answer larger than ${MAX_BODY_BYTES} bytes`;
    default:
      return err.message || String(err.code);
  }
}

function notMeshvisor(base: string, path: string, code: number): ExitError {
  return new ExitError(
    `${base}${path} answered HTTP ${code}; is this a meshvisor status endpoint?`,
    ExitCode.failed,
  );
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A shallow check, on purpose: a newer or older meshvisor may add or drop a nested field, and
 * the table prints what it finds (`-` for missing) rather than refusing the whole document.
 */
function isNodeStatus(value: unknown): value is NodeStatus {
  return (
    isRecord(value) &&
    typeof value.node === 'string' &&
    typeof value.stage === 'string' &&
    typeof value.ready === 'boolean' &&
    Array.isArray(value.stages) &&
    Array.isArray(value.programs) &&
    Array.isArray(value.configEntries)
  );
}

/**
 * The readable view: identity and readiness, then stages, programs, config entries, and the mesh
 * (services' checks, upstreams, proxies and their certificates) and the newest events. A check's
 * output is cut to fit `width`; everything else is printed whole.
 */
export function formatStatus(s: NodeStatus, now: number, width = DEFAULT_WIDTH): string {
  // Typed as possibly absent: an older meshvisor's document has neither (see isNodeStatus).
  const mesh: MeshView | undefined = s.mesh;
  const events: NodeEvent[] | undefined = s.events;
  const summary: [string, string][] = [
    ['node', `${s.node} (${s.role}, datacenter ${s.datacenter}, meshvisor ${s.version})`],
    ['address', s.address ?? '-'],
    ['stage', s.stage],
    ['ready', s.ready ? 'yes' : `no: ${s.reason ?? 'no reason given'}`],
    ['uptime', duration(s.uptimeSeconds)],
    ['consul', consulView(s.consul)],
  ];
  if (s.degraded) {
    summary.push(['degraded', `since ${s.degraded.since}: ${s.degraded.reason}`]);
  }
  if (typeof s.zombies === 'number' && s.zombies > 0) {
    summary.push(['zombies', `${s.zombies} unreaped children (run under an init, e.g. tini)`]);
  }
  if (mesh) {
    const age = mesh.ageSeconds;
    summary.push(['mesh', typeof age === 'number' ? `read ${duration(age)} ago` : 'not read yet']);
    for (const error of mesh.errors) summary.push(['mesh error', error]);
  }
  const sections = [
    table([], summary),
    table(
      ['STAGE', 'STATE', 'DURATION', 'ERROR'],
      s.stages.map((st) => [st.name, st.state, duration(st.durationSeconds), st.error ?? '']),
      'no stages started yet',
    ),
    table(
      ['PROGRAM', 'KIND', 'STATE', 'PID', 'RESTARTS', 'READY', 'LAST EXIT'],
      s.programs.map((p) => [
        p.name,
        p.kind,
        p.state,
        p.pid === null || p.pid === undefined ? '-' : String(p.pid),
        String(p.restarts ?? '-'),
        p.ready ? 'yes' : 'no',
        lastExit(p.lastExit, now),
      ]),
      'no programs started yet',
    ),
    table(
      ['CONFIG ENTRY', 'STATE', 'ERROR'],
      s.configEntries.map((e) => [`${e.kind}/${e.name}`, e.state, e.error ?? '']),
      'no config entries',
    ),
    ...(mesh ? meshTables(mesh, width) : []),
    ...(events ? [eventTable(events)] : []),
  ];
  // A table with nothing to show and no `empty` line (certificates) leaves no blank line either.
  return sections.filter((text) => text !== '').join('\n');
}

/** Services with their checks, upstreams, proxies, certificates (the last only when any). */
function meshTables(mesh: MeshView, width: number): string[] {
  return [
    table(
      ['SERVICE', 'NAME', 'STATUS', 'CHECK', 'OUTPUT'],
      // One line per check; the service's id and name only on its first.
      mesh.services.flatMap((svc) =>
        svc.checks.length === 0
          ? [[svc.id, svc.name, '-', 'no checks', '']]
          : svc.checks.map((c, i) => [
              i === 0 ? svc.id : '',
              i === 0 ? svc.name : '',
              c.status,
              c.name,
              clean(c.output).replace(/\s+/g, ' ').trim(),
            ]),
      ),
      'no services',
      width,
    ),
    table(
      ['SOURCE', 'UPSTREAM', 'PORT', 'HEALTHY', 'ALLOWED', 'STATUS'],
      mesh.upstreams.map((u) => [
        u.source,
        `${u.service}@${u.datacenter}`,
        String(u.localPort),
        `${u.healthy}/${u.total}`,
        u.allowed === null ? '?' : u.allowed ? 'yes' : 'no',
        u.reason ?? 'ok',
      ]),
      'no upstreams',
    ),
    table(
      ['PROXY', 'STATE', 'LISTENERS', 'REJECTED', 'CONNECT FAILS', 'PROBLEM'],
      mesh.proxies.map((p) => [
        p.name,
        p.state ?? 'no answer',
        String(p.listeners.length),
        rejected(p.rejectedUpdates),
        String(p.connectFailures),
        p.error ? `admin API: ${p.error}` : p.lastRejection ? `rejected: ${p.lastRejection}` : '',
      ]),
      'no proxies',
    ),
    table(
      ['PROXY', 'CERT', 'SERIAL', 'EXPIRES IN', 'EXPIRES AT', 'WARNING'],
      mesh.proxies.flatMap((p) =>
        p.certificates.map((c) => [
          p.name,
          c.kind,
          c.serial,
          timeLeft(c.secondsLeft),
          c.expiresAt,
          c.warning ?? '',
        ]),
      ),
    ),
  ];
}

/** `lds 2, eds 1`: the xDS types Envoy rejected an update of; `-` when none. */
function rejected(byType: Record<string, number>): string {
  const counts = Object.entries(byType).filter(([, n]) => n > 0);
  return counts.length === 0 ? '-' : counts.map(([type, n]) => `${type} ${n}`).join(', ');
}

/** Hours and minutes up to two days, whole days beyond (CA roots live for years). */
function timeLeft(seconds: number): string {
  if (seconds <= 0) return 'expired';
  return seconds < 2 * 86400 ? duration(seconds) : `${Math.floor(seconds / 86400)} days`;
}

/** The newest events, newest last, saying how many older ones `--json` has. */
function eventTable(events: NodeEvent[]): string {
  const shown = events.slice(-SHOWN_EVENTS);
  const older = events.length - shown.length;
  const text = table(
    ['TIME', 'EVENT'],
    shown.map((e) => [e.at, e.message]),
    'no events yet',
  );
  return older > 0 ? `${older} older events (--json has them all)\n${text}` : text;
}

function consulView(consul: NodeStatus['consul'] | undefined): string {
  const leader = consul?.leader ? `leader ${consul.leader}` : 'no leader known';
  const count = consul?.members;
  const members =
    typeof count === 'number' ? `${count} member${count === 1 ? '' : 's'}` : 'members unknown';
  return `${leader}, ${members}`;
}

function lastExit(exit: NodeStatus['programs'][number]['lastExit'], now: number): string {
  if (!exit) return '-';
  const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code ?? '?'}`;
  const at = Date.parse(exit.at);
  return Number.isNaN(at) ? how : `${how}, ${duration(Math.max(0, (now - at) / 1000))} ago`;
}

/** 0.12s, 8.5s, 2m03s, 1h02m03s: seconds for stages, h/m/s for long uptimes. */
export function duration(seconds: number | null | undefined): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '-';
  if (seconds < 60) return `${Number(seconds.toFixed(seconds < 10 ? 2 : 1))}s`;
  const total = Math.floor(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m${sec}s` : `${m}m${sec}s`;
}

/**
 * Columns padded to their widest cell; the last column is not padded (no trailing spaces) and is
 * cut with `…` where a line would pass `width` (keeping at least MIN_LAST_COLUMN of it).
 */
function table(headers: string[], rows: string[][], empty = '', width = Infinity): string {
  if (rows.length === 0) return empty ? `${empty}\n` : '';
  const all = (headers.length > 0 ? [headers, ...rows] : rows).map((r) => r.map(clean));
  const widths = all[0]?.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length))) ?? [];
  const before = widths.slice(0, -1).reduce((sum, w) => sum + w + 2, 0);
  const max = Math.max(width, before + MIN_LAST_COLUMN);
  return all
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => (line.length > max ? line.slice(0, max - 1).trimEnd() + '…' : line) + '\n')
    .join('');
}

/**
 * Error texts come from Consul and from children: a newline would break the table and an escape
 * sequence would reach the terminal, so every control character becomes a space.
 */
export function clean(text: unknown): string {
  const s = String(text ?? '-');
  let out = '';
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    out += code < 0x20 || (code >= 0x7f && code <= 0x9f) ? ' ' : ch;
  }
  return out;
}
