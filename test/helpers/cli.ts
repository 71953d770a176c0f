// Runs the built bundle (dist/meshvisor.mjs) as a user would, capturing its output: executed, as
// the images' `meshvisor` is, so its shebang's node flags (scripts/build.mjs) apply.
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BUNDLE = fileURLToPath(new URL('../../dist/meshvisor.mjs', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runBundle(args: string[], options: SpawnSyncOptions = {}): CliResult {
  const result = spawnSync(BUNDLE, args, {
    encoding: 'utf8',
    timeout: 30_000,
    ...options,
  });
  return { code: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/**
 * The bundle run asynchronously (spawn, not spawnSync), so a server in this process can answer
 * it, in a clean environment (a MESHVISOR_STATUS_URL of the machine running the tests is ignored).
 */
export function runBundleAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(BUNDLE, args, {
      env: { PATH: process.env.PATH, ...env },
      timeout: 30_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
