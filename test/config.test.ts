// Every rule of validateConfig, by its exact message (naming the field); where the addon is built,
// the engine refuses the same config with the same message.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, configKey, pairKey, validateConfig, type PointConfig } from '../src/engine/config.js';
import { nativeErrorCode } from '../src/engine/native.js';
import { addonOrSkip, cpuConfig } from './harness-fixtures.js';

interface Case {
  field: string;
  config: Partial<PointConfig>;
  message: string;
  /** The engine's message differs (its JS layer checks types first, or it knows no peers); the TS one is still tested. */
  tsOnly?: true;
}

const decoding = { path: 'decoding', vocab: 64, max_seq: 16, seq: 8 } as const;

const CASES: Case[] = [
  { field: 'path', config: { path: 'gpt' as never }, message: 'path must be one of encoder, decoder, decoding, got gpt' },
  // The engine runs no peer: its list is fused, unfused, reference.
  { field: 'variant', config: { variant: 'fast' as never }, message: 'variant must be one of fused, unfused, reference, torch-eager, torch-graph, torch-compile, hf-generate, got fast', tsOnly: true },
  { field: 'precision', config: { precision: 'fp8x' as never }, message: 'precision must be one of fp32, tf32, fp16, bf16, fp8, got fp8x' },
  { field: 'backend', config: { backend: 'tpu' as never }, message: 'backend must be one of cpu, cuda, got tpu', tsOnly: true },
  { field: 'layers', config: { layers: 0 }, message: 'layers must be 1..64, got 0' },
  { field: 'heads', config: { heads: 129 }, message: 'heads must be 1..128, got 129' },
  { field: 'head_size', config: { head_size: 0 }, message: 'head_size must be 1..256, got 0' },
  { field: 'inter_size', config: { inter_size: 65537 }, message: 'inter_size must be 1..65536, got 65537' },
  { field: 'max_seq', config: { max_seq: 4097 }, message: 'max_seq must be 1..4096, got 4097' },
  { field: 'batch', config: { batch: 0 }, message: 'batch must be 1..4096, got 0' },
  { field: 'batch', config: { batch: 1.5 }, message: 'batch must be an integer, got 1.5', tsOnly: true },
  { field: 'seq', config: { seq: 65, max_seq: 64 }, message: 'seq must be 1..64, got 65' },
  { field: 'mem_len', config: { mem_len: -1 }, message: 'mem_len must be 0..4096, got -1' },
  { field: 'beam', config: { beam: 2 }, message: 'beam must be 1..1, got 2' },
  { field: 'beam', config: { path: 'decoder', beam: 33 }, message: 'beam must be 1..32, got 33' },
  { field: 'vocab', config: { ...decoding, vocab: 1 }, message: 'vocab must be 2..1048576, got 1' },
  { field: 'beam', config: { ...decoding, vocab: 10, beam: 6 }, message: 'beam must be 1..5, got 6' },
  { field: 'top_k', config: { ...decoding, top_k: 65 }, message: 'top_k must be 0..64, got 65' },
  { field: 'start_id', config: { ...decoding, start_id: 64 }, message: 'start_id must be 0..63, got 64' },
  { field: 'end_id', config: { ...decoding, end_id: -1 }, message: 'end_id must be 0..63, got -1' },
  { field: 'top_p', config: { ...decoding, top_p: 1.5 }, message: 'top_p must be 0..1, got 1.5' },
  { field: 'temperature', config: { ...decoding, temperature: 0 }, message: 'temperature must be > 0, got 0' },
  { field: 'top_k', config: { ...decoding, beam: 4, top_k: 4 }, message: 'top_k/top_p need beam 1 (sampling), got beam 4' },
  { field: 'top_k', config: { ...decoding, beam: 2, top_p: 0.5 }, message: 'top_k/top_p need beam 1 (sampling), got beam 2' },
  { field: 'length_penalty', config: { ...decoding, length_penalty: -1 }, message: 'length_penalty must be >= 0, got -1' },
];

const { addon, skip } = addonOrSkip();

describe('validateConfig', () => {
  for (const c of CASES) {
    test(`${c.field}: ${c.message}`, () => {
      assert.throws(() => validateConfig(cpuConfig(c.config)), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.field, c.field);
        assert.equal(error.message, c.message);
        return true;
      });
    });
  }

  test('the defaults and the edges of every range are accepted', () => {
    assert.doesNotThrow(() => validateConfig(cpuConfig()));
    assert.doesNotThrow(() => validateConfig(cpuConfig({ ...decoding, beam: 32, end_id: 63, length_penalty: 0 })));
    assert.doesNotThrow(() => validateConfig(cpuConfig({ ...decoding, beam: 1, top_k: 64, top_p: 1, start_id: 0 })));
    assert.doesNotThrow(() => validateConfig(cpuConfig({ layers: 64, heads: 128, head_size: 256, batch: 4096, max_seq: 4096, seq: 4096 })));
  });

  test('the engine refuses each config with the same message', { skip }, () => {
    for (const c of CASES.filter((x) => !x.tsOnly)) {
      assert.throws(() => new addon!.Model('cpu', cpuConfig(c.config)), (error: unknown) => {
        assert.equal(nativeErrorCode(error), 'ERR_FTB_CONFIG', c.message);
        assert.equal((error as Error).message, c.message);
        return true;
      });
    }
  });
});

describe('point keys and checkpoints', () => {
  const model = { dir: 'm', type: 'roberta', name: 'tiny', sha256: '0123456789abcdef'.repeat(4), weights: [] };

  test('a synthetic point keeps the key of older runs; a checkpoint\'s key and pair key name its model', () => {
    const synthetic = cpuConfig();
    assert.equal(configKey(synthetic), 'backend=cpu path=encoder variant=reference precision=fp32 batch=1 beam=1 seq=16 layers=1 ' +
      'heads=2 head_size=8 inter_size=64 vocab=64 mem_len=0 top_k=0 top_p=0 temperature=1 length_penalty=0 full_length=false graph=true mode=auto');
    const checkpoint = { ...synthetic, model };
    assert.equal(configKey(checkpoint), `${configKey(synthetic)} model=roberta@0123456789abcdef`);
    assert.equal(pairKey(checkpoint), `${pairKey(synthetic)} model=roberta@0123456789abcdef`);
    assert.notEqual(configKey({ ...checkpoint, model: { ...model, sha256: 'f'.repeat(64) } }), configKey(checkpoint));
  });
});

