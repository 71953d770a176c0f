// Loading the node spec: sources and their order, YAML and JSON with line:column errors,
// ${VAR} interpolation, defaults, and the JSON Schema kept in config/meshvisor.schema.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadSpec, SpecError, specJsonSchema, type SpecProblem } from '../../src/spec/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'meshvisor-spec-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function problems(source: Parameters<typeof loadSpec>[0]): Promise<SpecProblem[]> {
  try {
    await loadSpec(source);
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
  assert.fail('expected a SpecError');
}

const MINIMAL = 'datacenter: dc1\nrole: server\n';

test('a minimal spec gets every default', async () => {
  const spec = await loadSpec({ file: file('minimal.yaml', MINIMAL), env: {} });
  assert.equal(spec.nodeName, hostname());
  assert.deepEqual(spec.address, { interface: 'eth0', waitSeconds: 30, source: 'interface' });
  assert.deepEqual(spec.consul.ports, {
    http: 8500,
    grpc: 8502,
    sidecarMinPort: 21000,
    sidecarMaxPort: 21255,
  });
  assert.equal(spec.consul.binary, 'consul');
  assert.equal(spec.consul.dataDir, '/opt/consul');
  assert.equal(spec.consul.configDir, '/etc/consul.d');
  assert.equal(spec.consul.clientAddr, '0.0.0.0');
  assert.deepEqual(spec.consul.extraConfig, {});
  assert.equal(spec.consul.server, undefined);
  assert.deepEqual(spec.proxy, { mode: 'envoy', envoyBinary: 'envoy', adminPortBase: 19000 });
  assert.deepEqual(spec.status, { listen: '127.0.0.1:9555' });
  assert.deepEqual(spec.timeouts, {
    readySeconds: 120,
    stopSeconds: 25,
    drainSeconds: 5,
    propagationSeconds: 0.25,
  });
  assert.deepEqual([spec.services, spec.gateways, spec.configEntries], [[], [], []]);
});

test('service and listener defaults: id from name, check interval, listener protocol tcp', async () => {
  const spec = await loadSpec({
    env: {
      MESHVISOR_CONFIG_JSON: JSON.stringify({
        datacenter: 'dc1',
        role: 'server',
        services: [{ name: 'web', port: 8080, check: { http: '/h' }, sidecar: {} }],
        gateways: [
          { kind: 'ingress', name: 'in', port: 8888, listeners: [{ port: 81, services: ['web'] }] },
        ],
      }),
    },
  });
  const [service] = spec.services;
  assert.equal(service?.id, 'web');
  assert.deepEqual(service?.check, { http: '/h', interval: '10s' });
  assert.deepEqual(service?.sidecar, { upstreams: [] });
  assert.deepEqual(spec.gateways[0]?.listeners[0], {
    port: 81,
    protocol: 'tcp',
    services: [{ name: 'web' }],
  });
});

test('relative dataDir and configDir are resolved against the working directory', async () => {
  const spec = await loadSpec({
    file: file('rel.yaml', `${MINIMAL}consul: { dataDir: data, configDir: ./conf }\n`),
    env: {},
  });
  assert.equal(spec.consul.dataDir, resolve('data'));
  assert.equal(spec.consul.configDir, resolve('conf'));
});

test('sources: -c wins over $MESHVISOR_CONFIG, which wins over $MESHVISOR_CONFIG_JSON', async () => {
  const a = file('a.yaml', `${MINIMAL}nodeName: from-flag\n`);
  const b = file('b.json', JSON.stringify({ datacenter: 'dc1', role: 'server', nodeName: 'env' }));
  const json = JSON.stringify({ datacenter: 'dc1', role: 'server', nodeName: 'inline' });
  const env = { MESHVISOR_CONFIG: b, MESHVISOR_CONFIG_JSON: json };
  assert.equal((await loadSpec({ file: a, env })).nodeName, 'from-flag');
  assert.equal((await loadSpec({ env })).nodeName, 'env');
  assert.equal((await loadSpec({ env: { MESHVISOR_CONFIG_JSON: json } })).nodeName, 'inline');
});

test('no source at all, and a missing file, are spec problems', async () => {
  assert.deepEqual(await problems({ env: {} }), [
    {
      path: '(source)',
      message: 'no node spec: pass -c FILE, or set $MESHVISOR_CONFIG or $MESHVISOR_CONFIG_JSON',
    },
  ]);
  const missing = join(dir, 'nope.yaml');
  assert.deepEqual(await problems({ file: missing, env: {} }), [
    { path: missing, message: 'cannot read the spec file (ENOENT)' },
  ]);
});

test('YAML syntax errors name the file, line and column', async () => {
  const path = file(
    'bad.yaml',
    'datacenter: dc1\nservices:\n  - name: x\n    port: 80\n   id: y\n',
  );
  const [problem] = await problems({ file: path, env: {} });
  assert.equal(problem?.path, `${path}:5:1`);
  assert.match(problem?.message ?? '', /without - indicator/);
});

test('duplicate YAML keys are errors, not silently the last one', async () => {
  const path = file('dup.yaml', 'datacenter: dc1\nrole: server\nrole: client\n');
  assert.deepEqual(await problems({ file: path, env: {} }), [
    { path: `${path}:3:1`, message: 'Map keys must be unique' },
  ]);
});

