// The CUDA encoder (fused and unfused, four precisions) against the CPU reference, on random
// weights and odd sequence lengths; its notes, errors and memory hygiene. Runs where the addon has
// the cuda backend, and is skipped with the reason everywhere else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { suiteUnless } from './support/suite.js';
import { nativeErrorCode, type NativeConfig, type NativeGemmChoice } from '../src/engine/native.js';
import { relativeL2 } from '../src/check/correctness.js';
import { cudaAvailability, runModel as runModelOn } from './support/cuda.js';
import { ENCODER_SHAPES, type Shape } from './support/encoder-shapes.js';

type Precision = 'fp32' | 'tf32' | 'fp16' | 'bf16';
type Variant = 'fused' | 'unfused';

const PRECISIONS: readonly Precision[] = ['fp32', 'tf32', 'fp16', 'bf16'];
const VARIANTS: readonly Variant[] = ['fused', 'unfused'];
/** Relative L2 error allowed against the fp64-accumulating CPU reference (issue 3). */
const TOLERANCE: Record<Precision, number> = { fp32: 1e-5, tf32: 5e-3, fp16: 1e-2, bf16: 2e-2 };

const SHAPES = ENCODER_SHAPES;

function encoderConfig(shape: Shape, extra: Partial<NativeConfig>): Partial<NativeConfig> {
  return { path: 'encoder', layers: 2, seed: 20261122, ...shape.config, ...extra };
}

/** Rows (b, s) with s >= lengths[b] whose values are not all exactly zero. */
function nonZeroPaddedRows(hidden: Float32Array, lengths: Int32Array, seq: number, width: number): number {
  let rows = 0;
  for (let b = 0; b < lengths.length; b++) {
    for (let s = lengths[b]; s < seq; s++) {
      const row = hidden.subarray((b * seq + s) * width, (b * seq + s + 1) * width);
      if (row.some((value) => value !== 0)) rows++;
    }
  }
  return rows;
}

// The skinny GEMM is opt-in (native/src/cuda/NOTES.md, version 12): offered here so that its timing and
// numerics against cuBLASLt are checked; read once, at this process's first plan.
process.env.FTBENCH_SKINNY = '1';
const { addon, skip } = cudaAvailability();

const runModel = (backend: string, config: Partial<NativeConfig>) => runModelOn(addon!, backend, config);

