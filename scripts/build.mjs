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
import { createHash } from 'node:crypto';
import { readFileSync, chmodSync } from 'node:fs';
import { brotliCompressSync, constants as zlib } from 'node:zlib';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const outfile = 'dist/meshvisor.mjs';
// How the bundle runs as a program (`meshvisor`, hence the images' ENTRYPOINT, HEALTHCHECK and
// build-time `meshvisor schema`): its shebang, `env -S` (GNU coreutils >= 8.30, BSD, macOS; not
// BusyBox, where `node <flags> meshvisor.mjs` does the same). What each is worth in RSS is in
// bench/README.md ("where the memory goes"):
// - --lite-mode: V8 without its compilers (it implies --jitless): no optimized code, no feedback
//   vectors until a function is hot, and none of TurboFan's code paged in. The node idles on
//   ~25 MiB less; the cost is CPU where JavaScript is hot (the log relay: ~3x the CPU per line).
//   --jitless also removes WebAssembly (why nothing here may use fetch: undici needs it), and
//   --no-expose-wasm silences V8's warning about that on every start.
// - --max-semi-space-size=1 (MiB): the young generation grows to 16 MiB per semi-space under the
//   start-up's allocation and stays there; an idle supervisor has no use for it.
// - MALLOC_TRIM_THRESHOLD_: glibc returns freed heap to the system above 128 KiB again, instead
//   of raising that threshold after the start-up's large frees and keeping ~3-5 MiB. Children
//   inherit it: consul (Go) and Envoy (tcmalloc) do not use glibc's malloc.
const SHEBANG = [
  '#!/usr/bin/env -S MALLOC_TRIM_THRESHOLD_=131072 node',
  '--lite-mode --no-expose-wasm --max-semi-space-size=1',
].join(' ');
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

// Parts of dependencies that meshvisor never calls but that load (and stay in memory) with them.
// Each is replaced in the payload by a stand-in; what each was worth is in bench/README.md.
const NOT_BUNDLED = 'not bundled';
const STAND_INS = [
  {
    // pino's worker-thread transports (unused: they break once bundled, see src/log.ts). pino
    // loads them, and node:worker_threads with them, at require time; it is told it runs on the
    // main thread, which it does.
    importer: /[\\/]pino[\\/]/,
    specifier: /^(\.\/(lib\/)?transport|thread-stream)$/,
    contents:
      "module.exports = function transport() { throw new Error('pino transports are not in the meshvisor bundle'); };",
  },
  {
    importer: /[\\/]pino[\\/]/,
    specifier: /^(node:)?worker_threads$/,
    contents: 'module.exports = { isMainThread: true };',
  },
  {
    // zod's error messages in 40-odd languages, a third of the payload: only English is used
    // (zod registers it by itself), so `z.locales` and `z.core.locales` hold `en` alone.
    importer: /[\\/]zod[\\/]v4[\\/](classic[\\/]external|core[\\/]index)\.js$/,
    specifier: /^\.\.\/locales\/index\.js$/,
    contents: "export { default as en } from '../locales/en.js';",
  },
];
const standIns = {
  name: 'stand-ins',
  setup(b) {
    STAND_INS.forEach((standIn, index) => {
      b.onResolve({ filter: standIn.specifier }, (args) =>
        standIn.importer.test(args.importer)
          ? { path: `${index}`, namespace: NOT_BUNDLED, pluginData: args.resolveDir }
          : undefined,
      );
    });
    b.onLoad({ filter: /.*/, namespace: NOT_BUNDLED }, (args) => ({
      contents: STAND_INS[Number(args.path)].contents,
      resolveDir: args.pluginData,
      loader: 'js',
    }));
  },
};

// 1. The heavy commands, one module exporting each command's function. The doctor's modules are
// initialized on its first call, not when the payload loads: `run` does not load what only the
// doctor needs (node:dns, node:crypto...), and keeps none of it in memory. The others
// share nearly all their modules with `run`, and stay in the code cache's top-level code.
const LAZY_COMMANDS = new Set(['doctor']);
const payload = await build({
  ...common,
  stdin: {
    contents: HEAVY_COMMANDS.map((c) =>
      LAZY_COMMANDS.has(c)
        ? `export const ${c} = async (values) => (await import('./src/cli/${c}.ts')).default(values);`
        : `export { default as ${c} } from './src/cli/${c}.ts';`,
    ).join('\n'),
    resolveDir: '.',
    loader: 'ts',
  },
  plugins: [standIns],
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
// Names the payload's code cache: V8 checks a cache against its source's length only, so the
// cache of another build of the same length would be accepted, and run that build's code.
const payloadKey = createHash('sha256')
  .update(payload.outputFiles[0].contents)
  .digest('hex')
  .slice(0, 12);

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
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
const PAYLOAD = '${payloadBase64}';
const PAYLOAD_KEY = '${payloadKey}';
let payload;
export function loadPayload() {
  if (!payload) {
    const bundle = new URL(import.meta.url).pathname;
    const filename = bundle + '#commands';
    // V8's code cache beside the bundle (the images write it at build time): parsing and
    // compiling the payload is most of a heavy command's start. V8 rejects a cache made by
    // another node or under other flags (then it is made anew), but checks the source by its
    // length alone: the cache's name carries the payload's own key, so a bundle replaced in place
    // never runs the code of the build before. One cache per set of node flags, so that the
    // shebang's (--lite-mode...) and a plain \`node meshvisor.mjs\` do not rewrite each other's.
    const flags = process.execArgv.join(' ');
    let tag = '';
    if (flags) {
      let hash = 0x811c9dc5;
      for (let i = 0; i < flags.length; i++) hash = Math.imul(hash ^ flags.charCodeAt(i), 0x01000193);
      tag = '-' + (hash >>> 0).toString(16).padStart(8, '0');
    }
    const cachePath =
      bundle + '.' + PAYLOAD_KEY + '.' + process.version + '-' + process.arch + tag + '.v8cache';
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
        // The caches of builds this bundle replaced are of no use any more.
        const own = basename(bundle) + '.';
        for (const name of readdirSync(dirname(bundle))) {
          if (name.startsWith(own) && name.endsWith('.v8cache') && !name.startsWith(own + PAYLOAD_KEY + '.'))
            rmSync(join(dirname(bundle), name), { force: true });
        }
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
      SHEBANG,
      "import { createRequire as __meshvisorCreateRequire } from 'node:module';",
      'const require = __meshvisorCreateRequire(import.meta.url);',
    ].join('\n'),
  },
});
chmodSync(outfile, 0o755);
