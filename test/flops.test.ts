// The analytic FLOP counts, term by term on tiny shapes, and at BERT-base scale.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytesMoved, flopCount, stageFlops } from '../src/measure/flops.js';
import { cpuConfig } from './harness-fixtures.js';

describe('flopCount', () => {
  test('encoder: QKV + QK^T + PV + out + FFN1 + FFN2, per layer', () => {
    // h = 2, tokens = 3: QKV 2*3*6*2 = 72, QK^T 2*3*3*2 = 36, PV 36, out 2*3*2*2 = 24, FFN 48 + 48.
    const c = cpuConfig({ layers: 1, heads: 1, head_size: 2, inter_size: 4, batch: 1, seq: 3 });
    assert.equal(flopCount(c), 72 + 36 + 36 + 24 + 48 + 48);
    assert.equal(flopCount({ ...c, layers: 3 }), 3 * 264);
    // Two heads of size 1 (same h): the attention terms are per head, 2 * 3*3*1 each.
    assert.equal(flopCount({ ...c, heads: 2, head_size: 1 }), 72 + 36 + 36 + 24 + 48 + 48);
  });

  test('stageFlops: the engine stages of a kernel trace, adding up to flopCount', () => {
    const c = cpuConfig({ layers: 2, heads: 1, head_size: 2, inter_size: 4, batch: 1, seq: 3 });
    assert.deepEqual(stageFlops(c), { qkv_gemm: 2 * 72, attention: 2 * 72, attn_out_gemm: 2 * 24, ffn1_gemm_gelu: 2 * 48, ffn2_gemm: 2 * 48 });
    const decoding = cpuConfig({ path: 'decoding', layers: 2, heads: 2, head_size: 2, inter_size: 4, vocab: 10, batch: 1, beam: 2, seq: 3, mem_len: 3 });
    const stages = stageFlops(decoding);
    // rows 2, h 4, 2 heads of 2: the self-attention at steps 0..2 over 1, 2, 3 keys.
    assert.equal(stages.self_attention, 2 * [1, 2, 3].reduce((sum, keys) => sum + 2 * 2 * (2 * 2 * keys * 2), 0));
    assert.equal(stages.logits_gemm, 3 * (2 * 2 * 10 * 4));
    for (const config of [c, decoding, { ...decoding, path: 'decoder' as const }]) {
      assert.equal(Object.values(stageFlops(config)).reduce((sum, f) => sum + f, 0), flopCount(config), config.path);
    }
  });

  test('BERT-base b32 s128 is about 0.7 TFLOP per forward', () => {
    const c = cpuConfig({ layers: 12, heads: 12, head_size: 64, inter_size: 3072, batch: 32, seq: 128 });
    const tokens = 32 * 128;
    const perLayer = tokens * (8 * 768 ** 2 + 4 * 768 * 3072) + 4 * 32 * 128 ** 2 * 768;
    assert.equal(flopCount(c), 12 * perLayer);
    assert.ok(Math.abs(flopCount(c) / 1e12 - 0.715) < 0.001);
  });

  test('decoder: per-step projections, growing self-attention, cross-attention, memory K/V once', () => {
    // h = 2, rows = batch*beam = 2, mem_len 3, inter 4, 2 steps.
    const c = cpuConfig({ path: 'decoder', layers: 1, heads: 1, head_size: 2, inter_size: 4, batch: 1, beam: 2, seq: 2, mem_len: 3 });
    const projections = 2 * 2 * 6 * 2 + 3 * (2 * 2 * 2 * 2) + 2 * (2 * 2 * 4 * 2); // QKV, out/cross-Q/cross-out, FFN
    const selfAttention = (t: number) => 2 * (2 * 2 * (t + 1) * 2); // q.K^T and P.V over t + 1 keys, per row
    const crossAttention = 2 * (2 * 2 * 3 * 2);
    const memoryKv = 2 * 3 * 4 * 2; // batch*mem_len rows, 2h outputs
    const expected = memoryKv + 2 * (projections + crossAttention) + selfAttention(0) + selfAttention(1);
    assert.equal(flopCount(c), expected);
    assert.equal(flopCount({ ...c, layers: 2 }), 2 * expected);
  });

  test('decoding: the decoder steps plus a logits GEMM per step, over the steps run', () => {
    const c = cpuConfig({ path: 'decoding', layers: 1, heads: 1, head_size: 2, inter_size: 4, vocab: 10, batch: 1, beam: 2, seq: 2, mem_len: 3 });
    const decoder = flopCount({ ...c, path: 'decoder' });
    assert.equal(flopCount(c), decoder + 2 * (2 * 2 * 10 * 2));
    const oneStep = flopCount({ ...c, path: 'decoder', seq: 1 });
    assert.equal(flopCount(c, 1), oneStep + 2 * 2 * 10 * 2);
  });
});

