// renderNode beyond the examples, writeRenderedFiles (modes, atomic replace, stale files), and
// the generated templates module staying in step with config/templates/*.hbs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSpec, type NodeSpecInput } from '../../src/spec/index.ts';
import { renderNode, writeRenderedFiles } from '../../src/render/index.ts';
import { GENERATED_MODULE, generateTemplatesModule } from '../../config/templates/generate.ts';

const KEY = 'pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s=';

function render(input: Partial<NodeSpecInput>, configDir = '/etc/consul.d') {
  const spec = parseSpec({
    datacenter: 'dc1',
    role: 'server',
    nodeName: 'n1',
    ...input,
    consul: { configDir, ...input.consul },
  });
  return renderNode(spec, '10.0.0.5');
}

function agentConfig(input: Partial<NodeSpecInput>): Record<string, unknown> {
  return JSON.parse(render(input).files[0]?.contents ?? '');
}

test('agentArgs point consul at the config dir; the agent file is meshvisor.json in it', () => {
  const { agentArgs, files } = render({}, '/cfg');
  assert.deepEqual(agentArgs, ['agent', '-config-dir', '/cfg']);
  assert.deepEqual(
    files.map((f) => [f.path, f.relativePath, f.mode]),
    [['/cfg/meshvisor.json', 'meshvisor.json', 0o644]],
  );
});

test('a gossip key or an ACL token makes the agent file 0600', () => {
  assert.equal(render({ consul: { encrypt: KEY } }).files[0]?.mode, 0o600);
  const acl = { tokens: { agent: 'agent-secret' } };
  assert.equal(render({ consul: { acl } }).files[0]?.mode, 0o600);
  assert.deepEqual(agentConfig({ consul: { acl } }).acl, {
    enabled: true,
    default_policy: 'deny',
    tokens: { agent: 'agent-secret' },
  });
});

test("ACL token keys as the agent's version spells them: 1.10 master/agent_master, 1.11+ initial_management/agent_recovery", () => {
  const tokens = {
    initialManagement: 'mgmt',
    agentRecovery: 'recovery',
    agent: 'agent',
    default: 'anon',
  };
  assert.deepEqual(agentConfig({ consul: { acl: { tokens } } }).acl, {
    enabled: true,
    default_policy: 'deny',
    tokens: { master: 'mgmt', agent_master: 'recovery', agent: 'agent', default: 'anon' },
  });
  const later = agentConfig({
    consul: { version: '1.11', acl: { tokens, defaultPolicy: 'allow' } },
  });
  assert.deepEqual(later.acl, {
    enabled: true,
    default_policy: 'allow',
    tokens: {
      initial_management: 'mgmt',
      agent_recovery: 'recovery',
      agent: 'agent',
      default: 'anon',
    },
  });
});

test('each service registers with its own token, else tokens.service, else the meshvisor token, else the agent token', () => {
  const services = [
    { name: 'a', port: 8080, token: 'a-token', sidecar: {} },
    { name: 'b', port: 8081 },
  ];
  const tokenOf = (tokens: Record<string, string>) =>
    (agentConfig({ consul: { acl: { tokens } }, services }).services as { token?: string }[]).map(
      (s) => s.token,
    );
  assert.deepEqual(tokenOf({ agent: 'ag', meshvisor: 'mv', service: 'sv' }), ['a-token', 'sv']);
  assert.deepEqual(tokenOf({ agent: 'ag', meshvisor: 'mv' }), ['a-token', 'mv']);
  assert.deepEqual(tokenOf({ agent: 'ag' }), ['a-token', 'ag']);
  // ACLs off: no token anywhere.
  const plain = agentConfig({ services: [{ name: 'b', port: 8081 }] });
  assert.equal((plain.services as { token?: string }[])[0]?.token, undefined);
  assert.equal(plain.acl, undefined);
});

test('check URLs: a path is on the service over loopback, a full URL is kept', () => {
  const config = agentConfig({
    services: [
      { name: 'a', port: 8080, check: { http: '/health' } },
      { name: 'b', port: 8081, check: { http: 'https://10.0.0.9:9000/ready', interval: '3s' } },
    ],
  });
  const services = config.services as { check: unknown }[];
  assert.deepEqual(
    services.map((s) => s.check),
    [
      { http: 'http://127.0.0.1:8080/health', interval: '10s' },
      { http: 'https://10.0.0.9:9000/ready', interval: '3s' },
    ],
  );
});

test('upstreams carry their datacenter when one is given', () => {
  const config = agentConfig({
    services: [
      {
        name: 'a',
        port: 8080,
        sidecar: {
          upstreams: [
            { service: 'b', localPort: 1000 },
            { service: 'c', localPort: 1001, datacenter: 'dc2' },
          ],
        },
      },
    ],
  });
  assert.deepEqual(config.services, [
    {
      id: 'a',
      name: 'a',
      port: 8080,
      connect: {
        sidecar_service: {
          proxy: {
            local_service_address: '127.0.0.1',
            upstreams: [
              { destination_name: 'b', local_bind_port: 1000 },
              { destination_name: 'c', local_bind_port: 1001, datacenter: 'dc2' },
            ],
          },
        },
      },
    },
  ]);
});

test('TLS: top-level keys by default (1.10), tls.defaults only when consul.version >= 1.12', () => {
  const tls = { caFile: '/ca.pem', verifyOutgoing: true };
  const old = agentConfig({ consul: { tls, version: '1.11' } });
  assert.equal(old.ca_file, '/ca.pem');
  assert.equal(old.tls, undefined);
  const current = agentConfig({ consul: { tls, version: '1.18.2' } });
  assert.equal(current.ca_file, undefined);
  assert.deepEqual(current.tls, {
    defaults: { ca_file: '/ca.pem', verify_incoming: false, verify_outgoing: true },
  });
});

