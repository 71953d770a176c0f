// A child's burst of output through a real Program and meshvisor's real stdout logger, in a node
// process whose stdout the test reads (or does not): the relay slows the child down rather than
// lose lines when stdout keeps up, and drops (counted, bounded) rather than block when it is stuck.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { killPids } from '../helpers/supervise.ts';

const LINES = 50_000;
/** A lost line would leave a test waiting for its report: fail instead (it takes seconds). */
const HANG_GUARD = { timeout: 120_000 };
/** Small, so that the burst (~8 MB of records) is 30 times the buffer. */
const MAX_BUFFER_BYTES = 256 * 1024;

// Reports over IPC once every line went through the relay (written, buffered or dropped); on
// 'written' reports again once stdout has taken the whole buffer; answers 'ping' with 'pong'.
const SCRIPT = `
  import * as log from './src/log.ts';
  import { Program } from './src/supervise/program.ts';
  const logger = log.createLogger({ maxBufferBytes: ${MAX_BUFFER_BYTES} });
  // The stdout buffer (none before backpressure: then this test shows what it lost).
  const output = log.logFlow?.(logger) ?? { buffered: 0 };
  let relayed = 0;
  const program = new Program(
    {
      name: 'burst',
      command: 'seq',
      args: ['-f', 'burst line %06.0f', '${LINES}'],
      restart: 'never',
      parseLine: (line) => (relayed++, { msg: line }),
    },
    { logger },
  );
  program.start();
  const report = () => ({
    relayed,
    dropped: program.snapshot().droppedLogLines,
    buffered: output.buffered,
  });
  const when = (done, then) => {
    const poll = setInterval(() => done() && (clearInterval(poll), then()), 10);
  };
  when(() => relayed === ${LINES}, () => process.send({ event: 'relayed', ...report() }));
  process.on('message', (message) => {
    if (message === 'ping') process.send({ event: 'pong' });
    if (message === 'written') when(() => output.buffered === 0, () => process.send({ event: 'written', ...report() }));
  });
`;

interface Report {
  event: string;
  relayed: number;
  dropped: number;
  buffered: number;
}

function startNode(t: { after(fn: () => void): void }): ChildProcess {
  const node = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], {
    cwd: new URL('../..', import.meta.url).pathname,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    detached: true,
  });
  // SIGKILL: its exit flush would wait for a stdout that nobody reads.
  t.after(() => killPids([node.pid]));
  return node;
}

async function nextMessage(node: ChildProcess, event: string): Promise<Report> {
  for (;;) {
    const [message] = (await once(node, 'message')) as [Report];
    if (message.event === event) return message;
  }
}

/** The burst lines among the records on stdout, as their numbers, in order. */
function burstLines(stdout: string): number[] {
  return [...stdout.matchAll(/"msg":"burst line (\d{6})"/g)].map((m) => Number(m[1]));
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

test(
  'a burst into a stdout that keeps up loses no line: the child waits instead',
  HANG_GUARD,
  async (t) => {
    const node = startNode(t);
    let stdout = '';
    node.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));

    const relayed = await nextMessage(node, 'relayed');
    assert.equal(relayed.dropped, 0);
    node.send('written');
    await nextMessage(node, 'written');
    // Everything was written: read what the pipe still holds.
    node.send('ping');
    await nextMessage(node, 'pong');
    await new Promise((resolve) => setImmediate(resolve));
    const seen = burstLines(stdout);
    const missing = LINES - seen.length;
    assert.equal(missing, 0, `${missing} lines missing`);
    assert.deepEqual(seen, range(1, LINES));
  },
);

test(
  'a stdout that takes nothing: the child is read to its end, the buffer stays bounded, drops are counted',
  HANG_GUARD,
  async (t) => {
    const node = startNode(t);
    // Nobody reads its stdout: the pipe fills and its writes block. After a pause (at most 1 s)
    // the relay reads on, dropping what does not fit.
    const relayed = await nextMessage(node, 'relayed');
    assert.equal(relayed.relayed, LINES);
    assert.ok(relayed.dropped > 0, 'lines were dropped');
    assert.ok(relayed.buffered <= MAX_BUFFER_BYTES, `${relayed.buffered} bytes buffered`);
    // Its event loop still answers while stdout is stuck.
    node.send('ping');
    await nextMessage(node, 'pong');

    // Now read: every line is either on stdout, once and in order, or counted as dropped.
    let stdout = '';
    node.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    node.send('written');
    const written = await nextMessage(node, 'written');
    node.send('ping');
    await nextMessage(node, 'pong');
    await new Promise((resolve) => setImmediate(resolve));
    const seen = burstLines(stdout);
    assert.equal(seen.length + written.dropped, LINES);
    assert.ok(
      seen.every((n, i) => i === 0 || n > seen[i - 1]!),
      'in order, none twice',
    );
    assert.match(stdout, /stdout is not taking the log/);
  },
);
