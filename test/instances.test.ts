// How a point is spread over model instances (src/measure/instances.ts): how many, each one's budget,
// and how their measurements pool. The runner's use of them is in runner.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { affordableInstances, instanceShare, pooledMeasurement, type Measured } from '../src/measure/instances.js';
import type { Measurement } from '../src/sweep/axes.js';

const part = (samples: number[], stop: Measured['stop_reason'], clock: number | null): Measured => ({
  samples_ms: samples, host_ms: samples, stop_reason: stop, mode: 'hot', units_per_sample: 2, discarded: 1, sm_clock_mhz: clock,
  instances: 1,
});

describe('instances', () => {
  test('as many as asked while the timeout affords each its units, else fewer, at least one', () => {
    assert.equal(affordableInstances(5, 10, 2000, 4), 5);
    assert.equal(affordableInstances(5, 200, 2000, 4), 2);
    assert.equal(affordableInstances(5, 5300, 2000, 4), 1);
    assert.equal(affordableInstances(1, 0.1, 2000, 4), 1);
  });

  test('each instance gets its share of the budgets, at least a sample', () => {
    const m: Measurement = { min_samples: 10, min_time_ms: 250, max_noise_pct: 1, timeout_ms: 2000, warmup_ms: 100, instances: 5 };
    assert.deepEqual(instanceShare(m, 4), { min_samples: 3, min_time_ms: 62.5, max_noise_pct: 1, timeout_ms: 500, warmup_ms: 25, instances: 4 });
    assert.equal(instanceShare({ ...m, min_samples: 1 }, 4).min_samples, 1);
  });

  test('pooled: samples in order, the weakest stop reason, the SM clock over every kept sample', () => {
    const pooled = pooledMeasurement([part([1, 2, 3], 'noise', 1800), part([4], 'timeout', 1900), part([5], 'noise-stable', null)]);
    assert.deepEqual(pooled.samples_ms, [1, 2, 3, 4, 5]);
    assert.equal(pooled.stop_reason, 'timeout');
    assert.equal(pooled.sm_clock_mhz, (3 * 1800 + 1900) / 4);
    assert.equal(pooled.discarded, 3);
    assert.equal(pooled.instances, 3);
    assert.equal(pooledMeasurement([part([1], 'noise', null), part([2], 'noise-stable', null)]).stop_reason, 'noise-stable');
    assert.equal(pooledMeasurement([part([1], 'noise', null)]).sm_clock_mhz, null);
  });
});
