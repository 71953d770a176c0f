// The consul double's entry: `consul <command> ...` dispatched to the module that imitates it.
// Behaviour is held to ../shared/recordings/consul-1.10.12 by test/contract.
const [command, ...args] = process.argv.slice(2);

async function dispatch(): Promise<number> {
  switch (command) {
    case 'agent':
      return (await import('./agent.ts')).runAgent(args);
    case 'connect': {
      const [sub, ...rest] = args;
      if (sub === 'envoy') return (await import('./connect-envoy.ts')).runConnectEnvoy(rest);
      if (sub === 'proxy') return (await import('./connect-proxy.ts')).runConnectProxy(rest);
      break;
    }
    default:
      return (await import('./cli.ts')).runCli(command, args);
  }
  process.stderr.write(`Unknown command: consul ${[command, ...args].join(' ')}\n`);
  return 1;
}

dispatch().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`consul double crashed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 2;
  },
);
