// `meshvisor doctor` from the bundle: the command's wiring (a heavy command, from the embedded
// payload), its exit codes (0 nothing ✗, 1 a ✗, 78 an invalid spec, 64 usage), the text
// checklist, and `--json` validated against the JSON Schema `--json-schema` prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { runBundle } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'mv-doctor-cli-'));
const LITERAL_TOKEN = '5e0c3a2d-literal-token-in-the-file';

/** Ports nothing listens on right now (bound, then released). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return server;
    }),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** A server spec that passes everything this machine can check: a fake consul, free ports. */
async function passingSpec(): Promise<string> {
  const consul = join(dir, 'consul');
  writeFileSync(consul, '#!/bin/sh\necho "Consul v1.10.12"\n', { mode: 0o755 });
  const [http, grpc, dns, lan, wan, rpc, status] = await freePorts(7);
  const path = join(dir, 'ok.json');
  writeFileSync(
    path,
    JSON.stringify({
      datacenter: 'dc1',
      role: 'server',
      nodeName: 'doctor-test',
      address: { ip: '127.0.0.1' },
      consul: {
        binary: consul,
        dataDir: join(dir, 'data'),
        configDir: join(dir, 'consul.d'),
        clientAddr: '127.0.0.1',
        ports: { http, grpc },
        extraConfig: { ports: { dns, serf_lan: lan, serf_wan: wan, server: rpc } },
      },
      proxy: { mode: 'builtin' },
      status: { listen: `127.0.0.1:${status}` },
    }),
  );
  return path;
}

test('doctor is listed in --help and rejects unknown flags with 64', () => {
  assert.match(
    runBundle(['--help']).stdout,
    /meshvisor doctor \[-c FILE\] \[--json\] \[--json-schema\]/,
  );
  const r = runBundle(['doctor', '--bogus']);
  assert.equal(r.code, 64);
  assert.match(r.stderr, /Usage: meshvisor doctor/);
});

test('nothing ✗: exit 0, a checklist with a mark on every check line', async () => {
  const r = runBundle(['doctor', '-c', await passingSpec()], { env: { PATH: process.env.PATH } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^meshvisor doctor .*: server doctor-test in dc1 \(spec: .*ok\.json\)$/m);
  assert.match(r.stdout, /^ {2}✓ consul: Consul 1\.10\.12 at /m);
  // With no agent to ask, what needs one is !, not ✓.
  assert.match(r.stdout, /^ {2}! clock: not checked/m);
  assert.match(r.stdout, /^0 ✗ {2}\d+ ! {2}\d+ ✓ {2}-> exit 0$/m);
  for (const line of r.stdout.split('\n').filter((l) => /^ {2}\S/.test(l))) {
    assert.match(line, /^ {2}[✓✗!] /, line);
  }
});

test('an invalid spec: exit 78, every problem listed, no other check run', () => {
  const path = join(dir, 'bad.yaml');
  writeFileSync(path, 'datacenter: DC\nrole: client\nsevices: []\n');
  const r = runBundle(['doctor', '-c', path]);
  assert.equal(r.code, 78);
  assert.match(r.stdout, /✗ spec: 3 problems in .*bad\.yaml/);
  assert.match(r.stdout, /✗ datacenter: must be lower-case/);
  assert.match(r.stdout, /✗ sevices: unknown key \(did you mean services\?\)/);
  assert.match(r.stdout, /The other checks need a valid spec/);
  assert.doesNotMatch(r.stdout, /Binaries/);
  const none = runBundle(['doctor'], { env: { PATH: process.env.PATH } });
  assert.equal(none.code, 78);
  assert.match(none.stdout, /\(source\): no node spec/);
});

test('--json follows the JSON Schema of --json-schema, for a passing, a failing and an invalid spec', async () => {
  const schemaRun = runBundle(['doctor', '--json-schema']);
  assert.equal(schemaRun.code, 0);
  const jsonSchema = JSON.parse(schemaRun.stdout) as Record<string, unknown>;
  assert.equal(jsonSchema.title, 'meshvisor doctor report');
  const schema = z.fromJSONSchema(jsonSchema);

  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"datacenter": "dc1", "role": "client"}');
  const failing = join(dir, 'failing.json');
  writeFileSync(
    failing,
    JSON.stringify({
      datacenter: 'dc1',
      role: 'client',
      address: { interface: 'no-such-if0' },
      consul: {
        binary: '/nonexistent/consul',
        retryJoin: ['127.0.0.2:1'],
        encrypt: '${KEY}',
        acl: { tokens: { agent: LITERAL_TOKEN } },
      },
    }),
  );
  const env = { PATH: process.env.PATH, KEY: 'c2VjcmV0LWdvc3NpcC1rZXktMzItYnl0ZXMtbG9uZyE=' };
  const runs = [
    { path: await passingSpec(), code: 0 },
    { path: failing, code: 1 },
    { path: bad, code: 78 },
  ];
  for (const { path, code } of runs) {
    const r = runBundle(['doctor', '--json', '-c', path], { env });
    assert.equal(r.code, code, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout);
    const parsed = schema.safeParse(report);
    assert.ok(parsed.success, `${path}: ${parsed.success ? '' : z.prettifyError(parsed.error)}`);
    assert.equal(report.format, 'meshvisor-doctor/v1');
    assert.equal(report.exitCode, code);
    assert.ok(!r.stdout.includes(env.KEY), 'the gossip key is printed');
    assert.ok(!r.stdout.includes(LITERAL_TOKEN), 'the token is printed');
  }
  // The schema is strict: an unknown status or key does not pass.
  const r = JSON.parse(runBundle(['doctor', '--json', '-c', failing], { env }).stdout);
  const ids = r.checks.map((c: { id: string }) => c.id);
  assert.deepEqual(
    ids.filter((id: string) => ['binary.consul', 'address', 'join.0'].includes(id)),
    ['binary.consul', 'address', 'join.0'],
  );
  assert.ok(r.checks.filter((c: { status: string }) => c.status === 'fail').length >= 3);
  // A secret written in the file: its origin is shown, never its value, and it is a warning.
  const values = r.checks.find((c: { id: string }) => c.id === 'spec.values');
  assert.equal(values.status, 'warn');
  assert.match(values.found, /1 secret written in the spec itself: consul\.acl\.tokens\.agent/);
  r.checks[0].status = 'maybe';
  assert.equal(schema.safeParse(r).success, false);
});
