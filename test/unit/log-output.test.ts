// LogOutput, the bounded buffer in front of stdout, with a stand-in for SonicBoom whose writes
// complete only when the test says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { LogOutput, type LogSink } from '../../src/log-output.ts';

class ManualSink implements LogSink {
  queued = 0;
  received: Buffer[] = [];
  private listener: (bytes: number) => void = () => {};
  write(data: Buffer): void {
    this.received.push(data);
    this.queued += data.length;
  }
  onWritten(listener: (bytes: number) => void): void {
    this.listener = listener;
  }
  /** Completes writes of `bytes` (all that is queued by default). */
  complete(bytes = this.queued): void {
    this.queued -= bytes;
    this.listener(bytes);
  }
}

const RECORD = 'x'.repeat(99) + '\n'; // 100 bytes
const limits = { maxBytes: 1000, highWaterBytes: 400, lowWaterBytes: 100, maxPauseMs: 20 };
const microtask = () => new Promise<void>((resolve) => queueMicrotask(resolve));

test('past the high-water mark the flow pauses; it opens again once stdout is down to the low-water mark', async () => {
  const sink = new ManualSink();
  const output = new LogOutput(sink, limits);
  let resumed = 0;
  for (let i = 0; i < 3; i++) output.write(RECORD);
  assert.equal(output.state, 'open');
  output.whenOpen(() => resumed++);
  await microtask();
  assert.equal(resumed, 1, 'an open flow resumes at once');

  output.write(RECORD);
  assert.equal(output.state, 'paused');
  assert.equal(output.buffered, 400);
  output.whenOpen(() => resumed++);
  output.whenOpen(() => resumed++);
  sink.complete(200); // 200 left: above the low-water mark
  await microtask();
  assert.equal(output.state, 'paused');
  assert.equal(resumed, 1);
  sink.complete(100); // 100 left
  assert.equal(output.state, 'open');
  await microtask();
  assert.equal(resumed, 3);
  assert.equal(output.dropped, 0);
});

test('a pause stdout does not end in time turns into shedding: bounded, drops counted, then caught up', async () => {
  const sink = new ManualSink();
  const output = new LogOutput(sink, limits);
  let resumed = 0;
  for (let i = 0; i < 4; i++) output.write(RECORD);
  assert.equal(output.state, 'paused');
  output.whenOpen(() => resumed++);
  sink.complete(100); // some progress, not enough

  // The pause timer does not hold the process open (unref'd): this test's timer does.
  const keepAlive = setInterval(() => {}, 1000);
  const [shed] = (await once(output, 'shed')) as [{ bufferedBytes: number }];
  clearInterval(keepAlive);
  assert.equal(output.state, 'shedding');
  assert.equal(shed.bufferedBytes, 300);
  await microtask();
  assert.equal(resumed, 1, 'the relays read on');
  assert.equal(output.paused, false);

  // Writing on while stdout takes nothing: the buffer fills to its bound, the rest is dropped.
  for (let i = 0; i < 20; i++) output.write(RECORD);
  assert.equal(output.buffered, 1000);
  assert.equal(sink.queued, 1000);
  assert.equal(output.dropped, 13);
  assert.equal(output.state, 'shedding', 'no new pause while shedding');

  const caughtUp = once(output, 'caughtUp');
  sink.complete(900);
  assert.deepEqual(await caughtUp, [{ dropped: 13 }]);
  assert.equal(output.state, 'open');
});
