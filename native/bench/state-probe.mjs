// Does a process get slower after certain work, though the model it measures is unchanged? Runs a
// sequence of steps in one process and prints each step's median (ms; 9 samples, each the CUDA-event
// mean of a hot batch of ≈ 20 ms) so that the step after which the figures move can be read off.
// Device-side development tool (native/src/cuda/NOTES.md, versions 12 and 13):
//   node native/bench/state-probe.mjs e1 d8 g8*5 e1 d8
// A step is a point name (one fresh instance built, measured, released) or name*N (N fresh instances in
// turn, each printed); +name keeps its instances alive to the end; !name builds and releases them
// without a run; name? prints the instance's memory K/V GEMM choice (role cross_kv) and notes; name~
// traces 5 runs of a fresh instance (CUPTI) and prints µs a run: the kernels' summed time and the span
// from the first kernel's start to the last one's end (PROBE_TRACE=file: each kernel's mean time, by
// name, as JSON lines).
// The points are the stability profile's (suites/profiles/stability.ts), fp16 fused:
//   e1  BERT-base encoder b1 s32        e1x  the same without the CUDA graph   e32  BERT-base b32 s384
//   d8  FT decoder b8 beam 4, 8 steps   g1   FT decoding b1 greedy, 32 steps   g8   FT decoding b8 beam 4, 32 steps
//   d8x d8 without the CUDA graph       d8s  d8 with 8 memory positions          d1   FT decoder b1 greedy, 8 steps
//   d8u d8 unfused                      d8g  FT decoder b8 greedy                d32  FT decoder b32 greedy
//   d4  FT decoder b4 greedy            d2   FT decoder b2 greedy                d8L1 d8 with one layer
//   d2m64 d2 with 64 memory positions   d1m64 d1 with 64                        d1m256 d1 with 256 (memory K/V
//         GEMM rows: 128, 64, 256 against d1's 128 and d2's 256)
// PROBE_PRECISION sets every point's precision (default fp16).
// The environment picks the variants under test (FTBENCH_SKINNY, FTBENCH_PERSISTENT, CUDA_MODULE_LOADING, ...; the FTBENCH_ ones it prints).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const addon = createRequire(import.meta.url)(process.env.FTBENCH_ADDON ?? path.join(root, 'native/build/Release/ftbench.node'));

const common = { precision: process.env.PROBE_PRECISION ?? 'fp16', variant: 'fused', seed: 1 };
const bert = { ...common, path: 'encoder', layers: 12, heads: 12, head_size: 64, inter_size: 3072 };
const ft = { ...common, layers: 6, heads: 8, head_size: 64, inter_size: 2048, vocab: 31538, max_seq: 128, mem_len: 128 };
const POINTS = {
  e1: { ...bert, batch: 1, seq: 32, max_seq: 32 },
  e1x: { ...bert, batch: 1, seq: 32, max_seq: 32, graph: false },
  e32: { ...bert, batch: 32, seq: 384, max_seq: 384 },
  d8: { ...ft, path: 'decoder', batch: 8, beam: 4, seq: 8 },
  d8x: { ...ft, path: 'decoder', batch: 8, beam: 4, seq: 8, graph: false },
  d8s: { ...ft, path: 'decoder', batch: 8, beam: 4, seq: 8, mem_len: 8 },
  d1: { ...ft, path: 'decoder', batch: 1, beam: 1, seq: 8 },
  d8u: { ...ft, path: 'decoder', batch: 8, beam: 4, seq: 8, variant: 'unfused' },
  d8g: { ...ft, path: 'decoder', batch: 8, beam: 1, seq: 8 },
  d32: { ...ft, path: 'decoder', batch: 32, beam: 1, seq: 8 },
  d4: { ...ft, path: 'decoder', batch: 4, beam: 1, seq: 8 },
  d2: { ...ft, path: 'decoder', batch: 2, beam: 1, seq: 8 },
  d8L1: { ...ft, path: 'decoder', batch: 8, beam: 4, seq: 8, layers: 1 },
  d2m64: { ...ft, path: 'decoder', batch: 2, beam: 1, seq: 8, mem_len: 64 },
  d1m64: { ...ft, path: 'decoder', batch: 1, beam: 1, seq: 8, mem_len: 64 },
  d1m256: { ...ft, path: 'decoder', batch: 1, beam: 1, seq: 8, mem_len: 256, max_seq: 256 },
  g1: { ...ft, path: 'decoding', batch: 1, beam: 1, seq: 32 },
  g8: { ...ft, path: 'decoding', batch: 8, beam: 4, seq: 32 },
};

function medianMs(model) {
  const once = model.measure(3).ms;
  const iterations = Math.max(1, Math.round(20 / once));
  const samples = Array.from({ length: 9 }, () => model.measure(iterations).ms).sort((a, b) => a - b);
  return samples[4].toFixed(4);
}

function traced(model, label) {
  model.measure(3);
  const { records } = model.profile(5);
  const kernels = records.filter((r) => r.kind === 'kernel');
  const sum = kernels.reduce((total, r) => total + (r.endNs - r.startNs), 0) / 5 / 1000;
  const span = (Math.max(...kernels.map((r) => r.endNs)) - Math.min(...kernels.map((r) => r.startNs))) / 5 / 1000;
  if (process.env.PROBE_TRACE) {
    const byName = {};
    for (const r of kernels) byName[r.name] = (byName[r.name] ?? 0) + (r.endNs - r.startNs) / 5 / 1000;
    fs.appendFileSync(process.env.PROBE_TRACE, JSON.stringify({ label, byName }) + '\n');
  }
  return `${kernels.length / 5} kernels ${sum.toFixed(1)}/${span.toFixed(1)} us`;
}

const kept = [];
function runStep(name, mode, label) {
  const model = new addon.Model('cuda', POINTS[name]);
  if (mode === '+') kept.push(model);
  try {
    if (mode === '!') return 'built';
    if (mode === '?') {
      const kv = model.gemms().find((g) => g.role === 'cross_kv');
      return JSON.stringify({ cross_kv: kv && { m: kv.m, algo: kv.algo }, notes: model.notes() });
    }
    return mode === '~' ? traced(model, label) : medianMs(model);
  } finally {
    if (mode !== '+') model.release();
  }
}

const steps = process.argv.slice(2);
if (steps.length === 0) throw new Error('usage: state-probe.mjs step... (e1, d8*5, +g8*3, e1~, ...)');
const settings = ['PROBE_PRECISION', 'FTBENCH_PERSISTENT', 'FTBENCH_CROSS_ATTENTION', 'FTBENCH_WIDE_ATTENTION'].map((name) => `${name}=${process.env[name] ?? ''}`);
const printed = [];
for (const [index, step] of steps.entries()) {
  const match = /^([+!]?)(\w+)([~?]?)(?:\*(\d+))?$/.exec(step);
  if (!match || POINTS[match[2]] === undefined) throw new Error(`unknown step ${step}`);
  const [, keep, name, trace, count = '1'] = match;
  const values = Array.from({ length: Number(count) }, () => runStep(name, keep || trace, `${index} ${step}`));
  printed.push(`${step} ${values.join(' ')}`);
}
console.log(`${settings.join(' ')}: ${printed.join(' | ')}`);
