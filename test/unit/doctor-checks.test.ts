// Each doctor check on its own, passing and failing: binaries (fake programs), the node address
// (a fake interface table, a local ECS metadata server), ports (a port held here), joins,
// directories, the clock (synthetic and from a Date header), and the Consul API view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetworkInterfaceInfo } from 'node:os';
import { checkAddress } from '../../src/doctor/address.ts';
import {
  checkConsulBinary,
  checkEnvoyBinary,
  checkPair,
  versionQueryEnv,
} from '../../src/doctor/binaries.ts';
import { checkClock } from '../../src/doctor/clock.ts';
import { checkConsulApi, probeAgents, type AgentProbe } from '../../src/doctor/consul-api.ts';
import {
  checkConfigDir,
  checkDataDir,
  checkTlsFiles,
  writableDir,
} from '../../src/doctor/files.ts';
import { parseJoinEntry } from '../../src/consul/join.ts';
import { checkJoinEntry } from '../../src/doctor/join.ts';
import { checkPortGroup, portGroups } from '../../src/doctor/ports.ts';
import type { InterfaceReader } from '../../src/net/index.ts';
import { parseSpec, type NodeSpec } from '../../src/spec/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'mv-doctor-checks-'));

function spec(overrides: Record<string, unknown> = {}): NodeSpec {
  return parseSpec({ datacenter: 'dc1', role: 'server', nodeName: 'n1', ...overrides });
}

/** An executable script in the test dir. */
function program(name: string, body: string, mode = 0o755): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode });
  chmodSync(path, mode);
  return path;
}

const env = { PATH: process.env.PATH ?? '' };

test('consul binary: missing, not executable, failing, too old, and found with its version', async () => {
  const missing = await checkConsulBinary(spec({ consul: { binary: 'no-such-consul' } }), env);
  assert.equal(missing.result.status, 'fail');
  assert.match(
    missing.result.found,
    /consul\.binary "no-such-consul" is not an executable file on PATH/,
  );

  const plain = program('plain-consul', 'echo Consul v1.10.12', 0o644);
  const notExecutable = await checkConsulBinary(spec({ consul: { binary: plain } }), env);
  assert.equal(notExecutable.result.status, 'fail');
  assert.match(notExecutable.result.found, /is not an executable file$/);

  const broken = program('broken-consul', 'echo "boom: bad things" >&2; exit 3');
  const failing = await checkConsulBinary(spec({ consul: { binary: broken } }), env);
  assert.equal(failing.result.status, 'fail');
  assert.match(failing.result.found, /`consul version` exited 3: boom: bad things/);

  const old = program('old-consul', 'echo Consul v1.8.19');
  const tooOld = await checkConsulBinary(spec({ consul: { binary: old } }), env);
  assert.equal(tooOld.result.status, 'fail');
  assert.match(tooOld.result.fix ?? '', /Consul 1\.10 and later/);

  const good = program('consul', 'echo "Consul v1.10.12"; echo "Revision 9e7a6b8d"');
  const ok = await checkConsulBinary(spec({ consul: { binary: good } }), env);
  assert.equal(ok.result.status, 'ok');
  assert.deepEqual(ok.info, { path: good, version: '1.10.12' });
});

test('consul binary against consul.version: keys the binary rejects ✗, deprecated ones !', async () => {
  const consul110 = program('consul-110', 'echo Consul v1.10.12');
  const consul122 = program('consul-122', 'echo Consul v1.22.7');
  const tls = { caFile: '/ca.pem', verifyOutgoing: true };
  const rejects = await checkConsulBinary(
    spec({ consul: { binary: consul110, version: '1.14', tls } }),
    env,
  );
  assert.equal(rejects.result.status, 'fail');
  assert.match(rejects.result.found, /renders tls\.defaults, which Consul 1\.10 does not know/);
  const deprecated = await checkConsulBinary(
    spec({
      consul: { binary: consul122, acl: { tokens: { initialManagement: 'x', agent: 'y' } } },
    }),
    env,
  );
  assert.equal(deprecated.result.status, 'warn');
  assert.match(deprecated.result.fix ?? '', /consul\.version: "1\.22"/);
  // Nothing in this spec depends on the version: no finding.
  const same = await checkConsulBinary(spec({ consul: { binary: consul122 } }), env);
  assert.equal(same.result.status, 'ok');
});