describe('bytesMoved', () => {
  test('encoder: every weight once per forward, the input read and the output written', () => {
    // h = 2, inter 4: QKV 12 + out 4 + FFN 8 + 8 weights, biases 6 + 2 + 4 + 2, LN 4 x 2 -> 54 elements.
    const c = cpuConfig({ layers: 1, heads: 1, head_size: 2, inter_size: 4, batch: 1, seq: 3 });
    assert.equal(bytesMoved(c), (54 + 2 * 3 * 2) * 4);
    assert.equal(bytesMoved({ ...c, precision: 'fp16' }), (54 + 2 * 3 * 2) * 2);
    assert.equal(bytesMoved({ ...c, layers: 2, precision: 'bf16' }), (2 * 54 + 12) * 2);
  });

  test('BERT-base weights dominate a small batch: about 170 MB in fp16', () => {
    const c = cpuConfig({ layers: 12, heads: 12, head_size: 64, inter_size: 3072, batch: 1, seq: 128, precision: 'fp16' });
    assert.ok(Math.abs(bytesMoved(c) / 1e6 - 170.3) < 0.5, String(bytesMoved(c) / 1e6));
  });

  test('decoder: weights per step, a growing self cache, the shared memory cache, memory K/V once', () => {
    // h = 2, inter 4, rows 2 (batch 1 x beam 2), mem_len 3, 2 steps.
    const c = cpuConfig({ path: 'decoder', layers: 1, heads: 1, head_size: 2, inter_size: 4, batch: 1, beam: 2, seq: 2, mem_len: 3 });
    const weights = 6 * 4 + 2 * 4 + 2 * 8 + 6 + 2 + 2 + 4 + 2 + 4 + 2 + 12; // 82
    const step = (t: number) => weights + 2 * 2 * (t + 1) * 2 + 2 * 1 * 3 * 2 + 2 * 2 * 2;
    const memory = 1 * 3 * 2 + 2 * 1 * 3 * 2;
    assert.equal(bytesMoved(c), (memory + step(0) + step(1)) * 4);
  });

  test('decoding adds the embedding rows, the logits weights and the logits of every step run', () => {
    const c = cpuConfig({ path: 'decoding', layers: 1, heads: 1, head_size: 2, inter_size: 4, vocab: 10, batch: 1, beam: 2, seq: 2, mem_len: 3 });
    const decoder = bytesMoved({ ...c, path: 'decoder' });
    const perStep = 2 * (2 + 10) + 2 * 10 + 10;
    assert.equal(bytesMoved(c), decoder + 2 * perStep * 4);
    assert.equal(bytesMoved(c, 1), bytesMoved({ ...c, path: 'decoder', seq: 1 }) + perStep * 4);
  });

  test('fp8 reads its GEMM weights as 1 byte each: the encoder\'s once, the decoder\'s and the logits\' every step', () => {
    const encoder = cpuConfig({ layers: 1, heads: 1, head_size: 2, inter_size: 4, batch: 1, seq: 3 });
    assert.equal(bytesMoved({ ...encoder, precision: 'fp8' }), bytesMoved({ ...encoder, precision: 'fp16' }) - (12 + 4 + 8 + 8));
    // h = 2, inter 4: the decoder's 8h² + 2h·inter = 48 GEMM weights a step; the logits 2 x 10.
    const decoding = cpuConfig({ path: 'decoding', layers: 1, heads: 1, head_size: 2, inter_size: 4, vocab: 10, batch: 1, beam: 2, seq: 2, mem_len: 3 });
    const fp16 = (c: typeof decoding) => bytesMoved({ ...c, precision: 'fp16' });
    assert.equal(bytesMoved({ ...decoding, path: 'decoder', precision: 'fp8' }), fp16({ ...decoding, path: 'decoder' }) - 2 * 48);
    assert.equal(bytesMoved({ ...decoding, precision: 'fp8' }), fp16(decoding) - 2 * (48 + 20));
    assert.equal(bytesMoved({ ...decoding, precision: 'fp8' }, 1), bytesMoved({ ...decoding, precision: 'fp16' }, 1) - (48 + 20));
  });
});
