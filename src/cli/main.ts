// meshvisor's entrypoint: argv -> one command. Only this file and node:util load up front, so
// `meshvisor --version` costs about a bare `node -e 0`; each command imports what it needs.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ExitError, ExitCode } from '../exit.ts';
import { VERSION } from '../version.ts';
import type { Command, CommandValues } from './command.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

interface CommandDef {
  summary: string;
  usage: string;
  options: Options;
  load: () => Promise<{ default: Command }>;
}

const specOption: Options = {
  config: { type: 'string', short: 'c' },
};

const commands: Record<string, CommandDef> = {
  run: {
    summary: "run the node's whole life: agent, readiness, config entries, proxies, status",
    usage: 'meshvisor run [-c FILE] [--pretty]',
    options: { ...specOption, pretty: { type: 'boolean' } },
    load: () => import('./run.ts'),
  },
  render: {
    summary: 'write (or print) exactly the files `run` would write; starts nothing',
    usage: 'meshvisor render [-c FILE] [--address IP] [--out DIR]',
    options: { ...specOption, address: { type: 'string' }, out: { type: 'string' } },
    load: () => import('./render.ts'),
  },
  validate: {
    summary: 'check the node spec; print each problem as `path: message`',
    usage: 'meshvisor validate [-c FILE]',
    options: specOption,
    load: () => import('./validate.ts'),
  },
  doctor: {
    summary: 'a checklist: spec, binaries, address, ports, dirs, joins, tokens, clock',
    usage: 'meshvisor doctor [-c FILE] [--json] [--json-schema]',
    options: { ...specOption, json: { type: 'boolean' }, 'json-schema': { type: 'boolean' } },
    load: () => import('./doctor.ts'),
  },
  schema: {
    summary: "print the node spec's JSON Schema",
    usage: 'meshvisor schema',
    options: {},
    load: () => import('./schema.ts'),
  },
  reload: {
    summary: 'make a running node re-read its spec and apply it (as SIGHUP does)',
    usage: 'meshvisor reload [--url URL]',
    options: { url: { type: 'string' } },
    load: () => import('./reload.ts'),
  },
  status: {
    summary: "read a running node's status endpoint",
    usage: 'meshvisor status [--url URL] [--ready] [--json]',
    options: { url: { type: 'string' }, ready: { type: 'boolean' }, json: { type: 'boolean' } },
    load: () => import('./status.ts'),
  },
};

function usage(): string {
  const width = Math.max(...Object.values(commands).map((c) => c.usage.length));
  return [
    `meshvisor ${VERSION}: run a Consul service-mesh node in a container`,
    '',
    'Usage:',
    ...Object.values(commands).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    '  meshvisor --help | --version',
    '',
    'The spec comes from -c FILE, else $MESHVISOR_CONFIG (a path), else $MESHVISOR_CONFIG_JSON.',
    'Exit codes: 0 ok, 1 failed, 64 usage, 69 unavailable (deadline/binary), 78 bad spec.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(VERSION + '\n');
    return ExitCode.ok;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(`meshvisor: unknown command "${name}"\n\n${usage()}\n`);
    return ExitCode.usage;
  }
  let values: CommandValues;
  try {
    const parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
      strict: true,
    });
    values = parsed.values;
  } catch (err) {
    process.stderr.write(`meshvisor ${name}: ${(err as Error).message}\nUsage: ${command.usage}\n`);
    return ExitCode.usage;
  }
  if (values.help) {
    process.stdout.write(`Usage: ${command.usage}\n\n${command.summary}\n`);
    return ExitCode.ok;
  }
  try {
    const { default: runCommand } = await command.load();
    return await runCommand(values);
  } catch (err) {
    if (err instanceof ExitError) {
      process.stderr.write(`meshvisor ${name}: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
