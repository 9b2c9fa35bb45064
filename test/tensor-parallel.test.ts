// Tensor parallelism (issue 24) where CI can test it: the CPU reference's simulated tp-way Megatron
// split (native/src/cpu/tensor_parallel.h) against the unsplit reference on the encoder, decoder and
// decoding paths; the tp axis's validation, keys, sweep drops and CLI refusals.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { PROFILES } from '../suites/index.js';
import { configKey, DEFAULT_CONFIG, pointLabel, validateConfig, type PointConfig } from '../src/engine/config.js';
import { loadAddon, type NativeOutputs } from '../src/engine/native.js';
import { dropReason, expandProfile } from '../src/sweep/expand.js';
import { PointConfigSchema } from '../src/results/schema.js';
import { relativeL2 } from '../src/check/correctness.js';
import { runModel } from './support/cuda.js';

const addon = loadAddon();
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
/** fp64 rounding: the split sums the same products in another association (then rounds to fp32 once). */
const FP64_ROUNDING = 1e-12;

/** A small model whose heads (8), inter_size (64) and vocab (32) divide by every tp. */
function config(overrides: Partial<PointConfig>): PointConfig {
  return {
    ...DEFAULT_CONFIG, backend: 'cpu', path: 'encoder', variant: 'reference', precision: 'fp32', graph: false,
    layers: 2, heads: 8, head_size: 4, inter_size: 64, vocab: 32, batch: 3, seq: 9, max_seq: 16, ...overrides,
  };
}

const run = (c: PointConfig): NativeOutputs => runModel(addon, 'cpu', c).outputs;

/** Every tp's outputs next to the unsplit ones (tp absent, as every point before the axis). */
function splits(c: PointConfig): { tp: number; split: NativeOutputs; unsplit: NativeOutputs }[] {
  const unsplit = run(c);
  return [2, 4, 8].map((tp) => ({ tp, split: run({ ...c, tp }), unsplit }));
}

function assertSameDecoding(split: NativeOutputs, unsplit: NativeOutputs, what: string): void {
  assert.equal(split.stepsRun, unsplit.stepsRun, what);
  assert.deepEqual(split.outputIds, unsplit.outputIds, `${what}: output ids`);
  assert.deepEqual(split.stepIds, unsplit.stepIds, `${what}: step ids`);
  assert.deepEqual(split.parentIds, unsplit.parentIds, `${what}: parent ids`);
  assert.deepEqual(split.lengths, unsplit.lengths, `${what}: lengths`);
  unsplit.scores.forEach((score, i) => {
    assert.ok(Math.abs(split.scores[i]! - score) <= FP64_ROUNDING * Math.abs(score), `${what}: score ${i}`);
  });
  assert.ok(relativeL2(split.cumLogProbs, unsplit.cumLogProbs) <= FP64_ROUNDING, `${what}: cum log-probs`);
}

describe('tensor-parallel split on the CPU reference', () => {
  test('encoder: split hidden states equal the unsplit ones', () => {
    for (const activation of ['gelu_tanh', 'gelu_erf'] as const) {
      for (const { tp, split, unsplit } of splits(config({ activation }))) {
        assert.ok(unsplit.hidden.some((value) => value !== 0));
        assert.ok(relativeL2(split.hidden, unsplit.hidden) <= FP64_ROUNDING, `${activation} tp ${tp}`);
        assert.deepEqual(split.lengths, unsplit.lengths);
      }
    }
  });

  test('decoder: split hidden states equal the unsplit ones (self and cross attention, beam rows)', () => {
    for (const { tp, split, unsplit } of splits(config({ path: 'decoder', beam: 2, seq: 6, mem_len: 7 }))) {
      assert.ok(relativeL2(split.hidden, unsplit.hidden) <= FP64_ROUNDING, `tp ${tp}`);
    }
  });

  test('decoding, beam search over a split vocabulary: same ids, parents, lengths and scores', () => {
    const beams = [
      config({ path: 'decoding', beam: 4, seq: 10, mem_len: 5, length_penalty: 0.6 }),
      config({ path: 'decoding', beam: 1, seq: 10, mem_len: 5 }),  // greedy
      config({ path: 'decoding', beam: 3, seq: 12, mem_len: 5, vocab: 16, end_id: 3, stop_at_end: true }),
    ];
    for (const c of beams) {
      for (const { tp, split, unsplit } of splits(c)) assertSameDecoding(split, unsplit, `beam ${c.beam} tp ${tp}`);
    }
    // The end_id run does finish beams early: the finished beams' continuation comes from one shard.
    const finished = run(beams[2]!);
    assert.ok(Array.from(finished.lengths).some((length) => length < finished.stepsRun));
  });

  test('decoding, sampling with a distributed top-k / top-p: the same draws', () => {
    const samplers = [
      config({ path: 'decoding', batch: 4, seq: 10, mem_len: 5, top_k: 5, temperature: 0.7 }),
      config({ path: 'decoding', batch: 4, seq: 10, mem_len: 5, top_p: 0.9 }),
      config({ path: 'decoding', batch: 4, seq: 10, mem_len: 5, top_k: 20, top_p: 0.5, seed: 9 }),
    ];
    for (const c of samplers) {
      for (const { tp, split, unsplit } of splits(c)) assertSameDecoding(split, unsplit, `top_k ${c.top_k} top_p ${c.top_p} tp ${tp}`);
    }
  });

  test('tp 1 is the unsplit engine', () => {
    const c = config({ path: 'decoding', beam: 2, seq: 6 });
    const explicit = run({ ...c, tp: 1 });
    const absent = run(c);
    assert.deepEqual(explicit.outputIds, absent.outputIds);
    assert.deepEqual(explicit.scores, absent.scores);
  });

  test('the engine refuses a tp that does not divide heads, inter_size or vocab, or is not 1, 2, 4, 8', () => {
    const refusals: [Partial<PointConfig>, string][] = [
      [{ heads: 6, tp: 4 }, 'heads must be divisible by tp 4, got 6'],
      [{ inter_size: 36, tp: 8 }, 'inter_size must be divisible by tp 8, got 36'],
      [{ path: 'decoding', vocab: 30, tp: 4 }, 'vocab must be divisible by tp 4, got 30'],
      [{ tp: 3 }, 'tp must be one of 1, 2, 4, 8, got 3'],
    ];
    for (const [overrides, message] of refusals) {
      const c = config(overrides);
      assert.throws(() => new addon.Model('cpu', c), { code: 'ERR_FTB_CONFIG', message });
      assert.throws(() => validateConfig(c), { message });
    }
    assert.doesNotThrow(() => validateConfig(config({ path: 'encoder', vocab: 30, tp: 4 })));  // vocab: decoding only
  });
});

