// Does a process get slower after certain work, though the model it measures is unchanged? Times the
// fp16 fused BERT-base encoder at b8 s128 (full length) twice, then builds and times b1 s128 (whose
// planning is the suspect: with FTBENCH_SKINNY=1 it times the skinny GEMM), then b8 s128 and b1 s128
// again, each a median of 9 samples of 20 forwards (CUDA events). Device-side development tool
// (native/src/cuda/NOTES.md, version 12):
//   FTBENCH_SKINNY=1 node native/bench/state-probe.mjs; FTBENCH_SKINNY=0 node native/bench/state-probe.mjs
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const addon = createRequire(import.meta.url)(process.env.FTBENCH_ADDON ?? path.join(root, 'native/build/Release/ftbench.node'));

function medianMs(config) {
  const model = new addon.Model('cuda', config);
  try {
    model.measure(3);
    const samples = Array.from({ length: 9 }, () => model.measure(20).ms).sort((a, b) => a - b);
    return samples[4].toFixed(4);
  } finally {
    model.release();
  }
}

const b8 = { path: 'encoder', layers: 12, heads: 12, head_size: 64, inter_size: 3072, max_seq: 512, seed: 1, batch: 8, seq: 128,
  full_length: true, precision: 'fp16', variant: 'fused' };
const b1 = { ...b8, batch: 1 };
const order = [['b8', b8], ['b8', b8], ['b1', b1], ['b8', b8], ['b1', b1]];
console.log(`FTBENCH_SKINNY=${process.env.FTBENCH_SKINNY ?? ''}: ${order.map(([name, config]) => `${name} ${medianMs(config)}`).join(' | ')}`);