test('a version query that hangs is cut off with everything it started, and reported', async () => {
  // A child of its own holds the output pipe too: the whole group goes at the deadline.
  const hangs = program('hanging-consul', 'sleep 30 &\nsleep 30');
  const started = Date.now();
  const result = await checkConsulBinary(spec({ consul: { binary: hangs } }), env);
  assert.equal(result.result.status, 'fail');
  assert.match(result.result.found, /did not answer within 3 s/);
  assert.ok(Date.now() - started < 5000);
});

test("a version query's environment carries no secret of the spec and no CONSUL_HTTP_TOKEN", () => {
  const s = spec({ consul: { acl: { tokens: { agent: 'agent-secret-1' } } } });
  const cleaned = versionQueryEnv(s, {
    PATH: '/bin',
    AGENT: 'agent-secret-1',
    MESHVISOR_CONFIG_JSON: '{"x":"agent-secret-1"}',
    CONSUL_HTTP_TOKEN: 'other',
    HOME: '/root',
  });
  assert.deepEqual(cleaned, { PATH: '/bin', HOME: '/root' });
});

test('envoy binary: not needed in builtin mode, its version, and missing', async () => {
  const sidecar = { services: [{ name: 'a', port: 80, sidecar: {} }] };
  const builtin = await checkEnvoyBinary(spec({ ...sidecar, proxy: { mode: 'builtin' } }), env);
  assert.deepEqual(builtin.result, {
    status: 'ok',
    found: 'not needed: proxy.mode builtin and no gateways',
  });
  const envoy = program('envoy', 'echo "envoy  version: 5d2c6/1.20.2/Clean/RELEASE/BoringSSL"');
  const found = await checkEnvoyBinary(spec({ ...sidecar, proxy: { envoyBinary: envoy } }), env);
  assert.equal(found.result.status, 'ok');
  assert.equal(found.info.version, '1.20.2');
  const missing = await checkEnvoyBinary(
    spec({ ...sidecar, proxy: { envoyBinary: '/nope/envoy' } }),
    env,
  );
  assert.equal(missing.result.status, 'fail');
  assert.match(
    missing.result.found,
    /proxy\.envoyBinary "\/nope\/envoy" is not an executable file$/,
  );
});

test('consul + envoy: the matrix, an agent that says what it supports, and pairs that do not fit', () => {
  const s = spec({ services: [{ name: 'a', port: 80, sidecar: {} }] });
  const consul = (version: string) => ({ path: '/c', version });
  const envoy = (version: string) => ({ path: '/e', version });
  const ok = checkPair(s, consul('1.10.12'), envoy('1.18.3'), []);
  assert.equal(ok.status, 'ok');
  assert.match(ok.found, /from the matrix in docs\/images\.md/);
  const refused = checkPair(s, consul('1.22.7'), envoy('1.20.2'), []);
  assert.equal(refused.status, 'fail');
  assert.match(refused.found, /`consul connect envoy` refuses it/);
  // A running agent of the same version is asked first.
  const agent = { addr: '10.0.0.2:8500', consulVersion: '1.10.12', envoy: ['1.19.1'] };
  const fromAgent = checkPair(s, consul('1.10.12'), envoy('1.19.1'), [agent]);
  assert.equal(fromAgent.status, 'ok');
  assert.match(
    fromAgent.found,
    /xDS\.SupportedProxies of the Consul 1\.10\.12 agent at 10\.0\.0\.2:8500/,
  );
  const unknownLine = checkPair(s, consul('1.19.0'), envoy('1.29.0'), []);
  assert.equal(unknownLine.status, 'warn');
  assert.equal(checkPair(s, consul('1.10.12'), { path: null, version: null }, []).status, 'warn');
  // Consul 1.10's name-only filters: Envoy 1.36 serves with `run`'s override, 1.39 cannot.
  const overridden = checkPair(s, consul('1.10.12'), envoy('1.36.4'), []);
  assert.equal(overridden.status, 'warn');
  assert.match(overridden.found, /no_extension_lookup_by_name=false/);
  const impossible = checkPair(s, consul('1.10.12'), envoy('1.39.0'), []);
  assert.equal(impossible.status, 'fail');
  assert.match(impossible.fix ?? '', /use an Envoy from 1\.22 to 1\.38/);
});

