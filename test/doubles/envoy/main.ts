// The envoy double's entry (test/doubles/bin/envoy → dist/envoy.mjs). Reads the bootstrap from
// --config-path (the FIFO of `consul connect envoy`: opened at once, since its writer gives up
// after 10 s), serves the admin API, exits 0 on SIGTERM/SIGINT or POST /quitquitquit, and 1 when
// the configuration cannot be loaded or the admin address is taken (a second Envoy on one port).
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { EventLog } from './events.ts';
import { ParseError, parseEnvoyArgs } from './options.ts';
import type { BootstrapConfig } from './server.ts';
import { EnvoyDouble, envoyLog, knobsFromEnv } from './server.ts';

async function main(argv: string[]): Promise<void> {
  let opts;
  try {
    opts = parseEnvoyArgs(argv);
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    process.stderr.write(
      `${e.message}\nBrief USAGE: \n   envoy  [options]\n\nFor complete USAGE and HELP type: \n   envoy --help\n\n`,
    );
    process.exit(1);
  }
  const knobs = knobsFromEnv();
  if (opts.version) {
    process.stdout.write(
      `\nenvoy  version: 5a7e2fd8a9d0c1b3e4f5061728394a5b6c7d8e9f/${knobs.version}/Clean/RELEASE/BoringSSL\n\n`,
    );
    process.exit(0);
  }
  const fail = (msg: string): never => {
    envoyLog('critical', 'main', msg);
    process.exit(1);
  };
  if (!opts.configPath) {
    fail(
      'At least one of --config-path or --config-yaml or Options::configProto() should be non-empty',
    );
  }
  const path = opts.configPath as string;
  let boot: BootstrapConfig;
  try {
    boot = JSON.parse(readFileSync(path, 'utf8')) as BootstrapConfig;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    fail(
      `error initializing configuration '${path}': ` +
        (err.code === 'ENOENT'
          ? `Invalid path: ${path}`
          : `Unable to parse JSON as proto (${err.message})`),
    );
    return;
  }
  if (!boot?.admin?.address?.socket_address || !boot.node?.id) {
    fail(`error initializing configuration '${path}': missing admin address or node id`);
  }
  envoyLog(
    'info',
    'main',
    `initializing epoch ${opts.restartEpoch} (base id=0, hot restart version=${opts.disableHotRestart ? 'disabled' : '11.104'})`,
  );
  // With hot restart on, Envoy binds an abstract unix socket of its base id: a second Envoy of
  // the same base id in the network namespace exits, as the real 1.36.4 does.
  if (!opts.disableHotRestart && !(await bindHotRestartSocket(opts.restartEpoch))) {
    process.stderr.write(
      `unable to bind domain socket with base_id=0, id=${opts.restartEpoch}, errno=98 (see --base-id option)\n`,
    );
    process.exit(1);
  }
  const events = new EventLog().with({
    admin: `${boot.admin.address.socket_address.address}:${boot.admin.address.socket_address.port_value}`,
    node: boot.node.id,
  });
  const envoy = new EnvoyDouble(boot, opts, knobs, events, (code) => process.exit(code));
  process.on('SIGTERM', () => envoy.shutdown('SIGTERM', 0));
  process.on('SIGINT', () => envoy.shutdown('SIGINT', 0));
  process.on('SIGHUP', () => undefined);
  process.on('SIGUSR1', () => undefined);
  envoy.start().then(
    () => envoyLog('info', 'main', 'starting main dispatch loop'),
    (e: Error) => {
      events.emit('exit', { reason: e.message, code: 1 });
      fail(`error initializing configuration '${path}': ${e.message}`);
    },
  );
}

/** Holds `@envoy_domain_socket_parent_<id>` for the life of the process; false when taken. */
function bindHotRestartSocket(id: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen({ path: `\0envoy_domain_socket_parent_${id}` }, () => {
      server.unref();
      resolve(true);
    });
  });
}

void main(process.argv.slice(2));
