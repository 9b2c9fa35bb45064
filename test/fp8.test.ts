// Precision fp8 without a GPU (issue 22): the E4M3 rounding and per-tensor scale the CPU reference
// emulates (native/src/common/e4m3.h, through the addon's test hooks), by exact expected values;
// the CPU's fp8 encoder, decoder and decoding (the emulated references of cuda fp8 points); where the
// sweep drops fp8 and why; the reference configs, the recorded fp32 (and, decoding, fp16) errors and
// the first-step rule of fp8 decoding. The GPU side: test/gpu-fp8.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkOutputs, relativeL2, type Verdict } from '../src/check/correctness.js';
import { FP16_REFERENCE, FP32_REFERENCE } from '../src/check/fp8.js';
import { cpuReferenceConfig, fp16ReferenceConfig, fp32ReferenceConfig } from '../src/check/references.js';
import { DEFAULT_CONFIG, type PointConfig } from '../src/engine/config.js';
import type { NativeOutputs } from '../src/engine/native.js';
import { PointSchema } from '../src/results/schema.js';
import { expandProfile } from '../src/sweep/expand.js';
import { fp8Unsupported } from '../src/sweep/fp8-support.js';
import { PROFILES } from '../suites/index.js';
import { addonOrSkip, cpuConfig, okPoint } from './harness-fixtures.js';
import { suiteUnless } from './support/suite.js';

const { addon, skip } = addonOrSkip();

/** [input, its E4M3 value]: one case per rule of the rounding. */
const ROUNDING: readonly [string, number, number][] = [
  ['zero', 0, 0],
  ['one', 1, 1],
  ['a normal value rounds to nearest (0.3: spacing 2^-5 in [0.25, 0.5))', 0.3, 0.3125],
  ['tie below an even mantissa rounds down (1.0625 between 1 and 1.125)', 1.0625, 1],
  ['tie below an odd mantissa rounds up (1.1875 between 1.125 and 1.25)', 1.1875, 1.25],
  ['tie in the binade of 128 (232 between 224 and 240) goes to the even 224', 232, 224],
  ['negative values round by magnitude', -1.1875, -1.25],
  ['the largest finite value', 448, 448],
  ['rounding up into 448 from the top binade (440)', 440, 448],
  ['just above 448 saturates', 449, 448],
  ['464, the tie RNE would send to 480 (NaN in E4M3), saturates', 464, 448],
  ['far above saturates', 1e6, 448],
  ['far below saturates to -448', -1e6, -448],
  ['+inf saturates (SATFINITE)', Infinity, 448],
  ['-inf saturates (SATFINITE)', -Infinity, -448],
  ['the smallest normal 2^-6', 2 ** -6, 2 ** -6],
  ['the largest subnormal 7·2^-9', 7 * 2 ** -9, 7 * 2 ** -9],
  ['the smallest subnormal 2^-9', 2 ** -9, 2 ** -9],
  ['a subnormal tie goes to the even multiple (5.5·2^-9 -> 6·2^-9)', 5.5 * 2 ** -9, 6 * 2 ** -9],
  ['a subnormal tie goes to the even multiple (4.5·2^-9 -> 4·2^-9)', 4.5 * 2 ** -9, 4 * 2 ** -9],
  ['a tie between the largest subnormal and 2^-6 goes to 2^-6 (even)', 7.5 * 2 ** -9, 2 ** -6],
  ['2^-10, half the smallest subnormal, ties to 0', 2 ** -10, 0],
  ['above half the smallest subnormal rounds up (0.75·2^-9)', 0.75 * 2 ** -9, 2 ** -9],
  ['below half the smallest subnormal flushes to 0', 2 ** -11, 0],
];

