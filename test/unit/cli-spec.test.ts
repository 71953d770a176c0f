// validate, render and schema through the bundle, as users and images run them. The bundle runs
// from a temporary working directory, so nothing can come from config/templates at run time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBundle } from '../helpers/cli.ts';
import { EXAMPLE_ENV } from '../fixtures/spec/example-env.ts';

const EXAMPLES = fileURLToPath(new URL('../../config/examples/', import.meta.url));
const GOLDEN = fileURLToPath(new URL('../fixtures/spec/golden/', import.meta.url));
const cwd = mkdtempSync(join(tmpdir(), 'meshvisor-cli-'));

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runBundle(args, { cwd, env: { PATH: process.env.PATH, ...EXAMPLE_ENV, ...env } });
}

test('validate: a good spec exits 0 with a one-line summary', () => {
  const r = run(['validate', '-c', join(EXAMPLES, 'cluster-1.yaml')]);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  assert.equal(
    r.stdout,
    'spec ok: client cluster-1 in our_dc; 2 services (2 sidecars), 0 gateways, 0 config entries from the spec\n',
  );
});

test('validate: a bad spec prints every problem as path: message and exits 78', () => {
  const spec = JSON.stringify({
    datacenter: 'dc1',
    role: 'client',
    sevices: [],
    consul: { retryJoin: ['10.0.0.1'], ports: { http: 'x' } },
  });
  const r = run(['validate'], { MESHVISOR_CONFIG_JSON: spec });
  assert.equal(r.code, 78);
  assert.equal(r.stdout, '');
  assert.equal(
    r.stderr,
    [
      'consul.ports.http: expected number, received string',
      'sevices: unknown key (did you mean services?)',
      'meshvisor validate: the node spec has 2 problems',
      '',
    ].join('\n'),
  );
});

test('validate: syntax errors give line and column; no stack trace', () => {
  const r = run(['validate'], { MESHVISOR_CONFIG_JSON: '{\n  "datacenter": "dc1",\n  "role"\n}' });
  assert.equal(r.code, 78);
  assert.match(r.stderr, /^\$MESHVISOR_CONFIG_JSON:4:1: /);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('validate: $MESHVISOR_CONFIG names the file when there is no -c', () => {
  const r = run(['validate'], { MESHVISOR_CONFIG: join(EXAMPLES, 'server.yaml') });
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^spec ok: server consul-server in our_dc/);
});

test('render --out writes exactly the golden files, with their modes', () => {
  const out = mkdtempSync(join(tmpdir(), 'meshvisor-cli-out-'));
  const r = run([
    'render',
    '-c',
    join(EXAMPLES, 'cluster-2.yaml'),
    '--address',
    '10.77.0.12',
    '--out',
    out,
  ]);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  assert.match(r.stdout, new RegExp(`^wrote ${out}/meshvisor.json \\(600\\)\n`));
  const golden = join(GOLDEN, 'cluster-2');
  for (const relative of [
    'meshvisor.json',
    ...readdirSync(join(golden, 'config-entries')).map((f) => `config-entries/${f}`),
  ]) {
    assert.equal(
      readFileSync(join(out, relative), 'utf8'),
      readFileSync(join(golden, relative), 'utf8'),
      relative,
    );
  }
  assert.equal(statSync(join(out, 'meshvisor.json')).mode & 0o777, 0o600);
});

test('render without --out prints each file after a # <path> line', () => {
  const r = run(['render', '-c', join(EXAMPLES, 'ingress.yaml'), '--address', '10.77.0.13']);
  assert.equal(r.code, 0);
  const golden = (relative: string) => readFileSync(join(GOLDEN, 'ingress', relative), 'utf8');
  assert.equal(
    r.stdout,
    `# /etc/consul.d/meshvisor.json\n${golden('meshvisor.json')}` +
      `# /etc/consul.d/config-entries/01-ingress-gateway-ingress-service.json\n` +
      golden('config-entries/01-ingress-gateway-ingress-service.json'),
  );
});

test('render uses address.ip without --address, and rejects a bad --address with 64', () => {
  const ok = run(['render', '-c', join(EXAMPLES, 'dev.yaml')]);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /"bind_addr": "127\.0\.0\.1"/);
  const bad = run(['render', '-c', join(EXAMPLES, 'dev.yaml'), '--address', 'eth0']);
  assert.equal(bad.code, 64);
  assert.match(bad.stderr, /--address must be the node's IPv4 address, not "eth0"/);
});

test('render reports a bad spec like validate, before anything else', () => {
  const r = run(['render', '--address', '10.0.0.1'], {
    MESHVISOR_CONFIG_JSON: '{"role": "server"}',
  });
  assert.equal(r.code, 78);
  assert.match(r.stderr, /^datacenter: required\n/);
});

test('schema prints the checked-in JSON Schema', () => {
  const r = run(['schema']);
  assert.equal(r.code, 0);
  assert.equal(
    r.stdout,
    readFileSync(new URL('../../config/meshvisor.schema.json', import.meta.url), 'utf8'),
  );
});

test('validate, render, doctor and run refuse a hostname in status.listen alike, before writing a file', () => {
  const configDir = join(mkdtempSync(join(tmpdir(), 'meshvisor-listen-')), 'consul.d');
  const spec = JSON.stringify({
    datacenter: 'dc1',
    role: 'server',
    address: { ip: '127.0.0.1' },
    consul: { dataDir: join(configDir, '..', 'data'), configDir },
    status: { listen: 'localhost:9555' },
  });
  const problem =
    'status.listen: "localhost" is a hostname; expected IPv4:PORT (127.0.0.1:9555) or [IPv6]:PORT ([::1]:9555)';
  for (const command of ['validate', 'render', 'doctor', 'run']) {
    const r = run([command], { MESHVISOR_CONFIG_JSON: spec });
    assert.equal(r.code, 78, `${command}: ${r.stderr}`);
    // doctor reports on stdout, as one of its checks; the others on stderr.
    assert.ok((r.stdout + r.stderr).includes(problem), `${command}: ${r.stdout}${r.stderr}`);
  }
  assert.equal(statSync(configDir, { throwIfNoEntry: false }), undefined, 'run wrote no file');
});
