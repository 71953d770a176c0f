// How `consul connect envoy` 1.10 starts Envoy (S: command/connect/envoy/exec_unix.go):
// the bootstrap goes through a 0600 FIFO /tmp/envoy-<hex>-bootstrap.json that a child
// `consul connect envoy pipe-bootstrap <fifo>` fills, then consul execs Envoy in place:
//   [<envoy>, --config-path, <fifo>, --disable-hot-restart, <args after -->]
// Node cannot exec(2), so the double hands the final argv to the shell wrapper
// (test/doubles/bin/consul) that started it, through the file named by
// CONSUL_DOUBLE_EXEC_ARGV_FILE, and the shell execs it: same PID, signals straight to Envoy,
// environment unchanged. Without that variable (node run directly) Envoy is spawned as a child
// instead, with signals forwarded: a documented deviation.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandError } from './lookup.ts';

export const HANDOFF_ENV = 'CONSUL_DOUBLE_EXEC_ARGV_FILE';

/** Go's exec.LookPath("envoy") over $PATH, or the -envoy-binary path as given. */
export function findEnvoyBinary(flag: string | undefined, env = process.env): string {
  if (flag) return flag;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir === '' ? '.' : dir, 'envoy');
    try {
      if (statSync(candidate).isFile()) {
        accessSync(candidate, constants.X_OK);
        return candidate;
      }
    } catch {
      // not here
    }
  }
  throw new CommandError(
    'Couldn\'t find envoy binary: exec: "envoy": executable file not found in $PATH',
  );
}

/** 1.10's isHotRestartOption: --drain-time-s and --parent-shutdown-time-s count too. */
const HOT_RESTART_OPTIONS = [
  '--restart-epoch',
  '--hot-restart-version',
  '--drain-time-s',
  '--parent-shutdown-time-s',
];

/** The argv consul execs: --disable-hot-restart unless a hot-restart option is passed through. */
export function envoyArgv(binary: string, configPath: string, passthrough: string[]): string[] {
  const hotRestart = passthrough.some((a) =>
    HOT_RESTART_OPTIONS.some((opt) => a === opt || a.startsWith(`${opt}=`)),
  );
  return [
    binary,
    '--config-path',
    configPath,
    ...(hotRestart ? [] : ['--disable-hot-restart']),
    ...passthrough,
  ];
}

/** The consul double's own entry script, to start `consul connect envoy pipe-bootstrap`. */
function consulEntry(): string {
  const self = process.argv[1] ?? '';
  if (/consul\.mjs$/.test(self)) return self;
  return fileURLToPath(new URL('../../dist/consul.mjs', import.meta.url));
}

/**
 * Makes the FIFO and starts the pipe-bootstrap child, handing it the bootstrap on stdin. The child
 * stays in our process group and is not waited for (as in consul: it outlives the exec).
 */
export async function makeBootstrapPipe(bootstrap: string): Promise<string> {
  const stamp = BigInt(Date.now()) * 1_000_000n + BigInt(process.pid);
  const path = join(tmpdir(), `envoy-${stamp.toString(16)}-bootstrap.json`);
  const mk = spawnSync('mkfifo', ['-m', '600', path], { encoding: 'utf8' });
  if (mk.status !== 0) {
    throw new CommandError(`Error execing envoy: ${(mk.stderr || String(mk.error)).trim()}`);
  }
  const child = spawn(
    process.execPath,
    [consulEntry(), 'connect', 'envoy', 'pipe-bootstrap', path],
    // its stdout ("Bootstrap sent, unlinking named pipe") lands on our stderr, as recorded
    { stdio: ['pipe', 2, 2] },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.stdin?.end(bootstrap, () => resolve());
  });
  child.unref();
  return path;
}

/** What execve would say about `binary`, worded as consul prints it. */
export function assertExecutable(binary: string): void {
  try {
    accessSync(binary, constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EACCES' ? 'permission denied' : 'no such file or directory';
    throw new CommandError(`Error execing envoy: ${why}`);
  }
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Replaces this process by Envoy: through the shell wrapper when it is there (same PID), else by
 * running Envoy as a child and mirroring its exit.
 */
export async function execEnvoy(argv: string[]): Promise<number> {
  const [binary, ...args] = argv as [string, ...string[]];
  const handoff = process.env[HANDOFF_ENV];
  if (handoff) {
    writeFileSync(handoff, `set -- ${argv.map(shellQuote).join(' ')}\n`);
    return 0;
  }
  const env = { ...process.env };
  const child = spawn(binary, args, { stdio: 'inherit', env });
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  const handlers = (['SIGTERM', 'SIGINT', 'SIGHUP'] as const).map((s) => {
    const h = forward(s);
    process.on(s, h);
    return [s, h] as const;
  });
  return new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => {
      for (const [s, h] of handlers) process.off(s, h);
      resolve(code ?? 128 + (signal ? osSignal(signal) : 0));
    });
  });
}

function osSignal(sig: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[sig] ?? 0;
}
