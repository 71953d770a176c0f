// The consul CLI commands meshvisor and the tests use (1.10.12 texts and exit codes).
export async function runCli(command: string | undefined, _args: string[]): Promise<number> {
  if (command === 'version') {
    process.stdout.write(
      'Consul v1.10.12\nRevision 9e7a6b8d\nProtocol 2 spoken by default, understands 2 to 3 (agent will automatically use protocol >2 when speaking to compatible agents)\n\n',
    );
    return 0;
  }
  process.stderr.write(`Unknown command: consul ${command ?? ''}\n`);
  return 1;
}
