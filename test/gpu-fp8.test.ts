// The cuda fp8 encoder, decoder and decoding (issue 22: cuBLASLt E4M3 GEMMs, per-token activation and
// per-channel weight scales), fused and unfused, against the CPU's emulation of the same quantization
// (what fp8 should compute: `correct`; decoding through the harness's own verdict) and, recorded as
// diagnostics, against fp32 (and decoding's fp16: what fp8 gives up); their GEMMs, notes, graph
// replay and errors. Runs where the addon has the cuda backend and the device has fp8 tensor cores
// (compute capability 8.9 or newer); skipped with the reason everywhere else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkOutputs, REL_ERR_TOLERANCE, relativeL2, type ReferenceOutputs } from '../src/check/correctness.js';
import { FP16_REFERENCE, FP32_REFERENCE } from '../src/check/fp8.js';
import { cpuReferenceConfig, fp16ReferenceConfig, fp32ReferenceConfig } from '../src/check/references.js';
import { DEFAULT_CONFIG, type PointConfig } from '../src/engine/config.js';
import type { NativeConfig } from '../src/engine/native.js';
import { gemmKey } from '../src/gemm/cache.js';
import { fp8Unsupported } from '../src/sweep/fp8-support.js';
import { cudaAvailability, runModel as runModelOn } from './support/cuda.js';
import { ENCODER_SHAPES, type Shape } from './support/encoder-shapes.js';
import { suiteUnless } from './support/suite.js';

type Variant = 'fused' | 'unfused';
const VARIANTS: readonly Variant[] = ['fused', 'unfused'];

// Every shape has hidden and inter_size multiples of 16 (cuBLASLt's fp8 rows).
const SHAPES = ENCODER_SHAPES;

const encoderConfig = (shape: Shape, extra: Partial<NativeConfig>): Partial<NativeConfig> =>
  ({ path: 'encoder', layers: 2, seed: 20261201, ...shape.config, ...extra });

const available = cudaAvailability();
const { addon } = available;
const skip = available.skip ?? fp8Unsupported('cuda', addon!.deviceInfo('cuda').compute_capability);
const runModel = (backend: string, config: Partial<NativeConfig>) => runModelOn(addon!, backend, config);

