// Checkpoints on the CUDA encoder (issue 19): tiny BERT (erf GELU), RoBERTa (position offset) and
// DistilBERT (no token types) folders, fused and unfused at fp32 / fp16 / bf16, against the CPU
// backend on the same weights and ids within the parity limits. Skipped without the cuda backend.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { PARITY_TOLERANCE, relativeL2 } from '../src/check/correctness.js';
import { cudaAvailability } from './support/cuda.js';
import { runCheckpoint } from './support/checkpoint-run.js';
import { writeFixture, type FixtureDtype, type FixtureFamily, type FixtureOptions } from './support/checkpoint-fixtures.js';

const { addon, skip } = cudaAvailability();
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-gpu-checkpoints-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const IDS = Array.from({ length: 3 }, (_, b) => Array.from({ length: 19 }, (_, s) => (b * 31 + s * 13 + 5) % 97 + 2));
const LENGTHS = [19, 11, 4];

const MODELS: [FixtureFamily, FixtureDtype, FixtureOptions][] = [
  // head_size 16: the fused variant's split + batched GEMM attention; erf GELU.
  ['bert', 'F32', {}],
  // head_size 64: fused_mha; position offset 2.
  ['roberta', 'F16', { hidden: 128, heads: 2, inter: 256, prefixed: true }],
  // tanh GELU: the fused fp16/bf16 FFN1 takes the cuBLASLt epilogue.
  ['distilbert', 'BF16', { hidden: 128, heads: 2, inter: 256, hiddenAct: 'gelu_new' }],
];

describe('checkpoints on the cuda backend against the cpu backend', { skip }, () => {
  for (const [family, dtype, options] of MODELS) {
    test(`${family} ${dtype}: fused and unfused, fp32 / fp16 / bf16`, () => {
      const fixture = writeFixture(path.join(root, family), family, { dtype, ...options });
      const reference = runCheckpoint(addon!, 'cpu', fixture.dir, IDS, LENGTHS).hidden;
      for (const variant of ['fused', 'unfused'] as const) {
        for (const precision of ['fp32', 'fp16', 'bf16'] as const) {
          const run = runCheckpoint(addon!, 'cuda', fixture.dir, IDS, LENGTHS, { variant, precision });
          const label = `${variant} ${precision}`;
          assert.deepEqual(Array.from(run.lengths), LENGTHS, label);
          assert.match(run.notes.embedding, /^embed_layernorm kernel/, label);
          const error = relativeL2(run.hidden, reference);
          assert.ok(error <= PARITY_TOLERANCE[precision], `${label}: relative L2 error ${error} > ${PARITY_TOLERANCE[precision]}`);
        }
      }
    });
  }

  test('the exact GELU takes the erf kernel, never the tanh epilogue (fp16/bf16: the bias in the epilogue)', () => {
    const fixture = writeFixture(path.join(root, 'erf'), 'bert', { hidden: 128, heads: 2, inter: 256 });
    for (const [precision, note, epilogue] of [['fp16', 'cuBLASLt bias epilogue + gelu_erf kernel', 'bias'],
      ['bf16', 'cuBLASLt bias epilogue + gelu_erf kernel', 'bias'], ['fp32', 'add_bias_gelu_erf kernel', 'none']] as const) {
      const run = runCheckpoint(addon!, 'cuda', fixture.dir, IDS, LENGTHS, { variant: 'fused', precision });
      assert.equal(run.notes.ffn1_bias_gelu, note, precision);
      assert.deepEqual(run.gemms.filter((g) => g.role === 'ffn1').map((g) => g.epilogue), [epilogue], precision);
    }
  });
});
