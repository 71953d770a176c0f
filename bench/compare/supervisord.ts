// The supervisord side: Debian's `supervisor` package (4.2.x), installed on demand, one
// supervisord per node in the node's namespace with its own config, socket and log. The config
// is what the original setup would write for this workload (see workload.ts and README):
// `consul agent -config-file …` at priority 10, the sidecars' `consul connect envoy …` at 20,
// startsecs=1, autorestart, children's output to supervisord's stdout.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestHost } from '../../test/helpers/netns.ts';
import {
  drainStdout,
  pollUntil,
  spawnSupervisor,
  type Exit,
  type ProgramView,
  type StdoutHandler,
  type Supervised,
} from './side.ts';
import type { PreparedNode } from './workload.ts';
import { call, type XmlRpcValue } from './xmlrpc.ts';

const execFileAsync = promisify(execFile);

/** supervisord's "typical" setting: a program is RUNNING once it stayed up this long. */
export const STARTSECS = 1;
/** supervisord's default: after this many failed starts in a row the program is FATAL. */
export const STARTRETRIES = 3;
const CONSUL_PRIORITY = 10;
/** `2026-12-02 02:47:00,114 INFO success: consul entered RUNNING state, …` (local time). */
const RUNNING_LINE =
  /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),(\d{3}) INFO success: (\S+) entered RUNNING state/gm;
export const PROXY_PRIORITY = 20;

export interface SupervisordProgram {
  name: string;
  command: string[];
  priority: number;
}