suiteUnless('fp8: E4M3 rounding and scales (native/src/common/e4m3.h)', skip, () => {
  for (const [name, input, expected] of ROUNDING) {
    test(`${name}: ${input} -> ${expected}`, () => {
      assert.equal(addon!.e4m3(new Float32Array([input]))[0], expected);
    });
  }

  test('signed zeros keep their sign; a negative value that flushes is -0', () => {
    const [zero, negativeZero, flushed] = addon!.e4m3(new Float32Array([0, -0, -(2 ** -11)]));
    assert.ok(Object.is(zero, 0) && Object.is(negativeZero, -0) && Object.is(flushed, -0));
  });

  test('NaN stays NaN', () => {
    assert.ok(Number.isNaN(addon!.e4m3(new Float32Array([NaN]))[0]));
  });

  test('every E4M3 value rounds to itself, and those are all 253 finite magnitudes ≤ 448 with sign', () => {
    const values: number[] = [0];
    for (let m = 1; m < 8; m++) values.push(m * 2 ** -9);  // subnormals
    for (let e = -6; e <= 8; e++) {
      for (let m = 0; m < 8; m++) if (!(e === 8 && m === 7)) values.push((1 + m / 8) * 2 ** e);  // 1.111·2^8 is NaN
    }
    assert.equal(values.length, 127);
    assert.equal(Math.max(...values), 448);
    const all = new Float32Array([...values, ...values.map((v) => -v)]);
    assert.deepEqual(Array.from(addon!.e4m3(all)), Array.from(all));
  });

  test('scale = amax / 448 in fp32; an all-zero tensor has scale 1', () => {
    assert.equal(addon!.e4m3Scale(448), 1);
    assert.equal(addon!.e4m3Scale(896), 2);
    assert.equal(addon!.e4m3Scale(3.5), 2 ** -7);
    assert.equal(addon!.e4m3Scale(1), Math.fround(1 / 448));
    assert.equal(addon!.e4m3Scale(0), 1);
  });

  test('the cpu backend\'s row-wise quantization: each row\'s amax / 448, then each value / its row\'s scale rounded', () => {
    const values = new Float32Array([0.5, -3.7, 1e-3, 2, -0.03125, 0, 0.25, 0.5, 0, 0, 0, 0]);
    const { values: quantized, scales } = addon!.quantizeE4m3('cpu', values, 4);
    assert.deepEqual(Array.from(scales), [addon!.e4m3Scale(Math.fround(3.7)), addon!.e4m3Scale(0.5), 1]);
    const expected = Array.from(values, (v, i) => addon!.e4m3(new Float32Array([Math.fround(v / scales[Math.floor(i / 4)])]))[0]);
    assert.deepEqual(Array.from(quantized), expected);
    assert.equal(quantized[1], -448);
    assert.equal(quantized[7], 448);  // the second row's own amax maps to 448 too
    assert.deepEqual(Array.from(quantized.subarray(8)), [0, 0, 0, 0]);
    assert.throws(() => addon!.quantizeE4m3('cpu', values, 5), /values\.length a multiple of cols/);
  });

  test('x / scale maps a tensor\'s amax to 448 exactly', () => {
    const amax = Math.fround(3.7);
    const scale = addon!.e4m3Scale(amax);
    assert.equal(addon!.e4m3(new Float32Array([Math.fround(amax / scale)]))[0], 448);
  });
});

/** A small encoder config of the cpu backend. */
const encoder = (overrides: Partial<PointConfig> = {}): PointConfig =>
  cpuConfig({ heads: 2, head_size: 16, inter_size: 64, batch: 2, seq: 12, layers: 2, seed: 7, ...overrides });

function outputsOf(config: PointConfig): NativeOutputs {
  const model = new addon!.Model('cpu', config);
  try {
    model.run();
    return model.outputs();
  } finally {
    model.release();
  }
}

const hiddenOf = (config: PointConfig): Float32Array => outputsOf(config).hidden;

suiteUnless('fp8: the CPU\'s emulated encoder', skip, () => {
  test('computes deterministically, apart from fp32, and within the range of fp8\'s rounding', () => {
    const fp8 = hiddenOf(encoder({ precision: 'fp8' }));
    assert.deepEqual(hiddenOf(encoder({ precision: 'fp8' })), fp8);
    const error = relativeL2(fp8, hiddenOf(encoder()));
    // E4M3 keeps 3 mantissa bits (relative rounding ≤ 2^-4): the outputs move, but stay the same
    // tensor. The bound is a sanity bound of this test, not the engine's tolerance.
    assert.ok(error > 0 && error < 0.2, `relative L2 ${error}`);
  });

  test('runs at tp 1 only', () => {
    assert.throws(() => new addon!.Model('cpu', encoder({ precision: 'fp8', tp: 2 })), { code: 'ERR_FTB_CONFIG', message: 'precision fp8 on the cpu backend needs tp 1, got 2' });
  });
});

