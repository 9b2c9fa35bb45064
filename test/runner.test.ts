// The runner on a scripted engine (exact sample counts, warm-up, error mapping, release) and on
// the real CPU engine.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { suiteUnless } from './support/suite.js';
import type { Measurement } from '../src/sweep/axes.js';
import type { PointConfig } from '../src/engine/config.js';
import { flopCount } from '../src/measure/flops.js';
import type {
  NativeAddon, NativeEnergy, NativeGemmChoice, NativeMemory, NativeModel, NativeOutputs, NativeProfile, NativeSample,
} from '../src/engine/native.js';
import { CPU_REFERENCE_MAX_FLOP, engineReferences } from '../src/check/references.js';
import { MIN_WARMUP_ITERATIONS, runPoint, WARMUP_CAP_MS } from '../src/measure/runner.js';
import { PointSchema } from '../src/results/schema.js';
import { addonOrSkip, cpuConfig } from './harness-fixtures.js';

const nativeError = (code: string, message: string) => Object.assign(new Error(message), { code });

interface Script {
  /** Durations measure() returns, in order (the last one repeats). */
  durations?: number[];
  /** SM clocks measure() reports, in order (the last one repeats); 0 when absent. */
  clocks?: number[];
  createError?: Error;
  measureError?: Error;
  gemms?: NativeGemmChoice[];
}

/** An engine whose models return scripted durations; it records the calls made on it. */
function scriptedAddon(script: Script) {
  const log = { created: 0, released: 0, measured: 0, calls: [] as string[] };
  const hidden = new Float32Array(2 * 16 * 16).fill(0.5);
  const outputs: NativeOutputs = {
    hidden, lengths: Int32Array.from([16, 16]), outputIds: new Int32Array(), stepIds: new Int32Array(), parentIds: new Int32Array(),
    cumLogProbs: new Float32Array(), scores: new Float32Array(), stepsRun: 0,
  };
  class Model implements NativeModel {
    constructor() {
      if (script.createError) throw script.createError;
      log.created++;
    }
    run(): void {}
    measure(iterations = 1, flushL2 = false): NativeSample {
      if (script.measureError) throw script.measureError;
      log.calls.push(`${iterations}${flushL2 ? ' cold' : ''}`);
      const durations = script.durations ?? [1];
      const clocks = script.clocks ?? [0];
      const at = log.measured++;
      return { ms: durations[Math.min(at, durations.length - 1)], smClockMhz: clocks[Math.min(at, clocks.length - 1)] };
    }
    profile(): NativeProfile {
      throw nativeError('ERR_FTB_ENGINE', 'kernel profiles need the cuda backend');
    }
    outputs(): NativeOutputs {
      return outputs;
    }
    notes(): Record<string, string> {
      return { engine: 'scripted' };
    }
    gemms(): NativeGemmChoice[] {
      return script.gemms ?? [];
    }
    memory(): NativeMemory {
      return { reason: 'the cpu backend has no device memory' };
    }
    measureEnergy(): NativeEnergy {
      return { reason: 'the cpu backend has no energy counter' };
    }
    release(): void {
      log.released++;
    }
  }
  const addon = { Model, backends: () => ['cpu'], deviceInfo: () => ({ backend: 'cpu' }) } as unknown as NativeAddon;
  return { addon, log };
}

// batch 2, seq 16, hidden 16 (2 x 8): the scripted outputs' shape.
const config = cpuConfig({ batch: 2, seq: 16, full_length: true });
const measurement: Measurement = { min_samples: 3, min_time_ms: 45, max_noise_pct: 1, timeout_ms: 10_000, warmup_ms: 25 };

