// Times the CUDA encoder, fused vs unfused, on BERT-base shapes with the addon's own measure()
// (CUDA events; each sample is the mean of a hot batch of forwards). Device-side development tool:
//   node native/bench/encoder-timing.mjs [--precisions fp16,bf16] [--shapes 1x128,32x128] [--json out.json]
// Prints one table row per (shape, precision): fused and unfused medians (p10-p90) and their ratio.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const addon = createRequire(import.meta.url)(process.env.FTBENCH_ADDON ?? path.join(root, 'native/build/Release/ftbench.node'));

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

const precisions = option('precisions', 'fp16').split(',');
const shapes = option('shapes', '1x128,32x128,32x384').split(',').map((text) => {
  const [batch, seq] = text.split('x').map(Number);
  return { batch, seq };
});
const fullLength = process.argv.includes('--full-length');
const BERT_BASE = { path: 'encoder', layers: 12, heads: 12, head_size: 64, inter_size: 3072, max_seq: 512, seed: 1 };
const SAMPLES = 15;
const TARGET_SAMPLE_MS = 20;

function quantile(sorted, q) {
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  return sorted[low] + (sorted[Math.min(low + 1, sorted.length - 1)] - sorted[low]) * (position - low);
}

function time(config) {
  const model = new addon.Model('cuda', config);
  try {
    model.measure(3);  // warm-up (clocks, caches)
    const once = model.measure(3).ms;
    const iterations = Math.max(1, Math.min(200, Math.round(TARGET_SAMPLE_MS / once)));
    const samples = [];
    for (let i = 0; i < SAMPLES; i++) samples.push(model.measure(iterations).ms);
    samples.sort((a, b) => a - b);
    return { median: quantile(samples, 0.5), p10: quantile(samples, 0.1), p90: quantile(samples, 0.9), iterations,
      notes: model.notes() };
  } finally {
    model.release();
  }
}

const info = addon.deviceInfo('cuda');
console.log(`${info.name} | SMs ${info.sm_count} | SM clock ${info.sm_clock_mhz}/${info.sm_clock_max_mhz} MHz | ` +
  `driver ${info.driver} | CUDA ${info.cuda_runtime} | ${info.cublas}`);
const rows = [];
for (const { batch, seq } of shapes) {
  for (const precision of precisions) {
    const base = { ...BERT_BASE, batch, seq, precision, full_length: fullLength };
    const fused = time({ ...base, variant: 'fused' });
    const unfused = time({ ...base, variant: 'unfused' });
    rows.push({ batch, seq, precision, fused, unfused });
    const cell = (r) => `${r.median.toFixed(3)} ms (${r.p10.toFixed(3)}-${r.p90.toFixed(3)})`;
    console.log(`b${batch} s${seq} ${precision} tokens ${fused.notes.tokens}: fused ${cell(fused)} | ` +
      `unfused ${cell(unfused)} | unfused/fused ${(unfused.median / fused.median).toFixed(2)}x`);
  }
}
const json = option('json', undefined);
if (json) fs.writeFileSync(json, JSON.stringify({ device: info, fullLength, rows }, null, 2));
