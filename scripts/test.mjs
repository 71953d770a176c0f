#!/usr/bin/env node
// Runs node:test over every *.test.ts below the given folders (default: test/).
// Node 20 has no glob support for --test, so the files are listed here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir) {
  const st = statSync(dir);
  if (st.isFile()) return dir.endsWith('.test.ts') ? [dir] : [];
  return readdirSync(dir)
    .filter((name) => name !== 'node_modules' && name !== 'fixtures')
    .flatMap((name) => collect(join(dir, name)))
    .sort();
}

const args = process.argv.slice(2);
const roots = args.filter((a) => !a.startsWith('--'));
const passthrough = args.filter((a) => a.startsWith('--'));
const files = (roots.length ? roots : ['test']).flatMap(collect);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// A test file that hangs fails after 10 minutes instead of holding CI for its whole 90 (Node 20
// applies the timeout per file); the longest, test/e2e/mesh.test.ts, takes about 2.
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    '--test-timeout=600000',
    ...passthrough,
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