test('extraConfig is merged last, object by object', () => {
  const config = agentConfig({
    consul: {
      extraConfig: {
        connect: { ca_config: { x: 1 } },
        leave_on_terminate: true,
        ports: { dns: -1 },
      },
    },
  });
  assert.deepEqual(config.connect, { enabled: true, ca_config: { x: 1 } });
  assert.equal(config.leave_on_terminate, true);
  assert.deepEqual(config.ports, {
    http: 8500,
    grpc: 8502,
    sidecar_min_port: 21000,
    sidecar_max_port: 21255,
    dns: -1,
  });
});

test('config entries come in dependency order, generated before the spec entries of a kind', () => {
  const { configEntries, files } = render({
    services: [{ name: 'web', port: 8080, protocol: 'http' }],
    gateways: [
      {
        kind: 'ingress',
        name: 'in',
        port: 8888,
        listeners: [
          { port: 80, protocol: 'http', services: [{ name: 'web', hosts: ['web.example.com'] }] },
        ],
      },
    ],
    configEntries: [
      { Kind: 'service-intentions', Name: '*', Sources: [{ Name: 'in', Action: 'allow' }] },
      { Kind: 'service-router', Name: 'web', Routes: [] },
      { Kind: 'service-defaults', Name: 'api', Protocol: 'grpc' },
      { Kind: 'proxy-defaults', Name: 'global', Config: { protocol: 'http' } },
      { Kind: 'service-resolver', Name: 'web' },
      { Kind: 'service-splitter', Name: 'web', Splits: [] },
    ],
  });
  assert.deepEqual(
    configEntries.map((e) => `${e.Kind}/${e.Name}`),
    [
      'proxy-defaults/global',
      'service-defaults/web',
      'service-defaults/api',
      'service-resolver/web',
      'service-splitter/web',
      'service-router/web',
      'ingress-gateway/in',
      'service-intentions/*',
    ],
  );
  assert.deepEqual(configEntries[6], {
    Kind: 'ingress-gateway',
    Name: 'in',
    Listeners: [
      { Port: 80, Protocol: 'http', Services: [{ Name: 'web', Hosts: ['web.example.com'] }] },
    ],
  });
  assert.deepEqual(
    files.slice(1).map((f) => f.relativePath),
    [
      'config-entries/01-proxy-defaults-global.json',
      'config-entries/02-service-defaults-web.json',
      'config-entries/03-service-defaults-api.json',
      'config-entries/04-service-resolver-web.json',
      'config-entries/05-service-splitter-web.json',
      'config-entries/06-service-router-web.json',
      'config-entries/07-ingress-gateway-in.json',
      'config-entries/08-service-intentions-wildcard.json',
    ],
  );
});

test('renderNode refuses an address that is not a usable IPv4', () => {
  const spec = parseSpec({ datacenter: 'dc1', role: 'server', nodeName: 'n' });
  assert.throws(() => renderNode(spec, '0.0.0.0'), /not a usable IPv4/);
  assert.throws(() => renderNode(spec, 'eth0'), /not a usable IPv4/);
});

test('writeRenderedFiles: exact modes whatever the umask, replace not append, no temp files left', async () => {
  const configDir = mkdtempSync(join(tmpdir(), 'meshvisor-render-'));
  const secret = render(
    { consul: { encrypt: KEY }, services: [{ name: 'a', port: 80, protocol: 'http' }] },
    configDir,
  );
  const previous = process.umask(0o077);
  try {
    await writeRenderedFiles(secret.files);
    await writeRenderedFiles(secret.files);
  } finally {
    process.umask(previous);
  }
  const agentFile = join(configDir, 'meshvisor.json');
  assert.equal(statSync(agentFile).mode & 0o777, 0o600);
  assert.equal(
    statSync(join(configDir, 'config-entries/01-service-defaults-a.json')).mode & 0o777,
    0o644,
  );
  assert.equal(readFileSync(agentFile, 'utf8'), secret.files[0]?.contents);
  JSON.parse(readFileSync(agentFile, 'utf8'));
  assert.deepEqual(readdirSync(configDir).sort(), ['config-entries', 'meshvisor.json']);

  // Without secrets the file becomes 0644 again; the dropped entry's file goes away, a file
  // that is not ours (not *.json) stays.
  writeFileSync(join(configDir, 'config-entries', 'notes.txt'), 'mine');
  const plain = render({}, configDir);
  await writeRenderedFiles(plain.files);
  assert.equal(statSync(agentFile).mode & 0o777, 0o644);
  assert.deepEqual(readdirSync(join(configDir, 'config-entries')), ['notes.txt']);
});

test('writeRenderedFiles with outDir re-roots the files, same layout as configDir', async () => {
  const outDir = mkdtempSync(join(tmpdir(), 'meshvisor-out-'));
  const { files } = render(
    { services: [{ name: 'a', port: 80, protocol: 'http' }] },
    '/nonexistent/consul.d',
  );
  await writeRenderedFiles(files, { outDir });
  assert.deepEqual(readdirSync(outDir).sort(), ['config-entries', 'meshvisor.json']);
  assert.deepEqual(readdirSync(join(outDir, 'config-entries')), ['01-service-defaults-a.json']);
});

test('src/render/templates.generated.ts matches config/templates/*.hbs', async () => {
  assert.equal(
    readFileSync(GENERATED_MODULE, 'utf8'),
    await generateTemplatesModule(),
    'out of date: run `node --import tsx config/templates/generate.ts`',
  );
});
