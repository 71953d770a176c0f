#!/usr/bin/env node
// Bundles the CLI into ONE self-contained file, dist/meshvisor.mjs: the images copy only this
// file, so nothing from node_modules may be needed at run time.
//
// Start-up cost: `--version`, `--help` and `status --ready` (a HEALTHCHECK every few seconds)
// must cost about a bare `node -e 0`, but zod, yaml, handlebars and pino weigh ~1 MB
// that V8 would parse on every start. So the heavy commands (run, render, validate, doctor, schema)
// are bundled apart, minified, brotli-compressed and embedded as a base64 string (scanned,
// not parsed); the first use inflates it and compiles it as a vm.Script with V8's code cache
// beside the bundle (a data: URL import was measured ~250 ms slower).
import { build } from 'esbuild';
import { readFileSync, chmodSync } from 'node:fs';
import { brotliCompressSync, constants as zlib } from 'node:zlib';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const outfile = 'dist/meshvisor.mjs';
const HEAVY_COMMANDS = ['run', 'render', 'validate', 'doctor', 'schema'];
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  legalComments: 'none',
  logLevel: 'warning',
  define: { MESHVISOR_BUILD_VERSION: JSON.stringify(version) },
};

// 1. The heavy commands, one module exporting each command's function.
const payload = await build({
  ...common,
  stdin: {
    contents: HEAVY_COMMANDS.map(
      (c) => `export { default as ${c} } from './src/cli/${c}.ts';`,
    ).join('\n'),
    resolveDir: '.',
    loader: 'ts',
  },
  // CommonJS, compiled from the string with vm.compileFunction and given the entry's require.
  format: 'cjs',
  write: false,
  minify: true,
  // src/version.ts reads package.json through import.meta.url only when run from source;
  // in a bundle MESHVISOR_BUILD_VERSION is defined and that branch is dead.
  logOverride: { 'empty-import-meta': 'silent' },
});
// Brotli: a quarter of the size, so a quarter of the string to scan on every start.
const payloadBase64 = brotliCompressSync(payload.outputFiles[0].contents, {
  params: { [zlib.BROTLI_PARAM_QUALITY]: 11 },
}).toString('base64');

// 2. The entry: main.ts's `import('./run.ts')` etc. resolve to stubs that load the payload.
const lazyCommands = {
  name: 'lazy-commands',
  setup(b) {
    const filter = new RegExp(`^\\./(${HEAVY_COMMANDS.join('|')})\\.ts$`);
    b.onResolve({ filter }, (args) => ({
      path: args.path.slice(2, -3),
      namespace: 'lazy-command',
    }));
    b.onResolve({ filter: /^meshvisor:payload$/ }, () => ({
      path: 'payload',
      namespace: 'payload',
    }));
    b.onLoad({ filter: /.*/, namespace: 'lazy-command' }, (args) => ({
      contents: `import { loadPayload } from 'meshvisor:payload';
export default async function (values) { return (await loadPayload()).${args.path}(values); }`,
      loader: 'js',
    }));
    b.onLoad({ filter: /.*/, namespace: 'payload' }, () => ({
      contents: `import { brotliDecompressSync } from 'node:zlib';
import { Script } from 'node:vm';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
const PAYLOAD = '${payloadBase64}';
let payload;
export function loadPayload() {
  if (!payload) {
    const bundle = new URL(import.meta.url).pathname;
    const filename = bundle + '#commands';
    // V8's code cache beside the bundle (the images write it at build time): parsing and
    // compiling the payload is most of a heavy command's start. V8 checks that the cache fits
    // this node and this source, and rejects it otherwise; then it is made anew.
    const cachePath = bundle + '.' + process.version + '-' + process.arch + '.v8cache';
    let cachedData;
    try {
      cachedData = readFileSync(cachePath);
    } catch {}
    const source = brotliDecompressSync(Buffer.from(PAYLOAD, 'base64')).toString();
    const script = new Script(
      '(function (exports, require, module, __filename, __dirname) {' + source + '\\n})',
      { filename, cachedData },
    );
    const module = { exports: {} };
    script.runInThisContext()(module.exports, require, module, filename, '/');
    payload = module.exports;
    if (!cachedData || script.cachedDataRejected) {
      try {
        const temporary = cachePath + '.' + process.pid;
        writeFileSync(temporary, script.createCachedData());
        renameSync(temporary, cachePath);
      } catch {
        // A read-only install: every start compiles, as without a cache.
      }
    }
  }
  return payload;
}`,
      loader: 'js',
    }));
  },
};

await build({
  ...common,
  entryPoints: ['src/cli/bin.ts'],
  outfile,
  plugins: [lazyCommands],
  // CJS dependencies (handlebars, pino) call require(); ESM output needs a real one.
  banner: {
    js: [
      '#!/usr/bin/env node',
      "import { createRequire as __meshvisorCreateRequire } from 'node:module';",
      'const require = __meshvisorCreateRequire(import.meta.url);',
    ].join('\n'),
  },
});
chmodSync(outfile, 0o755);
