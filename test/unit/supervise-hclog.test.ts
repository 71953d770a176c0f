import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHclogLine, parseKeyValues } from '../../src/supervise/hclog.ts';

test('an hclog line gives level, module, message and key=value fields', () => {
  assert.deepEqual(
    parseHclogLine(
      '2024-01-01T00:00:00.000Z [INFO]  agent: Starting server: protocol=http address=127.0.0.1:8500 network=tcp',
      'stdout',
    ),
    {
      level: 'info',
      msg: 'Starting server',
      fields: { module: 'agent', protocol: 'http', address: '127.0.0.1:8500', network: 'tcp' },
    },
  );
  assert.deepEqual(
    parseHclogLine(
      '2024-01-01T00:00:00.000Z [ERROR] agent.anti_entropy: failed to sync remote state: error="No known Consul servers"',
      'stdout',
    ),
    {
      level: 'error',
      msg: 'failed to sync remote state',
      fields: { module: 'agent.anti_entropy', error: 'No known Consul servers' },
    },
  );
});

test('messages without pairs, with ": " inside, and other time zones', () => {
  assert.deepEqual(
    parseHclogLine('2024-01-01T00:00:00.000Z [INFO]  agent: Consul agent running!', 'stdout'),
    {
      level: 'info',
      msg: 'Consul agent running!',
      fields: { module: 'agent' },
    },
  );
  assert.deepEqual(
    parseHclogLine(
      '2021-06-01T10:00:00.123+0200 [WARN]  agent: Join cluster failed, will retry: note: see docs: cluster=LAN retry_interval=30s',
      'stdout',
    ),
    {
      level: 'warn',
      msg: 'Join cluster failed, will retry: note: see docs',
      fields: { module: 'agent', cluster: 'LAN', retry_interval: '30s' },
    },
  );
  assert.equal(
    parseHclogLine(
      '2024-01-01T00:00:00.000Z [DEBUG] agent.server.raft: vote granted: from=a term=2',
      'stdout',
    ).level,
    'debug',
  );
});

test('banner, stderr errors, continuation lines and JSON lines', () => {
  assert.deepEqual(parseHclogLine('==> Starting Consul agent...', 'stdout'), {
    msg: '==> Starting Consul agent...',
  });
  assert.deepEqual(parseHclogLine('==> failed to setup node ID: permission denied', 'stderr'), {
    level: 'error',
    msg: 'failed to setup node ID: permission denied',
  });
  assert.deepEqual(parseHclogLine("           Version: '1.10.12'", 'stdout'), {
    msg: "           Version: '1.10.12'",
  });
  assert.deepEqual(
    parseHclogLine('{"@level":"warn","@message":"hi","@module":"agent","x":1}', 'stdout'),
    { level: 'warn', msg: 'hi', fields: { '@module': 'agent', x: 1 } },
  );
});

test('key=value parsing: quoted values, empty values, and text that is not pairs', () => {
  assert.deepEqual(parseKeyValues('a=1 b="x \\"y\\"" c='), { a: '1', b: 'x "y"', c: '' });
  assert.equal(parseKeyValues('not pairs at all'), null);
  assert.equal(parseKeyValues('a=1 trailing words'), null);
  assert.equal(parseKeyValues(''), null);
});
