// `consul connect proxy` (built-in proxy): see runConnectProxy below.
export async function runConnectProxy(_args: string[]): Promise<number> {
  process.stderr.write('connect proxy: not implemented yet\n');
  return 1;
}
