import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { spawnSync } from 'node:child_process';
import { censorNested, createLogger, plainDataLogger } from '../../src/log.ts';
import { LineSplitter } from '../../src/supervise/lines.ts';
import { PassThrough } from 'node:stream';
import { parseHclogLine } from '../../src/supervise/hclog.ts';
import {
  PARTIAL_LINE_WAIT_MS,
  parseOutputLine,
  relayLine,
  StreamRelay,
  toLogLevel,
} from '../../src/supervise/log-relay.ts';
import { captureLogger } from '../helpers/supervise.ts';

function split(chunks: string[], maxBytes = 16): Array<[string, boolean]> {
  const lines: Array<[string, boolean]> = [];
  const splitter = new LineSplitter((line, truncated) => lines.push([line, truncated]), maxBytes);
  for (const chunk of chunks) splitter.push(Buffer.from(chunk));
  splitter.flush();
  return lines;
}

test('lines are reassembled across chunks; CRLF is stripped; a partial last line is flushed', () => {
  assert.deepEqual(split(['one\ntw', 'o\r\nthr', 'ee']), [
    ['one', false],
    ['two', false],
    ['three', false],
  ]);
});

test('a line longer than the bound is emitted truncated once, the rest of it skipped', () => {
  assert.deepEqual(split(['0123456789', 'abcdefghij', 'KLMNOP\nnext\n']), [
    ['0123456789abcdef', true],
    ['next', false],
  ]);
  // Exactly at the bound is not truncated.
  assert.deepEqual(split(['0123456789abcdef\n']), [['0123456789abcdef', false]]);
});

test('JSON object lines merge as fields, with message and level keys understood', () => {
  assert.deepEqual(parseOutputLine('{"level":"warn","msg":"hi","x":1}'), {
    level: 'warn',
    msg: 'hi',
    fields: { x: 1 },
  });
  assert.deepEqual(parseOutputLine('{"@level":"ERROR","@message":"boom","@module":"m"}'), {
    level: 'error',
    msg: 'boom',
    fields: { '@module': 'm' },
  });
  assert.deepEqual(parseOutputLine('{"level":50,"message":"pino child"}'), {
    level: 'error',
    msg: 'pino child',
    fields: {},
  });
  // An unknown level stays a field; arrays, broken JSON and text are plain messages.
  assert.deepEqual(parseOutputLine('{"level":"loud","msg":"m"}'), {
    level: undefined,
    msg: 'm',
    fields: { level: 'loud' },
  });
  assert.deepEqual(parseOutputLine('[1,2]'), { msg: '[1,2]' });
  assert.deepEqual(parseOutputLine('{"broken":'), { msg: '{"broken":' });
  assert.equal(toLogLevel('Warning'), 'warn');
  assert.equal(toLogLevel('nonsense'), undefined);
});

test('relayed lines carry program and stream; clashing keys are renamed; hooks are used', () => {
  const { logger, records } = captureLogger();
  const options = { logger: logger.child({ program: 'p' }), onDrop: () => {} };
  relayLine('{"time":"t0","pid":7,"level":"debug","msg":"json"}', 'stdout', false, options);
  relayLine('plain text', 'stderr', true, options);
  relayLine('   ', 'stdout', false, options);
  const hook = {
    ...options,
    parseLine: () => ({ level: 'error' as const, msg: 'hooked', fields: { k: 'v' } }),
  };
  relayLine('anything', 'stdout', false, hook);
  const throwing = {
    ...options,
    parseLine: (): never => {
      throw new Error('cannot read');
    },
  };
  relayLine('fallback', 'stdout', false, throwing);

  const relayed = records.map(
    ({ level, program, stream, msg, childTime, childPid, truncated, k }) => ({
      level,
      program,
      stream,
      msg,
      childTime,
      childPid,
      truncated,
      k,
    }),
  );
  assert.deepEqual(relayed, [
    {
      level: 'debug',
      program: 'p',
      stream: 'stdout',
      msg: 'json',
      childTime: 't0',
      childPid: 7,
      truncated: undefined,
      k: undefined,
    },
    {
      level: 'info',
      program: 'p',
      stream: 'stderr',
      msg: 'plain text',
      childTime: undefined,
      childPid: undefined,
      truncated: true,
      k: undefined,
    },
    {
      level: 'error',
      program: 'p',
      stream: 'stdout',
      msg: 'hooked',
      childTime: undefined,
      childPid: undefined,
      truncated: undefined,
      k: 'v',
    },
    {
      level: 'info',
      program: 'p',
      stream: 'stdout',
      msg: 'fallback',
      childTime: undefined,
      childPid: undefined,
      truncated: undefined,
      k: undefined,
    },
  ]);
});

test('records the destination drops are counted for the program that wrote them', () => {
  // A destination that takes two records and drops the rest, like a full SonicBoom buffer.
  class FullAfterTwo extends EventEmitter {
    written: string[] = [];
    write(chunk: string) {
      if (this.written.length < 2) this.written.push(chunk);
      else this.emit('drop', chunk);
    }
  }
  const destination = new FullAfterTwo();
  const logger = createLogger({ level: 'info', destination });
  const drops = { a: 0, b: 0 };
  const a = { logger: logger.child({ program: 'a' }), onDrop: () => drops.a++ };
  const b = { logger: logger.child({ program: 'b' }), onDrop: () => drops.b++ };
  relayLine('a1', 'stdout', false, a);
  relayLine('b1', 'stdout', false, b);
  relayLine('a2', 'stdout', false, a);
  relayLine('b2', 'stdout', false, b);
  relayLine('b3', 'stdout', false, b);
  assert.equal(destination.written.length, 2);
  assert.deepEqual(drops, { a: 1, b: 2 });
});

