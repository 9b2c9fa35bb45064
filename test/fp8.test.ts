// Precision fp8 without a GPU (issue 22): the E4M3 rounding and per-tensor scale the CPU reference
// emulates (native/src/common/e4m3.h, through the addon's test hooks), by exact expected values;
// the CPU's fp8 encoder (the emulated reference of cuda fp8 points); where the sweep drops fp8 and
// why; the reference configs and the recorded fp32 error. The GPU side: test/gpu-fp8.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkOutputs, FP32_REFERENCE, relativeL2 } from '../src/check/correctness.js';
import { cpuReferenceConfig, fp32ReferenceConfig } from '../src/check/references.js';
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

function hiddenOf(config: PointConfig): Float32Array {
  const model = new addon!.Model('cpu', config);
  try {
    model.run();
    return model.outputs().hidden;
  } finally {
    model.release();
  }
}

suiteUnless('fp8: the CPU\'s emulated encoder', skip, () => {
  test('computes deterministically, apart from fp32, and within the range of fp8\'s rounding', () => {
    const fp8 = hiddenOf(encoder({ precision: 'fp8' }));
    assert.deepEqual(hiddenOf(encoder({ precision: 'fp8' })), fp8);
    const error = relativeL2(fp8, hiddenOf(encoder()));
    // E4M3 keeps 3 mantissa bits (relative rounding ≤ 2^-4): the outputs move, but stay the same
    // tensor. The bound is a sanity bound of this test, not the engine's tolerance.
    assert.ok(error > 0 && error < 0.2, `relative L2 ${error}`);
  });

  test('is the encoder only, at tp 1', () => {
    const decoding = { ...DEFAULT_CONFIG, backend: 'cpu', path: 'decoding', variant: 'reference', precision: 'fp8' } as const;
    assert.throws(() => new addon!.Model('cpu', decoding), { code: 'ERR_FTB_CONFIG', message: 'precision fp8 on the cpu backend emulates the encoder only, got decoding' });
    assert.throws(() => new addon!.Model('cpu', encoder({ precision: 'fp8', tp: 2 })), { code: 'ERR_FTB_CONFIG', message: 'precision fp8 on the cpu backend needs tp 1, got 2' });
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

  test('the cuda backend runs the fp8 encoder and drops fp8 decoder and decoding with the reason', () => {
    const { points, dropped } = expandProfile(PROFILES.smoke, 'cuda', { precision: ['fp8'] });
    assert.ok(points.length > 0 && points.every((p) => p.path === 'encoder' && p.precision === 'fp8'));
    const other = dropped.filter((d) => d.config.path !== 'encoder');
    assert.ok(other.length > 0);
    for (const { config, reason } of other) {
      assert.ok(reason.endsWith(`precision fp8 on the ${config.path}: fp8 runs the encoder path only (decoding fp8 is not built yet)`), reason);
    }
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
});
