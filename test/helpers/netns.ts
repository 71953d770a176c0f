// Test hosts: one network namespace per host, each with `lo` up and an `eth0` (a veth end) on a
// Linux bridge in the root namespace. The bridge has x.y.z.1/24, so the test process reaches every
// host's eth0 directly; host i has x.y.z.(10+i)/24. No default route in the hosts: nothing they do
// can leave this machine. Needs root and iproute2.
//
// Names: `mvt` + the creating pid in base 36 padded to 5 chars + a per-process counter + a kind
// letter (+ host index), e.g. netns `mvt00abc3h1`, bridge `mvt00abc3b`, root veth `mvt00abc3v1`.
// Interface names stay within 15 chars, and sweepStaleTestNets() reads the pid back from chars 3-8.
import {
  execFile,
  execFileSync,
  spawn,
  type ChildProcess,
  type SpawnOptions,
} from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface TestHost {
  /** The network namespace's name. */
  name: string;
  /** eth0's IPv4 (assigned, or to be assigned with addAddress when created withoutAddress). */
  ip: string;
  /** Runs a command inside the namespace (`ip netns exec`, which execs: the pid is the command's). */
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  /** Pids of every process in the namespace (`ip netns pids`). */
  pids(): number[];
}

export interface TestNet {
  hosts: TestHost[];
  /** The root namespace's address on the bridge, x.y.z.1. */
  bridgeIp: string;
  /** Kills everything in the hosts and deletes namespaces, veths and the bridge. Idempotent. */
  cleanup(): Promise<void>;
}

export interface TestNetOptions {
  /** Host indexes whose eth0 is up but gets no IPv4 until addAddress(host). */
  withoutAddress?: number[];
}

const PREFIX = 'mvt';
const PID_WIDTH = 5; // base 36: up to 60 466 175, above Linux's pid_max (4 194 304)
const FIRST_HOST_OCTET = 10;
const MAX_HOSTS = 200;
/** 10.200.0.0/13 holds 2048 /24s: 10.200.0.0 .. 10.207.255.0. */
const SUBNET_COUNT = 2048;
const KILL_WAIT_MS = 5_000;

let netCounter = 0;

