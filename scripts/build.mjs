#!/usr/bin/env node
// Bundles the CLI into ONE self-contained file, dist/meshvisor.mjs: the images copy only this
// file, so nothing from node_modules may be needed at run time.
import { build } from 'esbuild';
import { readFileSync, chmodSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const outfile = 'dist/meshvisor.mjs';

await build({
  entryPoints: ['src/cli/bin.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: false,
  sourcemap: false,
  legalComments: 'none',
  define: { MESHVISOR_BUILD_VERSION: JSON.stringify(version) },
  // CJS dependencies (consul, handlebars, pino) call require(); ESM output needs a real one.
  banner: {
    js: [
      '#!/usr/bin/env node',
      "import { createRequire as __meshvisorCreateRequire } from 'node:module';",
      'const require = __meshvisorCreateRequire(import.meta.url);',
    ].join('\n'),
  },
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
