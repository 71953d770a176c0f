// Running consul doubles for the contract tests: a workspace shaped like the recording's
// (./configs/*.json adapted to loopback, 127.0.77.X for 10.77.0.X, and a temp data root),
// processes that are always killed, HTTP/CLI replay of recorded requests.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { buildDoubles, CONSUL_DOUBLE } from '../helpers/doubles.ts';
import type { CliRecord, HttpRecord } from './recordings.ts';
import { normText, recordingPath, shapeDiff, toLocalIp } from './recordings.ts';

/** Env knobs that keep the contract suite fast (see test/doubles/README.md). */
export const FAST_ENV: Record<string, string> = {
  CONSUL_DOUBLE_ELECTION_MS: '300',
  CONSUL_DOUBLE_SYNC_DELAY_MS: '200',
  CONSUL_DOUBLE_LEAVE_MS: '400',
  CONSUL_DOUBLE_FAILURE_MS: '1500',
  CONSUL_DOUBLE_RECONNECT_MS: '500',
};

/** A NOT-local address standing in for the recording's "not on this host" 10.77.0.99. */
export const NOT_LOCAL = '192.0.2.99';

export class Workspace {
  readonly dir = mkdtempSync(join(tmpdir(), 'consul-contract-'));

  /** `configs`: the recording folder with the agent configs; `localIp`: where its IPs run here. */
  constructor(
    configs = 'configs',
    private readonly localIp: (s: string) => string = toLocalIp,
  ) {
    cpSync(recordingPath(configs), join(this.dir, 'configs'), { recursive: true });
    for (const rel of ['configs', 'configs/bad']) {
      if (!existsSync(join(this.dir, rel))) continue;
      for (const f of readdirSync(join(this.dir, rel))) {
        if (f.endsWith('.json')) this.adapt(join(rel, f));
      }
    }
    // bad/data-dir-under-regular-file.json points its data_dir through this file.
    writeFileSync(join(this.dir, 'a-regular-file'), '');
  }