/** A small decoder or decoding config of the cpu backend (h = 32: the E4M3 steps show in a few layers). */
const decoder = (overrides: Partial<PointConfig> = {}): PointConfig =>
  cpuConfig({ path: 'decoder', layers: 2, heads: 2, head_size: 16, inter_size: 64, vocab: 200, batch: 3, beam: 4, seq: 10,
    mem_len: 7, max_seq: 10, seed: 5, ...overrides });

suiteUnless('fp8: the CPU\'s emulated decoder and decoding', skip, () => {
  test('the decoder computes deterministically, apart from fp32, and within the range of fp8\'s rounding', () => {
    const fp8 = hiddenOf(decoder({ precision: 'fp8' }));
    assert.deepEqual(hiddenOf(decoder({ precision: 'fp8' })), fp8);
    const error = relativeL2(fp8, hiddenOf(decoder()));
    // A sanity bound of this test (3 mantissa bits over 2 layers of 7 GEMMs), not the engine's tolerance.
    assert.ok(error > 0 && error < 0.2, `relative L2 ${error}`);
  });

  for (const search of [{ beam: 4 }, { beam: 1 }, { beam: 1, top_k: 4 }] as const) {
    const name = 'top_k' in search ? 'top-k sampling' : search.beam > 1 ? 'beam search' : 'greedy search';
    test(`decoding (${name}) is deterministic, passes every check, and its scores move from fp32's by a few per cent`, () => {
      const config = decoder({ path: 'decoding', precision: 'fp8', ...search });
      const fp8 = outputsOf(config);
      assert.deepEqual(outputsOf(config), fp8);
      assert.deepEqual(checkOutputs(config, fp8).checks.filter((c) => !c.ok), []);
      const fp32 = outputsOf({ ...config, precision: 'fp32' });
      // The logits GEMM and every layer GEMM are quantized: the scores move, but by E4M3's rounding,
      // not by a broken model's O(1) (sanity bounds of this test).
      const error = relativeL2(fp8.scores, fp32.scores);
      assert.ok(error > 0 && error < 0.2, `scores relative L2 ${error}`);
    });
  }

  test('the first-step rule passes fp32 against the emulation (more apart than the GPU should be) and fails another model', () => {
    const config = decoder({ path: 'decoding', precision: 'fp8', batch: 4, beam: 4 });
    const point = { ...config, backend: 'cuda', variant: 'fused', graph: true } as PointConfig;
    const emulation = [{ name: 'cpu', outputs: outputsOf(cpuReferenceConfig(point)) }];
    const firstStep = (out: NativeOutputs) => checkOutputs(point, out, emulation).checks.find((c) => c.name === 'first-step ids vs cpu')!;
    // fp32 is the whole fp8 error away from the emulation; the GPU's fp8 only the part its fp16 storage adds.
    const fp32 = firstStep(outputsOf({ ...config, precision: 'fp32' }));
    assert.ok(fp32.ok, fp32.detail);
    // Other weights and memory (another seed): logits O(1) apart, as a broken fp8 GEMM would leave them.
    assert.deepEqual(firstStep(outputsOf({ ...config, seed: 6 })), { name: 'first-step ids vs cpu', ok: false, detail: '0 of 16 first-step ids kept by both < 25%' });
  });

  test('decoding runs at tp 1 only', () => {
    assert.throws(() => new addon!.Model('cpu', decoder({ path: 'decoding', precision: 'fp8', heads: 2, tp: 2 })),
      { code: 'ERR_FTB_CONFIG', message: 'precision fp8 on the cpu backend needs tp 1, got 2' });
  });
});

