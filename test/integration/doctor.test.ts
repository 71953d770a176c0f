// `meshvisor doctor` from the bundle, inside network namespaces, against a real (double) Consul
// server run by `meshvisor run`: each check passing and failing for real (a join address that
// answers and one that does not, a busy port, a missing binary, an eth0 without an address, an
// unwritable data dir, tokens Consul knows and does not), within its deadlines, and starting no
// program but the two version queries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { aclApi } from '../helpers/acl.ts';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DoctorReport } from '../../src/doctor/index.ts';
import { BUNDLE } from '../helpers/cli.ts';
import { buildDoubles, CONSUL_DOUBLE, ENVOY_DOUBLE } from '../helpers/doubles.ts';
import { testbed } from '../helpers/mesh-node.ts';
import { createTestNet, type TestHost } from '../helpers/netns.ts';

interface DoctorRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  report?: DoctorReport;
}

/** Runs `meshvisor doctor` inside the host's namespace. */
function doctorIn(
  host: TestHost,
  specPath: string,
  { json = true, env = {} }: { json?: boolean; env?: Record<string, string> } = {},
): Promise<DoctorRun> {
  const started = performance.now();
  const child = host.spawn(BUNDLE, ['doctor', '-c', specPath, ...(json ? ['--json'] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const run: DoctorRun = { code, stdout, stderr, ms: performance.now() - started };
      if (json && stdout.trim()) run.report = JSON.parse(stdout) as DoctorReport;
      resolve(run);
    });
  });
}

function check(report: DoctorReport | undefined, id: string) {
  const found = report?.checks.find((c) => c.id === id);
  assert.ok(found, `no check ${id} in ${JSON.stringify(report?.checks.map((c) => c.id))}`);
  return found;
}

/** A wrapper that records every argv it is run with, then runs the real (double) program. */
function recordingWrapper(
  dir: string,
  name: string,
  target: string,
): { path: string; log: string } {
  const path = join(dir, name);
  const log = join(dir, `${name}.argv`);
  writeFileSync(path, `#!/bin/sh\necho "$*" >> '${log}'\nexec '${target}' "$@"\n`, { mode: 0o755 });
  return { path, log };
}

function writeJson(path: string, value: unknown): string {
  writeFileSync(path, JSON.stringify(value, null, 2));
  return path;
}

/** A client spec for a test host: its own dirs under workDir, status on its address. */
function clientSpec(host: TestHost, workDir: string, extra: Record<string, unknown> = {}) {
  const dir = join(workDir, `${host.name}-doctor`);
  const consul = (extra.consul ?? {}) as Record<string, unknown>;
  return {
    datacenter: 'our_dc',
    role: 'client',
    nodeName: host.name,
    ...extra,
    consul: {
      binary: CONSUL_DOUBLE,
      dataDir: join(dir, 'data'),
      configDir: join(dir, 'consul.d'),
      ...consul,
    },
    proxy: { envoyBinary: ENVOY_DOUBLE, ...((extra.proxy as object) ?? {}) },
    status: { listen: `${host.ip}:9555` },
  };
}

const usersService = {
  name: 'users',
  id: 'users-1',
  port: 8080,
  protocol: 'http',
  sidecar: { upstreams: [{ service: 'todos', localPort: 1234 }] },
};

