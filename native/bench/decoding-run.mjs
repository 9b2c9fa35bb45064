// Builds one CUDA decoding (or decoder) from a JSON config and runs it once: a small target for
// profilers, e.g.
//   ncu --clock-control none --metrics gpu__time_duration.sum node native/bench/decoding-run.mjs \
//     '{"variant":"fused","precision":"fp16","batch":8,"beam":4,"seq":2,"graph":false}'
// Fields not given are FasterTransformer's decoding config (6 layers, 8 × 64, inter 2048, vocab 31538).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const addon = createRequire(import.meta.url)(process.env.FTBENCH_ADDON ?? path.join(root, 'native/build/Release/ftbench.node'));
const config = { path: 'decoding', layers: 6, heads: 8, head_size: 64, inter_size: 2048, vocab: 31538, max_seq: 128,
  seed: 1, ...JSON.parse(process.argv[2] ?? '{}') };
const model = new addon.Model('cuda', config);
model.run();
console.log(JSON.stringify(model.notes()));
model.release();
