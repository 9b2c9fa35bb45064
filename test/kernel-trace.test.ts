// Kernel traces summarised per stage and per kernel, per unit of work, against the measured median.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NativeTraceRecord } from '../src/engine/native.js';
import { COMPOSITE_STAGES } from '../src/measure/flops.js';
import { kernelName, kernelProfile, NO_STAGE } from '../src/measure/kernel-trace.js';

const record = (name: string, stage: string, startNs: number, endNs: number, kind: NativeTraceRecord['kind'] = 'kernel'): NativeTraceRecord => ({
  kind, name, stage, startNs, endNs, grid: Int32Array.from([8, 12, 1]), block: Int32Array.from([128, 1, 1]),
});

describe('kernel profiles', () => {
  test('kernel names lose their parameter lists, keep their templates and namespaces', () => {
    assert.equal(kernelName('void ftb::cuda::(anonymous namespace)::fused_mha<__half, 64>(__half const*, int (*)[3])'),
      'ftb::cuda::(anonymous namespace)::fused_mha<__half, 64>');
    assert.equal(kernelName('nvjet_sm90_hsh_192x96_64x5_1x2_h_bz_NNT'), 'nvjet_sm90_hsh_192x96_64x5_1x2_h_bz_NNT');
  });

  test('per unit of work: stages and kernels summed, largest first; the gap against the median', () => {
    // Two traced units: per unit a 40 us GEMM (qkv), two 10 us softmaxes (attention), a 5 us memset outside any stage.
    const unit = (t: number) => [
      record('gemm_a(int)', 'qkv_gemm', t, t + 40_000),
      record('void softmax<float>(float*)', 'attention', t + 41_000, t + 51_000),
      record('void softmax<float>(float*)', 'attention', t + 52_000, t + 62_000),
      record('memset 64 B', '', t + 63_000, t + 68_000, 'memset'),
    ];
    const { profile, stages, kernels } = kernelProfile({ iterations: 2, eventMs: 0.2, note: 'eager launches', records: [...unit(0), ...unit(100_000)] }, 0.07);
    const { gap_pct: gap, ...rest } = profile;
    assert.deepEqual(rest, { iterations: 2, event_ms: 0.2, kernel_ms: 0.065, note: 'eager launches' });
    assert.ok(Math.abs(gap - (100 * 0.005) / 0.07) < 1e-9, String(gap));
    assert.deepEqual(stages, [
      { name: 'qkv_gemm', calls: 1, total_ms: 0.04 }, { name: 'attention', calls: 2, total_ms: 0.02 }, { name: NO_STAGE, calls: 1, total_ms: 0.005 },
    ]);
    assert.deepEqual(kernels[1], {
      name: 'softmax<float>', kind: 'kernel', stage: 'attention', calls: 2, total_ms: 0.02, mean_ms: 0.01, grid: '8x12x1', block: '128x1x1',
    });
    assert.deepEqual([kernels[2].kind, kernels[2].grid, kernels[2].block], ['memset', null, null]);
  });

  test('a stage whose FLOPs are counted gets its own TFLOP/s; the others none', () => {
    const records = [record('gemm_a(int)', 'qkv_gemm', 0, 40_000), record('void softmax<float>(float*)', 'attention', 41_000, 51_000),
      record('void ln<float>(float*)', 'layernorm', 52_000, 54_000)];
    // 8e9 FLOPs in 40 us: 200 TFLOP/s; 1e9 in 10 us: 100 TFLOP/s.
    const { stages } = kernelProfile({ iterations: 1, eventMs: 0.1, note: '', records }, 0.06, { qkv_gemm: 8e9, attention: 1e9, ffn2_gemm: 5e9 });
    assert.deepEqual(stages.map((s) => [s.name, s.tflops === undefined ? undefined : Math.round(s.tflops * 1e6) / 1e6]),
      [['qkv_gemm', 200], ['attention', 100], ['layernorm', undefined]]);
  });

  test('a stage that stands for several (the persistent decoder kernel) gets the TFLOP/s of all its parts, or none', () => {
    const records = [record('void persistent_decoder_kernel<__half>(Args)', 'decoder_layers', 0, 100_000)];
    const parts = COMPOSITE_STAGES.decoder_layers;
    assert.equal(parts.length, 8, 'the eight stages of a decoder layer');
    const all = Object.fromEntries(parts.map((part, i) => [part, (i + 1) * 1e9])); // 36e9 FLOPs in 100 us
    const tflops = (flops: Record<string, number>) =>
      kernelProfile({ iterations: 1, eventMs: 0.1, note: '', records }, 0.1, flops).stages[0].tflops;
    assert.equal(Math.round(tflops(all)! * 1e6) / 1e6, 360);
    const { ffn2_gemm: _dropped, ...missingOne } = all;
    assert.equal(tflops(missingOne), undefined);
  });
});