suiteUnless('CUDA fp8 encoder', skip, () => {
  const worst = { emulated: 0, fp32: 0 };

  for (const shape of SHAPES) {
    test(`matches the CPU's fp8 emulation: ${shape.name}`, (t) => {
      const emulated = runModel('cpu', encoderConfig(shape, { variant: 'reference', precision: 'fp8' })).outputs;
      const fp32 = runModel('cpu', encoderConfig(shape, { variant: 'reference', precision: 'fp32' })).outputs;
      const emulatedError = relativeL2(emulated.hidden, fp32.hidden);
      for (const variant of VARIANTS) {
        const { outputs } = runModel('cuda', encoderConfig(shape, { variant, precision: 'fp8' }));
        assert.deepEqual(outputs.lengths, emulated.lengths, `${variant}: lengths`);
        assert.ok(outputs.hidden.every(Number.isFinite), `${variant}: every output finite`);
        const error = relativeL2(outputs.hidden, emulated.hidden);
        const fp32Error = relativeL2(outputs.hidden, fp32.hidden);
        worst.emulated = Math.max(worst.emulated, error);
        worst.fp32 = Math.max(worst.fp32, fp32Error);
        t.diagnostic(`${variant} fp8: relative L2 ${error.toExponential(2)} vs the emulation, ${fp32Error.toExponential(2)} vs fp32`);
        assert.ok(error <= REL_ERR_TOLERANCE.fp8, `${variant}: relative L2 error ${error} > ${REL_ERR_TOLERANCE.fp8}`);
        // The GPU loses no more against fp32 than fp8 should (the emulation's own loss), give or take
        // its fp16 storage: a bound set before the first GPU run, not a measurement.
        assert.ok(fp32Error <= 2 * emulatedError, `${variant}: ${fp32Error} vs fp32, the emulation ${emulatedError}`);
      }
      // What the emulation itself loses against fp32 on this shape (no GPU involved).
      t.diagnostic(`emulated fp8 vs fp32: relative L2 ${emulatedError.toExponential(2)}`);
    });
  }

  test('the device quantizes exactly as the CPU emulates: every finite fp16 value, and scaled tensors', () => {
    // Every finite fp16 value (what the fp8 encoder quantizes), as fp32: amax 65504, so the scale
    // puts them across E4M3's whole range, subnormals and the flush to zero included.
    const halves: number[] = [];
    for (let bits = 0; bits < 0x7c00; bits++) {
      const exponent = bits >> 10, mantissa = bits & 0x3ff;
      const value = exponent === 0 ? mantissa * 2 ** -24 : (1 + mantissa / 1024) * 2 ** (exponent - 15);
      halves.push(value, -value);
    }
    // [tensor, cols]: one row of every fp16 value; rows of 1024 (a scale each); odd widths (padded on
    // the device); an all-zero tensor (scale 1).
    const tensors: [Float32Array, number][] = [[new Float32Array(halves), halves.length],
      [new Float32Array(halves.map((v) => v * 1e-3)), 1024],
      [Float32Array.from({ length: 4099 }, (_, i) => Math.sin(i * 0.37) * 3.5 ** (i % 7)), 4099],
      [Float32Array.from({ length: 13 * 37 }, (_, i) => Math.cos(i) * 2 ** (i % 19 - 9)), 37], [new Float32Array(16), 8]];
    for (const [i, [tensor, cols]] of tensors.entries()) {
      const device = addon!.quantizeE4m3('cuda', tensor, cols);
      const host = addon!.quantizeE4m3('cpu', tensor, cols);
      assert.deepEqual(device.scales, host.scales, `tensor ${i}: scales`);
      const differing = device.values.findIndex((v, j) => !Object.is(v, host.values[j]));
      assert.equal(differing, -1, `tensor ${i}: value ${tensor[differing]} -> device ${device.values[differing]}, host ${host.values[differing]}`);
    }
  });

  test('worst relative L2 errors (recorded)', (t) => {
    t.diagnostic(`vs the emulation: ${worst.emulated.toExponential(2)} (limit ${REL_ERR_TOLERANCE.fp8})`);
    t.diagnostic(`vs fp32: ${worst.fp32.toExponential(2)} (recorded, not judged)`);
    assert.ok(worst.emulated > 0 && worst.fp32 > 0, 'every shape was compared');
  });

  test('the layer GEMMs are E4M3 with fp16 output, the attention GEMMs fp16; the notes say how it scales', () => {
    const fused = runModel('cuda', encoderConfig(SHAPES[2], { variant: 'fused', precision: 'fp8' }));
    const dtypes = Object.fromEntries(fused.gemms.map((g) => [g.role, `${g.dtype} ${g.trans_a ? 'T' : 'N'}${g.trans_b ? 'T' : 'N'} ${g.epilogue}`]));
    assert.deepEqual(dtypes, {
      qkv: 'e4m3/f16 NT none', attn_out: 'e4m3/f16 NT none', ffn1: 'e4m3/f16 NT bias_gelu', ffn2: 'e4m3/f16 NT none',
      attn_scores: 'f16 NT none', attn_context: 'f16 NN none',
    });
    assert.match(fused.notes.fp8_scaling, /^dynamic/);
    assert.match(fused.notes.fp8_gemms, /cuBLASLt E4M3/);
    const unfused = runModel('cuda', encoderConfig(SHAPES[0], { variant: 'unfused', precision: 'fp8', graph: false }));
    assert.deepEqual(unfused.gemms.filter((g) => g.dtype === 'e4m3/f16').map((g) => g.role), ['q', 'k', 'v', 'attn_out', 'ffn1', 'ffn2']);
  });

  test('fp8 GEMMs key the tuning cache apart from the fp16 GEMMs of the same shapes', () => {
    const config = encoderConfig(SHAPES[0], { variant: 'fused' });
    const fp8 = addon!.planGemms('cuda', { ...config, precision: 'fp8' }).map(gemmKey);
    const fp16 = addon!.planGemms('cuda', { ...config, precision: 'fp16' }).map(gemmKey);
    assert.equal(fp8.filter((key) => fp16.includes(key)).length, 0, `${fp8.join('; ')} vs ${fp16.join('; ')}`);
  });

  test('a graph replay computes exactly what eager launches compute (the scales are read on the device)', () => {
    for (const variant of VARIANTS) {
      const graphed = runModel('cuda', encoderConfig(SHAPES[1], { variant, precision: 'fp8', graph: true }));
      const eager = runModel('cuda', encoderConfig(SHAPES[1], { variant, precision: 'fp8', graph: false }));
      assert.equal(graphed.notes.graph, 'on', variant);
      assert.deepEqual(graphed.outputs.hidden, eager.outputs.hidden, variant);
    }
  });

  test('two runs of one model compute the same outputs (the amax is reset every call)', () => {
    const model = new addon!.Model('cuda', encoderConfig(SHAPES[0], { variant: 'fused', precision: 'fp8' }));
    try {
      model.run();
      const first = model.outputs().hidden;
      model.run();
      model.run();
      assert.deepEqual(model.outputs().hidden, first);
    } finally {
      model.release();
    }
  });

  test('fp8 refuses what it does not run, by config error', () => {
    for (const path of ['encoder', 'decoder', 'decoding'] as const) {
      assert.throws(() => new addon!.Model('cuda', { path, variant: 'fused', precision: 'fp8', heads: 1, head_size: 8, inter_size: 64, vocab: 64, seq: 4 }),
        { code: 'ERR_FTB_CONFIG', message: 'precision fp8 needs heads·head_size and inter_size multiples of 16 on the cuda backend, got 8 and 64' }, path);
    }
  });
});