test('JSON syntax errors give line and column, for files and $MESHVISOR_CONFIG_JSON', async () => {
  const text = '{\n  "datacenter": "dc1",\n  "role" "server"\n}';
  const [fromFile] = await problems({ file: file('bad.json', text), env: {} });
  assert.equal(fromFile?.path, `${join(dir, 'bad.json')}:3:10`);
  const [inline] = await problems({ env: { MESHVISOR_CONFIG_JSON: text } });
  assert.equal(inline?.path, '$MESHVISOR_CONFIG_JSON:3:10');
  assert.match(inline?.message ?? '', /Expected ':'|Unexpected string/);
  const [truncated] = await problems({ env: { MESHVISOR_CONFIG_JSON: '{"datacenter":' } });
  assert.equal(truncated?.path, '$MESHVISOR_CONFIG_JSON:1:15');
});

test('duplicate JSON keys are errors too', async () => {
  const text = '{"datacenter": "dc1", "role": "server", "role": "client"}';
  const [problem] = await problems({ env: { MESHVISOR_CONFIG_JSON: text } });
  assert.deepEqual(problem, { path: '$MESHVISOR_CONFIG_JSON:1:41', message: 'duplicate key' });
});

test('a duplicate JSON key deep in the spec is found; keys and colons inside strings are not keys', async () => {
  const nested =
    '{"datacenter": "dc1", "role": "client", "services": [{"name": "web", "port": 80, "port": 81}]}';
  const [problem] = await problems({ env: { MESHVISOR_CONFIG_JSON: nested } });
  assert.deepEqual(problem, { path: '$MESHVISOR_CONFIG_JSON:1:82', message: 'duplicate key' });

  const note = '"Name": "api", \\"x\\": {"a": 1}';
  const tricky = JSON.stringify({
    datacenter: 'dc1',
    role: 'server',
    configEntries: [{ Kind: 'service-defaults', Name: 'web', Meta: { note } }],
  });
  const spec = await loadSpec({ env: { MESHVISOR_CONFIG_JSON: tricky } });
  assert.deepEqual(spec.configEntries[0]?.Meta, { note });
});

test('${VAR} and ${VAR:-default} are replaced in string values; $$ is a literal $', async () => {
  const path = file(
    'vars.yaml',
    [
      'datacenter: ${DC}',
      'role: server',
      'nodeName: ${NODE:-node-default}',
      'consul:',
      '  dataDir: /data/${DC}/x',
      '  configDir: ${EMPTY:-/etc/fallback}',
      '  extraConfig: { node_meta: { price: "$$5", "${NOT_A_KEY}": 1 } }',
    ].join('\n'),
  );
  const spec = await loadSpec({ file: path, env: { DC: 'dc7', EMPTY: '' } });
  assert.equal(spec.datacenter, 'dc7');
  assert.equal(spec.nodeName, 'node-default');
  assert.equal(spec.consul.dataDir, '/data/dc7/x');
  assert.equal(spec.consul.configDir, '/etc/fallback');
  assert.deepEqual(spec.consul.extraConfig, { node_meta: { price: '$5', '${NOT_A_KEY}': 1 } });
});

test('a missing variable is an error naming it, at the value that uses it', async () => {
  const path = file(
    'missing.yaml',
    `${MINIMAL}consul:\n  encrypt: \${GOSSIP_KEY}\n  retryJoin: ['\${A}', '\${B'] \n`,
  );
  assert.deepEqual(await problems({ file: path, env: {} }), [
    {
      path: 'consul.encrypt',
      message:
        'environment variable GOSSIP_KEY is not set (use ${GOSSIP_KEY:-default} for a default)',
    },
    {
      path: 'consul.retryJoin[0]',
      message: 'environment variable A is not set (use ${A:-default} for a default)',
    },
    {
      path: 'consul.retryJoin[1]',
      message: '"${" without a closing "}" (write $$ for a literal $)',
    },
  ]);
});

test('an error message never repeats a secret value', async () => {
  const secret = 'c2VjcmV0LXZhbHVlLXRoYXQtaXMtbm90LWEta2V5';
  const path = file(
    'secret.yaml',
    `${MINIMAL}consul:\n  encrypt: \${KEY}\n  acl: { tokens: { agent: '' } }\n`,
  );
  const found = await problems({ file: path, env: { KEY: secret } });
  assert.deepEqual(
    found.map((p) => p.path),
    ['consul.encrypt', 'consul.acl.tokens.agent'],
  );
  assert.ok(found.every((p) => !p.message.includes(secret)));
  // V8 quotes the source around a JSON syntax error; that excerpt is dropped.
  const broken = `{"consul": {"tokens__": "${secret}" "encrypt": 1}}`;
  const [syntax] = await problems({ env: { MESHVISOR_CONFIG_JSON: broken } });
  assert.equal(syntax?.path, '$MESHVISOR_CONFIG_JSON:1:68');
  assert.ok(!syntax?.message.includes(secret), syntax?.message);
});

test('config/meshvisor.schema.json is the schema generated from the zod schema', () => {
  const checkedIn = JSON.parse(
    readFileSync(new URL('../../config/meshvisor.schema.json', import.meta.url), 'utf8'),
  );
  assert.deepEqual(
    checkedIn,
    specJsonSchema(),
    'out of date: run `node dist/meshvisor.mjs schema > config/meshvisor.schema.json`',
  );
});

test('the JSON Schema documents defaults and rejects unknown keys', () => {
  const schema = specJsonSchema() as {
    required: string[];
    additionalProperties: boolean;
    properties: Record<string, { properties?: Record<string, { default?: unknown }> }>;
  };
  assert.deepEqual(schema.required.sort(), ['datacenter', 'role']);
  assert.equal(schema.additionalProperties, false);
  assert.equal(schema.properties.status?.properties?.listen?.default, '127.0.0.1:9555');
});
