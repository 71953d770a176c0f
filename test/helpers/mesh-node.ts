// Runs `meshvisor run` from the bundle inside a test host (a network namespace with an eth0),
// as the container entrypoint would run, and reads it back: its JSON log lines, its status
// endpoint, its exit. The consul binary is the double unless CONSUL_BIN names a real one.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NodeStatus } from '../../src/status/model.ts';
import { BUNDLE } from './cli.ts';
import { buildDoubles, CONSUL_DOUBLE } from './doubles.ts';
import { createTestNet, type TestHost } from './netns.ts';

/** The consul binary end-to-end tests run: a real one when CONSUL_BIN is set. */
export const CONSUL_BIN = process.env.CONSUL_BIN ?? CONSUL_DOUBLE;

/**
 * A real CONSUL_BIN's version ("1.14.9" from `consul version`), given to every spec as
 * consul.version so that the render speaks its line; undefined for the double (1.10's keys).
 */
export const CONSUL_VERSION = process.env.CONSUL_BIN
  ? /^Consul v(\d+\.\d+\.\d+)/.exec(
      spawnSync(process.env.CONSUL_BIN, ['version'], { encoding: 'utf8' }).stdout ?? '',
    )?.[1]
  : undefined;

export const STATUS_PORT = 9555;

export type LogRecord = Record<string, unknown> & { msg?: string; program?: string };