// The decoder stack's shapes (hidden and inter_size multiples of 16), 2 layers.
const DECODER_SHAPES: readonly { name: string; config: Partial<PointConfig> }[] = [
  { name: 'h64 = 2×32, b3 beam 2, 9 steps, mem 11', config: { heads: 2, head_size: 32, inter_size: 128, batch: 3, beam: 2, seq: 9, mem_len: 11 } },
  { name: 'h256 = 4×64, b2, 20 steps, full-length memory', config: { heads: 4, head_size: 64, inter_size: 512, batch: 2, seq: 20, full_length: true } },
];

// Decoding shapes: vocab 500 pads to 512 at fp8 (504 at fp16: a multiple of 8, not of 16); 32 and 16
// rows, so the first-step rule is judged (FP8_FIRST_STEP_MIN_IDS); and FT's decoding dims, greedy,
// whose ids are recorded against fp16's (issue 22's target: ≥ 90 %).
const DECODING_SHAPES: readonly { name: string; config: Partial<PointConfig> }[] = [
  { name: 'h128 = 4×32, vocab 500, b8 beam 4, 12 steps', config: { heads: 4, head_size: 32, inter_size: 256, vocab: 500, batch: 8, beam: 4, seq: 12, mem_len: 10 } },
  { name: 'h128 = 4×32, vocab 500, b16 greedy, 12 steps', config: { heads: 4, head_size: 32, inter_size: 256, vocab: 500, batch: 16, beam: 1, seq: 12, mem_len: 10 } },
  {
    name: 'FT dims (6 layers, 8×64, vocab 31538), b16 greedy, 32 steps',
    config: { layers: 6, heads: 8, head_size: 64, inter_size: 2048, vocab: 31538, batch: 16, beam: 1, seq: 32, mem_len: 32, max_seq: 32 },
  },
];

const stepConfig = (path: 'decoder' | 'decoding', variant: Variant, shape: Partial<PointConfig>, extra: Partial<PointConfig> = {}): PointConfig =>
  ({ ...DEFAULT_CONFIG, backend: 'cuda', path, variant, precision: 'fp8', layers: 2, max_seq: 32, seed: 20261202,
    graph: variant === 'fused', ...shape, ...extra });

