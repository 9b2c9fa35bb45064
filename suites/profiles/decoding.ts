// The decoder and decoding paths alone (issue #4's committed run): FT's decoding matrix at 32 steps,
// the length of FT's decoding sample (batch 8, beam 4: the 8 ms target; the decoder's per-step
// latency), plus batch 128, beam 4 over 128 steps for the 120 000 tokens/s target; and the fused
// engine in fp8 at the same shapes, beam 1 and 4 (issue 22: greedy ids against fp16's, and tokens/s
// at batch 128 beam 4 against fp16's). Its latency-bound points move by up to ≈ 1.5 % with where a
// model's buffers land, so each point's samples are spread over 5 fresh instances (src/measure/instances.ts;
// the slow unfused points, which the timeout affords one, keep one); and each point runs in a fresh
// worker process, as a process that has built eight fused decoder models runs 6–10 % slower from then on
// (Measurement.fresh_process).
import type { Profile } from '../../src/sweep/axes.js';
import { A100_MEASUREMENT, BOTH_VARIANTS, decodingSweeps, FT_DECODER_WITH_MEMORY, fp8DecodingSweep } from './a100.js';

const precisions: Profile['sweeps'][number]['precision'] = ['fp32', 'fp16', 'bf16'];

export const decoding: Profile = {
  name: 'decoding',
  description:
    'FT decoder and decoding, 6 layers 8x64 vocab 31538: batch {1,8,128} x beam {1,4,32}, top-k {4,32}, top-p 0.75, ' +
    '32 steps; batch 128 beam 4 over 128 steps; fp32, fp16, bf16; fused and unfused; fused fp8 at beam {1,4} ' +
    '(compute capability 8.9+)',
  measurement: { ...A100_MEASUREMENT, instances: 5, fresh_process: true },
  sweeps: [
    ...decodingSweeps({ precisions, decodingBatch: [1, 8, 128] }, [32]),
    {
      name: 'FT decoding throughput, batch 128 beam 4, 128 steps', ...FT_DECODER_WITH_MEMORY, path: ['decoding'], variant: BOTH_VARIANTS,
      precision: precisions, batch: [128], beam: [4], seq: [128],
    },
    fp8DecodingSweep([1, 8, 128], [1, 4], [32], ['fused']),
    { ...fp8DecodingSweep([128], [4], [128], ['fused']), name: 'FT decoding throughput fp8, batch 128 beam 4, 128 steps' },
  ],
};