export interface RunningNode {
  host: TestHost;
  child: ChildProcess;
  logs: LogRecord[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  status(): Promise<NodeStatus>;
  waitReady(timeoutMs: number): Promise<NodeStatus>;
  waitFor(
    predicate: (s: NodeStatus) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<NodeStatus>;
}

/** A node spec for a test host: its own data/config dirs, status on the host's IP, fast retry. */
export function testSpec(host: TestHost, workDir: string, spec: Record<string, unknown>) {
  const dir = join(workDir, host.name);
  const consul = (spec.consul ?? {}) as Record<string, unknown>;
  return {
    ...spec,
    nodeName: spec.nodeName ?? host.name,
    consul: {
      binary: CONSUL_BIN,
      ...(CONSUL_VERSION ? { version: CONSUL_VERSION } : {}),
      dataDir: join(dir, 'data'),
      configDir: join(dir, 'consul.d'),
      retryInterval: '1s',
      ...consul,
    },
    status: { listen: `${host.ip}:${STATUS_PORT}` },
  };
}

/** Writes the host's spec file (what `meshvisor run -c` reads, and a reload reads again). */
export function writeSpec(host: TestHost, workDir: string, spec: Record<string, unknown>): string {
  const specPath = join(workDir, `${host.name}.json`);
  mkdirSync(workDir, { recursive: true });
  writeFileSync(specPath, JSON.stringify(testSpec(host, workDir, spec), null, 2));
  return specPath;
}

export function startNode(
  host: TestHost,
  workDir: string,
  spec: Record<string, unknown>,
  env: Record<string, string> = {},
): RunningNode {
  const specPath = writeSpec(host, workDir, spec);
  const child = host.spawn(BUNDLE, ['run', '-c', specPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'debug', ...env },
  });
  const logs: LogRecord[] = [];
  const collect = (stream: NodeJS.ReadableStream | null) => {
    if (!stream) return;
    createInterface({ input: stream }).on('line', (line) => {
      try {
        logs.push(JSON.parse(line) as LogRecord);
      } catch {
        logs.push({ msg: line, raw: true });
      }
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = `http://${host.ip}:${STATUS_PORT}`;

  async function status(): Promise<NodeStatus> {
    const res = await fetch(`${url}/status`, { signal: AbortSignal.timeout(2000) });
    return (await res.json()) as NodeStatus;
  }

  async function waitFor(predicate: (s: NodeStatus) => boolean, timeoutMs: number, what: string) {
    const deadline = Date.now() + timeoutMs;
    let last: NodeStatus | string = 'no answer yet';
    let exitedEarly = false;
    void exited.then(() => (exitedEarly = true));
    while (Date.now() < deadline && !exitedEarly) {
      try {
        const s = await status();
        last = s;
        if (predicate(s)) return s;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(200);
    }
    const tail = logs
      .slice(-30)
      .map((l) => JSON.stringify(l))
      .join('\n');
    throw new Error(
      `${host.name}: ${what} not reached in ${timeoutMs} ms${exitedEarly ? ' (meshvisor exited)' : ''}; ` +
        `last status: ${JSON.stringify(last)}\nlast log lines:\n${tail}`,
    );
  }

  return {
    host,
    child,
    logs,
    exited,
    status,
    waitFor,
    waitReady: (timeoutMs) => waitFor((s) => s.ready, timeoutMs, 'READY'),
  };
}

/** Resolves with the exit, or rejects after timeoutMs. */
export async function waitExit(node: RunningNode, timeoutMs: number) {
  const timer = sleep(timeoutMs).then(() => {
    throw new Error(`${node.host.name}: meshvisor did not exit within ${timeoutMs} ms`);
  });
  return Promise.race([node.exited, timer]);
}

export interface Testbed {
  hosts: TestHost[];
  workDir: string;
  /** Starts a node and kills it when the test ends, whatever happened. */
  start(host: TestHost, spec: Record<string, unknown>, env?: Record<string, string>): RunningNode;
}

/**
 * Test hosts in network namespaces, a work folder, and the doubles built; everything started
 * through it is killed and removed when the test ends, even on failure.
 */
export async function testbed(
  t: { after: (fn: () => Promise<void>) => void },
  hostCount: number,
): Promise<Testbed> {
  buildDoubles();
  const net = await createTestNet(hostCount);
  const workDir = mkdtempSync(join(tmpdir(), 'mv-e2e-'));
  const nodes: RunningNode[] = [];
  t.after(async () => {
    for (const node of nodes) node.child.kill('SIGKILL');
    await net.cleanup();
    rmSync(workDir, { recursive: true, force: true });
  });
  return {
    hosts: net.hosts,
    workDir,
    start(host, spec, env) {
      const node = startNode(host, workDir, spec, env);
      nodes.push(node);
      return node;
    },
  };
}

/**
 * kill -9 of one of the node's programs, then waits until the supervisor has restarted it (a new
 * pid, one more restart) and the node is READY again. Returns the status before and after.
 */
export async function killProgramAndWaitReady(
  node: RunningNode,
  programName: string,
  timeoutMs: number,
): Promise<{ before: NodeStatus; after: NodeStatus }> {
  const before = await node.status();
  const victim = before.programs.find((p) => p.name === programName);
  if (!victim?.pid) throw new Error(`${node.host.name}: ${programName} has no pid to kill`);
  process.kill(victim.pid, 'SIGKILL');
  const after = await node.waitFor(
    (s) => {
      const program = s.programs.find((p) => p.name === programName);
      return s.ready && program !== undefined && program.restarts > victim.restarts;
    },
    timeoutMs,
    `READY again after kill -9 of ${programName}`,
  );
  const restarted = after.programs.find((p) => p.name === programName);
  if (restarted?.pid === victim.pid || restarted?.lastExit?.signal !== 'SIGKILL') {
    throw new Error(`${programName} was not restarted after kill -9: ${JSON.stringify(restarted)}`);
  }
  return { before, after };
}

/**
 * A node's member status as the server at `server` sees it (1 alive, 3 left, 4 failed); with
 * ACLs a token that may read nodes (without one the list is filtered).
 */
export async function memberStatus(
  server: TestHost,
  node: string,
  token?: string,
): Promise<number | undefined> {
  const res = await fetch(`http://${server.ip}:8500/v1/agent/members`, {
    headers: token ? { 'X-Consul-Token': token } : {},
  });
  const members = (await res.json()) as { Name: string; Status: number }[];
  return members.find((m) => m.Name === node)?.Status;
}

/** The servers' catalog view of a node: its service IDs sorted, or null when it has no such node. */
export async function catalogServices(server: TestHost, node: string): Promise<string[] | null> {
  const res = await fetch(`http://${server.ip}:8500/v1/catalog/node/${node}`);
  if (res.status !== 200)
    throw new Error(`catalog/node/${node}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { Services: Record<string, unknown> } | null;
  return body ? Object.keys(body.Services).sort() : null;
}

/** The envoy double's event log (ENVOY_DOUBLE_EVENTS): one record per line; none yet: []. */
/** One call to the Consul HTTP API of a test host's agent (port 8500), its JSON answer parsed. */
export async function consulApi<T>(
  host: TestHost,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://${host.ip}:8500${path}`, {
    signal: AbortSignal.timeout(5000),
    ...init,
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

export function readEnvoyEvents(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** An HTTP exchange made by httpFrom: the answer, or how it failed (ECONNREFUSED, timeout...). */
export interface HttpResult {
  status?: number;
  body?: string;
  error?: string;
}

/**
 * A GET from inside a host's network namespace, as the app beside the sidecar makes it (a child
 * node process under `ip netns exec`, with node:http so a Host header can be set).
 */
export function httpFrom(
  host: TestHost,
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 5000,
): Promise<HttpResult> {
  const script = `const http = require('node:http');
    const req = http.request(${JSON.stringify(url)}, { headers: ${JSON.stringify(headers)}, timeout: ${timeoutMs}, agent: false }, (res) => {
      let body = ''; res.setEncoding('utf8'); res.on('data', (d) => (body += d));
      res.on('end', () => console.log(JSON.stringify({ status: res.statusCode, body })));
      res.on('error', (e) => console.log(JSON.stringify({ error: String(e.code || e.message) })));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    req.on('error', (e) => console.log(JSON.stringify({ error: String(e.code || e.message) })));
    req.end();`;
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', host.name, process.execPath, '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 5000);
    child.on('close', () => {
      clearTimeout(killer);
      try {
        resolve(JSON.parse(out.trim()) as HttpResult);
      } catch {
        resolve({ error: `no answer (${out.trim() || 'no output'})` });
      }
    });
  });
}

/** httpFrom, again every 250 ms until `holds`; the last result is in the error otherwise. */
export async function httpFromUntil(
  host: TestHost,
  url: string,
  holds: (r: HttpResult) => boolean,
  timeoutMs: number,
  what: string,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  const deadline = Date.now() + timeoutMs;
  let last: HttpResult = { error: 'not tried' };
  while (Date.now() < deadline) {
    last = await httpFrom(host, url, headers);
    if (holds(last)) return last;
    await sleep(250);
  }
  throw new Error(
    `${host.name}: ${what} not seen in ${timeoutMs} ms; last: ${JSON.stringify(last)}`,
  );
}

/** Each Envoy's identity by admin port, read from inside the host (`GET /server_info`'s node.id). */
export async function envoyNodeIds(host: TestHost, ports: number[]): Promise<string[]> {
  const ids: string[] = [];
  for (const port of ports) {
    const r = await httpFrom(host, `http://127.0.0.1:${port}/server_info`);
    const id = r.body ? ((JSON.parse(r.body) as { node?: { id?: string } }).node?.id ?? '') : '';
    ids.push(id || `none on ${port}: ${JSON.stringify(r)}`);
  }
  return ids;
}

/** A node's log records of one program, since `sinceMs` (epoch), as [msg, extra fields]. */
export function programLog(node: RunningNode, program: string, sinceMs = 0): LogRecord[] {
  return node.logs.filter((r) => r.program === program && Date.parse(String(r.time)) >= sinceMs);
}
