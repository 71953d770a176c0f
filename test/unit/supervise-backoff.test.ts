import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffCeiling, backoffDelay, RestartWindow } from '../../src/supervise/backoff.ts';

const options = { initialMs: 100, maxMs: 30_000 };

test('backoff ceilings double from the initial delay up to the cap', () => {
  const ceilings = [0, 1, 2, 3, 4, 8, 9, 50].map((attempt) => backoffCeiling(attempt, options));
  assert.deepEqual(ceilings, [100, 200, 400, 800, 1600, 25_600, 30_000, 30_000]);
});

test('full jitter: the delay is uniform between zero and the ceiling', () => {
  assert.equal(
    backoffDelay(3, options, () => 0),
    0,
  );
  assert.equal(
    backoffDelay(3, options, () => 1),
    800,
  );
  assert.equal(
    backoffDelay(3, options, () => 0.5),
    400,
  );
  for (let attempt = 0; attempt < 12; attempt++) {
    const delay = backoffDelay(attempt, options);
    assert.ok(
      delay >= 0 && delay <= backoffCeiling(attempt, options),
      `attempt ${attempt}: ${delay}`,
    );
  }
});

test('the restart window is exhausted after maxRestarts inside it, and slides', () => {
  const window = new RestartWindow(3, 1000);
  for (const at of [0, 100, 200]) {
    assert.equal(window.isExhausted(at), false);
    window.record(at);
  }
  assert.equal(window.isExhausted(300), true);
  // The first restart leaves the window at 1000 ms.
  assert.equal(window.isExhausted(1000), false);
  window.clear();
  assert.equal(window.isExhausted(1001), false);
});