function reader(
  table: Record<string, { address: string; family: 'IPv4' | 'IPv6' }[]>,
  names: string[] = [],
): InterfaceReader {
  return {
    addresses: () =>
      Object.fromEntries(
        Object.entries(table).map(([name, infos]) => [
          name,
          infos.map(
            (i) =>
              ({ ...i, netmask: '', mac: '', internal: false, cidr: null }) as NetworkInterfaceInfo,
          ),
        ]),
      ),
    names: () => names,
  };
}

test('node address: an interface with an IPv4, none, one without, link-local only, an ip that is not ours', async () => {
  const table = reader(
    {
      lo: [{ address: '127.0.0.1', family: 'IPv4' }],
      eth0: [{ address: '10.0.0.5', family: 'IPv4' }],
    },
    ['lo', 'eth0', 'eth1'],
  );
  const ok = await checkAddress(spec(), {}, table);
  assert.deepEqual(
    [ok.address, ok.result.status, ok.result.found],
    ['10.0.0.5', 'ok', 'eth0 has 10.0.0.5'],
  );
  const none = await checkAddress(spec({ address: { interface: 'ens5' } }), {}, table);
  assert.equal(none.result.status, 'fail');
  assert.match(
    none.result.found,
    /there is no interface ens5 \(interfaces here: lo \(127\.0\.0\.1\), eth0 \(10\.0\.0\.5\), eth1 \(no IPv4\)\)/,
  );
  const bare = await checkAddress(spec({ address: { interface: 'eth1' } }), {}, table);
  assert.match(bare.result.found, /^eth1 has no IPv4 address/);
  assert.match(bare.result.fix ?? '', /waits up to address\.waitSeconds \(30 s\)/);
  const linkLocal = await checkAddress(
    spec(),
    {},
    reader({ eth0: [{ address: '169.254.3.4', family: 'IPv4' }] }),
  );
  assert.match(linkLocal.result.found, /only the link-local 169\.254\.3\.4/);
  const notOurs = await checkAddress(spec({ address: { ip: '10.9.9.9' } }), {}, table);
  assert.equal(notOurs.result.status, 'fail');
  assert.match(notOurs.result.found, /address\.ip 10\.9\.9\.9 is not an address of this machine/);
  const ours = await checkAddress(spec({ address: { ip: '10.0.0.5' } }), {}, table);
  assert.equal(ours.result.status, 'ok');
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

test('node address from ECS task metadata: the awsvpc IPv4, another network mode, no variable', async (t) => {
  let mode = 'awsvpc';
  const server = createServer((_req, res) => {
    res.end(
      JSON.stringify({
        Containers: [{ Networks: [{ NetworkMode: mode, IPv4Addresses: ['10.1.2.3'] }] }],
      }),
    );
  });
  const port = await listen(server);
  t.after(() => server.close());
  const ecs = spec({ address: { source: 'ecs-metadata' } });
  const metadataEnv = { ECS_CONTAINER_METADATA_URI_V4: `http://127.0.0.1:${port}/v4/abc` };
  const ok = await checkAddress(ecs, metadataEnv);
  assert.deepEqual(
    [ok.address, ok.result.found],
    ['10.1.2.3', 'task IPv4 10.1.2.3 from the ECS task metadata'],
  );
  mode = 'host';
  const host = await checkAddress(ecs, metadataEnv);
  assert.equal(host.result.status, 'fail');
  assert.match(host.result.found, /needs the awsvpc network mode, but the task uses host/);
  const unset = await checkAddress(ecs, {});
  assert.match(unset.result.found, /needs \$ECS_CONTAINER_METADATA_URI_V4, which is not set/);
});

test('ports: free, held by another program (✗), held while this node runs (!), an address not here (✗)', async (t) => {
  const holder = createTcpServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.after(() => holder.close());
  const busy = (holder.address() as AddressInfo).port;
  const group = (listen: string) =>
    portGroups({ spec: spec({ status: { listen } }), address: null })[0]!;

  const spare = createTcpServer();
  await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
  const freePort = (spare.address() as AddressInfo).port;
  await new Promise((resolve) => spare.close(resolve));
  const free = await checkPortGroup(group(`127.0.0.1:${freePort}`), null);
  assert.equal(free.status, 'ok');
  const held = await checkPortGroup(group(`127.0.0.1:${busy}`), null);
  assert.equal(held.status, 'fail');
  assert.match(held.found, new RegExp(`${busy}/tcp in use`));
  assert.match(held.fix ?? '', /ss -ltnup/);
  const running = await checkPortGroup(group(`127.0.0.1:${busy}`), 'http://127.0.0.1:9555');
  assert.equal(running.status, 'warn');
  assert.match(running.details?.[0]?.text ?? '', /presumably by this running node/);
  const elsewhere = await checkPortGroup(group('198.51.100.44:9555'), null);
  assert.equal(elsewhere.status, 'fail');
  assert.match(elsewhere.found, /the address is not on this machine/);
});

test('ports: what a spec binds, where (client vs server, extraConfig ports, admin ports, the sidecar range, gateways)', () => {
  const client = spec({
    role: 'client',
    consul: { retryJoin: ['10.0.0.2'], extraConfig: { ports: { dns: -1, serf_lan: 8311 } } },
    services: [
      { name: 'a', port: 8080, sidecar: { upstreams: [{ service: 'b', localPort: 1234 }] } },
      { name: 'c', port: 8081, sidecar: {} },
    ],
    gateways: [
      { kind: 'ingress', name: 'in', port: 8888, listeners: [{ port: 8443, services: ['a'] }] },
    ],
  });
  const groups = portGroups({ spec: client, address: '10.0.0.5' });
  const binds = (id: string) =>
    groups.find((g) => g.id === id)!.binds.map((b) => `${b.host}:${b.port}/${b.protocol}`);
  assert.deepEqual(binds('ports.consul'), [
    '10.0.0.5:8500/tcp',
    '10.0.0.5:8502/tcp',
    '10.0.0.5:8311/tcp',
    '10.0.0.5:8311/udp',
  ]);
  assert.deepEqual(binds('ports.envoy-admin'), [
    '127.0.0.1:19000/tcp',
    '127.0.0.1:19001/tcp',
    '127.0.0.1:19002/tcp',
  ]);
  assert.deepEqual(binds('ports.sidecars'), ['0.0.0.0:21000/tcp', '0.0.0.0:21001/tcp']);
  assert.deepEqual(binds('ports.upstreams'), ['127.0.0.1:1234/tcp']);
  assert.deepEqual(binds('ports.gateways'), ['10.0.0.5:8888/tcp', '0.0.0.0:8443/tcp']);
  const server = portGroups({ spec: spec(), address: '10.0.0.2', consulLine: '1.22' });
  assert.deepEqual(
    server
      .find((g) => g.id === 'ports.consul')!
      .binds.map((b) => `${b.what} ${b.host}:${b.port}/${b.protocol}`),
    [
      'HTTP API 0.0.0.0:8500/tcp',
      'gRPC (xDS) 0.0.0.0:8502/tcp',
      'DNS 0.0.0.0:8600/tcp',
      'DNS 0.0.0.0:8600/udp',
      'gRPC TLS 0.0.0.0:8503/tcp',
      'serf LAN 10.0.0.2:8301/tcp',
      'serf LAN 10.0.0.2:8301/udp',
      'serf WAN 10.0.0.2:8302/tcp',
      'serf WAN 10.0.0.2:8302/udp',
      'server RPC 10.0.0.2:8300/tcp',
    ],
  );
});

test('join addresses: accepting TCP, refused, a name that does not resolve, cloud auto-join', async (t) => {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const ok = await checkJoinEntry(`127.0.0.1:${port}`, 8301);
  assert.equal(ok.status, 'ok');
  assert.match(
    ok.found,
    new RegExp(`127\\.0\\.0\\.1:${port} accepts TCP \\(\\d+ ms\\); UDP not probed`),
  );
  server.close();
  const refused = await checkJoinEntry(`127.0.0.1:${port}`, 8301);
  assert.equal(refused.status, 'fail');
  assert.match(refused.found, /connection refused/);
  assert.match(refused.fix ?? '', /Consul server running there/);
  const unknown = await checkJoinEntry('no-such-host.invalid', 8301);
  assert.equal(unknown.status, 'fail');
  assert.match(unknown.found, /no-such-host\.invalid: the name does not resolve/);
  const self = await checkJoinEntry(`127.0.0.1:${port}`, 8301, new Set(['127.0.0.1']));
  assert.deepEqual(self, { status: 'ok', found: '127.0.0.1 is this machine: nothing to reach' });
  const cloud = await checkJoinEntry('provider=aws tag_key=consul tag_value=server', 8301);
  assert.equal(cloud.status, 'warn');
  assert.deepEqual(parseJoinEntry('[fd00::2]:8311', 8301), {
    entry: '[fd00::2]:8311',
    host: 'fd00::2',
    port: 8311,
  });
  assert.deepEqual(parseJoinEntry('consul-server', 8311), {
    entry: 'consul-server',
    host: 'consul-server',
    port: 8311,
  });
});

test('directories: writable, to be created, a file in the way; other config files Consul would read; TLS files', async () => {
  const base = mkdtempSync(join(dir, 'dirs-'));
  const data = join(base, 'data');
  mkdirSync(data);
  assert.deepEqual(await writableDir(data), { ok: true, exists: true, at: data });
  assert.deepEqual(await writableDir(join(base, 'new', 'deeper')), {
    ok: true,
    exists: false,
    at: base,
  });
  writeFileSync(join(base, 'file'), '');
  const blocked = await writableDir(join(base, 'file', 'data'));
  assert.equal(blocked.ok, false);
  const s = spec({
    consul: { dataDir: join(base, 'file', 'data'), configDir: join(base, 'consul.d') },
  });
  const dataCheck = await checkDataDir(s);
  assert.equal(dataCheck.status, 'fail');
  assert.match(dataCheck.found, /is not a directory/);
  assert.equal((await checkConfigDir(s, null)).status, 'ok');
  mkdirSync(join(base, 'consul.d'));
  writeFileSync(join(base, 'consul.d', 'consul.hcl'), 'server = true\n');
  const others = await checkConfigDir(s, null);
  assert.equal(others.status, 'warn');
  assert.match(others.found, /consul also reads consul\.hcl there, merged with meshvisor\.json/);

  writeFileSync(join(base, 'ca.pem'), 'x');
  const tls = await checkTlsFiles(
    spec({
      consul: {
        tls: {
          caFile: join(base, 'ca.pem'),
          certFile: join(base, 'no.pem'),
          keyFile: join(base, 'key.pem'),
        },
      },
    }),
  );
  assert.equal(tls.status, 'fail');
  assert.deepEqual(
    tls.details?.map((d) => d.status),
    ['ok', 'fail', 'fail'],
  );
});

function probe(overrides: Partial<AgentProbe>): AgentProbe {
  return {
    addr: '10.0.0.2:8500',
    host: '10.0.0.2',
    which: 'join address',
    leader: '10.0.0.2:8300',
    ...overrides,
  };
}

test('clock: in step, a few seconds off (!), more than a minute behind (✗), ahead (!), nothing to compare with (!)', () => {
  const local = new Set(['10.0.0.5']);
  const at = (offsetMs: number) => [probe({ clock: { offsetMs, uncertaintyMs: 600 } })];
  assert.equal(checkClock(at(300), local).status, 'ok');
  assert.equal(checkClock(at(-8_000), local).status, 'warn');
  const behind = checkClock(at(90_000), local);
  assert.equal(behind.status, 'fail');
  assert.match(behind.found, /90\.0 s behind the server at 10\.0\.0\.2:8500/);
  assert.match(behind.fix ?? '', /one minute before the server's time/);
  assert.equal(checkClock(at(-90_000), local).status, 'warn');
  // This node's own agent shares this machine's clock: it is no reference.
  const own = [
    probe({
      which: 'this node',
      host: '10.0.0.5',
      addr: '10.0.0.5:8500',
      clock: { offsetMs: 0, uncertaintyMs: 500 },
    }),
  ];
  assert.equal(checkClock(own, local).status, 'warn');
});

test("the clock sample comes from a server's Date header; the Consul API view names each agent", async (t) => {
  const server = createServer((req, res) => {
    const date = new Date(Date.now() - 120_000).toUTCString();
    res.setHeader('Date', date);
    res.setHeader('X-Consul-Default-Acl-Policy', 'allow');
    if (req.url === '/v1/status/leader') res.end('"127.0.0.1:8300"');
    else
      res.end(
        JSON.stringify({
          Config: { NodeName: 's1', Datacenter: 'dc2', Version: '1.10.12', Server: true },
          xDS: { SupportedProxies: { envoy: ['1.20.2'] } },
        }),
      );
  });
  const port = await listen(server);
  t.after(() => server.close());
  const s = spec({ role: 'client', consul: { retryJoin: ['127.0.0.1'], ports: { http: port } } });
  const probes = await probeAgents(s, null, new Set());
  assert.equal(probes.length, 1);
  const [p] = probes;
  assert.equal(p?.leader, '127.0.0.1:8300');
  assert.deepEqual(p?.self, {
    nodeName: 's1',
    datacenter: 'dc2',
    version: '1.10.12',
    server: true,
    envoy: ['1.20.2'],
  });
  assert.ok(Math.abs((p?.clock?.offsetMs ?? 0) + 120_000) <= (p?.clock?.uncertaintyMs ?? 0) + 1000);
  const clock = checkClock(probes, new Set());
  assert.equal(clock.status, 'warn');
  assert.match(clock.found, /ahead of the server/);
  // An agent of another datacenter is a failure.
  const api = checkConsulApi(s, probes);
  assert.equal(api.status, 'fail');
  assert.match(api.details?.[0]?.text ?? '', /datacenter dc2/);
  const none = checkConsulApi(s, [probe({ error: 'ECONNREFUSED', leader: undefined })]);
  assert.equal(none.status, 'warn');
});

test('ports: an Envoy admin port, the first port of the sidecar range, an upstream and a gateway listener, each held (✗)', async (t) => {
  const held = await Promise.all(
    [0, 1, 2, 3].map(async () => {
      const server = createTcpServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      t.after(() => server.close());
      return (server.address() as AddressInfo).port;
    }),
  );
  const [admin, sidecar, upstream, listener] = held as [number, number, number, number];
  const s = spec({
    role: 'client',
    consul: {
      retryJoin: ['10.0.0.2'],
      ports: { sidecarMinPort: sidecar, sidecarMaxPort: sidecar + 1 },
    },
    services: [
      { name: 'a', port: 8080, sidecar: { upstreams: [{ service: 'b', localPort: upstream }] } },
    ],
    gateways: [
      { kind: 'ingress', name: 'in', port: 8888, listeners: [{ port: listener, services: ['a'] }] },
    ],
    proxy: { adminPortBase: admin },
  });
  const groups = portGroups({ spec: s, address: '127.0.0.1' });
  for (const id of ['ports.envoy-admin', 'ports.sidecars', 'ports.upstreams', 'ports.gateways']) {
    const result = await checkPortGroup(
      groups.find((g) => g.id === id)!,
      null,
    );
    assert.equal(result.status, 'fail', `${id}: ${result.found}`);
    assert.match(result.found, /in use/, id);
  }
});

test('TLS files that are all there: ✓', async () => {
  const base = mkdtempSync(join(dir, 'tls-'));
  for (const name of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(base, name), 'x');
  const tls = await checkTlsFiles(
    spec({
      consul: {
        tls: {
          caFile: join(base, 'ca.pem'),
          certFile: join(base, 'cert.pem'),
          keyFile: join(base, 'key.pem'),
        },
      },
    }),
  );
  assert.deepEqual([tls.status, tls.found], ['ok', '3 files readable']);
});
