// The bad-spec catalogue: each entry is one mistake a user could make, and the exact path the
// problem must be reported at (so `meshvisor validate` points at the right line).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpec, SpecError, type SpecProblem } from '../../src/spec/index.ts';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test documents are mutated freely

function validSpec(): Doc {
  return {
    datacenter: 'dc1',
    role: 'client',
    nodeName: 'node-1',
    address: { ip: '10.0.0.5' },
    consul: { retryJoin: ['10.0.0.1'] },
    services: [
      {
        name: 'users',
        id: 'users-1',
        port: 8080,
        protocol: 'http',
        check: { http: '/health', interval: '5s', timeout: '3s' },
        sidecar: { upstreams: [{ service: 'todos', localPort: 1234 }] },
      },
      { name: 'activities', port: 8081 },
    ],
    gateways: [
      {
        kind: 'ingress',
        name: 'ingress-service',
        port: 8888,
        listeners: [{ port: 80, protocol: 'http', services: ['*'] }],
      },
    ],
    configEntries: [
      { Kind: 'service-intentions', Name: 'todos', Sources: [{ Name: 'users', Action: 'allow' }] },
    ],
  };
}

function problemsOf(doc: Doc): SpecProblem[] {
  try {
    parseSpec(doc);
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
  return [];
}

const tcpListener = (d: Doc) => d.gateways[0].listeners[0];

const catalogue: [name: string, mutate: (d: Doc) => void, path: string, message: RegExp][] = [
  [
    'a typo at the top level',
    (d) => (d.sevices = []),
    'sevices',
    /unknown key \(did you mean services\?\)/,
  ],
  [
    'a typo in a nested key',
    (d) => (d.services[0].sidecar = { upstream: [] }),
    'services[0].sidecar.upstream',
    /did you mean upstreams/,
  ],
  ['no datacenter', (d) => delete d.datacenter, 'datacenter', /^required$/],
  ['an upper-case datacenter', (d) => (d.datacenter = 'DC1'), 'datacenter', /lower-case/],
  ['an unknown role', (d) => (d.role = 'agent'), 'role', /"server"\|"client"/],
  ['a node name with a slash', (d) => (d.nodeName = 'a/b'), 'nodeName', /letters, digits/],
  [
    'address.ip 0.0.0.0',
    (d) => (d.address.ip = '0.0.0.0'),
    'address.ip',
    /cannot advertise 0.0.0.0/,
  ],
  ['address.ip out of range', (d) => (d.address.ip = '10.0.0.256'), 'address.ip', /IPv4/],
  [
    'an unknown address source',
    (d) => (d.address.source = 'dhcp'),
    'address.source',
    /ecs-metadata/,
  ],
  [
    'a port given as a word',
    (d) => (d.services[0].port = 'http'),
    'services[0].port',
    /expected number/,
  ],
  [
    'a port out of range',
    (d) => (d.services[0].port = 70000),
    'services[0].port',
    /between 1 and 65535/,
  ],
  [
    'a service name with quotes',
    (d) => (d.services[0].name = 'us"ers'),
    'services[0].name',
    /letters, digits/,
  ],
  [
    'a service name with {{',
    (d) => (d.services[0].name = '{{users}}'),
    'services[0].name',
    /letters, digits/,
  ],
  [
    'a duplicate service id',
    (d) => (d.services[1].id = 'users-1'),
    'services[1].id',
    /duplicate service id "users-1" \(also services\[0\]\)/,
  ],
  [
    'a bad check interval',
    (d) => (d.services[0].check.interval = '5 seconds'),
    'services[0].check.interval',
    /duration/,
  ],
  [
    'a check path without a slash',
    (d) => (d.services[0].check.http = 'health'),
    'services[0].check.http',
    /path on the service/,
  ],
  [
    'a check URL that is not http',
    (d) => (d.services[0].check.http = 'ftp://x/health'),
    'services[0].check.http',
    /http:\/\/ or https:\/\//,
  ],
  [
    'an unknown service protocol',
    (d) => (d.services[0].protocol = 'https'),
    'services[0].protocol',
    /"tcp"\|"http"/,
  ],
  [
    'an upstream on a service port',
    (d) => (d.services[0].sidecar.upstreams[0].localPort = 8081),
    'services[0].sidecar.upstreams[0].localPort',
    /port 8081 is already taken by service activities \(services\[1\]\.port\)/,
  ],
  [
    'two upstreams on one port',
    (d) => d.services[0].sidecar.upstreams.push({ service: 'b', localPort: 1234 }),
    'services[0].sidecar.upstreams[1].localPort',
    /already taken by the upstream todos of users-1/,
  ],
  [
    'an upstream on the status port',
    (d) => (d.services[0].sidecar.upstreams[0].localPort = 9555),
    'services[0].sidecar.upstreams[0].localPort',
    /status endpoint/,
  ],
  [
    'an upstream on serf LAN',
    (d) => (d.services[0].sidecar.upstreams[0].localPort = 8301),
    'services[0].sidecar.upstreams[0].localPort',
    /serf LAN/,
  ],
  [
    'a service port inside the sidecar range',
    (d) => (d.services[1].port = 21000),
    'services[1].port',
    /inside the sidecar port range 21000-21255/,
  ],
  [
    'a sidecar range upside down',
    (d) => (d.consul.ports = { sidecarMinPort: 21010, sidecarMaxPort: 21000 }),
    'consul.ports.sidecarMaxPort',
    /at least sidecarMinPort/,
  ],
  [
    'a sidecar range too small',
    (d) => {
      d.consul.ports = { sidecarMinPort: 21000, sidecarMaxPort: 21000 };
      d.services[1].sidecar = {};
    },
    'consul.ports.sidecarMaxPort',
    /room for 1 sidecars, not 2/,
  ],
  [
    'a disabled sidecar range with sidecars',
    (d) => (d.consul.ports = { sidecarMinPort: 0, sidecarMaxPort: 0 }),
    'consul.ports.sidecarMinPort',
    /disabled/,
  ],
  [
    'http and grpc on one port',
    (d) => (d.consul.ports = { http: 8500, grpc: 8500 }),
    'consul.ports.grpc',
    /already taken by Consul's HTTP API port/,
  ],
  [
    'a service on the serf LAN port that extraConfig moved there',
    (d) => (d.consul.extraConfig = { ports: { serf_lan: 8080 } }),
    'services[0].port',
    /already taken by Consul's serf LAN port \(consul\.extraConfig\.ports\.serf_lan\)/,
  ],
  [
    'server settings on a client',
    (d) => (d.consul.server = { bootstrapExpect: 1 }),
    'consul.server',
    /only allowed with role: server/,
  ],
  [
    'a client with nothing to join',
    (d) => (d.consul.retryJoin = []),
    'consul.retryJoin',
    /at least one server address/,
  ],
  [
    'three servers that cannot find each other',
    (d) => Object.assign(d, { role: 'server', consul: { server: { bootstrapExpect: 3 } } }),
    'consul.retryJoin',
    /bootstrapExpect is 3/,
  ],
  [
    'a gossip key that is not base64',
    (d) => (d.consul.encrypt = 'not a key'),
    'consul.encrypt',
    /base64 of 32 bytes/,
  ],
  [
    'a gossip key of 16 bytes',
    (d) => (d.consul.encrypt = Buffer.alloc(16, 1).toString('base64')),
    'consul.encrypt',
    /base64 of 32 bytes/,
  ],
  [
    'the ACL token field of earlier releases',
    (d) => (d.consul.aclToken = 'secret'),
    'consul.aclToken',
    /^replaced by consul\.acl\.tokens\.agent .*docs\/acl\.md/,
  ],
  [
    'ACLs with default deny and no agent token',
    (d) => (d.consul.acl = { tokens: { meshvisor: 'm' } }),
    'consul.acl.tokens.agent',
    /required with defaultPolicy deny/,
  ],
  [
    'a client holding the bootstrap management token',
    (d) => (d.consul.acl = { tokens: { agent: 'a', initialManagement: 'm' } }),
    'consul.acl.tokens.initialManagement',
    /only servers bootstrap ACLs/,
  ],
  [
    'a service token without ACLs',
    (d) => (d.services[0].token = 't'),
    'services[0].token',
    /needs consul\.acl/,
  ],
  [
    'a gateway token without ACLs',
    (d) => (d.gateways[0].token = 't'),
    'gateways[0].token',
    /needs consul\.acl/,
  ],
  [
    'an ACL default policy that is not allow or deny',
    (d) => (d.consul.acl = { defaultPolicy: 'block', tokens: { agent: 'a' } }),
    'consul.acl.defaultPolicy',
    /allow.*deny/,
  ],
  [
    'a certificate without its key',
    (d) => (d.consul.tls = { caFile: '/ca.pem', certFile: '/c.pem' }),
    'consul.tls.keyFile',
    /required when certFile is set/,
  ],
  [
    'verification without a CA',
    (d) => (d.consul.tls = { verifyOutgoing: true }),
    'consul.tls.caFile',
    /required when verifyIncoming or verifyOutgoing/,
  ],
  [
    'a retry interval without a unit',
    (d) => (d.consul.retryInterval = '30'),
    'consul.retryInterval',
    /duration/,
  ],
  [
    'a version that is not a version',
    (d) => (d.consul.version = 'latest'),
    'consul.version',
    /"1.10"/,
  ],
  [
    'extraConfig overriding a modeled key',
    (d) => (d.consul.extraConfig = { ports: { grpc: 8503 } }),
    'consul.extraConfig.ports.grpc',
    /sets ports.grpc from consul.ports.grpc/,
  ],
  [
    'extraConfig adding services',
    (d) => (d.consul.extraConfig = { services: [] }),
    'consul.extraConfig.services',
    /from services/,
  ],
  [
    'a listener on the gateway port',
    (d) => (d.gateways[0].listeners[0].port = 8888),
    'gateways[0].listeners[0].port',
    /already taken by gateway ingress-service/,
  ],
  [
    'a tcp listener for every service',
    (d) => (tcpListener(d).protocol = 'tcp'),
    'gateways[0].listeners[0].services[0].name',
    /needs a named service, not "\*"/,
  ],
  [
    'a tcp listener with two services',
    (d) => Object.assign(tcpListener(d), { protocol: 'tcp', services: ['users', 'todos'] }),
    'gateways[0].listeners[0].services',
    /exactly one service/,
  ],
  [
    'a tcp listener with hosts',
    (d) =>
      Object.assign(tcpListener(d), {
        protocol: 'tcp',
        services: [{ name: 'users', hosts: ['users.example.com'] }],
      }),
    'gateways[0].listeners[0].services[0].hosts',
    /takes no hosts/,
  ],
  [
    'an unknown listener protocol',
    (d) => (tcpListener(d).protocol = 'udp'),
    'gateways[0].listeners[0].protocol',
    /"tcp"\|"http"/,
  ],
  [
    'a wildcard host not leftmost',
    (d) => (tcpListener(d).services = [{ name: 'users', hosts: ['users.*.example.com'] }]),
    'gateways[0].listeners[0].services[0].hosts[0]',
    /leftmost label/,
  ],
  [
    'a listener service that is a number',
    (d) => (tcpListener(d).services = [42]),
    'gateways[0].listeners[0].services[0]',
    /Invalid input/,
  ],
  [
    'a listener protocol that does not match the service',
    (d) => Object.assign(tcpListener(d), { protocol: 'grpc', services: ['users'] }),
    'gateways[0].listeners[0].services[0].name',
    /users has protocol http \(services\[0\]\.protocol\)/,
  ],
  [
    'an unknown gateway kind',
    (d) => (d.gateways[0].kind = 'mesh'),
    'gateways[0].kind',
    /"ingress"/,
  ],
  [
    'a gateway named like a service',
    (d) => (d.gateways[0].name = 'users-1'),
    'gateways[0].name',
    /already the id of services\[0\]/,
  ],
  [
    'an Envoy admin port on a service port',
    (d) => (d.proxy = { adminPortBase: 8080 }),
    'proxy.adminPortBase',
    /port 8080 is already taken by service users-1/,
  ],
  [
    'an unknown config entry kind',
    (d) => (d.configEntries[0].Kind = 'service-foo'),
    'configEntries[0].Kind',
    /"proxy-defaults"/,
  ],
  [
    'a config entry without a Name',
    (d) => delete d.configEntries[0].Name,
    'configEntries[0].Name',
    /^required$/,
  ],
  [
    'proxy-defaults not named global',
    (d) => d.configEntries.push({ Kind: 'proxy-defaults', Name: 'users' }),
    'configEntries[1].Name',
    /must be named "global"/,
  ],
  [
    'an intention that permits',
    (d) => (d.configEntries[0].Sources[0].Action = 'permit'),
    'configEntries[0].Sources[0].Action',
    /"allow" or "deny"/,
  ],
  [
    'a service-defaults entry with a bad protocol',
    (d) => d.configEntries.push({ Kind: 'service-defaults', Name: 'todos', Protocol: 'https' }),
    'configEntries[1].Protocol',
    /tcp, http, http2, grpc/,
  ],
  [
    'an entry duplicating a generated one',
    (d) => d.configEntries.push({ Kind: 'service-defaults', Name: 'users', Protocol: 'http' }),
    'configEntries[1].Name',
    /meshvisor writes it from services\[0\]\.protocol/,
  ],
  [
    'two equal spec entries',
    (d) => d.configEntries.push({ ...d.configEntries[0] }),
    'configEntries[1].Name',
    /already defined at configEntries\[0\]/,
  ],
  [
    'a bad status address',
    (d) => (d.status = { listen: 'localhost' }),
    'status.listen',
    /expected IPv4:PORT \(127\.0\.0\.1:9555\) or \[IPv6\]:PORT/,
  ],
  [
    'a hostname as the status address (the endpoint binds an IP)',
    (d) => (d.status = { listen: 'localhost:9555' }),
    'status.listen',
    /"localhost" is a hostname/,
  ],
  [
    'status port 0',
    (d) => (d.status = { listen: '127.0.0.1:0' }),
    'status.listen',
    /between 1 and 65535/,
  ],
  [
    'a drain longer than the stop',
    (d) => (d.timeouts = { stopSeconds: 5, drainSeconds: 5 }),
    'timeouts.drainSeconds',
    /shorter than timeouts.stopSeconds/,
  ],
];

test('the catalogue base spec is valid', () => {
  assert.deepEqual(problemsOf(validSpec()), []);
});

test('the catalogue has at least 30 bad specs', () => {
  assert.ok(catalogue.length >= 30, `${catalogue.length} entries`);
});

for (const [name, mutate, path, message] of catalogue) {
  test(`bad spec: ${name} -> ${path}`, () => {
    const doc = validSpec();
    mutate(doc);
    const problems = problemsOf(doc);
    const listing = problems.map((p) => `${p.path}: ${p.message}`).join('\n');
    assert.ok(
      problems.some((p) => p.path === path && message.test(p.message)),
      `expected ${path}: ${message}\ngot:\n${listing}`,
    );
  });
}

test('every problem is reported at once, field problems before anything else', () => {
  const doc = validSpec();
  doc.services[0].port = 'x';
  doc.gateways[0].kind = 'mesh';
  doc.extra = true;
  const paths = problemsOf(doc).map((p) => p.path);
  assert.deepEqual(paths.sort(), ['extra', 'gateways[0].kind', 'services[0].port']);
});
