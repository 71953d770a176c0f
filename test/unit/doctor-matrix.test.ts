// The Consul/Envoy matrix doctor checks against is the one docs/images.md documents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ENVOY_LINES_BY_CONSUL, compareLines, line } from '../../src/consul/index.ts';

test('src/consul/versions.ts holds the rows of the matrix in docs/images.md', () => {
  const doc = readFileSync(new URL('../../docs/images.md', import.meta.url), 'utf8');
  const start = doc.indexOf('Compatibility matrix');
  // The matrix's own table: up to the paragraph after it (the pairs run here come next).
  const section = doc.slice(start, doc.indexOf('\n**', start));
  const rows = section
    .split('\n')
    .filter((l) => /^\| \**1\.\d+/.test(l))
    .map((l) => l.split('|').map((cell) => cell.trim()));
  const fromDoc = Object.fromEntries(
    rows.map(([, consul = '', envoy = '']) => [
      line(consul.replace(/\*/g, '')),
      envoy
        .replace(/\*/g, '')
        .split('(')[0]!
        .split(',')
        .map((v) => line(v))
        .filter(Boolean),
    ]),
  );
  assert.deepEqual(fromDoc, ENVOY_LINES_BY_CONSUL);
});

test('version lines compare as numbers', () => {
  assert.equal(line('1.10.12'), '1.10');
  assert.equal(line('v1.22'), '1.22');
  assert.equal(line('envoy'), undefined);
  assert.ok(compareLines('1.10', '1.9') > 0);
  assert.ok(compareLines('1.14', '1.15') < 0);
  assert.equal(compareLines('1.15', '1.15'), 0);
});
