#!/usr/bin/env node
// Bundles the test doubles (test/doubles/{consul,envoy}/main.ts) into test/doubles/dist/*.mjs,
// so each double starts as fast as a plain node script. test/doubles/bin/{consul,envoy} run them.
// Test-only: nothing here goes into dist/meshvisor.mjs.
import { build } from 'esbuild';

for (const name of ['consul', 'envoy']) {
  await build({
    entryPoints: [`test/doubles/${name}/main.ts`],
    outfile: `test/doubles/dist/${name}.mjs`,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
}
