// Parity with Hugging Face itself on the GPU machine (issue 19): the real peer worker
// (peers/torch/worker.py) answers hf_hidden for the committed transformers-made fixtures
// (test/fixtures/checkpoints/<family>/), and `bench --model` on the cuda backend records each point's
// parity_rel_err against that output: fp32 ≤ 1e-5, fp16 ≤ 2e-3, bf16 ≤ 2e-2 (PARITY_TOLERANCE), fused
// and unfused. Skipped without the cuda backend, or where python3 has no transformers (the reason is
// printed as the skip).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PARITY_TOLERANCE, relativeL2 } from '../src/check/correctness.js';
import { planParity } from '../src/cli/sweep-plan.js';
import { PeerBackend } from '../src/engine/peer-model.js';
import type { ModelRef } from '../src/engine/config.js';
import { readResults } from '../src/results/reader.js';
import { cudaAvailability } from './support/cuda.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(REPO, 'dist/src/cli/main.js');
const FIXTURES = path.join(REPO, 'test/fixtures/checkpoints');
const FAMILIES = ['bert', 'roberta', 'distilbert'];

const cuda = cudaAvailability();
const parity = cuda.skip ? undefined : await planParity();
const skip = cuda.skip ?? (parity?.reference === 'cpu' ? parity.reason : undefined);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-gpu-hf-parity-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

interface Expected {
  ids: number[][];
  lengths: number[];
  last_hidden_state: number[][][];
}

const expectedOf = (family: string): Expected =>
  JSON.parse(fs.readFileSync(path.join(FIXTURES, family, 'expected.json'), 'utf8')) as Expected;

describe('parity against transformers on the GPU machine', { skip }, () => {
  test('hf_hidden (fp32 on CUDA, TF32 off) equals the fixtures\' float64 outputs', async () => {
    const peers = new PeerBackend(cuda.addon!);
    try {
      for (const family of FAMILIES) {
        const expected = expectedOf(family);
        const model = { dir: path.join(FIXTURES, family), sha256: family } as ModelRef;
        const hidden = await peers.transformersHidden(model, { ids: expected.ids, lengths: expected.lengths });
        const error = relativeL2(hidden, expected.last_hidden_state.flat(2));
        assert.ok(error <= 1e-5, `${family}: hf_hidden vs expected.json relative L2 ${error}`);
      }
    } finally {
      await peers.close();
    }
  });

  for (const family of FAMILIES) {
    test(`${family}: bench --model, fused and unfused, fp32 / fp16 / bf16 within the parity limits`, () => {
      const out = path.join(root, family);
      const inputs = path.join(FIXTURES, family, 'expected.json');
      const args = ['bench', '--backend', 'cuda', '--model', path.join(FIXTURES, family), '--inputs', inputs,
        '--variant', 'fused,unfused', '--precision', 'fp32,fp16,bf16', '--min-samples', '3', '--min-time', '0', '--warmup', '0',
        '--out', out, '--run-id', family];
      const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: REPO });
      assert.equal(result.status, 0, result.stdout + result.stderr);
      const { env, points } = readResults(path.join(out, `${family}.json`)).results;
      assert.equal(env.parity?.reference, 'transformers');
      assert.equal(points.length, 6);
      for (const point of points) {
        const label = `${family} ${point.config.variant} ${point.config.precision}`;
        assert.equal(point.status, 'ok', label);
        assert.equal(point.parity_reference, 'transformers', label);
        const limit = PARITY_TOLERANCE[point.config.precision];
        assert.ok(point.parity_rel_err !== undefined && point.parity_rel_err <= limit, `${label}: parity ${point.parity_rel_err} > ${limit}`);
        assert.equal(point.correct, true, `${label}: ${JSON.stringify(point.checks.filter((c) => !c.ok))}`);
      }
    });
  }
});
