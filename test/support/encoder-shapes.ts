// The encoder shapes the GPU encoder tests run (test/gpu-encoder.test.ts, test/gpu-fp8.test.ts):
// odd lengths, both attention kernels and the fallback, several key tiles.
import type { NativeConfig } from '../../src/engine/native.js';

export interface Shape {
  name: string;
  config: Partial<NativeConfig>;
}

export const ENCODER_SHAPES: readonly Shape[] = [
  { name: 'h128 = 2×64, b3 s37', config: { heads: 2, head_size: 64, inter_size: 256, batch: 3, seq: 37 } },
  { name: 'h256 = 4×64, b2 s64', config: { heads: 4, head_size: 64, inter_size: 512, batch: 2, seq: 64 } },
  // head_size 32: the fused variant falls back to split + batched GEMMs + scale/mask/softmax.
  { name: 'h128 = 4×32, b3 s17', config: { heads: 4, head_size: 32, inter_size: 384, batch: 3, seq: 17 } },
  // head_size 128 kernel, no padding.
  {
    name: 'h256 = 2×128, b2 s50 full length',
    config: { heads: 2, head_size: 128, inter_size: 512, batch: 2, seq: 50, full_length: true },
  },
  // Several 64-key tiles: the online softmax across tiles.
  { name: 'h128 = 2×64, b2 s150', config: { heads: 2, head_size: 64, inter_size: 256, batch: 2, seq: 150, max_seq: 256 } },
];
