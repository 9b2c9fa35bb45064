// Memory and energy of real cuda points (src/measure/resources.ts, native/src/cuda/measured_model.h):
// the peak device memory exceeds the model's GEMM weights alone, and NVML's energy counter gives a
// positive energy per unit at a plausible mean power for a GPU (20..1200 W) over a window at least
// ENERGY_WINDOW_MS long. Runs where the addon has the cuda backend, and is skipped with the reason
// everywhere else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CONFIG, type PointConfig } from '../src/engine/config.js';
import { runPoint } from '../src/measure/runner.js';
import { ENERGY_WINDOW_MS } from '../src/measure/resources.js';
import { PointSchema } from '../src/results/schema.js';
import type { Measurement } from '../src/sweep/axes.js';
import { cudaAvailability } from './support/cuda.js';
import { suiteUnless } from './support/suite.js';

const { addon, skip } = cudaAvailability();
const measurement: Measurement = { min_samples: 5, min_time_ms: 20, max_noise_pct: 50, timeout_ms: 20_000, warmup_ms: 20 };
const SHAPE = { layers: 6, heads: 8, head_size: 64, inter_size: 2048, vocab: 31538, max_seq: 128 };

function cudaPoint(overrides: Partial<PointConfig>): PointConfig {
  return { ...DEFAULT_CONFIG, ...SHAPE, backend: 'cuda', path: 'encoder', variant: 'fused', precision: 'fp16', ...overrides };
}

/** Bytes of the GEMM weights alone (Q, K, V, O and the two FFN matrices per layer; cross-attention's four more in a decoder layer). */
function gemmWeightBytes(c: PointConfig): number {
  const hidden = c.heads * c.head_size;
  const perLayer = (c.path === 'encoder' ? 4 : 8) * hidden * hidden + 2 * hidden * c.inter_size;
  return c.layers * perLayer * (c.precision === 'fp32' || c.precision === 'tf32' ? 4 : 2);
}

suiteUnless('CUDA memory and energy', skip, () => {
  const points: [string, PointConfig][] = [
    ['encoder fused fp16 b8 s128', cudaPoint({ batch: 8, seq: 128 })],
    ['decoding fused fp16 b8 beam 4 s32', cudaPoint({ path: 'decoding', batch: 8, beam: 4, seq: 32, mem_len: 32 })],
  ];
  for (const [name, config] of points) {
    test(`${name}: peak memory above the weights, energy > 0 at 20..1200 W`, async (t) => {
      const point = PointSchema.parse(await runPoint(config, { measurement, addon: addon! }));
      assert.equal(point.status, 'ok', point.error);
      assert.ok(point.memory && 'peak_bytes' in point.memory, JSON.stringify(point.memory));
      assert.ok(point.energy && !('reason' in point.energy), JSON.stringify(point.energy));
      const { peak_bytes } = point.memory;
      const energy = point.energy;
      t.diagnostic(`peak ${(peak_bytes / 2 ** 20).toFixed(1)} MiB (GEMM weights ${(gemmWeightBytes(config) / 2 ** 20).toFixed(1)} MiB); `
        + `${energy.joules_per_unit.toPrecision(3)} J/unit, ${energy.joules_per_token.toExponential(2)} J/token, `
        + `${energy.mean_w.toFixed(0)} W over ${energy.units} units in ${energy.window_ms.toFixed(0)} ms`);
      assert.ok(peak_bytes > gemmWeightBytes(config), `${peak_bytes} <= ${gemmWeightBytes(config)}`);
      assert.ok(energy.joules_per_unit > 0 && energy.joules_per_token > 0);
      assert.ok(energy.mean_w >= 20 && energy.mean_w <= 1200, `${energy.mean_w} W`);
      assert.ok(energy.window_ms >= ENERGY_WINDOW_MS, `window ${energy.window_ms} ms`);
      // The window's units ran back to back: their time is most of the window.
      const unitMs = point.summary!.gpu_ms_median;
      assert.ok(energy.units * unitMs >= 0.5 * energy.window_ms, `${energy.units} x ${unitMs} ms in ${energy.window_ms} ms`);
    });
  }

  test('a second model of one config reports the same peak: the count starts at its own build', () => {
    const config = { ...SHAPE, path: 'encoder' as const, variant: 'fused' as const, precision: 'fp16' as const, batch: 4, seq: 64 };
    const peaks = [0, 1].map(() => {
      const model = new addon!.Model('cuda', config);
      try {
        model.run();
        const memory = model.memory();
        assert.ok('peakBytes' in memory, JSON.stringify(memory));
        return memory.peakBytes;
      } finally {
        model.release();
      }
    });
    assert.equal(peaks[0], peaks[1]);
  });
});
