// Builds one CUDA encoder from a JSON config and runs it once: a small target for profilers, e.g.
//   ncu --clock-control none --metrics gpu__time_duration.sum node native/bench/encoder-forward.mjs \
//     '{"variant":"fused","precision":"fp16","batch":32,"seq":128,"graph":false}'
// Fields not given are BERT-base (12 heads × 64, inter 3072) with 2 layers.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const addon = createRequire(import.meta.url)(process.env.FTBENCH_ADDON ?? path.join(root, 'native/build/Release/ftbench.node'));
const config = { path: 'encoder', layers: 2, heads: 12, head_size: 64, inter_size: 3072, max_seq: 512, seed: 1,
  ...JSON.parse(process.argv[2] ?? '{}') };
const model = new addon.Model('cuda', config);
model.run();
console.log(JSON.stringify(model.notes()));
model.release();
