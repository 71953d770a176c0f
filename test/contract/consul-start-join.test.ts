// Contract test: recording 13 (test/recordings/consul-1.10.12/13-start-join, made on the real
// Consul 1.10.12). `-join` runs before the agent starts its state syncer, so the first full sync
// already knows a server and the catalog holds the node at once; a `-join` nothing answers ends
// the agent with serf's multierror and exit 1. Loopback 127.0.93.X stands in for 127.0.0.X.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildDoubles } from '../helpers/doubles.ts';
import { DoubleProcess, killAll } from './harness.ts';

const RECORDING = fileURLToPath(
  new URL('../recordings/consul-1.10.12/13-start-join/', import.meta.url),
);
const local = (s: string): string => s.replace(/\b127\.0\.0\.(\d+)\b/g, '127.0.93.$1');

/** The messages of a 1.10 log (`<time> [LEVEL]  <module>: <message>`), fields and times dropped. */
function messages(log: string): string[] {
  return log
    .split('\n')
    .map((line) => /^\S+Z \[(\w+)\]\s+([\w.]+): ([^:=]+?)(?::|$)/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(([, level, module, message]) => `[${level}] ${module}: ${message}`);
}

/** The messages among `wanted`, in the order the log has them. */
const inOrder = (log: string, wanted: string[]): string[] =>
  messages(log).filter((m) => wanted.includes(m));

const recorded = (file: string): string => local(readFileSync(join(RECORDING, file), 'utf8'));

describe('consul double vs recording 13 (-join before the state syncer)', () => {
  let dir = '';
  before(() => {
    buildDoubles();
    dir = mkdtempSync(join(tmpdir(), 'consul-start-join-'));
  });
  after(() => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a -join nothing answers: the multierror, then exit 1', async () => {
    const client = new DoubleProcess(
      ['agent', '-data-dir', join(dir, 'f'), '-bind', '127.0.93.3', '-client', '127.0.93.3'].concat(
        ['-node', 'failjoin', '-join', '127.0.93.9'],
      ),
      dir,
    );
    assert.equal(await client.exited, 1);
    const error = (log: string) => /\[ERROR\] agent: (1 error occurred:\n\t\* .*)\n/.exec(log)?.[1];
    const expected = error(recorded('client-start-join-refused.log'));
    assert.equal(
      expected,
      '1 error occurred:\n\t* Failed to join 127.0.93.9:8301: dial tcp 127.0.93.9:8301: connect: connection refused',
    );
    assert.equal(error(client.stdout), expected);
    const steps = [
      '[INFO] agent: Joining cluster',
      '[INFO] agent: (LAN) joining',
      '[INFO] agent: Requesting shutdown',
      '[INFO] agent: Exit code',
    ];
    assert.deepEqual(inOrder(client.stdout, steps), steps);
    assert.deepEqual(inOrder(recorded('client-start-join-refused.log'), steps), steps);
  });

  test('a -join that succeeds comes before the syncer, whose first sync finds the server at once', async () => {
    const server = new DoubleProcess(
      ['agent', '-server', '-bootstrap-expect', '1', '-data-dir', join(dir, 's')].concat([
        '-bind',
        '127.0.93.1',
        '-client',
        '127.0.93.1',
        '-node',
        'srv',
      ]),
      dir,
    );
    await server.waitForLog(/New leader elected/);
    // A server-up stagger far longer than the test's wait: only the at-once path can sync.
    const client = new DoubleProcess(
      ['agent', '-data-dir', join(dir, 'c'), '-bind', '127.0.93.2', '-client', '127.0.93.2'].concat(
        ['-node', 'cli2', '-join', '127.0.93.1'],
      ),
      dir,
      { CONSUL_DOUBLE_SYNC_DELAY_MS: '60000' },
    );
    await client.waitForLog(/\[INFO\] {2}agent: Synced node info/, 10_000);
    const steps = [
      '[INFO] agent: Joining cluster',
      '[INFO] agent: (LAN) joining',
      '[INFO] agent: (LAN) joined',
      '[INFO] agent: Join completed. Initial agents synced with',
      '[INFO] agent: started state syncer',
      '[INFO] agent: Consul agent running!',
      '[INFO] agent: Synced node info',
    ];
    const firstOfEach = (log: string) => [...new Set(inOrder(log, steps))];
    assert.deepEqual(firstOfEach(recorded('client-start-join.log')), steps);
    assert.deepEqual(firstOfEach(client.stdout), steps);
    // With -retry-join the syncer starts first, and the join comes after it (the stagger path).
    const retry = firstOfEach(recorded('client-retry-join.log'));
    assert.ok(
      retry.indexOf('[INFO] agent: started state syncer') <
        retry.indexOf('[INFO] agent: (LAN) joined'),
    );
  });
});
