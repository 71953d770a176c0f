// A Docker engine for the docker test (test/docker/mesh.test.ts): one already running (DOCKER_HOST
// or the default socket), else a private dockerd this process starts with its own data root,
// exec root and socket under /var/tmp, and stops again, leaving the machine's network as it found
// it: net.ipv4.ip_forward, the bridge netfilter switches, the iptables rules and chains Docker adds
// (it never removes them itself), and the interfaces it makes (docker0, br-<id>).
//
// ip_forward is set to 1 BEFORE dockerd starts: a dockerd that has to turn forwarding on itself
// also sets the iptables FORWARD policy to DROP, which breaks every other network-namespace test
// on the machine (test/helpers/netns.ts) for as long as the rule stays.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  timeoutMs?: number;
  /** Copy the output to this process's stderr as it comes (long builds). */
  echo?: boolean;
}

/** Runs a command to its end; never throws for a non-zero exit (see `must`). */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, {
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
    } catch (error) {
      resolve({ code: 127, stdout: '', stderr: String(error), ms: 0 });
      return;
    }
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (opts.echo) process.stderr.write(d);
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (opts.echo) process.stderr.write(d);
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            stderr += `\n[killed after ${opts.timeoutMs} ms]`;
            child.kill('SIGKILL');
          }, opts.timeoutMs);
    child.on('error', (error) => {
      stderr += String(error);
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? 128, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** `run`, but a non-zero exit throws with the command's output. */
export async function must(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const tail = (s: string) => s.trim().split('\n').slice(-40).join('\n');
    throw new Error(
      `${cmd} ${args.join(' ')}: exit ${r.code}\n--- stdout\n${tail(r.stdout)}\n--- stderr\n${tail(r.stderr)}`,
    );
  }
  return r;
}

const which = (name: string): string | null => {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
};

export const log = (message: string): void => {
  process.stderr.write(`[docker-test ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};

export interface Engine {
  /** The environment every docker / docker compose command gets (DOCKER_HOST). */
  env: NodeJS.ProcessEnv;
  /** True when this process started dockerd (and will stop it). */
  own: boolean;
  describe: string;
  stop(): Promise<void>;
}

/** The engine, or why none can be had (the test is then skipped with that reason). */
export async function startEngine(): Promise<Engine | string> {
  if (!which('docker')) return 'no docker CLI on PATH (apt-get install docker.io)';
  const existing = await run('docker', ['version', '--format', '{{.Server.Version}}'], {
    timeoutMs: 15_000,
  });
  if (existing.code === 0) {
    return {
      env: { ...process.env },
      own: false,
      describe: `the running engine ${existing.stdout.trim()} (${process.env.DOCKER_HOST ?? 'default socket'})`,
      stop: async () => {},
    };
  }
  if (process.getuid?.() !== 0) return 'no Docker engine runs, and only root can start one';
  for (const tool of ['dockerd', 'containerd', 'runc', 'iptables']) {
    if (!which(tool))
      return `no Docker engine runs, and ${tool} is not installed (apt-get install docker.io)`;
  }
  return startPrivateDockerd();
}

interface NetworkState {
  ipForward: string;
  sysctls: Map<string, string>;
  rules: Map<string, string[]>;
  links: Set<string>;
}

const IPTABLES_TABLES = ['filter', 'nat', 'mangle', 'raw'];
const BRIDGE_SYSCTLS = [
  '/proc/sys/net/bridge/bridge-nf-call-iptables',
  '/proc/sys/net/bridge/bridge-nf-call-ip6tables',
  '/proc/sys/net/bridge/bridge-nf-call-arptables',
];
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
/** What Docker names: its chains, its default bridge, the bridges of its networks. */
const DOCKERS = /\bDOCKER\b|DOCKER-|\bdocker0\b|\bbr-[0-9a-f]{12}\b/;

const readSysctl = (path: string): string | null => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
};

function iptablesTools(): string[] {
  return ['iptables', 'ip6tables'].filter((t) => which(t) !== null);
}

function snapshotNetwork(): NetworkState {
  const rules = new Map<string, string[]>();
  for (const tool of iptablesTools()) {
    for (const table of IPTABLES_TABLES) {
      const r = spawnSync(tool, ['-w', '-t', table, '-S'], { encoding: 'utf8' });
      if (r.status === 0) rules.set(`${tool} ${table}`, r.stdout.split('\n').filter(Boolean));
    }
  }
  const sysctls = new Map<string, string>();
  for (const path of BRIDGE_SYSCTLS) {
    const value = readSysctl(path);
    if (value !== null) sysctls.set(path, value);
  }
  return { ipForward: readSysctl(IP_FORWARD) ?? '0', sysctls, rules, links: linkNames() };
}

function linkNames(): Set<string> {
  const r = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
  return new Set(
    r.stdout
      .split('\n')
      .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1])
      .filter((n): n is string => n !== undefined),
  );
}

/** `-A CHAIN -s 1.2.3.4 -m comment --comment "a b" -j X` -> argv (double quotes honoured). */
function splitRule(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** Puts back what Docker changed: its new rules and chains go, policies and sysctls return. */
function restoreNetwork(before: NetworkState): string[] {
  const done: string[] = [];
  const after = snapshotNetwork();
  for (const [key, lines] of after.rules) {
    const [tool, table] = key.split(' ') as [string, string];
    const old = new Set(before.rules.get(key) ?? []);
    const added = lines.filter((l) => !old.has(l) && DOCKERS.test(l));
    for (const line of added.filter((l) => l.startsWith('-A ')).reverse()) {
      const argv = splitRule(line);
      spawnSync(tool, ['-w', '-t', table, '-D', ...argv.slice(1)]);
      done.push(`${tool} -t ${table} -D ${line.slice(3)}`);
    }
    const chains = added.filter((l) => l.startsWith('-N ')).map((l) => l.slice(3).trim());
    for (const chain of chains) spawnSync(tool, ['-w', '-t', table, '-F', chain]);
    for (const chain of chains) {
      spawnSync(tool, ['-w', '-t', table, '-X', chain]);
      done.push(`${tool} -t ${table} -X ${chain}`);
    }
    for (const line of before.rules.get(key) ?? []) {
      if (!line.startsWith('-P ') || lines.includes(line)) continue;
      const [, chain, policy] = line.split(/\s+/);
      spawnSync(tool, ['-w', '-t', table, '-P', chain!, policy!]);
      done.push(`${tool} -t ${table} -P ${chain} ${policy}`);
    }
  }
  for (const name of linkNames()) {
    if (!before.links.has(name) && /^(docker0|br-[0-9a-f]{12})$/.test(name)) {
      spawnSync('ip', ['link', 'delete', name]);
      done.push(`ip link delete ${name}`);
    }
  }
  for (const [path, value] of before.sysctls) {
    if (readSysctl(path) !== value) {
      writeFileSync(path, value);
      done.push(`${path} = ${value}`);
    }
  }
  // The bridge switches appeared with br_netfilter: turn them off, as bridges were before.
  for (const path of BRIDGE_SYSCTLS) {
    if (!before.sysctls.has(path) && readSysctl(path) === '1') {
      writeFileSync(path, '0');
      done.push(`${path} = 0`);
    }
  }
  if (readSysctl(IP_FORWARD) !== before.ipForward) {
    writeFileSync(IP_FORWARD, before.ipForward);
    done.push(`net.ipv4.ip_forward = ${before.ipForward}`);
  }
  return done;
}

async function startPrivateDockerd(): Promise<Engine | string> {
  const before = snapshotNetwork();
  const dir = mkdtempSync('/var/tmp/meshvisor-dockerd-');
  const socket = join(dir, 'docker.sock');
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}` };
  writeFileSync(IP_FORWARD, '1');
  const logFd = openSync(join(dir, 'dockerd.log'), 'a');
  const dockerd = spawn(
    'dockerd',
    [
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'x'),
      '--pidfile',
      join(dir, 'dockerd.pid'),
      '--host',
      `unix://${socket}`,
    ],
    { stdio: ['ignore', logFd, logFd] },
  );
  closeSync(logFd);
  let exited = false;
  dockerd.on('exit', () => {
    exited = true;
  });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      dockerd.kill('SIGTERM');
      const deadline = Date.now() + 30_000;
      while (!exited && Date.now() < deadline) await sleep(200);
      if (!exited) dockerd.kill('SIGKILL');
      while (!exited) await sleep(100);
    }
    // containerd and its shims are dockerd's; none of them may outlive it.
    for (const pid of pidsMentioning(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const mount of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', mount]);
    rmSync(dir, { recursive: true, force: true });
    const undone = restoreNetwork(before);
    if (undone.length) log(`network restored: ${undone.join('; ')}`);
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await run('docker', ['version', '--format', '{{.Server.Version}}'], {
      env,
      timeoutMs: 10_000,
    });
    if (r.code === 0) {
      return {
        env,
        own: true,
        describe: `a private dockerd ${r.stdout.trim()} (${dir})`,
        stop,
      };
    }
    if (exited || Date.now() > deadline) {
      const tail = existsSync(join(dir, 'dockerd.log'))
        ? readFileSync(join(dir, 'dockerd.log'), 'utf8').trim().split('\n').slice(-15).join('\n')
        : '';
      await stop();
      return `dockerd did not start (${exited ? 'it exited' : 'no answer in 60 s'}):\n${tail}`;
    }
    await sleep(500);
  }
}

/** Processes whose command line names our private folder (containerd, shims), by pid. */
function pidsMentioning(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(`${dir}/`))
        pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(`${dir}/`));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