test('a client next to a running server: every check passes, and only `consul version` and `envoy --version` ever run', async (t) => {
  const bed = await testbed(t, 2);
  const [serverHost, clientHost] = bed.hosts as [TestHost, TestHost];
  const server = bed.start(serverHost, { datacenter: 'our_dc', role: 'server' });
  await server.waitReady(60_000);

  const consul = recordingWrapper(bed.workDir, 'consul', CONSUL_DOUBLE);
  const envoy = recordingWrapper(bed.workDir, 'envoy', ENVOY_DOUBLE);
  const specPath = writeJson(
    join(bed.workDir, 'client.json'),
    clientSpec(clientHost, bed.workDir, {
      consul: { binary: consul.path, retryJoin: [serverHost.ip] },
      proxy: { envoyBinary: envoy.path },
      services: [usersService],
    }),
  );
  const run = await doctorIn(clientHost, specPath);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const report = run.report!;
  assert.deepEqual(
    report.checks.filter((c) => c.status !== 'ok').map((c) => `${c.id}: ${c.found}`),
    [],
  );
  assert.equal(report.node?.address, clientHost.ip);
  assert.match(check(report, 'address').found, new RegExp(`eth0 has ${clientHost.ip}`));
  assert.match(check(report, 'binary.consul').found, /^Consul 1\.10\.12 at /);
  assert.match(check(report, 'binary.envoy').found, /^Envoy 1\.20\.2 at /);
  assert.match(
    check(report, 'binary.pair').found,
    new RegExp(`supported .*xDS.SupportedProxies of the Consul 1.10.12 agent at ${serverHost.ip}`),
  );
  assert.match(check(report, 'join.0').found, new RegExp(`${serverHost.ip}:8301 accepts TCP`));
  assert.match(check(report, 'consul.api').found, /answered/);
  assert.match(check(report, 'clock').found, /behind|ahead of/);
  for (const id of [
    'ports.status',
    'ports.consul',
    'ports.envoy-admin',
    'ports.sidecars',
    'ports.upstreams',
  ]) {
    assert.equal(check(report, id).status, 'ok', id);
  }

  // The two version queries are the only programs doctor ran: never `consul agent`, never
  // `consul connect envoy|proxy`, never Envoy itself.
  assert.deepEqual(readFileSync(consul.log, 'utf8').trim().split('\n'), ['version']);
  assert.deepEqual(readFileSync(envoy.log, 'utf8').trim().split('\n'), ['--version']);

  // The same, as text: one line per check with its mark.
  const text = await doctorIn(clientHost, specPath, { json: false });
  assert.equal(text.code, 0);
  assert.match(text.stdout, /✓ consul: Consul 1\.10\.12/);
  assert.match(text.stdout, /0 ✗ {2}\d+ ! {2}\d+ ✓ {2}-> exit 0/);

  // Run on a node that is up (`docker exec <node> meshvisor doctor`): its own programs hold its
  // ports, which is then a warning, not a failure, and its own agent answers.
  const node = bed.start(clientHost, {
    datacenter: 'our_dc',
    role: 'client',
    consul: { retryJoin: [serverHost.ip] },
    services: [usersService],
    proxy: { envoyBinary: ENVOY_DOUBLE },
  });
  await node.waitReady(60_000);
  const running = await doctorIn(clientHost, join(bed.workDir, `${clientHost.name}.json`));
  assert.equal(running.code, 0, running.stdout);
  const consulPorts = check(running.report, 'ports.consul');
  assert.equal(consulPorts.status, 'warn');
  assert.match(consulPorts.fix ?? '', /this node is running \(its status endpoint answers/);
  assert.match(check(running.report, 'consul.api').found, /this node's agent is running/);
  assert.equal(check(running.report, 'files.config').status, 'ok');
});

test('a busy port, a missing envoy, an unreachable join address: ✗ each, exit 1, within the deadlines', async (t) => {
  const bed = await testbed(t, 2);
  const [serverHost, clientHost] = bed.hosts as [TestHost, TestHost];
  // Nothing answers at .99 of the test subnet: ARP gets no reply, so the connect times out.
  const nowhere = serverHost.ip.replace(/\.\d+$/, '.99');
  // Something holds the client's consul HTTP port on its address.
  const holder = clientHost.spawn(
    process.execPath,
    [
      '-e',
      `require('net').createServer().listen(8500, '${clientHost.ip}', () => console.log('up'))`,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  t.after(() => holder.kill('SIGKILL'));
  await new Promise((resolve) => holder.stdout!.once('data', resolve));

  const specPath = writeJson(
    join(bed.workDir, 'client.json'),
    clientSpec(clientHost, bed.workDir, {
      consul: { retryJoin: [nowhere] },
      proxy: { envoyBinary: join(bed.workDir, 'no-such-envoy') },
      services: [usersService],
    }),
  );
  const run = await doctorIn(clientHost, specPath);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  // 1.5 s deadlines, in parallel: a doctor against addresses that do not answer ends quickly.
  assert.ok(run.ms < 5000, `doctor took ${Math.round(run.ms)} ms`);
  const report = run.report!;

  const ports = check(report, 'ports.consul');
  assert.equal(ports.status, 'fail');
  assert.ok(
    ports.details?.some(
      (d) => d.status === 'fail' && d.text.startsWith(`${clientHost.ip}:8500/tcp`),
    ),
    JSON.stringify(ports.details),
  );
  const envoy = check(report, 'binary.envoy');
  assert.equal(envoy.status, 'fail');
  assert.match(envoy.found, /proxy\.envoyBinary ".*no-such-envoy" is not an executable file/);
  assert.equal(check(report, 'binary.pair').status, 'warn');
  const join0 = check(report, 'join.0');
  assert.equal(join0.status, 'fail');
  assert.match(
    join0.found,
    new RegExp(`${nowhere.replaceAll('.', '\\.')}:8301: (no answer within 1.5 s|no route)`),
  );
  assert.ok(join0.durationMs < 2500, `join check took ${join0.durationMs} ms`);
  // Nothing to ask: the checks that need Consul say so instead of passing.
  assert.equal(check(report, 'consul.api').status, 'warn');
  assert.equal(check(report, 'clock').status, 'warn');
});

test('an eth0 without an IPv4: the address ✗, and the ports on it are not checked (!), not passed', async (t) => {
  buildDoubles();
  const net = await createTestNet(1, { withoutAddress: [0] });
  const workDir = mkdtempSync(join(tmpdir(), 'mv-doctor-'));
  t.after(async () => {
    await net.cleanup();
    rmSync(workDir, { recursive: true, force: true });
  });
  const host = net.hosts[0]!;
  const spec = { ...clientSpec(host, workDir), status: { listen: '127.0.0.1:9555' } };
  const specPath = writeJson(join(workDir, 'spec.json'), {
    ...spec,
    consul: { ...spec.consul, retryJoin: ['10.0.0.1'] },
  });
  const run = await doctorIn(host, specPath);
  assert.equal(run.code, 1);
  const address = check(run.report, 'address');
  assert.equal(address.status, 'fail');
  assert.match(address.found, /eth0 has no IPv4 address \(interfaces here: .*eth0 \(no IPv4\)/);
  assert.equal(run.report?.node?.address, null);
  const consulPorts = check(run.report, 'ports.consul');
  assert.equal(consulPorts.status, 'warn');
  assert.ok(
    consulPorts.details?.some((d) =>
      /not checked: HTTP API \(8500\): no node address/.test(d.text),
    ),
  );
  assert.equal(check(run.report, 'ports.status').status, 'ok');
});

test("ACL tokens: known ones resolve and Consul's authorizer verifies their rights, an unknown one ✗; no secret is printed", async (t) => {
  const bed = await testbed(t, 2);
  const [serverHost, clientHost] = bed.hosts as [TestHost, TestHost];
  const management = randomUUID();
  const server = bed.start(
    serverHost,
    {
      datacenter: 'our_dc',
      role: 'server',
      consul: {
        acl: { tokens: { initialManagement: '${MGMT}', agent: '${MGMT}', meshvisor: '${MGMT}' } },
      },
    },
    { MGMT: management },
  );
  await server.waitReady(60_000);
  const acl = aclApi(serverHost, management);
  const meshvisorToken = await acl.tokenFor('meshvisor-c1', 'meshvisor-client.hcl', {
    NODE_NAME: clientHost.name,
  });
  const usersToken = await acl.token({ service: 'users' });
  const unknownToken = randomUUID();

  const specPath = writeJson(
    join(bed.workDir, 'client.json'),
    clientSpec(clientHost, bed.workDir, {
      consul: {
        retryJoin: [serverHost.ip],
        acl: { tokens: { agent: '${AGENT}', meshvisor: '${MESHVISOR}' } },
      },
      services: [
        { ...usersService, token: '${USERS}' },
        { name: 'todos', id: 'todos-1', port: 9090, token: '${TODOS}' },
      ],
    }),
  );
  const env = {
    AGENT: management,
    MESHVISOR: meshvisorToken,
    USERS: usersToken,
    TODOS: unknownToken,
  };
  const run = await doctorIn(clientHost, specPath, { env });
  assert.equal(run.code, 1, run.stdout + run.stderr);
  const report = run.report!;
  assert.equal(check(report, 'acl').status, 'ok');

  // The management token: global-management holds every right.
  const agent = check(report, 'acl.agent');
  assert.equal(agent.status, 'ok', agent.found);
  assert.match(
    agent.details?.[0]?.text ?? '',
    /node ".*" \{ policy = "write" \}.*global-management/,
  );

  // A policy token (config/acl/meshvisor-client.hcl): it resolves, and Consul's authorizer
  // (POST /v1/internal/acl/authorize, recording 15: the real 1.10.12 and the double alike) allows
  // each right the node needs, so every one is verified.
  const meshvisor = check(report, 'acl.meshvisor');
  assert.equal(meshvisor.status, 'ok', meshvisor.found);
  assert.match(
    meshvisor.found,
    /resolves \(accessor [0-9a-f-]+ "meshvisor-c1"; policies: meshvisor-c1\); (\d+) of \1 rights verified$/,
  );
  const authorized = (c: ReturnType<typeof check>) =>
    assert.ok(
      c.details?.length &&
        c.details.every((d) => d.status === 'ok' && /Consul's authorizer: allowed$/.test(d.text)),
      JSON.stringify(c.details),
    );
  authorized(meshvisor);

  // A service identity: the same authorizer answers for it.
  const users = check(report, 'acl.service:users-1');
  assert.equal(users.status, 'ok', JSON.stringify(users));
  assert.match(users.found, /service identity users\); (\d+) of \1 rights verified$/);
  authorized(users);

  // A token the servers do not know.
  const todos = check(report, 'acl.service:todos-1');
  assert.equal(todos.status, 'fail');
  assert.match(todos.found, /\(services\[1\]\.token\) Consul does not know it: ACL not found/);

  // Origins are shown, secrets never: not in the JSON, not in the text.
  const values = report.spec.values.filter((v) => v.secret);
  assert.deepEqual(
    values.map((v) => [v.path, v.origin, v.value]),
    [
      ['consul.acl.tokens.agent', 'env', undefined],
      ['consul.acl.tokens.meshvisor', 'env', undefined],
      ['services[0].token', 'env', undefined],
      ['services[1].token', 'env', undefined],
    ],
  );
  const text = await doctorIn(clientHost, specPath, { json: false, env });
  assert.match(text.stdout, /consul\.acl\.tokens\.meshvisor\s+\(secret, from \$MESHVISOR\)/);
  for (const secret of [management, meshvisorToken, usersToken, unknownToken]) {
    assert.ok(!run.stdout.includes(secret), 'a secret in the JSON');
    assert.ok(!text.stdout.includes(secret), 'a secret in the text');
  }
});

/**
 * A fresh directory that `uid` can reach (every ancestor searchable by others), or why there is
 * none: os.tmpdir() first, then /tmp. The checkout itself may sit under a 0700 directory.
 */
function dirReachableBy(uid: number): string {
  const reached: string[] = [];
  for (const base of [...new Set([tmpdir(), '/tmp'])]) {
    const dir = mkdtempSync(join(base, 'mv-doctor-'));
    chmodSync(dir, 0o755);
    const probe = spawnSync('/bin/sh', ['-c', 'test -x "$0" && test -r "$0"', dir], {
      uid,
      gid: uid,
    });
    if (probe.status === 0) return dir;
    rmSync(dir, { recursive: true, force: true });
    reached.push(base);
  }
  throw new Error(`uid ${uid} cannot reach a directory under ${reached.join(' or ')}`);
}

/** Copies the bundle and the consul double into `dir`, in their layout: they run from there. */
function copyPrograms(dir: string): { bundle: string; consul: string } {
  const bundle = join(dir, 'meshvisor.mjs');
  copyFileSync(BUNDLE, bundle);
  mkdirSync(join(dir, 'doubles', 'bin'), { recursive: true });
  mkdirSync(join(dir, 'doubles', 'dist'));
  const consul = join(dir, 'doubles', 'bin', 'consul');
  copyFileSync(CONSUL_DOUBLE, consul);
  copyFileSync(
    join(CONSUL_DOUBLE, '..', '..', 'dist', 'consul.mjs'),
    join(dir, 'doubles', 'dist', 'consul.mjs'),
  );
  for (const path of [
    dir,
    join(dir, 'doubles'),
    join(dir, 'doubles', 'bin'),
    join(dir, 'doubles', 'dist'),
  ]) {
    chmodSync(path, 0o755);
  }
  chmodSync(bundle, 0o755);
  chmodSync(consul, 0o755);
  return { bundle, consul };
}

test('a data dir the current user cannot write: ✗ for uid 65534, ✓ for its owner', (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('runs doctor as uid 65534, which takes root');
    return;
  }
  // Everything uid 65534 runs or reads is copied where it can reach it.
  const dir = dirReachableBy(65534);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { bundle, consul } = copyPrograms(dir);
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { mode: 0o755 });
  const specPath = writeJson(join(dir, 'spec.json'), {
    datacenter: 'dc1',
    role: 'server',
    address: { ip: '127.0.0.1' },
    consul: { binary: consul, dataDir, configDir: join(dir, 'config') },
    proxy: { mode: 'builtin' },
  });
  chmodSync(specPath, 0o644);
  const doctor = (uid?: number) => {
    const r = spawnSync(bundle, ['doctor', '--json', '-c', specPath], {
      encoding: 'utf8',
      timeout: 30_000,
      cwd: dir,
      ...(uid === undefined ? {} : { uid, gid: uid }),
    });
    assert.ok(r.stdout.startsWith('{'), `doctor as uid ${uid ?? 'self'}: ${r.stderr}${r.stdout}`);
    return JSON.parse(r.stdout) as DoctorReport;
  };
  const asNobody = check(doctor(65534), 'files.data');
  assert.equal(asNobody.status, 'fail');
  assert.match(asNobody.found, /not writable by uid 65534 \(owner uid 0, mode 0755\)/);
  assert.match(asNobody.fix ?? '', /chown -R 65534/);
  // The config dir does not exist and its parent is not writable for uid 65534 either.
  assert.equal(check(doctor(65534), 'files.config').status, 'fail');
  assert.equal(check(doctor(), 'files.data').status, 'ok');
  assert.equal(check(doctor(), 'files.config').status, 'ok');
});