test('the stdout logger drops beyond its buffer bound instead of growing, and flushes at exit', () => {
  // A child writes 2000 records at once into a 4 KiB buffer: most are dropped and counted; the
  // ones kept are all written out before it exits.
  const script = `
    import { createLogger, droppedLogRecords } from './src/log.ts';
    const logger = createLogger({ maxBufferBytes: 4096 });
    for (let i = 0; i < 2000; i++) logger.info({ i }, 'record');
    process.stderr.write(String(droppedLogRecords(logger)));
  `;
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    {
      encoding: 'utf8',
      cwd: new URL('../..', import.meta.url).pathname,
    },
  );
  assert.equal(result.status, 0, result.stderr);
  const written = result.stdout.split('\n').filter(Boolean).length;
  const dropped = Number(result.stderr);
  assert.ok(dropped > 1000, `dropped ${dropped}`);
  assert.equal(written + dropped, 2000);
});

test('a run of identical lines is logged once, then as one count when another line comes or the stream ends', async () => {
  const { logger, records } = captureLogger();
  const input = new PassThrough();
  const relay = new StreamRelay(input, 'stdout', {
    logger,
    parseLine: parseHclogLine,
    onDrop: () => {},
  });
  const noServers = (ms: number) =>
    `2026-12-02T00:00:00.${String(ms).padStart(3, '0')}Z [WARN]  agent.router.manager: No servers available\n`;
  for (let ms = 0; ms < 150; ms++) input.write(noServers(ms));
  input.write('2026-12-02T00:00:01.000Z [INFO]  agent: Join cluster completed\n');
  input.write(noServers(999));
  input.write(noServers(999));
  input.end();
  await new Promise((resolve) => setImmediate(resolve));
  relay.flush();
  assert.deepEqual(
    records.map((r) => [r.level, r.msg, r.repeated]),
    [
      ['warn', 'No servers available', undefined],
      ['warn', 'No servers available [repeated 149 more times]', 149],
      ['info', 'Join cluster completed', undefined],
      ['warn', 'No servers available', undefined],
      ['warn', 'No servers available [repeated 1 more time]', 1],
    ],
  );
});

test('while the log flow is paused the relay leaves the rest in the pipe, and reads on in order when it opens', async () => {
  const { logger, records } = captureLogger();
  const waiting: Array<() => void> = [];
  const flow = { paused: false, whenOpen: (resume: () => void) => waiting.push(resume) };
  const input = new PassThrough();
  let lines = 0;
  const relay = new StreamRelay(input, 'stdout', {
    logger,
    // The third line fills stdout's buffer.
    parseLine: (line) => {
      if (++lines === 3) flow.paused = true;
      return { msg: line };
    },
    onDrop: () => {},
    flow,
  });
  const msgs = () => records.map((r) => r.msg);
  input.write('l1\nl2\nl3\nl4\nl5\npart');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(msgs(), ['l1', 'l2', 'l3']);
  assert.equal(input.isPaused(), true);
  assert.equal(waiting.length, 1);

  // The child exits meanwhile: its partial last line is not flushed while the rest waits.
  relay.childExited();
  await new Promise((resolve) => setTimeout(resolve, PARTIAL_LINE_WAIT_MS * 2));
  assert.deepEqual(msgs(), ['l1', 'l2', 'l3']);

  input.write('ial\n');
  flow.paused = false;
  waiting.shift()!();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(msgs(), ['l1', 'l2', 'l3', 'l4', 'l5', 'partial']);
  assert.equal(input.isPaused(), false);
});

test('relayed records are redacted as any record: plainDataLogger with censorNested is pino redaction', () => {
  const { logger, records } = captureLogger();
  const relayLogger = plainDataLogger(logger);
  const cases: Array<Record<string, unknown>> = [
    { token: 's', tokens: ['a'], encrypt: 'k', stream: 'stdout' },
    { a: { token: 's', x: 1 }, b: { tokens: { id: 1 } }, c: { encrypt: null, token: 't' } },
    { a: { token: undefined, y: 2 } },
    { a: { b: { token: 'two levels down: not a path' } }, c: [{ token: 'in an array: neither' }] },
    { a: 'token', b: null, c: 3, d: { tokenish: 1 } },
    { env: { CONSUL_HTTP_TOKEN: 't', CONSUL_GOSSIP_KEY: 'k', PATH: '/bin' } },
    { env: { token: 'env is an object too' }, module: 'agent' },
  ];
  for (const fields of cases) {
    logger.info(fields, 'm');
    const before = JSON.stringify(fields);
    relayLogger.info(censorNested(fields), 'm');
    assert.equal(JSON.stringify(fields), before, 'the record passed in is not changed');
  }
  const withoutTime = records.map(({ time: _time, ...rest }) => rest);
  for (let i = 0; i < cases.length; i++) {
    assert.deepEqual(withoutTime[2 * i + 1], withoutTime[2 * i], JSON.stringify(cases[i]));
  }
  assert.equal((withoutTime[3]!.a as Record<string, unknown>).token, '[redacted]');
});