describe('runner', () => {
  test('warm-up and samples stop once both minimums hold, counted in backend time', async () => {
    // Warm-up: 10 ms iterations until >= 25 ms and >= 3 iterations -> 3. Then samples until
    // >= 45 ms and >= 3 samples -> 5 samples.
    const { addon, log } = scriptedAddon({ durations: [10] });
    const point = await runPoint(config, { measurement, addon });
    assert.equal(MIN_WARMUP_ITERATIONS, 3);
    assert.equal(log.measured, 3 + 5);
    assert.deepEqual(point.samples_ms, [10, 10, 10, 10, 10]);
    assert.equal(point.summary?.samples, 5);
    assert.equal(log.created, 1);
    assert.equal(log.released, 1);
  });

  test('a point spread over instances builds each in turn, shares the budgets out and pools the samples', async () => {
    // Each of 3 instances: min_samples 1, min_time 15 ms, warm-up 25/3 ms -> 3 warm-ups, 2 samples of 10 ms.
    const { addon, log } = scriptedAddon({ durations: [10] });
    const point = await runPoint(config, { measurement: { ...measurement, instances: 3 }, addon });
    assert.equal(log.created, 3);
    assert.equal(log.released, 3);
    assert.equal(log.measured, 3 * (3 + 2));
    assert.deepEqual(point.samples_ms, [10, 10, 10, 10, 10, 10]);
    assert.equal(point.summary?.samples, 6);
    assert.equal(point.summary?.instances, 3);
  });

  test('every instance samples as the first one\'s warm-up said', async () => {
    // The first instance's 0.5 ms units are sampled cold; the second's 2 ms warm-up alone would say hot.
    const { addon, log } = scriptedAddon({ durations: [0.5, 0.5, 0.5, 0.5, 2] });
    const point = await runPoint(config, { measurement: { ...measurement, min_samples: 2, min_time_ms: 0, warmup_ms: 0, instances: 2 }, addon });
    assert.deepEqual(log.calls, ['1', '1', '1', '1 cold', '1', '1', '1', '1 cold']);
    assert.deepEqual(point.samples_ms, [0.5, 2]);
    assert.equal(point.summary?.mode, 'cold');
  });

  test('a point whose units the timeout cannot afford on every instance runs on fewer', async () => {
    // 600 ms units, a 2 s timeout: an instance needs 4 units (3 warm-ups and a sample), so one instance.
    const { addon, log } = scriptedAddon({ durations: [600] });
    const point = await runPoint(config, { measurement: { ...measurement, timeout_ms: 2000, instances: 5 }, addon });
    assert.equal(log.created, 1);
    assert.equal(point.summary?.instances, 1);
  });

  test('a point records the GEMMs its model ran; a model without GEMMs records none', async () => {
    const gemm: NativeGemmChoice = {
      role: 'qkv', m: 32, n: 2304, k: 768, batch_count: 1, trans_a: false, trans_b: false, dtype: 'f16', epilogue: 'bias',
      algo: { id: 21, tile: 18, stages: 0, splitk: 1, reduction: 0, swizzle: 0, custom: 0, inner: 0, cluster: 0, workspace: 0 },
      source: 'tuned', tuned_ms: 0.004, heuristic_ms: 0.005,
    };
    const point = await runPoint(config, { measurement, addon: scriptedAddon({ durations: [10], gemms: [gemm] }).addon });
    assert.deepEqual(PointSchema.parse(point).gemms, [gemm]);
    assert.equal((await runPoint(config, { measurement, addon: scriptedAddon({ durations: [10] }).addon })).gemms, undefined);
  });

  test('long units warm up for WARMUP_CAP_MS, not three iterations', async () => {
    // 600 ms units: the second reaches 1000 ms; a 5 s unit is its own warm-up.
    assert.equal(WARMUP_CAP_MS, 1000);
    const long = scriptedAddon({ durations: [600] });
    await runPoint(config, { measurement, addon: long.addon });
    assert.equal(long.log.measured, 2 + 3);
    const longer = scriptedAddon({ durations: [5000] });
    await runPoint(config, { measurement, addon: longer.addon });
    assert.equal(longer.log.measured, 1 + 3);
  });

  test('noisy samples go on until the noise stops changing, or the timeout', async () => {
    // Alternating 10 / 20 ms: 33% noise, never under 1%; it settles, so noise-stable ends it.
    const alternating = Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? 10 : 20));
    const stable = await runPoint(config, { measurement, addon: scriptedAddon({ durations: [10, 10, 10, ...alternating] }).addon });
    assert.equal(stable.summary?.stop_reason, 'noise-stable');
    assert.ok(stable.samples_ms.length > 16, String(stable.samples_ms.length));
    // A timeout shorter than the minimums: the first sample past it stops the point.
    const { addon } = scriptedAddon({ durations: [10, 10, 10, ...alternating] });
    const timedOut = await runPoint(config, { measurement: { ...measurement, timeout_ms: 0 }, addon });
    assert.equal(timedOut.summary?.stop_reason, 'timeout');
    assert.equal(timedOut.samples_ms.length, 1);
  });

  test('mode auto: cold (L2 flushed, one unit) under 1 ms, else hot batches of about 10 ms', async () => {
    /** The calls as "<warm-up calls of one unit> then <samples> x <call>". */
    const shape = (calls: string[]) => {
      const warmup = calls.findIndex((call) => call !== '1');
      assert.ok(calls.slice(warmup).every((call) => call === calls[warmup]), calls.join(', '));
      return `${warmup} then ${calls.length - warmup} x ${calls[warmup]}`;
    };
    const cold = scriptedAddon({ durations: [0.5] });
    const coldPoint = await runPoint(config, { measurement, addon: cold.addon });
    // Warm-up: 25 ms of 0.5 ms units = 50; samples: 45 ms of them = 90.
    assert.equal(shape(cold.log.calls), '50 then 90 x 1 cold');
    assert.deepEqual([coldPoint.summary?.mode, coldPoint.summary?.units_per_sample], ['cold', 1]);
    const hot = scriptedAddon({ durations: [2] });
    const hotPoint = await runPoint(config, { measurement, addon: hot.addon });
    // Warm-up: 13 units of 2 ms; samples of 5 units (10 ms), each 2 ms per unit: 23 of them reach 45 ms.
    assert.equal(shape(hot.log.calls), '13 then 23 x 5');
    assert.deepEqual([hotPoint.summary?.mode, hotPoint.summary?.units_per_sample], ['hot', 5]);
    // Forced modes win over the estimate.
    const forced = scriptedAddon({ durations: [2] });
    await runPoint({ ...config, mode: 'cold' }, { measurement, addon: forced.addon });
    assert.equal(shape(forced.log.calls), '13 then 23 x 1 cold');
  });

  test('samples at a throttled SM clock (under 75% of the maximum) are discarded and counted', async () => {
    // Warm-up at 1980 MHz, then 1000 MHz (throttled) twice, then 1900 MHz.
    const { addon } = scriptedAddon({ durations: [10], clocks: [1980, 1980, 1980, 1000, 1000, 1900] });
    const point = await runPoint(config, { measurement, addon, ceilings: { sm_clock_max_mhz: 1980 } });
    assert.equal(point.summary?.discarded, 2);
    assert.equal(point.samples_ms.length, 5);
    assert.equal(point.summary?.sm_clock_mhz, 1900);
    // Without a clock to compare with, nothing is discarded.
    const unchecked = await runPoint(config, { measurement, addon: scriptedAddon({ durations: [10], clocks: [500] }).addon });
    assert.deepEqual([unchecked.summary?.discarded, unchecked.summary?.sm_clock_mhz], [0, 500]);
  });

  test('% of the measured peaks, when the run has them', async () => {
    const { addon } = scriptedAddon({ durations: [10] });
    const point = await runPoint(config, { measurement, addon, ceilings: { sm_clock_max_mhz: 0, peak_gbps: 1, peak_tflops: { fp32: 1e-3 } } });
    const s = point.summary!;
    assert.equal(s.pct_peak_gbps, 100 * s.gbps!);
    assert.equal(s.pct_peak_tflops, (100 * s.tflops!) / 1e-3);
    const none = await runPoint(config, { measurement, addon: scriptedAddon({ durations: [10] }).addon });
    assert.deepEqual([none.summary?.pct_peak_gbps, none.summary?.pct_peak_tflops], [null, null]);
  });

  test('the minimum sample count wins when the time is reached first', async () => {
    const { addon, log } = scriptedAddon({ durations: [100] });
    const point = await runPoint(config, { measurement: { min_samples: 4, min_time_ms: 1, max_noise_pct: 1, timeout_ms: 10_000, warmup_ms: 1 }, addon });
    assert.equal(point.samples_ms.length, 4);
    assert.equal(log.measured, MIN_WARMUP_ITERATIONS + 4);
  });

  test('warm-up samples are not kept; the summary is of the kept ones', async () => {
    // Three 50 ms warm-up iterations reach the 25 ms budget; then 3, 1, 2, ... until >= 45 ms.
    const { addon } = scriptedAddon({ durations: [50, 50, 50, 3, 1, 2, 20, 20, 20] });
    // Any noise accepted: the minimums alone end the sampling.
    const point = await runPoint(config, { measurement: { ...measurement, max_noise_pct: 1000 }, addon });
    assert.deepEqual(point.samples_ms, [3, 1, 2, 20, 20]);
    const s = point.summary!;
    assert.equal(s.gpu_ms_median, 3);
    assert.equal(s.gpu_ms_min, 1);
    assert.equal(s.gpu_ms_max, 20);
    assert.equal(s.gpu_ms_mean, 46 / 5);
    assert.equal(s.stop_reason, 'noise');
    assert.equal(s.tokens_per_s, (2 * 16) / 0.003);
    assert.equal(s.tflops, flopCount(config) / 0.003 / 1e12);
    assert.ok(s.host_ms_median !== null && s.host_ms_median >= 0);
    assert.equal(point.status, 'ok');
    assert.equal(point.correct, true);
    assert.deepEqual(point.notes, { engine: 'scripted' });
    assert.doesNotThrow(() => PointSchema.parse(point));
  });

  test('engine errors become the point status; the model is always released', async () => {
    const cases: [Script, string, string][] = [
      [{ createError: nativeError('ERR_FTB_OOM', 'CUDA out of memory in allocating x') }, 'oom', 'CUDA out of memory in allocating x'],
      [{ createError: nativeError('ERR_FTB_CONFIG', 'precision must be fp32 on the cpu backend, got fp16') }, 'error',
        'precision must be fp32 on the cpu backend, got fp16'],
      [{ measureError: nativeError('ERR_FTB_ENGINE', 'kernel attention failed: an illegal memory access') }, 'error',
        'kernel attention failed: an illegal memory access'],
      [{ measureError: nativeError('ERR_FTB_OOM', 'CUDA out of memory in workspace') }, 'oom', 'CUDA out of memory in workspace'],
      [{ durations: [1, 1, 1, 0] }, 'error', 'the backend timed an iteration at 0 ms'],
    ];
    for (const [script, status, message] of cases) {
      const { addon, log } = scriptedAddon(script);
      const point = await runPoint(config, { measurement, addon });
      assert.equal(point.status, status, message);
      assert.equal(point.error, message);
      assert.equal(point.summary, null);
      assert.deepEqual(point.samples_ms, []);
      assert.equal(point.correct, null);
      assert.equal(log.released, log.created, 'every model built was released');
      assert.doesNotThrow(() => PointSchema.parse(point));
    }
  });

  test('an exception that is not the engine\'s is a harness bug: it propagates (after release)', async () => {
    const { addon, log } = scriptedAddon({ measureError: new TypeError('boom') });
    await assert.rejects(runPoint(config, { measurement, addon }), { name: 'TypeError', message: 'boom' });
    assert.equal(log.released, 1);
  });
});