/** Finds supervisord, installing Debian's package when it is missing; returns its version. */
export function ensureSupervisord(): string {
  const version = () =>
    spawnSync('supervisord', ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? '';
  if (version()) return version();
  console.error('supervisord not found: installing it (apt-get install -y supervisor)');
  const install = () =>
    spawnSync('apt-get', ['install', '-y', 'supervisor'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }).status;
  if (install() !== 0) {
    // A fresh machine has no package lists yet.
    spawnSync('apt-get', ['update'], { stdio: 'inherit' });
    if (install() !== 0) throw new Error('apt-get install -y supervisor failed');
  }
  if (!version()) throw new Error('supervisord still not found after installing supervisor');
  return version();
}

/** The node's programs as the original setup ran them: consul first, then one Envoy each. */
export function nodePrograms(node: PreparedNode): SupervisordProgram[] {
  return [
    {
      name: 'consul',
      command: [node.consulBinary, 'agent', '-config-file', node.agentConfigFile],
      priority: CONSUL_PRIORITY,
    },
    ...node.proxies.map((plan) => ({
      name: `envoy-${plan.serviceId}`,
      command: [node.consulBinary, ...plan.args],
      priority: PROXY_PRIORITY,
    })),
  ];
}

/** supervisord splits `command=` like a shell (shlex) and expands %(…)s: quote and escape. */
function quote(word: string): string {
  const escaped = word.replace(/%/g, '%%');
  return /^[\w@%+=:,./-]+$/.test(escaped) ? escaped : `'${escaped.replace(/'/g, `'"'"'`)}'`;
}

function configText(dir: string, socket: string, programs: SupervisordProgram[]): string {
  const sections = [
    [
      '[supervisord]',
      'nodaemon=true',
      `logfile=${join(dir, 'supervisord.log')}`,
      'logfile_maxbytes=0',
      `pidfile=${join(dir, 'supervisord.pid')}`,
      `childlogdir=${dir}`,
      'loglevel=info',
    ],
    ['[unix_http_server]', `file=${socket}`],
    [
      '[rpcinterface:supervisor]',
      'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
    ],
    ['[supervisorctl]', `serverurl=unix://${socket}`],
    ...programs.map((p) => [
      `[program:${p.name}]`,
      `command=${p.command.map(quote).join(' ')}`,
      `priority=${p.priority}`,
      `startsecs=${STARTSECS}`,
      `startretries=${STARTRETRIES}`,
      'autorestart=true',
      'stopsignal=TERM',
      'stopwaitsecs=10',
      'redirect_stderr=true',
      // As in a container: the children's output goes to supervisord's own stdout.
      'stdout_logfile=/dev/stdout',
      'stdout_logfile_maxbytes=0',
    ]),
  ];
  return sections.map((lines) => lines.join('\n')).join('\n\n') + '\n';
}

interface ProcessInfo {
  name: string;
  statename: string;
  pid: number;
}

function asProcessInfo(value: XmlRpcValue): ProcessInfo {
  const v = value as Record<string, XmlRpcValue>;
  return { name: String(v.name), statename: String(v.statename), pid: Number(v.pid) };
}

export class SupervisordNode implements Supervised {
  readonly side = 'supervisord';

  private constructor(
    readonly pid: number,
    readonly exited: Promise<Exit>,
    private readonly conf: string,
    private readonly socket: string,
    private readonly logFile: string,
    private readonly programCount: number,
  ) {}

  /** Writes the config under `<workDir>/<name>-supervisord/` and starts supervisord -n. */
  static start(
    host: TestHost,
    workDir: string,
    name: string,
    programs: SupervisordProgram[],
    env: NodeJS.ProcessEnv,
    onStdout: StdoutHandler = drainStdout,
  ): SupervisordNode {
    const dir = join(workDir, `${name}-supervisord`);
    mkdirSync(dir, { recursive: true });
    const socket = join(dir, 'supervisor.sock');
    const conf = join(dir, 'supervisord.conf');
    writeFileSync(conf, configText(dir, socket, programs));
    const { pid, exited } = spawnSupervisor(
      host,
      'supervisord',
      ['-n', '-c', conf],
      env,
      onStdout,
      join(dir, 'stdout.fifo'),
    );
    return new SupervisordNode(
      pid,
      exited,
      conf,
      socket,
      join(dir, 'supervisord.log'),
      programs.length,
    );
  }

  sidecarProgram(serviceId: string): string {
    return `envoy-${serviceId}`;
  }

  private async processes(): Promise<ProcessInfo[]> {
    const list = await call(this.socket, 'supervisor.getAllProcessInfo');
    return (list as XmlRpcValue[]).map(asProcessInfo);
  }

  async allUp(): Promise<boolean> {
    const list = await this.processes();
    return list.length === this.programCount && list.every((p) => p.statename === 'RUNNING');
  }

  /**
   * From supervisord's log, not its socket: any request wakes its main loop, which otherwise
   * sleeps up to 1 s between looks at its children, and would make it start and promote
   * programs sooner than it does unobserved. The log has each `entered RUNNING state` with ms.
   */
  async untilAllUp(t0: number, execWall: number, timeoutMs: number): Promise<number> {
    const { value } = await pollUntil(
      'supervisord: every program RUNNING (its log)',
      t0,
      timeoutMs,
      20,
      () => {
        const running = this.firstRunning();
        return running.size === this.programCount ? Math.max(...running.values()) : undefined;
      },
      this.exited,
    );
    return value - execWall;
  }

  /** Epoch ms at which each program first entered RUNNING, from the log's local timestamps. */
  private firstRunning(): Map<string, number> {
    const first = new Map<string, number>();
    const text = readFileSync(this.logFile, 'utf8');
    for (const m of text.matchAll(RUNNING_LINE)) {
      const [y, mo, d, h, mi, s, ms] = m.slice(1, 8).map(Number) as number[];
      const at = new Date(y!, mo! - 1, d!, h!, mi!, s!, ms!).getTime();
      const name = m[8]!;
      if (!first.has(name)) first.set(name, at);
    }
    return first;
  }

  async program(name: string): Promise<ProgramView> {
    const info = asProcessInfo(await call(this.socket, 'supervisor.getProcessInfo', [name]));
    return { pid: info.pid || null, up: info.statename === 'RUNNING' };
  }

  async gaveUp(name: string): Promise<boolean> {
    const info = asProcessInfo(await call(this.socket, 'supervisor.getProcessInfo', [name]));
    return info.statename === 'FATAL';
  }

  /** supervisord keeps no restart counter: every `spawned:` line beyond the first per program. */
  async restarts(): Promise<number> {
    const spawns = readFileSync(this.logFile, 'utf8').match(/ spawned: '/g)?.length ?? 0;
    return Math.max(0, spawns - this.programCount);
  }

  async apiStatus(): Promise<void> {
    await this.processes();
  }

  /** `supervisorctl status` exits 3 when a program is not RUNNING: still an answer. */
  async cliStatus(): Promise<void> {
    await execFileAsync('supervisorctl', ['-c', this.conf, 'status'], { timeout: 10_000 }).catch(
      (error: { code?: unknown }) => {
        if (error.code !== 3) throw error;
      },
    );
  }

  async ping(timeoutMs: number): Promise<void> {
    await call(this.socket, 'supervisor.getState', [], timeoutMs);
  }
}

/** Python's version, for the header (supervisord's interpreter). */
export function pythonVersion(): string {
  try {
    return execFileSync('python3', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'python3: unknown';
  }
}