describe('fp8: where the sweep runs it', () => {
  test('fp8 needs compute capability 8.9 or newer on the cuda backend, and is never measured on the cpu backend', () => {
    assert.equal(fp8Unsupported('cuda', '9.0'), undefined);
    assert.equal(fp8Unsupported('cuda', '8.9'), undefined);
    assert.equal(fp8Unsupported('cuda', '10.0'), undefined);
    assert.equal(fp8Unsupported('cuda', '8.6'), 'compute capability 8.6 has no fp8 tensor cores (needs 8.9 or newer)');
    assert.equal(fp8Unsupported('cuda', '8.0'), 'compute capability 8.0 has no fp8 tensor cores (needs 8.9 or newer)');
    assert.match(fp8Unsupported('cuda') ?? '', /compute capability is unknown/);
    assert.match(fp8Unsupported('cpu') ?? '', /emulates fp8 only as the reference of cuda fp8 points/);
  });

  test('the cpu backend drops every fp8 point with the reason', () => {
    const { points, dropped } = expandProfile(PROFILES.smoke, 'cpu', { precision: ['fp8'] });
    assert.equal(points.length, 0);
    assert.ok(dropped.length > 0);
    for (const { reason } of dropped) {
      assert.match(reason, /precision fp8 on the cpu backend: the cpu backend emulates fp8 only as the reference of cuda fp8 points/);
    }
  });

  test('the cpu backend keeps its fp32 points beside the dropped fp8 ones', () => {
    const { points, dropped } = expandProfile(PROFILES.smoke, 'cpu', { precision: ['fp32', 'fp8'] });
    assert.ok(points.length > 0 && points.every((p) => p.precision === 'fp32'));
    assert.ok(dropped.some((d) => d.config.precision === 'fp8'));
  });

  test('the cuda backend runs fp8 on every path: encoder, decoder and decoding (beam search and sampling)', () => {
    const { points, dropped } = expandProfile(PROFILES.smoke, 'cuda', { precision: ['fp8'] });
    assert.deepEqual(dropped.filter((d) => /fp8/.test(d.reason)), []);
    assert.ok(points.every((p) => p.precision === 'fp8'));
    assert.deepEqual([...new Set(points.map((p) => p.path))], ['encoder', 'decoder', 'decoding']);
    assert.ok(points.some((p) => p.path === 'decoding' && p.beam > 1) && points.some((p) => p.path === 'decoding' && p.top_k > 0));
  });

  test('the decoding profile runs fused fp8 decoding at beam 1 and 4 beside fp16, batch 128 beam 4 over 128 steps too', () => {
    const fp8 = expandProfile(PROFILES.decoding, 'cuda').points.filter((p) => p.precision === 'fp8');
    assert.ok(fp8.every((p) => p.path === 'decoding' && p.variant === 'fused' && p.top_k === 0 && p.top_p === 0));
    assert.deepEqual(fp8.map((p) => `b${p.batch} beam ${p.beam} ${p.seq} steps`), [
      'b1 beam 1 32 steps', 'b1 beam 4 32 steps', 'b8 beam 1 32 steps', 'b8 beam 4 32 steps', 'b128 beam 1 32 steps',
      'b128 beam 4 32 steps', 'b128 beam 4 128 steps',
    ]);
  });

  test('a cuda device before 8.9 drops every fp8 point with the reason', () => {
    const { points, dropped } = expandProfile(PROFILES.smoke, 'cuda', { precision: ['fp8'] }, {}, Number.POSITIVE_INFINITY,
      fp8Unsupported('cuda', '8.0'));
    assert.equal(points.length, 0);
    for (const { reason } of dropped) assert.match(reason, /precision fp8 on the cuda backend: compute capability 8\.0 has no fp8 tensor cores/);
  });

  test('peers never run fp8', () => {
    const { points, dropped } = expandProfile(PROFILES.smoke, 'cuda', { precision: ['fp8'], peers: ['torch-eager'], path: ['encoder'] });
    assert.ok(points.every((p) => p.variant !== 'torch-eager'));
    assert.ok(dropped.some((d) => d.reason.endsWith('variant torch-eager in fp8: peers run fp32, tf32, fp16 and bf16')));
  });
});

