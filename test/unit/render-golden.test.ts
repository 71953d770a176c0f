// Golden renders of config/examples/*.yaml (the original setup's four nodes, and dev.yaml), and
// the check that the agent configs say what the configs a real Consul 1.10.12 started with say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSpec } from '../../src/spec/index.ts';
import { renderNode } from '../../src/render/index.ts';
import { validateKeys } from '../doubles/consul/config.ts';
import { EXAMPLE_ENV } from '../fixtures/spec/example-env.ts';

const EXAMPLES = fileURLToPath(new URL('../../config/examples/', import.meta.url));
const GOLDEN = fileURLToPath(new URL('../fixtures/spec/golden/', import.meta.url));
/** Copies of ../shared/recordings/consul-1.10.12/configs/: agent configs a real 1.10.12 started with. */
const RECORDED = fileURLToPath(new URL('../fixtures/spec/recorded-1.10.12/', import.meta.url));
/** Set to rewrite the golden files after an intended change; review the diff before committing. */
const UPDATE = process.env.MESHVISOR_UPDATE_GOLDEN === '1';

/** The addresses of the recording's network namespaces (the ingress node is an extra one). */
const ADDRESSES: Record<string, string> = {
  server: '10.77.0.10',
  'cluster-1': '10.77.0.11',
  'cluster-2': '10.77.0.12',
  ingress: '10.77.0.13',
  dev: '127.0.0.1',
};

async function renderExample(name: string) {
  const spec = await loadSpec({ file: join(EXAMPLES, `${name}.yaml`), env: EXAMPLE_ENV });
  return renderNode(spec, spec.address.ip ?? ADDRESSES[name] ?? '');
}

function readTree(root: string, prefix = ''): Record<string, string> {
  return Object.fromEntries(
    readdirSync(join(root, prefix), { withFileTypes: true }).flatMap((entry) => {
      const relative = join(prefix, entry.name);
      return entry.isDirectory()
        ? Object.entries(readTree(root, relative))
        : [[relative, readFileSync(join(root, relative), 'utf8')]];
    }),
  );
}

test('docs/spec.md shows every example exactly as it is in config/examples', () => {
  const docs = readFileSync(new URL('../../docs/spec.md', import.meta.url), 'utf8');
  for (const name of Object.keys(ADDRESSES)) {
    assert.ok(docs.includes(readFileSync(join(EXAMPLES, `${name}.yaml`), 'utf8')), name);
  }
});

test('every example has a golden render', () => {
  const examples = readdirSync(EXAMPLES).map((f) => f.replace(/\.yaml$/, ''));
  assert.deepEqual(examples.sort(), Object.keys(ADDRESSES).sort());
});

for (const name of Object.keys(ADDRESSES)) {
  test(`golden render: config/examples/${name}.yaml`, async () => {
    const rendered = await renderExample(name);
    const actual = Object.fromEntries(rendered.files.map((f) => [f.relativePath, f.contents]));
    const goldenDir = join(GOLDEN, name);
    if (UPDATE) {
      for (const [relative, contents] of Object.entries(actual)) {
        mkdirSync(dirname(join(goldenDir, relative)), { recursive: true });
        writeFileSync(join(goldenDir, relative), contents);
      }
    }
    assert.deepEqual(actual, readTree(goldenDir));
    // Every key is one Consul 1.10 accepts (the consul double holds 1.10's key list).
    for (const file of rendered.files.filter((f) => f.relativePath === 'meshvisor.json')) {
      validateKeys(file.path, JSON.parse(file.contents));
    }
  });
}

/**
 * The recorded configs differ from ours only where the recording had to (its own data_dir) and
 * where we use the non-deprecated spelling (`ui` -> `ui_config.enabled`, contract §1).
 * Everything else the recording says, our render says too; we add TLS, gossip and a few keys.
 */
const RECORDING_ONLY_KEYS = ['data_dir', 'ui'];

const RECORDINGS: [example: string, recorded: string][] = [
  ['server', 'server.json'],
  ['cluster-1', 'client-c1.json'],
  ['cluster-2', 'client-c2.json'],
];

for (const [example, recorded] of RECORDINGS) {
  test(`${example}.yaml renders what Consul 1.10.12 started with (${recorded})`, async () => {
    const recordedText = readFileSync(join(RECORDED, recorded), 'utf8');
    const expected = JSON.parse(recordedText) as Record<string, unknown>;
    for (const key of RECORDING_ONLY_KEYS) delete expected[key];
    const [agent] = (await renderExample(example)).files;
    assertCovers(JSON.parse(agent?.contents ?? '{}'), expected, '');
  });
}

test('the server renders ui_config.enabled where the recording had the deprecated ui', async () => {
  const [agent] = (await renderExample('server')).files;
  assert.deepEqual(JSON.parse(agent?.contents ?? '{}').ui_config, { enabled: true });
});

/** `actual` says at least everything `expected` says; services are matched by id. */
function assertCovers(actual: unknown, expected: unknown, path: string): void {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: expected a list`);
    expected.forEach((item, i) => {
      const match =
        isRecord(item) && typeof item.id === 'string'
          ? actual.find((a) => isRecord(a) && a.id === item.id)
          : actual[i];
      assertCovers(match, item, `${path}[${i}]`);
    });
    if (!expected.some((item) => isRecord(item) && 'id' in item)) {
      assert.equal(actual.length, expected.length, `${path}: length`);
    }
  } else if (isRecord(expected)) {
    assert.ok(isRecord(actual), `${path}: expected an object, got ${JSON.stringify(actual)}`);
    for (const [key, value] of Object.entries(expected)) {
      assertCovers(actual[key], value, path ? `${path}.${key}` : key);
    }
  } else {
    assert.deepEqual(actual, expected, path);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
