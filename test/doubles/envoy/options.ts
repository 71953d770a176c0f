// Envoy's command line (TCLAP) as far as the double needs it. Unknown options fail like Envoy:
//   PARSE ERROR: Argument: --foo
//                Couldn't find match for argument

export interface EnvoyOptions {
  configPath?: string;
  /** --config-yaml: merged over the bootstrap by Envoy; the double reads its runtime layers. */
  configYaml?: string;
  drainTimeS: number;
  parentShutdownTimeS: number;
  restartEpoch: number;
  disableHotRestart: boolean;
  logLevel: string;
  concurrency: number;
  /** --base-id, echoed by /server_info (a string there, as in Envoy). */
  baseId: string;
  version: boolean;
  raw: string[];
}

const VALUE_OPTS = new Set([
  'config-path',
  'config-yaml',
  'drain-time-s',
  'drain-strategy',
  'parent-shutdown-time-s',
  'restart-epoch',
  'log-level',
  'component-log-level',
  'log-format',
  'log-path',
  'concurrency',
  'base-id',
  'base-id-path',
  'service-cluster',
  'service-node',
  'service-zone',
  'file-flush-interval-msec',
  'mode',
  'local-address-ip-version',
  'admin-address-path',
  'bootstrap-version',
  'disable-extensions',
  'socket-path',
  'socket-mode',
]);
const FLAG_OPTS = new Set([
  'disable-hot-restart',
  'hot-restart-version',
  'allow-unknown-static-fields',
  'reject-unknown-dynamic-fields',
  'ignore-unknown-dynamic-fields',
  'use-dynamic-base-id',
  'enable-mutex-tracing',
  'cpuset-threads',
  'enable-fine-grain-logging',
  'log-format-escaped',
  'enable-core-dump',
  'version',
]);
const SHORT: Record<string, string> = { c: 'config-path', l: 'log-level' };

export class ParseError extends Error {
  constructor(
    readonly argument: string,
    detail: string,
  ) {
    super(`PARSE ERROR: Argument: ${argument}\n             ${detail}\n`);
  }
}

export function parseEnvoyArgs(argv: string[]): EnvoyOptions {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const m = /^(?:--([a-z-]+)|-([a-z]))(?:=(.*))?$/.exec(arg);
    const name = m ? (m[1] ?? SHORT[m[2] ?? ''] ?? '') : '';
    if (FLAG_OPTS.has(name)) {
      flags.add(name);
      continue;
    }
    if (!VALUE_OPTS.has(name)) throw new ParseError(arg, "Couldn't find match for argument");
    const value = m?.[3] ?? argv[++i];
    if (value === undefined) throw new ParseError(arg, 'Missing a value for this argument!');
    values.set(name, value);
  }
  const num = (k: string, d: number): number => {
    const v = values.get(k);
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n))
      throw new ParseError(`--${k}`, `Couldn't read argument value from string '${v}'`);
    return n;
  };
  return {
    configPath: values.get('config-path'),
    configYaml: values.get('config-yaml'),
    drainTimeS: num('drain-time-s', 600),
    parentShutdownTimeS: num('parent-shutdown-time-s', 900),
    restartEpoch: num('restart-epoch', 0),
    disableHotRestart: flags.has('disable-hot-restart'),
    logLevel: values.get('log-level') ?? 'info',
    concurrency: num('concurrency', 2),
    baseId: String(num('base-id', 0)),
    version: flags.has('version'),
    raw: argv,
  };
}
