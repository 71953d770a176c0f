// The binaries under test, copied once at the start: a full comparison takes ~10 minutes on a
// working tree others build in (dist/, test/doubles/dist/), and every run must measure the same
// meshvisor and the same doubles. The copies keep the doubles' bin/ + dist/ layout (their sh
// wrappers find the bundles as ../dist/*.mjs).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE } from '../../test/helpers/cli.ts';
import { CONSUL_DOUBLE, ENVOY_DOUBLE } from '../../test/helpers/doubles.ts';

export interface Binaries {
  /** Where the copies live; removed at the end. */
  dir: string;
  /** dist/meshvisor.mjs */
  bundle: string;
  /** sha256 of the bundle, first 12 hex digits: which meshvisor was measured. */
  bundleSha: string;
  /** When dist/meshvisor.mjs was built (its mtime, ISO). */
  bundleBuilt: string;
  consul: string;
  envoy: string;
}

function copy(from: string, to: string, mode?: number): string {
  copyFileSync(from, to);
  if (mode !== undefined) chmodSync(to, mode);
  return to;
}

export function pinBinaries(): Binaries {
  const dir = mkdtempSync(join(tmpdir(), 'mv-compare-bin-'));
  const doublesDist = join(CONSUL_DOUBLE, '..', '..', 'dist');
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'dist'));
  for (const name of ['consul.mjs', 'envoy.mjs']) {
    copy(join(doublesDist, name), join(dir, 'dist', name));
  }
  const bundle = copy(BUNDLE, join(dir, 'meshvisor.mjs'), 0o755);
  // The bundle keeps a V8 code cache beside itself, made on first use: make it now (executed, with
  // the shebang's node flags, as the trials run it), so the first trial does not pay for it.
  const spec = join(dir, 'warm-up.json');
  writeFileSync(spec, JSON.stringify({ datacenter: 'dc', role: 'server' }));
  spawnSync(bundle, ['validate', '-c', spec], { stdio: 'ignore' });
  return {
    dir,
    bundle,
    bundleSha: createHash('sha256').update(readFileSync(bundle)).digest('hex').slice(0, 12),
    bundleBuilt: statSync(BUNDLE).mtime.toISOString(),
    consul: copy(CONSUL_DOUBLE, join(dir, 'bin', 'consul'), 0o755),
    envoy: copy(ENVOY_DOUBLE, join(dir, 'bin', 'envoy'), 0o755),
  };
}
