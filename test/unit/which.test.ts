import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from '../../src/supervise/which.ts';

test('findExecutable searches PATH, takes paths as paths, and skips non-executables and directories', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'which-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'consul'), '#!/bin/sh\n', { mode: 0o755 });
  writeFileSync(join(dir, 'envoy'), 'not executable', { mode: 0o644 });
  mkdirSync(join(dir, 'adir'));
  assert.equal(findExecutable('consul', `/nonexistent:${dir}`), join(dir, 'consul'));
  assert.equal(findExecutable(join(dir, 'consul'), ''), join(dir, 'consul'));
  assert.equal(findExecutable('envoy', dir), null);
  assert.equal(findExecutable('adir', dir), null);
  assert.equal(findExecutable('missing', dir), null);
});
