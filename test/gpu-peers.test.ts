// The torch peers (peers/torch/worker.py) through the runner's peer backend on small fp32 models:
// each point checked as the runner checks every point, against the unfused variant and the CPU
// reference; fp32 decoding ids (beam search, greedy, top-k) equal the reference's. Runs where the
// addon has the cuda backend and python3 has torch with a CUDA GPU; skipped with the reason elsewhere.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { DEFAULT_CONFIG, type PeerVariantName, type PointConfig } from '../src/engine/config.js';
import { PeerBackend } from '../src/engine/peer-model.js';
import { probePeers } from '../src/engine/peer-worker-client.js';
import { engineReferences } from '../src/check/references.js';
import { runPoint } from '../src/measure/runner.js';
import type { Measurement } from '../src/sweep/axes.js';
import { cudaAvailability } from './support/cuda.js';

const { addon, skip: noCuda } = cudaAvailability();
const skip = noCuda ?? (await probePeers()).unavailable;

const measurement: Measurement = { min_samples: 3, min_time_ms: 1, max_noise_pct: 5, timeout_ms: 5_000, warmup_ms: 1 };
const TORCH_PEERS: readonly PeerVariantName[] = ['torch-eager', 'torch-graph'];

const point = (variant: PeerVariantName, overrides: Partial<PointConfig>): PointConfig => ({
  ...DEFAULT_CONFIG, backend: 'cuda', path: 'encoder', variant, precision: 'fp32', graph: variant === 'torch-graph',
  layers: 2, heads: 2, head_size: 32, inter_size: 128, ...overrides,
});

const decoding: Partial<PointConfig> = { path: 'decoding', vocab: 48, batch: 3, seq: 10, max_seq: 10, mem_len: 6, seed: 21 };

describe('torch peers on the GPU', { skip }, () => {
  const peers = addon && new PeerBackend(addon);
  const references = addon && engineReferences(addon);
  after(async () => peers?.close());

  for (const variant of TORCH_PEERS) {
    test(`${variant} encoder: ok and correct against the unfused variant and the CPU`, async () => {
      const c = point(variant, { batch: 3, seq: 12, max_seq: 12 });
      const result = await runPoint(c, { measurement, addon, peers, references });
      assert.equal(result.status, 'ok', result.error);
      assert.deepEqual(result.checks.filter((x) => !x.ok), []);
      assert.deepEqual(result.checks.filter((x) => x.name.startsWith('hidden vs')).map((x) => x.name), ['hidden vs unfused', 'hidden vs cpu']);
      assert.equal(result.notes.peer, variant);
    });

    for (const [name, search] of [['beam 4', { beam: 4 }], ['greedy', { beam: 1 }], ['top-k 4', { beam: 1, top_k: 4 }]] as const) {
      test(`${variant} decoding, ${name}: the CPU reference's ids, exactly`, async () => {
        const result = await runPoint(point(variant, { ...decoding, ...search }), { measurement, addon, peers, references });
        assert.equal(result.status, 'ok', result.error);
        assert.deepEqual(result.checks.filter((x) => !x.ok), []);
        assert.equal(result.ids_equal_fraction, 1);
        assert.ok(result.checks.some((x) => x.name === 'output ids vs cpu' && x.detail?.startsWith('0 of ')), JSON.stringify(result.checks));
      });
    }
  }

  test('hf-generate decoding, beam 4 over a padded memory: measured, unchecked', async () => {
    const result = await runPoint(point('hf-generate', { ...decoding, precision: 'fp16', beam: 4 }), { measurement, addon, peers, references });
    assert.equal(result.status, 'ok', result.error);
    assert.equal(result.correct, null);
    assert.ok(result.summary && result.summary.gpu_ms_median > 0);
    assert.equal(result.notes.attention, 'sdpa (its own kernel choice)');
  });
});