describe('references of a point', () => {
  /** An engine whose models output `hidden` scaled per backend/variant; it logs who was built. */
  function referenceAddon(scale: Record<string, number>, failing?: string) {
    const built: string[] = [];
    class Model {
      private readonly who: string;
      constructor(backend: string, c: PointConfig) {
        this.who = `${backend}/${c.variant}/${c.precision}`;
        if (failing === this.who) throw nativeError('ERR_FTB_OOM', `CUDA out of memory in ${this.who}`);
        built.push(this.who);
      }
      run(): void {}
      measure(): NativeSample {
        return { ms: 1, smClockMhz: 0 };
      }
      profile(): NativeProfile {
        throw nativeError('ERR_FTB_ENGINE', 'kernel profiles need the cuda backend');
      }
      outputs(): NativeOutputs {
        const factor = scale[this.who.split('/').slice(0, 2).join('/')];
        return {
          hidden: new Float32Array(2 * 16 * 16).fill(0.5 * factor), lengths: Int32Array.from([16, 16]), outputIds: new Int32Array(),
          stepIds: new Int32Array(), parentIds: new Int32Array(), cumLogProbs: new Float32Array(), scores: new Float32Array(), stepsRun: 0,
        };
      }
      notes(): Record<string, string> {
        return {};
      }
      gemms(): NativeGemmChoice[] {
        return [];
      }
      memory(): NativeMemory {
        return { peakBytes: 1 << 20 };
      }
      measureEnergy(): NativeEnergy {
        return { joules: 2, units: 100, windowMs: 250 };
      }
      release(): void {}
    }
    return { addon: { Model, backends: () => ['cpu', 'cuda'] } as unknown as NativeAddon, built };
  }
  const cuda = (overrides: Partial<PointConfig>): PointConfig => ({ ...config, backend: 'cuda', variant: 'fused', precision: 'fp16', ...overrides });
  const fast: Measurement = { min_samples: 2, min_time_ms: 0, max_noise_pct: 1, timeout_ms: 10_000, warmup_ms: 0 };

  test('a fused point is compared with its unfused variant and the CPU, each error recorded', async () => {
    const { addon, built } = referenceAddon({ 'cuda/fused': 1.001, 'cuda/unfused': 1, 'cpu/reference': 1.02 });
    const point = await runPoint(cuda({}), { measurement: fast, addon });
    assert.equal(point.status, 'ok');
    assert.deepEqual(built, ['cuda/fused/fp16', 'cuda/unfused/fp16', 'cpu/reference/fp32']);
    assert.deepEqual(point.checks.filter((x) => x.name.startsWith('hidden vs')).map((x) => [x.name, x.ok]),
      [['hidden vs unfused', true], ['hidden vs cpu', false]]);
    assert.equal(point.correct, false);
    assert.ok(Math.abs(point.max_rel_err! - 0.019 / 1.02) < 1e-6, `max_rel_err ${point.max_rel_err}`);
  });

  test('the CPU reference is computed once per shape, and not at all past the FLOP limit', async () => {
    const { addon, built } = referenceAddon({ 'cuda/fused': 1, 'cuda/unfused': 1, 'cpu/reference': 1 });
    const references = engineReferences(addon);
    for (const precision of ['fp16', 'bf16'] as const) {
      for (const variant of ['fused', 'unfused'] as const) {
        assert.deepEqual(references.of(cuda({ precision, variant })).map((r) => r.name), variant === 'fused' ? ['unfused', 'cpu'] : ['cpu']);
      }
    }
    assert.equal(built.filter((who) => who.startsWith('cpu')).length, 1);
    const big = cuda({ layers: 64, heads: 16, head_size: 64, inter_size: 4096, batch: 64, seq: 512, max_seq: 512 });
    assert.ok(flopCount(big) > CPU_REFERENCE_MAX_FLOP);
    assert.deepEqual(references.of(big).map((r) => r.name), ['unfused']);
    assert.deepEqual(references.of(cpuConfig()), []);
    // A checkpoint's parity needs the CPU reference past the limit only when transformers is not its reference.
    const dir = fileURLToPath(new URL('../../test/fixtures/checkpoints/bert', import.meta.url));
    const checkpoint = { ...big, full_length: true, model: { dir, type: 'bert', name: 'bert', sha256: '0'.repeat(64), weights: [] } };
    assert.deepEqual(references.of(checkpoint, 'transformers').map((r) => r.name), ['unfused']);
    assert.deepEqual(references.of(checkpoint, 'cpu').map((r) => r.name), ['unfused', 'cpu']);
  });

  test("an unfused point's outputs stand as the next fused point's reference, with no extra run", async () => {
    const { addon, built } = referenceAddon({ 'cuda/fused': 1.001, 'cuda/unfused': 1, 'cpu/reference': 1 });
    const references = engineReferences(addon);
    const big = { layers: 64, heads: 16, head_size: 64, inter_size: 4096, batch: 64, seq: 512, max_seq: 512 };
    await runPoint(cuda({ ...big, variant: 'unfused' }), { measurement: fast, addon, references });
    const fused = await runPoint(cuda({ ...big }), { measurement: fast, addon, references });
    assert.deepEqual(built, ['cuda/unfused/fp16', 'cuda/fused/fp16']);
    assert.ok(Math.abs(fused.max_rel_err! - 0.001) < 1e-6);
    // Another shape: the kept outputs do not match it, so the unfused variant runs.
    await runPoint(cuda({ ...big, batch: 32 }), { measurement: fast, addon, references });
    assert.deepEqual(built.slice(2), ['cuda/fused/fp16', 'cuda/unfused/fp16']);
  });

  test('a reference that fails keeps the point and its measurement, with a failed check', async () => {
    const { addon } = referenceAddon({ 'cuda/fused': 1, 'cpu/reference': 1 }, 'cuda/unfused/fp16');
    const point = await runPoint(cuda({}), { measurement: fast, addon });
    assert.equal(point.status, 'ok');
    assert.ok(point.summary && point.samples_ms.length >= 2);
    assert.equal(point.correct, false);
    assert.deepEqual(point.checks.find((x) => x.name === 'hidden vs unfused'),
      { name: 'hidden vs unfused', ok: false, detail: 'the reference failed: CUDA out of memory in cuda/unfused/fp16' });
    assert.equal(point.max_rel_err, 0);
  });
});

