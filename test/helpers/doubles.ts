// The test doubles for consul/envoy: paths, and a once-per-process build of test/doubles/dist.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The consul double's executable (sh wrapper around test/doubles/dist/consul.mjs). */
export const CONSUL_DOUBLE = fileURLToPath(new URL('../doubles/bin/consul', import.meta.url));
/** The envoy double's executable. */
export const ENVOY_DOUBLE = fileURLToPath(new URL('../doubles/bin/envoy', import.meta.url));

let built = false;

/** Bundles the doubles (scripts/build-doubles.mjs) once per test process. */
export function buildDoubles(): void {
  if (built) return;
  const r = spawnSync(process.execPath, ['scripts/build-doubles.mjs'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`building the doubles failed:\n${r.stdout}${r.stderr}`);
  built = true;
}
