// Sample summaries on arrays with known answers (linear-interpolated percentiles, numpy's default).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { median, percentileOfSorted, summarize } from '../src/measure/sample-stats.js';

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)), `${what}: ${actual} != ${expected}`);

describe('stats', () => {
  test('five samples, unsorted', () => {
    const s = summarize([5, 1, 4, 2, 3]);
    assert.equal(s.count, 5);
    assert.equal(s.median, 3);
    assert.equal(s.mean, 3);
    assert.equal(s.min, 1);
    assert.equal(s.max, 5);
    close(s.p10, 1.4, 'p10'); // rank 0.4 between 1 and 2
    close(s.p90, 4.6, 'p90'); // rank 3.6 between 4 and 5
    close(s.stdev, Math.sqrt(2.5), 'stdev'); // sum of squares 10 over n - 1 = 4
    close(s.noise_pct, (Math.sqrt(2.5) / 3) * 100, 'noise');
  });

  test('even count: the median interpolates between the middle two', () => {
    const s = summarize([40, 10, 30, 20]);
    assert.equal(s.median, 25);
    close(s.p10, 13, 'p10'); // rank 0.3
    close(s.p90, 37, 'p90'); // rank 2.7
    assert.equal(median([2, 1]), 1.5);
  });

  test('one sample: every statistic is that sample, spread zero', () => {
    assert.deepEqual(summarize([0.25]), {
      count: 1, median: 0.25, mean: 0.25, min: 0.25, max: 0.25, p10: 0.25, p90: 0.25, stdev: 0, noise_pct: 0,
    });
  });

  test('percentile ends are min and max; bad input is refused', () => {
    const sorted = [1, 2, 4, 8];
    assert.equal(percentileOfSorted(sorted, 0), 1);
    assert.equal(percentileOfSorted(sorted, 100), 8);
    close(percentileOfSorted(sorted, 50), 3, 'p50');
    assert.throws(() => percentileOfSorted(sorted, 101), { message: 'percentile must be 0..100, got 101' });
    assert.throws(() => summarize([]), { message: 'summary of no samples' });
  });
});
