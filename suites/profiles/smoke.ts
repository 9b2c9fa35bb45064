// Tiny shapes over all three paths: small enough for the CPU reference on 2 cores (CI), and a
// quick sanity sweep on a GPU.
import type { Profile } from '../../src/sweep/axes.js';
import { BOTH_VARIANTS } from './a100.js';

const SMALL_MODEL = { layers: 2, heads: 2, head_size: 16, inter_size: 128 } as const;
const SMALL_DECODER = { ...SMALL_MODEL, vocab: 128, mem_len: 16 } as const;

export const smoke: Profile = {
  name: 'smoke',
  description: 'tiny shapes on every path (2 layers, 2 heads x 16, inter 128; 8 decoding steps), for the CPU reference and CI',
  measurement: { min_samples: 20, min_time_ms: 200, max_noise_pct: 1, timeout_ms: 2_000, warmup_ms: 20 },
  sweeps: [
    {
      name: 'encoder', ...SMALL_MODEL,
      path: ['encoder'], variant: BOTH_VARIANTS, precision: ['fp32'], batch: [1, 4], seq: [16, 32],
    },
    {
      name: 'decoder and beam-search decoding, 8 steps', ...SMALL_DECODER,
      path: ['decoder', 'decoding'], variant: BOTH_VARIANTS, precision: ['fp32'], batch: [1, 4], beam: [1, 4], seq: [8],
    },
    {
      name: 'top-k sampling, 8 steps', ...SMALL_DECODER,
      path: ['decoding'], variant: BOTH_VARIANTS, precision: ['fp32'], batch: [1, 4], seq: [8], top_k: [4],
    },
    {
      name: 'top-p sampling, 8 steps', ...SMALL_DECODER,
      path: ['decoding'], variant: BOTH_VARIANTS, precision: ['fp32'], batch: [1, 4], seq: [8], top_p: [0.75],
    },
  ],
};