suiteUnless('CUDA fp8 decoder and decoding', skip, () => {
  for (const shape of DECODER_SHAPES) {
    test(`decoder matches the CPU's fp8 emulation: ${shape.name}`, (t) => {
      const emulated = runModel('cpu', cpuReferenceConfig(stepConfig('decoder', 'fused', shape.config))).outputs;
      const fp32 = runModel('cpu', { ...cpuReferenceConfig(stepConfig('decoder', 'fused', shape.config)), precision: 'fp32' }).outputs;
      const emulatedError = relativeL2(emulated.hidden, fp32.hidden);
      for (const variant of VARIANTS) {
        const { outputs } = runModel('cuda', stepConfig('decoder', variant, shape.config));
        assert.ok(outputs.hidden.every(Number.isFinite), `${variant}: every output finite`);
        const error = relativeL2(outputs.hidden, emulated.hidden);
        const fp32Error = relativeL2(outputs.hidden, fp32.hidden);
        t.diagnostic(`${variant} fp8: relative L2 ${error.toExponential(2)} vs the emulation, ${fp32Error.toExponential(2)} vs fp32 (emulation vs fp32 ${emulatedError.toExponential(2)})`);
        assert.ok(error <= REL_ERR_TOLERANCE.fp8, `${variant}: relative L2 error ${error} > ${REL_ERR_TOLERANCE.fp8}`);
        // As the encoder's: no more lost against fp32 than fp8 should, give or take its fp16 storage.
        assert.ok(fp32Error <= 2 * emulatedError, `${variant}: ${fp32Error} vs fp32, the emulation ${emulatedError}`);
      }
    });
  }

  for (const shape of DECODING_SHAPES) {
    test(`decoding is correct against the CPU's fp8 emulation by the harness's verdict: ${shape.name}`, (t) => {
      const outputsOf = (config: PointConfig) => runModel(config.backend, config).outputs;
      const emulated: ReferenceOutputs = { name: 'cpu', outputs: outputsOf(cpuReferenceConfig(stepConfig('decoding', 'fused', shape.config))) };
      const unfused = stepConfig('decoding', 'unfused', shape.config);
      const fp32: ReferenceOutputs = { name: FP32_REFERENCE, outputs: outputsOf(fp32ReferenceConfig(unfused)) };
      const unfusedOutputs = outputsOf(unfused);
      for (const variant of VARIANTS) {
        const config = stepConfig('decoding', variant, shape.config);
        const outputs = variant === 'fused' ? outputsOf(config) : unfusedOutputs;
        const fp16: ReferenceOutputs = { name: FP16_REFERENCE, outputs: outputsOf(fp16ReferenceConfig(config)) };
        const references = [...(variant === 'fused' ? [{ name: 'unfused', outputs: unfusedOutputs }] : []), emulated, fp32, fp16];
        const verdict = checkOutputs(config, outputs, references);
        for (const c of verdict.checks.filter((x) => / vs /.test(x.name))) t.diagnostic(`${variant}: ${c.name}: ${c.detail}`);
        assert.deepEqual(verdict.checks.filter((c) => !c.ok), [], variant);
        assert.ok(verdict.checks.some((c) => c.name === 'first-step ids vs cpu'), `${variant}: the first-step rule ran`);
        t.diagnostic(`${variant}: ids equal to fp16's ${verdict.fp16_ids_equal_fraction}, to fp32's ${verdict.fp32_ids_equal_fraction}`);
      }
    });
  }

  test('decoding\'s GEMMs: every layer GEMM and the logits E4M3 with fp16 output (vocab padded to 16), attention fp16', () => {
    const shape = DECODING_SHAPES[0].config;
    const fused = runModel('cuda', stepConfig('decoding', 'fused', shape));
    const roles = (gemms: typeof fused.gemms, dtype: string) => gemms.filter((g) => g.dtype === dtype).map((g) => `${g.role} ${g.epilogue}`);
    assert.deepEqual(roles(fused.gemms, 'e4m3/f16'), ['qkv none', 'self_out none', 'cross_q none', 'cross_kv none', 'cross_out none',
      'ffn1 bias_relu', 'ffn2 none', 'logits bias']);
    assert.ok(fused.gemms.every((g) => g.dtype === 'e4m3/f16' && g.trans_b && !g.trans_a));
    assert.equal(fused.gemms.find((g) => g.role === 'logits')!.n, 512);
    assert.equal(fused.notes.vocab_padded, '512');
    assert.match(fused.notes.fp8_gemms, /logits GEMM: cuBLASLt E4M3/);
    const unfused = runModel('cuda', stepConfig('decoding', 'unfused', shape));
    assert.deepEqual(roles(unfused.gemms, 'e4m3/f16'), ['q none', 'k none', 'v none', 'self_out none', 'cross_q none', 'cross_k none',
      'cross_v none', 'cross_out none', 'ffn1 none', 'ffn2 none', 'logits none']);
    assert.deepEqual([...new Set(unfused.gemms.filter((g) => g.dtype !== 'e4m3/f16').map((g) => g.dtype))], ['f16']);
  });

  test('a replayed decoding step computes exactly what eager launches compute; two runs of one model agree', () => {
    const shape = DECODING_SHAPES[0].config;
    const graphed = runModel('cuda', stepConfig('decoding', 'fused', shape, { graph: true }));
    const eager = runModel('cuda', stepConfig('decoding', 'fused', shape, { graph: false }));
    assert.equal(graphed.notes.graph, 'on (one step, replayed)');
    assert.deepEqual(graphed.outputs.outputIds, eager.outputs.outputIds);
    assert.deepEqual(graphed.outputs.scores, eager.outputs.scores);
    const model = new addon!.Model('cuda', stepConfig('decoding', 'fused', shape));
    try {
      model.run();
      const first = model.outputs();
      model.run();
      const second = model.outputs();
      assert.deepEqual(second.outputIds, first.outputIds);
      assert.deepEqual(second.scores, first.scores);
    } finally {
      model.release();
    }
  });
});
