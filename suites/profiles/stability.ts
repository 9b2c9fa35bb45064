// The same six points (0.3 - 10 ms, encoder and decoding, fused fp16) for stability runs:
// `npm run bench -- --profile stability --repeat 5` measures them five times in one run; their
// medians should agree within 1% (results/h100/stability-*.csv). Each point's samples are spread over 5
// fresh model instances, and each point runs in a fresh worker process, as the decoding profile's do
// (src/measure/instances.ts, Measurement.fresh_process).
import type { Profile, Sweep } from '../../src/sweep/axes.js';
import { BERT_BASE } from '../models.js';
import { FT_DECODER_WITH_MEMORY, GPU_MEASUREMENT } from './a100.js';

const fusedFp16: Pick<Sweep, 'variant' | 'precision'> = { variant: ['fused'], precision: ['fp16'] };
const encoder = { ...BERT_BASE, ...fusedFp16 };
const decoder = { ...FT_DECODER_WITH_MEMORY, ...fusedFp16 };

export const stability: Profile = {
  name: 'stability',
  description: 'six fused fp16 points from 0.3 to 10 ms: BERT-base b1 s32, b32 s128, b32 s384; FT decoder b8 beam 4, ' +
    '8 steps; FT decoding b1 beam 1 and b8 beam 4, 32 steps',
  measurement: { ...GPU_MEASUREMENT, instances: 5, fresh_process: true },
  sweeps: [
    { name: 'BERT-base encoder, b1', ...encoder, path: ['encoder'], batch: [1], seq: [32] },
    { name: 'BERT-base encoder, b32', ...encoder, path: ['encoder'], batch: [32], seq: [128, 384] },
    { name: 'FT decoder', ...decoder, path: ['decoder'], batch: [8], beam: [4], seq: [8] },
    { name: 'FT decoding, b1', ...decoder, path: ['decoding'], batch: [1], beam: [1], seq: [32] },
    { name: 'FT decoding, b8 beam 4', ...decoder, path: ['decoding'], batch: [8], beam: [4], seq: [32] },
  ],
};
