import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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

test('a heavy command runs from the embedded payload', () => {
  const r = runBundle(['schema']);
  assert.equal(r.code, 0);
  assert.equal(JSON.parse(r.stdout).type, 'object');
});
