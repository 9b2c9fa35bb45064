// Does a process get slower after certain work, though the model it measures is unchanged? Runs a
// sequence of steps in one process and prints each step's median (ms; 9 samples, each the CUDA-event
// mean of a hot batch of ≈ 20 ms) so that the step after which the figures move can be read off.
// Device-side development tool (native/src/cuda/NOTES.md, versions 12 and 13):
//   node native/bench/state-probe.mjs e1 d8 g8*5 e1 d8
// A step is a point name (one fresh instance built, measured, released) or name*N (N fresh instances in
// turn, each printed). The points are the stability profile's (suites/profiles/stability.ts), fp16 fused:
//   e1  BERT-base encoder b1 s32        e32  BERT-base encoder b32 s384
//   d8  FT decoder b8 beam 4, 8 steps   g1   FT decoding b1 greedy, 32 steps   g8  FT decoding b8 beam 4, 32 steps
// The environment picks the variants under test (FTBENCH_ALLOC, FTBENCH_SKINNY, CUDA_MODULE_LOADING, ...).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const addon = createRequire(import.meta.url)(process.env.FTBENCH_ADDON ?? path.join(root, 'native/build/Release/ftbench.node'));

const common = { precision: 'fp16', variant: 'fused', seed: 1 };
const bert = { ...common, path: 'encoder', layers: 12, heads: 12, head_size: 64, inter_size: 3072 };
const ft = { ...common, layers: 6, heads: 8, head_size: 64, inter_size: 2048, vocab: 31538, max_seq: 128, mem_len: 128 };
const POINTS = {
  e1: { ...bert, batch: 1, seq: 32, max_seq: 32 },
  e32: { ...bert, batch: 32, seq: 384, max_seq: 384 },
  d8: { ...ft, path: 'decoder', batch: 8, beam: 4, seq: 8 },
  g1: { ...ft, path: 'decoding', batch: 1, beam: 1, seq: 32 },
  g8: { ...ft, path: 'decoding', batch: 8, beam: 4, seq: 32 },
};

function medianMs(config) {
  const model = new addon.Model('cuda', config);
  try {
    const once = model.measure(3).ms;
    const iterations = Math.max(1, Math.round(20 / once));
    const samples = Array.from({ length: 9 }, () => model.measure(iterations).ms).sort((a, b) => a - b);
    return samples[4].toFixed(4);
  } finally {
    model.release();
  }
}

const steps = process.argv.slice(2);
if (steps.length === 0) throw new Error('usage: state-probe.mjs step... (e1, d8*5, ...)');
const settings = ['FTBENCH_ALLOC', 'FTBENCH_SKINNY', 'CUDA_MODULE_LOADING'].map((name) => `${name}=${process.env[name] ?? ''}`);
const printed = [];
for (const step of steps) {
  const [name, count = '1'] = step.split('*');
  const config = POINTS[name];
  if (config === undefined) throw new Error(`unknown point ${name}`);
  const medians = Array.from({ length: Number(count) }, () => medianMs(config));
  printed.push(`${name} ${medians.join(' ')}`);
}
console.log(`${settings.join(' ')}: ${printed.join(' | ')}`);