describe('fp8: references and the recorded fp32 error', () => {
  const point = { ...encoder({ precision: 'fp8' }), backend: 'cuda', variant: 'fused' } as PointConfig;

  test('the CPU reference of an fp8 point is the fp8 emulation; of any other precision fp32', () => {
    assert.equal(cpuReferenceConfig(point).precision, 'fp8');
    assert.equal(cpuReferenceConfig({ ...point, precision: 'fp16' }).precision, 'fp32');
  });

  test('the fp32 reference is the same config\'s unfused variant in fp32, eager', () => {
    assert.deepEqual(fp32ReferenceConfig(point), { ...point, variant: 'unfused', precision: 'fp32', graph: false });
  });

  const outputs = (hidden: number[]): NativeOutputs => ({ hidden: new Float32Array(hidden), lengths: new Int32Array([1]) } as unknown as NativeOutputs);
  const config = { ...point, batch: 1, seq: 1, heads: 1, head_size: 2, full_length: true } as PointConfig;

  test('the error against fp32 is recorded, not judged', () => {
    const verdict = checkOutputs(config, outputs([1, 1]), [{ name: FP32_REFERENCE, outputs: outputs([1, 2]) }]);
    assert.equal(verdict.correct, true);
    assert.equal(verdict.max_rel_err, null);
    assert.equal(verdict.fp32_rel_err, relativeL2(new Float32Array([1, 1]), new Float32Array([1, 2])));
    assert.ok(verdict.checks.some((c) => c.name === 'hidden vs fp32 (recorded, not judged)' && c.ok));
  });

  test('a failed fp32 reference fails its check', () => {
    const verdict = checkOutputs(config, outputs([1, 1]), [{ name: FP32_REFERENCE, error: 'out of memory' }]);
    assert.equal(verdict.correct, false);
    assert.equal(verdict.fp32_rel_err, undefined);
  });

  test('a results point of precision fp8 with fp32_rel_err is schema-valid', () => {
    const fp8Point = okPoint(point, [1, 1.1, 0.9], { fp32_rel_err: 0.02 });
    assert.equal(PointSchema.parse(fp8Point).fp32_rel_err, 0.02);
  });

  test('a decoder point records its hidden states\' error against fp32', () => {
    const decoderPoint = { ...config, path: 'decoder', beam: 1, mem_len: 1 } as PointConfig;
    const verdict = checkOutputs(decoderPoint, outputs([1, 1]), [{ name: FP32_REFERENCE, outputs: outputs([1, 2]) }]);
    assert.equal(verdict.fp32_rel_err, relativeL2(new Float32Array([1, 1]), new Float32Array([1, 2])));
    assert.ok(verdict.checks.some((c) => c.name === 'hidden vs fp32 (recorded, not judged)' && c.ok));
  });
});

/** One-step decoding outputs of `ids.length` rows (greedy: parent 0, length 1, score = cum log-prob). */
function decoded(ids: number[], scores: number[] = ids.map((id) => -1 - id / 100)): NativeOutputs {
  return {
    hidden: new Float32Array(), lengths: new Int32Array(ids.length).fill(1), outputIds: Int32Array.from(ids), stepIds: Int32Array.from(ids),
    parentIds: new Int32Array(ids.length), cumLogProbs: Float32Array.from(scores), scores: Float32Array.from(scores), stepsRun: 1,
  };
}

