// Runs the built bundle (dist/meshvisor.mjs) as a user would, capturing its output.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BUNDLE = fileURLToPath(new URL('../../dist/meshvisor.mjs', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runBundle(args: string[], options: SpawnSyncOptions = {}): CliResult {
  const result = spawnSync(process.execPath, [BUNDLE, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    ...options,
  });
  return { code: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}