describe('the tp axis', () => {
  test('keys of tp 1 points are those of older runs; tp > 1 adds tp to the key and the label', () => {
    const c = config({});
    assert.equal(configKey({ ...c, tp: 1 }), configKey(c));
    assert.ok(!configKey(c).includes('tp='));
    assert.equal(configKey({ ...c, tp: 4 }), `${configKey(c)} tp=4`);
    assert.match(pointLabel({ ...c, tp: 4 }), / tp4$/);
  });

  test('results: tp is optional, and only 1, 2, 4 or 8', () => {
    const { tp: _absent, ...old } = config({});
    assert.equal(PointConfigSchema.parse(old).tp, undefined);
    assert.equal(PointConfigSchema.parse({ ...old, tp: 8 }).tp, 8);
    assert.throws(() => PointConfigSchema.parse({ ...old, tp: 3 }), /tp must be one of 1, 2, 4, 8/);
  });

  test('drops: more ranks than devices, and tp > 1 on the cuda backend (no NCCL build)', () => {
    const cuda = config({ backend: 'cuda', variant: 'fused', precision: 'fp16', graph: true, tp: 2 });
    assert.equal(dropReason(cuda, {}, 1), 'tp 2 on the cuda backend: it needs 2 GPUs, the machine has 1');
    assert.equal(dropReason(cuda, {}, 8), 'tp 2: tensor parallelism over NCCL is not built (needs NCCL and several GPUs)');
    assert.equal(dropReason({ ...cuda, tp: 1 }, {}, 1), undefined);
    assert.equal(dropReason(config({ tp: 8 }), {}, addon.deviceCount('cpu')), undefined);
  });

  test('--tp expands on the cpu backend (tp 1 points unchanged) and is dropped with its reason on cuda', () => {
    const plain = expandProfile(PROFILES.smoke, 'cpu').points;
    const cpu = expandProfile(PROFILES.smoke, 'cpu', { tp: [1, 2] }).points;
    assert.deepEqual(cpu.filter((c) => c.tp === undefined), plain);
    assert.equal(cpu.filter((c) => c.tp === 2).length, plain.length);
    const cuda = expandProfile(PROFILES.smoke, 'cuda', { tp: [2] }, {}, 1);
    assert.deepEqual(cuda.points, []);
    assert.ok(cuda.dropped.every(({ reason }) => reason.endsWith('it needs 2 GPUs, the machine has 1')));
  });

  test('the CLI refuses a tp the model cannot split, naming the field (exit 2)', () => {
    const refused = (args: string[], message: string) => {
      const result = spawnSync(process.execPath, [CLI, 'bench', '--backend', 'cpu', ...args], { encoding: 'utf8' });
      assert.equal(result.stderr, `ftbench: ${message}\n`, args.join(' '));
      assert.equal(result.status, 2);
    };
    refused(['--tp', '4'], 'heads must be divisible by tp 4, got 2');
    refused(['--tp', '3'], 'tp must be one of 1, 2, 4, 8, got 3');
    refused(['--tp', '2', '--path', 'decoding', '--heads', '4', '--vocab', '33'], 'vocab must be divisible by tp 2, got 33');
  });
});
