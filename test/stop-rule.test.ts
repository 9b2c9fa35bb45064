// The stop rule on synthetic sample streams from a fixed seed: minimums first, then noise, noise
// that has stopped changing, or the timeout.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Measurement } from '../src/sweep/axes.js';
import { NOISE_WINDOW, StopRule, type StopReason } from '../src/measure/stop-rule.js';
import { summarize } from '../src/measure/sample-stats.js';
import { seededRandom as seeded } from './gate-fixtures.js';

const CRITERIA: Measurement = { min_samples: 10, min_time_ms: 250, max_noise_pct: 1, timeout_ms: 10_000, warmup_ms: 100 };

/** Feeds `next()` samples (wall time = the sum of samples) until the rule stops; returns when and why. */
function run(criteria: Measurement, next: (i: number) => number, limit = 100_000): { samples: number[]; reason: StopReason } {
  const rule = new StopRule(criteria);
  const samples: number[] = [];
  let wall = 0;
  for (let i = 0; i < limit; i++) {
    const ms = next(i);
    samples.push(ms);
    wall += ms;
    const reason = rule.add(ms, wall);
    if (reason) return { samples, reason };
  }
  throw new Error('never stopped');
}

describe('stop rule', () => {
  test('quiet samples stop as soon as both minimums hold', () => {
    // 10 samples of 20 ms: 200 ms < 250 ms, so the 13th sample (260 ms) is the first past both.
    const random = seeded(1);
    const { samples, reason } = run(CRITERIA, () => 20 * (1 + 0.001 * (random() - 0.5)));
    assert.deepEqual([samples.length, reason], [13, 'noise']);
    // Short samples: the time minimum decides; long ones: the count minimum.
    assert.equal(run(CRITERIA, () => 1).samples.length, 250);
    assert.equal(run(CRITERIA, () => 100).samples.length, 10);
  });

  test('the noise it stops at is the noise of the samples', () => {
    const random = seeded(2);
    const { samples, reason } = run(CRITERIA, () => 5 * (1 + 0.02 * (random() - 0.5))); // ~0.6% noise
    assert.equal(reason, 'noise');
    assert.ok(summarize(samples).noise_pct <= 1);
  });

  test('noise above the limit that has settled stops as noise-stable, with more samples than the minimums', () => {
    const random = seeded(3);
    const { samples, reason } = run(CRITERIA, () => 5 * (1 + 0.2 * (random() - 0.5))); // ~5.8% noise
    assert.equal(reason, 'noise-stable');
    assert.ok(samples.length >= 50 + NOISE_WINDOW - 1, String(samples.length));
    assert.ok(summarize(samples).noise_pct > 1);
  });

  test('a drifting stream (noise still growing) runs to the timeout', () => {
    // Each sample 1% longer than the last: the noise keeps rising.
    const { samples, reason } = run({ ...CRITERIA, timeout_ms: 2_000 }, (i) => 5 * 1.01 ** i);
    assert.equal(reason, 'timeout');
    const wall = samples.reduce((a, b) => a + b, 0);
    assert.ok(wall >= 2_000 && wall - samples.at(-1)! < 2_000);
  });

  test('the timeout wins over the minimums', () => {
    assert.deepEqual(run({ ...CRITERIA, timeout_ms: 30 }, () => 10).samples.length, 3);
  });
});