async function ip(...args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('ip', args, { encoding: 'utf8' });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(' ')}: ${stderr || String(error)}`, { cause: error });
  }
}

/** Like ip(), but a failure (typically "does not exist") is ignored: for cleanup paths. */
async function ipQuiet(...args: string[]): Promise<void> {
  await ip(...args).catch(() => undefined);
}

function namespacePids(name: string): number[] {
  try {
    const out = execFileSync('ip', ['netns', 'pids', name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out
      .split('\n')
      .map((line) => Number.parseInt(line, 10))
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  } catch {
    return []; // the namespace is gone
  }
}

function subnetBase(index: number): string {
  return `10.${200 + Math.floor(index / 256)}.${index % 256}`;
}

function pidTag(pid: number): string {
  return pid.toString(36).padStart(PID_WIDTH, '0');
}

/** The pid encoded in an `mvt*` name, or undefined for a name this helper did not make. */
function creatorPid(name: string): number | undefined {
  if (!name.startsWith(PREFIX)) return undefined;
  const tag = name.slice(PREFIX.length, PREFIX.length + PID_WIDTH);
  if (!/^[0-9a-z]{5}$/.test(tag)) return undefined;
  return Number.parseInt(tag, 36);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** SIGKILLs every process in the namespace until none is left (bounded), then deletes it. */
async function destroyNamespace(name: string): Promise<void> {
  const deadline = Date.now() + KILL_WAIT_MS;
  for (;;) {
    const pids = namespacePids(name);
    if (pids.length === 0) break;
    if (Date.now() > deadline) {
      throw new Error(`netns ${name}: processes still alive after SIGKILL: ${pids.join(', ')}`);
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await sleep(50);
  }
  await ipQuiet('netns', 'delete', name);
}

async function listNamespaces(): Promise<string[]> {
  const out = await ip('netns', 'list');
  // Lines look like "name (id: 3)" or "name".
  return out
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter(Boolean);
}

async function listRootLinks(): Promise<string[]> {
  const out = await ip('-o', 'link', 'show');
  // "12: mvt00abc3v0@if11: <...>" -> "mvt00abc3v0"
  return out
    .split('\n')
    .map((line) => line.split(': ')[1]?.split('@')[0] ?? '')
    .filter(Boolean);
}

/** Deletes `mvt*` namespaces, bridges and veths whose creating process no longer exists. */
export async function sweepStaleTestNets(): Promise<void> {
  const isStale = (name: string) => {
    const pid = creatorPid(name);
    return pid !== undefined && !isAlive(pid);
  };
  for (const name of (await listNamespaces()).filter(isStale)) {
    await destroyNamespace(name).catch(() => undefined);
  }
  for (const link of (await listRootLinks()).filter(isStale)) {
    await ipQuiet('link', 'delete', link);
  }
}

async function routedPrefixes(): Promise<Set<string>> {
  const out = await ip('-4', 'route', 'show', 'table', 'all');
  return new Set(out.split('\n').map((line) => line.split(' ')[0] ?? ''));
}

async function routesFor(prefix: string): Promise<string[]> {
  const out = await ip('-4', 'route', 'show', 'table', 'all', prefix);
  return out.split('\n').filter(Boolean);
}

/**
 * Gives the bridge the .1 of a /24 in 10.200.0.0/13 that nothing else routes. The start is derived
 * from pid and counter, so parallel test processes mostly pick different subnets; a race on the
 * same one is caught after the fact (two routes for the prefix), and both move on.
 */
async function claimSubnet(bridge: string, counter: number): Promise<string> {
  const start = (process.pid * 7 + counter * 131) % SUBNET_COUNT;
  const step = 1 + (process.pid % 97);
  for (let attempt = 0; attempt < 64; attempt++) {
    const base = subnetBase((start + attempt * step) % SUBNET_COUNT);
    const prefix = `${base}.0/24`;
    if ((await routedPrefixes()).has(prefix)) continue;
    await ip('addr', 'add', `${base}.1/24`, 'dev', bridge);
    if ((await routesFor(prefix)).length === 1) return base;
    await ipQuiet('addr', 'del', `${base}.1/24`, 'dev', bridge);
  }
  throw new Error('no free /24 in 10.200.0.0/13 after 64 attempts');
}

function makeHost(name: string, hostIp: string): TestHost {
  return {
    name,
    ip: hostIp,
    spawn: (cmd, args, opts = {}) => spawn('ip', ['netns', 'exec', name, cmd, ...args], opts),
    pids: () => namespacePids(name),
  };
}

/** Creates `hostCount` hosts on a fresh bridge. On any failure, removes what it made and throws. */
export async function createTestNet(
  hostCount: number,
  options: TestNetOptions = {},
): Promise<TestNet> {
  if (!Number.isInteger(hostCount) || hostCount < 1 || hostCount > MAX_HOSTS) {
    throw new Error(`hostCount must be 1..${MAX_HOSTS}, got ${hostCount}`);
  }
  await sweepStaleTestNets();

  const counter = netCounter++;
  const stem = `${PREFIX}${pidTag(process.pid)}${counter.toString(36)}`;
  const bridge = `${stem}b`;
  // What exists so far, so cleanup removes exactly that, whenever it runs.
  const namespaces: string[] = [];
  const rootVeths: string[] = [];
  let bridgeCreated = false;

  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      const failures: string[] = [];
      for (const name of namespaces) {
        await destroyNamespace(name).catch((error: Error) => failures.push(error.message));
      }
      // Deleting a namespace deletes its veth end and so the pair; these catch a half-made host.
      for (const veth of rootVeths) await ipQuiet('link', 'delete', veth);
      if (bridgeCreated) await ipQuiet('link', 'delete', bridge);
      if (failures.length > 0) throw new Error(`test net cleanup: ${failures.join('; ')}`);
    })();
    return cleaning;
  };

  try {
    await ip('link', 'add', bridge, 'type', 'bridge');
    bridgeCreated = true;
    // Up before the address: the kernel adds the /24 route only for an interface that is up.
    await ip('link', 'set', bridge, 'up');
    const base = await claimSubnet(bridge, counter);
    const withoutAddress = new Set(options.withoutAddress ?? []);
    const hosts: TestHost[] = [];
    for (let i = 0; i < hostCount; i++) {
      const name = `${stem}h${i.toString(36)}`;
      const veth = `${stem}v${i.toString(36)}`;
      const hostIp = `${base}.${FIRST_HOST_OCTET + i}`;
      await ip('netns', 'add', name);
      namespaces.push(name);
      rootVeths.push(veth);
      await ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name);
      await ip('link', 'set', veth, 'master', bridge, 'up');
      await ip('-n', name, 'link', 'set', 'lo', 'up');
      await ip('-n', name, 'link', 'set', 'eth0', 'up');
      if (!withoutAddress.has(i))
        await ip('-n', name, 'addr', 'add', `${hostIp}/24`, 'dev', 'eth0');
      hosts.push(makeHost(name, hostIp));
    }
    return { hosts, bridgeIp: `${base}.1`, cleanup };
  } catch (error) {
    await cleanup().catch(() => undefined);
    throw error;
  }
}

/** Gives a host created withoutAddress its planned IPv4 (host.ip/24) on eth0. */
export async function addAddress(host: TestHost): Promise<void> {
  await ip('-n', host.name, 'addr', 'add', `${host.ip}/24`, 'dev', 'eth0');
}
