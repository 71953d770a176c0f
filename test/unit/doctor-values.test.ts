// Where each spec value came from (the spec, an environment variable, a default), with secrets
// shown only by origin, as `meshvisor doctor` lists them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeValues, literalSecrets, specValues } from '../../src/doctor/values.ts';
import { describeSpecSource, loadSpecTraced } from '../../src/spec/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'mv-doctor-values-'));
const GOSSIP_KEY = 'c2VjcmV0LWdvc3NpcC1rZXktMzItYnl0ZXMtbG9uZyE=';
const TOKEN = '6a1c1f2e-0a3b-4c5d-8e9f-0123456789ab';

const SPEC = `
datacenter: dc1
role: client
address: { interface: '\${IFACE:-eth0}' }
consul:
  version: \${CONSUL_VERSION:-1.10}
  retryJoin: ['\${SERVER}', 10.0.0.3]
  encrypt: \${GOSSIP}
  acl:
    tokens:
      agent: \${AGENT_TOKEN}
      meshvisor: ${TOKEN}
services:
  - { name: users, port: 8080 }
gateways:
  - kind: ingress
    name: in
    port: 8888
    listeners: [{ port: 8081, protocol: http, services: [users] }]
`;

async function load(env: Record<string, string>) {
  const file = join(dir, 'spec.yaml');
  writeFileSync(file, SPEC);
  return loadSpecTraced({ file, env });
}

test('each leaf is from the spec, an environment variable (which), or a default', async () => {
  const traced = await load({
    SERVER: '10.0.0.2',
    GOSSIP: GOSSIP_KEY,
    AGENT_TOKEN: 'agent-secret',
  });
  const values = specValues(traced);
  const byPath = new Map(values.map((v) => [v.path, v]));
  assert.deepEqual(byPath.get('datacenter'), {
    path: 'datacenter',
    origin: 'spec',
    secret: false,
    value: 'dc1',
  });
  assert.deepEqual(byPath.get('consul.retryJoin[0]'), {
    path: 'consul.retryJoin[0]',
    origin: 'env',
    secret: false,
    value: '10.0.0.2',
    variables: [{ name: 'SERVER', set: true }],
  });
  assert.equal(byPath.get('consul.retryJoin[1]')?.origin, 'spec');
  // ${VAR:-default} with VAR unset: the value is the written default, and says so.
  assert.deepEqual(byPath.get('consul.version'), {
    path: 'consul.version',
    origin: 'spec',
    secret: false,
    value: '1.10',
    variables: [{ name: 'CONSUL_VERSION', set: false }],
  });
  assert.deepEqual(byPath.get('consul.ports.http'), {
    path: 'consul.ports.http',
    origin: 'default',
    secret: false,
    value: 8500,
  });
  assert.deepEqual(byPath.get('nodeName'), {
    path: 'nodeName',
    origin: 'default',
    secret: false,
    value: hostname(),
    note: 'the hostname',
  });
  assert.equal(byPath.get('services[0].id')?.note, 'the name');
  // A listener service written as a plain name is expanded to { name }: still from the spec.
  assert.equal(byPath.get('gateways[0].listeners[0].services[0].name')?.origin, 'spec');
  assert.equal(byPath.get('gateways[0].listeners[0].protocol')?.origin, 'spec');
  assert.equal(byPath.get('consul.acl.defaultPolicy')?.origin, 'default');
});

test('secrets carry their origin and never their value; one written in the file is flagged', async () => {
  const traced = await load({
    SERVER: '10.0.0.2',
    GOSSIP: GOSSIP_KEY,
    AGENT_TOKEN: 'agent-secret',
  });
  const values = specValues(traced);
  const secrets = values.filter((v) => v.secret);
  assert.deepEqual(
    secrets.map((v) => [v.path, v.origin, 'value' in v]),
    [
      ['consul.encrypt', 'env', false],
      ['consul.acl.tokens.agent', 'env', false],
      ['consul.acl.tokens.meshvisor', 'spec', false],
    ],
  );
  assert.deepEqual(
    literalSecrets(values).map((v) => v.path),
    ['consul.acl.tokens.meshvisor'],
  );
  const lines = describeValues(values, 'file').join('\n');
  assert.match(lines, /consul\.encrypt\s+\(secret, from \$GOSSIP\)/);
  assert.match(lines, /consul\.acl\.tokens\.meshvisor\s+\(secret, written in the file\)/);
  assert.match(
    lines,
    /consul\.version\s+1\.10\s+file \(\$CONSUL_VERSION unset: the written :- default\)/,
  );
  assert.match(lines, /consul\.retryJoin\[0\]\s+10\.0\.0\.2\s+\$SERVER/);
  assert.match(lines, /consul\.ports\.http\s+8500\s+default/);
  for (const secret of [GOSSIP_KEY, TOKEN, 'agent-secret']) {
    assert.ok(!lines.includes(secret), `${secret} shown`);
    assert.ok(!JSON.stringify(values).includes(secret), `${secret} in the values`);
  }
});

test('a value holding a secret elsewhere in the spec is a secret too', async () => {
  const traced = await loadSpecTraced({
    env: {
      T: TOKEN,
      MESHVISOR_CONFIG_JSON: JSON.stringify({
        datacenter: 'dc1',
        role: 'server',
        consul: {
          acl: { tokens: { agent: '${T}' } },
          extraConfig: { node_meta: { note: '${T}' } },
        },
      }),
    },
  });
  const values = specValues(traced);
  const meta = values.find((v) => v.path === 'consul.extraConfig.node_meta.note');
  assert.deepEqual(meta, {
    path: 'consul.extraConfig.node_meta.note',
    origin: 'env',
    secret: true,
    variables: [{ name: 'T', set: true }],
  });
  assert.deepEqual(traced.origin, { kind: 'inline', name: '$MESHVISOR_CONFIG_JSON' });
  assert.match(
    describeValues(values, 'inline').join('\n'),
    /^datacenter\s+dc1\s+\$MESHVISOR_CONFIG_JSON$/m,
  );
});

test('describeSpecSource follows loadSpec: -c, then $MESHVISOR_CONFIG, then $MESHVISOR_CONFIG_JSON', () => {
  assert.deepEqual(describeSpecSource('a.yaml', { MESHVISOR_CONFIG: 'b.yaml' }), {
    kind: 'file',
    name: 'a.yaml',
  });
  assert.deepEqual(
    describeSpecSource(undefined, { MESHVISOR_CONFIG: 'b.yaml', MESHVISOR_CONFIG_JSON: '{}' }),
    {
      kind: 'file',
      name: 'b.yaml',
    },
  );
  assert.deepEqual(describeSpecSource(undefined, { MESHVISOR_CONFIG_JSON: '{}' }), {
    kind: 'inline',
    name: '$MESHVISOR_CONFIG_JSON',
  });
  assert.equal(describeSpecSource(undefined, {}), null);
});