  /** IPs → loopback, /var/lib/rec (/srv/rec) → the workspace, check intervals 5s → 1s. */
  adaptText(text: string): string {
    // A config whose `addresses` do not pin both HTTP and gRPC would serve them on 0.0.0.0: keep
    // it on its own IP so the suite never collides with other agents on this host (banner shows
    // that IP instead).
    const pinned = /"addresses":\s*\{([^}]*)\}/.exec(text)?.[1] ?? '';
    if (!pinned.includes('"http"') || !pinned.includes('"grpc"')) {
      const bind = /"bind_addr":\s*"([\d.]+)"/.exec(text)?.[1];
      if (bind) text = text.replace(/"client_addr":\s*"0\.0\.0\.0"/, `"client_addr": "${bind}"`);
    }
    return this.localIp(text.replaceAll('10.77.0.99', NOT_LOCAL))
      .replace(/\/(var\/lib|srv)\/rec\b/g, this.dir)
      .replaceAll('"interval": "5s"', '"interval": "1s"');
  }

  adapt(rel: string, from = join(this.dir, rel)): void {
    writeFileSync(join(this.dir, rel), this.adaptText(readFileSync(from, 'utf8')));
  }

  norm(s: string): string {
    return normText(s.replaceAll(NOT_LOCAL, '10.77.0.99'), this.dir);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A consul agent or command run for a contract test: the double, or `bin` (a real consul). */
export class DoubleProcess {
  readonly proc: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(
    args: string[],
    cwd: string,
    env: Record<string, string> = {},
    bin: string = CONSUL_DOUBLE,
  ) {
    this.proc = spawn(bin, args, {
      cwd,
      env: { ...process.env, ...FAST_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout?.on('data', (c: Buffer) => (this.stdout += c.toString()));
    this.proc.stderr?.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.exited = new Promise((r) => this.proc.once('exit', (code) => r(code)));
    track(this.proc);
  }

  async waitForLog(re: RegExp, timeoutMs = 10_000): Promise<void> {
    const t0 = Date.now();
    while (!re.test(this.stdout)) {
      if (Date.now() - t0 > timeoutMs)
        throw new Error(`timed out waiting for ${re}; log:\n${this.stdout}${this.stderr}`);
      if (this.proc.exitCode !== null)
        throw new Error(
          `exited (${this.proc.exitCode}) before ${re}:\n${this.stdout}${this.stderr}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  kill(sig: NodeJS.Signals = 'SIGKILL'): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(sig);
  }
}

const children = new Set<ChildProcess>();

function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Kills every double still running (call from after()). */
/**
 * The workspace of a recording's configs for the calling test file: made (doubles built) before
 * its tests, removed after them with every double it started killed.
 */
export function recordingWorkspace(
  configs: string,
  localIp: (s: string) => string,
): { readonly dir: string } {
  let ws: Workspace | undefined;
  before(() => {
    buildDoubles();
    ws = new Workspace(configs, localIp);
  });
  after(() => {
    killAll();
    ws?.remove();
  });
  return {
    get dir() {
      if (!ws) throw new Error('the workspace exists only while the tests run');
      return ws.dir;
    },
  };
}

export function killAll(): void {
  for (const c of children) c.kill('SIGKILL');
}

export interface HttpResult {
  status: number;
  body: string;
  headers: Headers;
}

export async function httpCall(
  method: string,
  url: string,
  body?: string | null,
): Promise<HttpResult> {
  const res = await fetch(url, { method, ...(body != null ? { body } : {}) });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/** Replays one recorded HTTP request; returns the mismatches (empty = faithful). */
export async function replayHttp(ws: Workspace, rec: HttpRecord): Promise<string[]> {
  const r = await httpCall(rec.method, toLocalIp(rec.url), rec.request_body);
  const problems: string[] = [];
  if (r.status !== rec.status)
    problems.push(`status: expected ${rec.status}, got ${r.status} (${r.body.slice(0, 300)})`);
  const recJson = (rec.headers['Content-Type'] ?? '').includes('json');
  if (recJson) {
    let actual: unknown;
    try {
      actual = JSON.parse(r.body);
    } catch {
      problems.push(`body: expected JSON, got ${JSON.stringify(r.body.slice(0, 200))}`);
      return problems;
    }
    const expected = rec.body_json !== undefined ? rec.body_json : JSON.parse(rec.body ?? 'null');
    problems.push(...shapeDiff(expected, actual));
  } else if (ws.norm(r.body) !== ws.norm(rec.body ?? '')) {
    problems.push(`body: expected ${JSON.stringify(rec.body)}, got ${JSON.stringify(r.body)}`);
  }
  return problems;
}

/** A port nothing listens on, standing in for the recording's unreachable 127.0.0.1:8500. */
export const REFUSED_ADDR = '127.0.0.1:1';

/** Replays one recorded CLI call (cwd = workspace; default address per netns). */
export async function replayCli(
  ws: Workspace,
  rec: CliRecord,
  defaultAddr: Record<string, string>,
  stdin?: string,
): Promise<string[]> {
  const args = rec.argv.slice(1).map(toLocalIp);
  const env = { ...process.env, CONSUL_HTTP_ADDR: defaultAddr[rec.netns] ?? REFUSED_ADDR };
  // The recordings ran file arguments from the configs folder, agents with ./configs/… paths.
  const cwd = args.some((a) => a.includes('./configs/')) ? ws.dir : join(ws.dir, 'configs');
  const child = spawn(CONSUL_DOUBLE, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  track(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(stdin ?? '');
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const fix = (s: string): string => ws.norm(s.replaceAll(REFUSED_ADDR, '127.0.0.1:8500'));
  const problems: string[] = [];
  if (code !== rec.exit_code)
    problems.push(
      `exit: expected ${rec.exit_code}, got ${code} (stderr ${JSON.stringify(stderr)})`,
    );
  if (fix(stdout) !== fix(rec.stdout))
    problems.push(`stdout: expected ${JSON.stringify(rec.stdout)}, got ${JSON.stringify(stdout)}`);
  if (fix(stderr) !== fix(rec.stderr))
    problems.push(`stderr: expected ${JSON.stringify(rec.stderr)}, got ${JSON.stringify(stderr)}`);
  return problems;
}