describe('fp8 decoding: the first-step rule and the recorded fp32 and fp16 comparisons', () => {
  const decoding = (overrides: Partial<PointConfig> = {}): PointConfig => ({
    ...DEFAULT_CONFIG, backend: 'cuda', path: 'decoding', variant: 'fused', precision: 'fp8', vocab: 64, batch: 8, beam: 1, seq: 1, ...overrides,
  });
  const reference = [1, 2, 3, 4, 5, 6, 7, 8];
  /** The reference's first-step ids with the first `equal` kept and the rest moved to another token. */
  const withEqual = (equal: number) => reference.map((id, row) => (row < equal ? id : id + 20));
  const firstStep = (verdict: Verdict) => verdict.checks.find((c) => c.name === 'first-step ids vs cpu');

  test('a quarter of the first-step ids equal to the emulation\'s passes; fewer fails, naming the count', () => {
    const cpu = [{ name: 'cpu', outputs: decoded(reference) }];
    const quarter = checkOutputs(decoding(), decoded(withEqual(2)), cpu);
    assert.deepEqual(firstStep(quarter), { name: 'first-step ids vs cpu', ok: true, detail: '2 of 8 first-step ids kept by both >= 25%' });
    assert.equal(quarter.correct, true);
    assert.equal(quarter.ids_equal_fraction, 2 / 8);
    const one = checkOutputs(decoding(), decoded(withEqual(1)), cpu);
    assert.deepEqual(firstStep(one), { name: 'first-step ids vs cpu', ok: false, detail: '1 of 8 first-step ids kept by both < 25%' });
    assert.equal(one.correct, false);
  });

  test('a wide beam keeping the same first-step tokens in another order passes; the set, not the slot, counts', () => {
    // Two sentences of beam 4: the first keeps the reference's four tokens reversed, the second one of them.
    const wide = decoding({ batch: 2, beam: 4 });
    const cpu = [{ name: 'cpu', outputs: decoded(reference) }];
    const reordered = checkOutputs(wide, decoded([4, 3, 2, 1, 5, 30, 31, 32]), cpu);
    assert.deepEqual(firstStep(reordered), { name: 'first-step ids vs cpu', ok: true, detail: '5 of 8 first-step ids kept by both >= 25%' });
    // A token kept by the other sentence does not count for this one.
    const crossed = checkOutputs(wide, decoded([5, 6, 7, 8, 40, 41, 42, 43]), cpu);
    assert.deepEqual(firstStep(crossed), { name: 'first-step ids vs cpu', ok: false, detail: '0 of 8 first-step ids kept by both < 25%' });
  });

  test('rows whose ids all equal still have their scores judged, within fp8\'s tolerance', () => {
    const scores = reference.map((id) => -1 - id / 100);
    const off = checkOutputs(decoding(), decoded(reference, scores.map((v) => v * 1.5)), [{ name: 'cpu', outputs: decoded(reference, scores) }]);
    assert.equal(off.correct, false);
    assert.ok(off.checks.some((c) => c.name === 'scores vs cpu (rows with equal ids)' && !c.ok));
  });

  test('not judged below 8 first-step ids, nor for sampling, nor for other precisions', () => {
    const few = checkOutputs(decoding({ batch: 4 }), decoded([21, 22, 23, 24]), [{ name: 'cpu', outputs: decoded([1, 2, 3, 4]) }]);
    assert.deepEqual(firstStep(few), { name: 'first-step ids vs cpu', ok: true, detail: '0 of 4 first-step ids kept by both (fewer than 8: not judged)' });
    const cpu = [{ name: 'cpu', outputs: decoded(reference) }];
    assert.equal(firstStep(checkOutputs(decoding({ top_k: 4 }), decoded(withEqual(0)), cpu)), undefined);
    assert.equal(firstStep(checkOutputs(decoding({ precision: 'fp16' }), decoded(withEqual(0)), cpu)), undefined);
  });

  test('the fp32 and fp16 runs\' ids shares and score errors are recorded, not judged', () => {
    const scores = reference.map((id) => -1 - id / 100);
    const verdict = checkOutputs(decoding(), decoded(withEqual(6), scores), [
      { name: FP32_REFERENCE, outputs: decoded(withEqual(4), scores.map((v) => v * 1.1)) },
      { name: FP16_REFERENCE, outputs: decoded(reference, scores.map((v) => v * 1.2)) },
    ]);
    assert.equal(verdict.correct, true);
    assert.equal(verdict.max_rel_err, null);
    assert.equal(verdict.fp32_ids_equal_fraction, 6 / 8);
    assert.equal(verdict.fp16_ids_equal_fraction, 6 / 8);
    assert.equal(verdict.fp32_rel_err, relativeL2(Float32Array.from(scores), Float32Array.from(scores, (v) => v * 1.1)));
    assert.equal(verdict.fp16_score_rel_err, relativeL2(Float32Array.from(scores), Float32Array.from(scores, (v) => v * 1.2)));
    assert.deepEqual(verdict.checks.filter((c) => c.name.endsWith('(recorded, not judged)')).map((c) => [c.name, c.ok, c.detail]), [
      ['scores vs fp32 (recorded, not judged)', true, `75.0% of ids equal, scores relative L2 error ${verdict.fp32_rel_err!.toExponential(2)}`],
      ['scores vs fp16 (recorded, not judged)', true, `75.0% of ids equal, scores relative L2 error ${verdict.fp16_score_rel_err!.toExponential(2)}`],
    ]);
    const failedFp16 = checkOutputs(decoding(), decoded(reference), [{ name: FP16_REFERENCE, error: 'out of memory' }]);
    assert.equal(failedFp16.correct, false);
    assert.equal(failedFp16.fp16_ids_equal_fraction, undefined);
  });

  test('the fp16 reference is the same config in fp16; the results schema carries every recorded field', () => {
    assert.deepEqual(fp16ReferenceConfig(decoding()), { ...decoding(), precision: 'fp16' });
    const recorded = { fp32_rel_err: 0.04, fp32_ids_equal_fraction: 0.2, fp16_ids_equal_fraction: 0.25, fp16_score_rel_err: 0.03 };
    assert.deepEqual(PointSchema.parse(okPoint(decoding(), [1, 1.1, 0.9], recorded)), { ...okPoint(decoding(), [1, 1.1, 0.9], recorded) });
  });
});