suiteUnless('CUDA encoder', skip, () => {
  const worst: Record<Precision, number> = { fp32: 0, tf32: 0, fp16: 0, bf16: 0 };

  for (const shape of SHAPES) {
    test(`matches the CPU reference: ${shape.name}`, (t) => {
      const reference = runModel('cpu', encoderConfig(shape, { variant: 'reference', precision: 'fp32' })).outputs;
      const width = shape.config.heads! * shape.config.head_size!;
      for (const precision of PRECISIONS) {
        for (const variant of VARIANTS) {
          const label = `${variant} ${precision}`;
          const { outputs } = runModel('cuda', encoderConfig(shape, { variant, precision }));
          assert.deepEqual(outputs.lengths, reference.lengths, `${label}: lengths`);
          assert.equal(outputs.hidden.length, reference.hidden.length, `${label}: output size`);
          assert.ok(outputs.hidden.every(Number.isFinite), `${label}: every output finite`);
          assert.equal(nonZeroPaddedRows(outputs.hidden, outputs.lengths, shape.config.seq!, width), 0,
            `${label}: padded rows are zero`);
          const error = relativeL2(outputs.hidden, reference.hidden);
          worst[precision] = Math.max(worst[precision], error);
          t.diagnostic(`${label}: relative L2 error ${error.toExponential(2)}`);
          assert.ok(error <= TOLERANCE[precision], `${label}: relative L2 error ${error} > ${TOLERANCE[precision]}`);
        }
      }
    });
  }

  test('worst relative L2 error per precision', (t) => {
    for (const precision of PRECISIONS) {
      t.diagnostic(`${precision}: ${worst[precision].toExponential(2)} (limit ${TOLERANCE[precision]})`);
    }
    assert.ok(PRECISIONS.every((precision) => worst[precision] > 0), 'every precision was compared');
  });

  test('notes name the attention kernel and the graph; the GEMMs are listed with their shapes', () => {
    const [mhaShape, fallbackShape] = [SHAPES[0], SHAPES[2]];
    const shape = (run: { gemms: NativeGemmChoice[] }, role: string) => {
      const gemm = run.gemms.find((g) => g.role === role)!;
      return `${gemm.m}x${gemm.n}x${gemm.k} batch ${gemm.batch_count} ${gemm.dtype} ${gemm.epilogue}`;
    };
    const fused = runModel('cuda', encoderConfig(mhaShape, { variant: 'fused', precision: 'fp16' }));
    assert.match(fused.notes.attention, /^fused_mha/);
    assert.equal(fused.notes.graph, 'on');
    assert.equal(fused.notes.remove_padding, 'on');
    assert.equal(fused.notes.ffn1_bias_gelu, 'cuBLASLt epilogue');
    assert.deepEqual(fused.gemms.map((g) => g.role), ['qkv', 'attn_out', 'ffn1', 'ffn2']);
    assert.match(shape(fused, 'qkv'), /^\d+x384x128 batch 1 f16 none$/);
    assert.match(shape(fused, 'ffn1'), / bias_gelu$/);

    const fallback = runModel('cuda', encoderConfig(fallbackShape, { variant: 'fused', precision: 'fp16' }));
    assert.match(fallback.notes.attention, /^add_qkv_bias_split_heads/);
    assert.equal(shape(fallback, 'attn_scores'), '17x17x32 batch 12 f16 none');

    const tf32 = runModel('cuda', encoderConfig(mhaShape, { variant: 'fused', precision: 'tf32' }));
    assert.match(shape(tf32, 'qkv'), / f32\/tf32 none$/);
    assert.equal(tf32.notes.ffn1_bias_gelu, 'add_bias_gelu kernel');

    const unfused = runModel('cuda', encoderConfig(mhaShape, { variant: 'unfused', precision: 'fp16', graph: false }));
    assert.equal(unfused.notes.graph, 'off');
    assert.equal(unfused.notes.remove_padding, 'off');
    assert.match(shape(unfused, 'q'), /^111x128x128 /);
  });

  test('packed-token GEMMs of ≤ 128 rows time the skinny kernel against cuBLASLt: within tolerance, run only where faster', () => {
    const limits = { f16: 5e-3, bf16: 2e-2 } as const;
    let timed = 0;
    for (const precision of ['fp16', 'bf16'] as const) {
      for (const shape of SHAPES.slice(0, 2)) {
        const run = runModel('cuda', encoderConfig(shape, { variant: 'fused', precision }));
        for (const choice of run.gemms.filter((g) => g.batch_count === 1)) {
          const label = `${precision} ${shape.name} ${choice.role} (${choice.m} rows)`;
          const timing = /skinny kernel ([0-9.e+-]+) us vs cuBLASLt \((?:tuned|heuristic)\) ([0-9.e+-]+) us, relative L2 ([0-9.e+-]+)/.exec(choice.note ?? '');
          if (choice.m > 128) {
            assert.equal(timing, null, label);
            continue;
          }
          assert.ok(timing, `${label}: ${choice.note}`);
          assert.ok(Number(timing[3]) <= limits[precision === 'fp16' ? 'f16' : 'bf16'], `${label}: ${choice.note}`);
          if (choice.source === 'skinny') assert.ok(Number(timing[1]) < 0.97 * Number(timing[2]), `${label}: ${choice.note}`);
          timed += 1;
        }
      }
    }
    assert.equal(timed, 16, "every GEMM of both shapes (at most 111 and 128 tokens) was timed");
  });

  test('a graph replay computes exactly what eager launches compute, in both variants', () => {
    const shape = SHAPES[1];
    for (const variant of VARIANTS) {
      const graphed = runModel('cuda', encoderConfig(shape, { variant, precision: 'bf16', graph: true }));
      const eager = runModel('cuda', encoderConfig(shape, { variant, precision: 'bf16', graph: false }));
      assert.equal(graphed.notes.graph, 'on', variant);
      assert.equal(eager.notes.graph, 'off', variant);
      assert.deepEqual(graphed.outputs.hidden, eager.outputs.hidden, variant);
    }
  });

  test('measure() returns the mean CUDA-event time of the iterations and the SM clock, hot or cold', () => {
    const model = new addon!.Model('cuda', encoderConfig(SHAPES[0], { variant: 'fused', precision: 'fp16' }));
    const maxClock = Number(addon!.deviceInfo('cuda').sm_clock_max_mhz);
    try {
      for (const [iterations, flush] of [[5, false], [1, true]] as const) {
        const { ms, smClockMhz } = model.measure(iterations, flush);
        assert.ok(Number.isFinite(ms) && ms > 0 && ms < 1000, `measured ${ms} ms`);
        // The probe's clock is the SM clock: positive and not above the device's maximum (+2% for rounding).
        assert.ok(smClockMhz > 0 && smClockMhz <= maxClock * 1.02, `SM clock ${smClockMhz} MHz (max ${maxClock})`);
      }
    } finally {
      model.release();
    }
  });

  test('CUDA-specific limits are config errors naming the field', () => {
    const attempt = (config: Partial<NativeConfig>) => () => new addon!.Model('cuda', config);
    assert.throws(attempt(encoderConfig(SHAPES[0], { variant: 'fused', precision: 'fp16', head_size: 12 })), {
      code: 'ERR_FTB_CONFIG', message: 'head_size must be a multiple of 8 on the cuda backend, got 12',
    });
    assert.throws(attempt(encoderConfig(SHAPES[0], { variant: 'fused', precision: 'fp16', inter_size: 100 })), {
      code: 'ERR_FTB_CONFIG', message: 'inter_size must be a multiple of 8 on the cuda backend, got 100',
    });
    assert.throws(attempt(encoderConfig(SHAPES[0], { variant: 'reference', precision: 'fp32' })), {
      code: 'ERR_FTB_CONFIG', message: 'variant must be fused or unfused on the cuda backend, got reference',
    });
  });

  test('a failed device allocation is an OOM error naming the buffer, and the device stays usable', () => {
    // 4096 × 4096 tokens × hidden 4096 in fp32: a 275 GB input, more than any GPU has.
    const huge = { path: 'encoder', variant: 'fused', precision: 'fp32', layers: 1, heads: 64, head_size: 64,
      inter_size: 64, batch: 4096, seq: 4096, max_seq: 4096 };
    assert.throws(() => new addon!.Model('cuda', huge), (error: unknown) => {
      assert.equal(nativeErrorCode(error), 'ERR_FTB_OOM');
      assert.match((error as Error).message,
        /^CUDA out of memory in allocating encoder input \(274877906944 bytes\): cudaErrorMemoryAllocation: /);
      return true;
    });
    const after = runModel('cuda', encoderConfig(SHAPES[0], { variant: 'fused', precision: 'fp16' }));
    assert.ok(after.outputs.hidden.every(Number.isFinite));
  });

  test('device memory does not grow over 200 create/run/release cycles', () => {
    const combos = PRECISIONS.flatMap((precision) => VARIANTS.map((variant) => ({ precision, variant })));
    const cycle = (i: number) => runModel('cuda', encoderConfig(SHAPES[i % 2], combos[i % combos.length]));
    // One round of every combination first: module loading and library state are allocated once.
    for (let i = 0; i < combos.length * 2; i++) cycle(i);
    const before = Number(addon!.deviceInfo('cuda').memory_free_mb);
    for (let i = 0; i < 200; i++) cycle(i);
    const after = Number(addon!.deviceInfo('cuda').memory_free_mb);
    assert.ok(after >= before - 2, `free device memory went from ${before} MiB to ${after} MiB`);
  });

  test('device info describes the GPU', () => {
    const info = addon!.deviceInfo('cuda');
    assert.equal(info.backend, 'cuda');
    for (const field of ['name', 'sm_count', 'memory_mb', 'l2_mb', 'sm_clock_max_mhz', 'compute_capability',
      'cuda_runtime', 'cuda_driver_api', 'cublas']) {
      assert.ok(info[field] !== undefined && info[field] !== '', `${field} is set`);
    }
    assert.match(info.cublas, /^cuBLASLt \d+\.\d+\.\d+$/);
    assert.ok(Number(info.sm_count) > 0);
  });
});
