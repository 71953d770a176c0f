import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync } from 'node:zlib';
import { BUNDLE, runBundle } from '../helpers/cli.ts';

const { version } = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
);

test('--version prints the package version', () => {
  const r = runBundle(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), version);
});

test('--help lists every command and exits 0', () => {
  const r = runBundle(['--help']);
  assert.equal(r.code, 0);
  for (const cmd of ['run', 'render', 'validate', 'schema', 'status']) {
    assert.match(r.stdout, new RegExp(`meshvisor ${cmd}`));
  }
});

test('no command prints usage and exits 64', () => {
  const r = runBundle([]);
  assert.equal(r.code, 64);
  assert.match(r.stdout, /Usage:/);
});

test('an unknown command prints usage on stderr and exits 64', () => {
  const r = runBundle(['frobnicate']);
  assert.equal(r.code, 64);
  assert.match(r.stderr, /unknown command "frobnicate"/);
  assert.match(r.stderr, /Usage:/);
});

test('an unknown flag names the flag, prints the usage line and exits 64', () => {
  const r = runBundle(['validate', '--bogus']);
  assert.equal(r.code, 64);
  assert.match(r.stderr, /--bogus/);
  assert.match(r.stderr, /Usage: meshvisor validate/);
});

test('command --help prints its usage and exits 0', () => {
  const r = runBundle(['render', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage: meshvisor render/);
});

test('the bundle is one file whose start-up code stays small: heavy commands are an embedded payload', () => {
  const source = readFileSync(BUNDLE, 'utf8');
  const code = source.replace(/PAYLOAD = (["'])[A-Za-z0-9+/=]+\1/, 'PAYLOAD = ""');
  assert.notEqual(code.length, source.length, 'the payload is embedded');
  // Everything V8 parses on `--version` or `status --ready`; zod/yaml/pino alone are ~1 MB.
  assert.ok(code.length < 64 * 1024, `entry code is ${code.length} bytes`);
});

test("the bundle's shebang runs node with the flags the images run it with", () => {
  const [shebang] = readFileSync(BUNDLE, 'utf8').split('\n', 1);
  assert.match(shebang!, /^#!\/usr\/bin\/env -S (\w+=\S+ )*node( --[\w-]+(=\S+)?)+$/);
  for (const flag of ['--lite-mode', '--no-expose-wasm', '--max-semi-space-size=1']) {
    assert.ok(shebang!.split(' ').includes(flag), `${flag} in ${shebang}`);
  }
  assert.ok(shebang!.length < 128, 'within the kernel limit of older Linux');
});

test('a heavy command runs from the embedded payload', () => {
  const r = runBundle(['schema']);
  assert.equal(r.code, 0);
  assert.equal(JSON.parse(r.stdout).type, 'object');
});

test("the payload's V8 code cache is written beside the bundle, and a stale or unwritable one costs nothing but speed", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mv-cache-'));
  t.after(() => {
    chmodSync(dir, 0o755);
    rmSync(dir, { recursive: true, force: true });
  });
  const bundle = join(dir, 'meshvisor.mjs');
  copyFileSync(BUNDLE, bundle);
  const schema = () => spawnSync(process.execPath, [bundle, 'schema'], { encoding: 'utf8' });
  const cache = () => readdirSync(dir).filter((f) => f.endsWith('.v8cache'));

  assert.equal(schema().status, 0);
  const file = cache()[0] ?? '';
  assert.match(file, /^meshvisor\.mjs\.[0-9a-f]{12}\.v[\d.]+-\w+\.v8cache$/);
  assert.ok(file.endsWith(`.${process.version}-${process.arch}.v8cache`));
  const made = readFileSync(join(dir, file));
  assert.ok(made.length > 1000);

  // Garbage in the cache: V8 rejects it, the command runs, and the cache is made anew.
  writeFileSync(join(dir, file), 'not a code cache');
  assert.equal(schema().status, 0);
  assert.ok(readFileSync(join(dir, file)).length > 1000);

  // Run as a program, with its shebang's node flags (which V8 checks the cache against): a cache
  // of its own beside the other, which it leaves alone.
  const plain = readFileSync(join(dir, file));
  const executed = spawnSync(bundle, ['schema'], { encoding: 'utf8' });
  assert.equal(executed.status, 0, executed.stderr);
  assert.equal(executed.stderr, '', 'no V8 warning about the flags');
  const flagged = cache().find((f) => f !== file);
  assert.match(flagged ?? '', /^meshvisor\.mjs\.[0-9a-f]{12}\.v[\d.]+-\w+-[0-9a-f]{8}\.v8cache$/);
  assert.deepEqual(readFileSync(join(dir, file)), plain);
  rmSync(join(dir, flagged!));

  // A read-only install: no cache can be written, and the command still runs.
  rmSync(join(dir, file));
  chmodSync(dir, 0o555);
  const readOnly = spawnSync(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, bundle, 'schema'],
    { encoding: 'utf8' },
  );
  assert.equal(readOnly.status, 0, readOnly.stderr);
  assert.deepEqual(cache(), []);
});

test("a bundle replaced by another build of the same length never runs the old build's code cache", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mv-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bundle = join(dir, 'meshvisor.mjs');
  const description = () => {
    const r = spawnSync(process.execPath, [bundle, 'schema'], { encoding: 'utf8' });
    return (JSON.parse(r.stdout) as { properties: { $schema: { description: string } } }).properties
      .$schema.description;
  };
  const caches = () => readdirSync(dir).filter((f) => f.endsWith('.v8cache'));

  copyFileSync(BUNDLE, bundle);
  assert.equal(description(), 'Ignored; lets editors find this schema.');
  const first = caches()[0] ?? '';
  const [, oldKey] = /^meshvisor\.mjs\.([0-9a-f]{12})\./.exec(first) ?? [];

  // Another build whose payload is exactly as long (V8 checks a cache against that alone): one
  // text the payload's top-level code holds (and so its cache) changed, and the payload's key
  // with it, as a rebuild makes it.
  const text = readFileSync(BUNDLE, 'utf8');
  const [, base64] = /PAYLOAD = "([A-Za-z0-9+/=]+)"/.exec(text) ?? [];
  const source = brotliDecompressSync(Buffer.from(base64!, 'base64')).toString();
  const changed = source.replace('Ignored; lets editors', 'IGNORED; lets editors');
  assert.equal(changed.length, source.length);
  assert.notEqual(changed, source);
  const key = createHash('sha256').update(changed).digest('hex').slice(0, 12);
  writeFileSync(
    bundle,
    text
      .replace(base64!, brotliCompressSync(changed).toString('base64'))
      .replaceAll(`"${oldKey!}"`, `"${key}"`),
  );
  assert.equal(description(), 'IGNORED; lets editors find this schema.', "the new build's code");
  assert.equal(caches().length, 1, "the old build's cache is gone");
  assert.notEqual(caches()[0], first);
});