const { addon, skip } = addonOrSkip();

suiteUnless('runner on the CPU engine', skip, () => {
  const fast: Measurement = { min_samples: 3, min_time_ms: 1, max_noise_pct: 1, timeout_ms: 10_000, warmup_ms: 1 };

  test('a decoding point: ok, correct, backend samples, tokens per step', async () => {
    const c = cpuConfig({ path: 'decoding', batch: 2, beam: 2, seq: 6, vocab: 32, mem_len: 4, max_seq: 6 });
    const point = await runPoint(c, { measurement: fast, addon });
    assert.equal(point.status, 'ok', point.error);
    assert.equal(point.correct, true);
    assert.ok(point.samples_ms.length >= 3 && point.samples_ms.every((ms) => ms > 0));
    assert.equal(point.summary!.tokens_per_s, (2 * 6) / (point.summary!.gpu_ms_median / 1000));
    assert.ok(point.checks.some((x) => x.name === 'output ids = gather-tree of step ids and parent ids' && x.ok));
  });

  test('a config the cpu backend refuses is an error point naming the field', async () => {
    const point = await runPoint(cpuConfig({ precision: 'fp16' }), { measurement: fast, addon });
    assert.equal(point.status, 'error');
    assert.equal(point.error, 'precision must be fp32 on the cpu backend, got fp16');
  });
});
