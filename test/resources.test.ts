// Memory and energy per point where they cannot be read: a real cpu-backend point records why for
// both; the conversion of the engine's readings (joules per unit and per token, mean watts); the
// results schema's two shapes (measured or the reason, nothing in between) and the CSV columns.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadAddon } from '../src/engine/native.js';
import { runPoint } from '../src/measure/runner.js';
import { ENERGY_WINDOW_MS, measureResources } from '../src/measure/resources.js';
import { PointSchema } from '../src/results/schema.js';
import { CSV_HEADER, renderCsv } from '../reporters/csv.js';
import type { Measurement } from '../src/sweep/axes.js';
import { cpuConfig, ENVIRONMENT, okPoint, runInfo } from './harness-fixtures.js';
import { parseResults, SCHEMA_ID } from '../src/results/schema.js';

const measurement: Measurement = { min_samples: 3, min_time_ms: 1, max_noise_pct: 50, timeout_ms: 5_000, warmup_ms: 1 };

describe('memory and energy', () => {
  test('a cpu-backend point records why neither is measured', async () => {
    const addon = loadAddon();
    for (const config of [cpuConfig(), cpuConfig({ path: 'decoding', batch: 2, seq: 4 })]) {
      const point = PointSchema.parse(await runPoint(config, { measurement, addon }));
      assert.equal(point.status, 'ok');
      assert.deepEqual(point.memory, { reason: 'the cpu backend has no device memory' });
      assert.deepEqual(point.energy, { reason: 'the cpu backend has no energy counter' });
    }
    const model = new addon.Model('cpu', { path: 'encoder' });
    try {
      assert.throws(() => model.measureEnergy(0), { name: 'TypeError', message: 'measureEnergy(minWindowMs: number > 0)' });
    } finally {
      model.release();
    }
  });

  test("the engine's readings become joules per unit and per token and mean watts", () => {
    const windows: number[] = [];
    const source = {
      memory: () => ({ peakBytes: 123_456_789 }),
      measureEnergy: (ms: number) => {
        windows.push(ms);
        return { joules: 60, units: 200, windowMs: 250 };
      },
    };
    assert.deepEqual(measureResources(source, 1024), {
      memory: { peak_bytes: 123_456_789 },
      energy: { joules_per_unit: 0.3, joules_per_token: 0.3 / 1024, mean_w: 240, units: 200, window_ms: 250 },
    });
    assert.deepEqual(windows, [ENERGY_WINDOW_MS]);
    const absent = { memory: () => ({ reason: 'NVML (libnvidia-ml.so.1) not found' }), measureEnergy: () => ({ reason: 'x' }) };
    assert.deepEqual(measureResources(absent, 1), { memory: { reason: 'NVML (libnvidia-ml.so.1) not found' }, energy: { reason: 'x' } });
  });

  test('the schema takes a reading or a reason, not a mix, and older points without either', () => {
    const base = okPoint(cpuConfig(), [1, 1.1, 0.9]);
    const energy = { joules_per_unit: 0.3, joules_per_token: 0.01, mean_w: 240, units: 200, window_ms: 250 };
    assert.ok(PointSchema.safeParse({ ...base, memory: { peak_bytes: 1024 }, energy }).success);
    assert.ok(PointSchema.safeParse({ ...base, memory: { reason: 'r' }, energy: { reason: 'r' } }).success);
    assert.ok(PointSchema.safeParse(base).success);
    for (const bad of [{ memory: { peak_bytes: 1024, reason: 'r' } }, { memory: { peak_bytes: -1 } }, { energy: { ...energy, reason: 'r' } },
      { energy: { joules_per_unit: 0.3 } }, { memory: {} }]) {
      assert.equal(PointSchema.safeParse({ ...base, ...bad }).success, false, JSON.stringify(bad));
    }
  });

  test('CSV: peak_memory_bytes, joules_per_unit, joules_per_token, mean_w; empty cells where not measured', () => {
    const energy = { joules_per_unit: 0.5, joules_per_token: 0.25, mean_w: 300, units: 100, window_ms: 260 };
    const measured = okPoint(cpuConfig(), [1], { memory: { peak_bytes: 4096 }, energy });
    const absent = okPoint(cpuConfig({ batch: 2 }), [1], { memory: { reason: 'r' }, energy: { reason: 'r' } });
    const results = parseResults({ schema: SCHEMA_ID, run: runInfo('resources'), env: ENVIRONMENT, points: [measured, absent], dropped: [] }, 'test');
    // The four columns before the last five (fp8's fp32_rel_err, fp32_ids_equal_fraction, fp16_ids_equal_fraction,
    // fp16_score_rel_err, then instances; the device name before them holds a quoted comma).
    assert.deepEqual(CSV_HEADER.slice(-9, -5), ['peak_memory_bytes', 'joules_per_unit', 'joules_per_token', 'mean_w']);
    const rows = renderCsv(results).trimEnd().split('\n').map((line) => line.split(',').slice(-9, -5));
    assert.deepEqual(rows.slice(1), [['4096', '0.5', '0.25', '300'], ['', '', '', '']]);
  });
});
