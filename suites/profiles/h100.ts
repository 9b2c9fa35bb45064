// The a100 matrix grown to what an H100 holds: tf32 too, batch up to 256, encoder seq 512 and 1024.
import type { Profile } from '../../src/sweep/axes.js';
import { ftMatrix, GPU_MEASUREMENT } from './a100.js';

export const h100: Profile = {
  name: 'h100',
  description:
    'the a100 matrix plus tf32, batch up to 256 (encoder {1,8,32,64,128,256}, decoder/decoding {1,8,128,256}) ' +
    'and encoder seq 512 and 1024; fp32, tf32, fp16, bf16 (and the encoder and beam 1/4 decoding in fp8, compute capability 8.9+); fused and unfused',
  measurement: GPU_MEASUREMENT,
  sweeps: ftMatrix({
    precisions: ['fp32', 'tf32', 'fp16', 'bf16'],
    encoderBatch: [1, 8, 32, 64, 128, 256],
    encoderSeq: [32, 128, 384, 512, 1024],
    decodingBatch: [1, 8, 128, 256],
    fp8: true,
  }),
};
