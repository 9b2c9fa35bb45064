// Times the CUDA decoder and decoding paths, fused vs unfused, on FasterTransformer's decoding config
// (6 layers, 8 heads × 64, inter 2048, vocab 31538) with the addon's own measure() (CUDA events; a
// sample is the mean of a hot batch of whole runs). Device-side development tool:
//   node native/bench/decoding-timing.mjs [--precisions fp16] [--points b8k4s32,b128k4s128] [--json out.json]
//     [--rounds N] (also the spread of N medians over fresh instances against one instance: below)
//     [--mem-len N] (memory positions; default the step count, the profiles' FT_DECODER_WITH_MEMORY 128)
// A point is b<batch>k<beam>s<steps>, optionally with t<top_k> / p<top_p> (sampling, beam 1) and a
// leading "dec-" for the decoder path. Prints one row per point: fused and unfused medians
// (p10-p90), tokens/s (batch × steps / time) and the unfused/fused ratio.
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

const FT_DECODING = { layers: 6, heads: 8, head_size: 64, inter_size: 2048, vocab: 31538, max_seq: 128, seed: 1,
  ...(option('mem-len') !== undefined ? { mem_len: Number(option('mem-len')) } : {}) };
const precisions = option('precisions', 'fp16').split(',');
const points = option('points', 'b8k4s32,b1k1s32,b128k4s128,dec-b8k4s32,b128k1s128t4,b128k1s128p0.75').split(',').map((text) => {
  const match = /^(dec-)?b(\d+)k(\d+)s(\d+)(?:t(\d+))?(?:p([\d.]+))?$/.exec(text);
  if (!match) throw new Error(`bad point ${text}`);
  return { name: text, path: match[1] ? 'decoder' : 'decoding', batch: Number(match[2]), beam: Number(match[3]),
    seq: Number(match[4]), top_k: Number(match[5] ?? 0), top_p: Number(match[6] ?? 0) };
});
const variants = option('variants', 'fused,unfused').split(',');
const SAMPLES = 11;
const TARGET_SAMPLE_MS = 100;

function quantile(sorted, q) {
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  return sorted[low] + (sorted[Math.min(low + 1, sorted.length - 1)] - sorted[low]) * (position - low);
}

/** SAMPLES samples of a warm model, each the mean of a hot batch of about TARGET_SAMPLE_MS. */
function sample(model) {
  const once = model.measure(1).ms;
  const iterations = Math.max(1, Math.min(100, Math.round(TARGET_SAMPLE_MS / once)));
  const samples = [];
  for (let i = 0; i < SAMPLES; i++) samples.push(model.measure(iterations).ms);
  samples.sort((a, b) => a - b);
  return { median: quantile(samples, 0.5), p10: quantile(samples, 0.1), p90: quantile(samples, 0.9), iterations };
}

/** Builds `config`'s model, warms it up, samples it, releases it. */
function time(config) {
  const model = new addon.Model('cuda', config);
  try {
    model.measure(1);  // warm-up (clocks, caches)
    return { ...sample(model), notes: model.notes() };
  } finally {
    model.release();
  }
}

// --rounds N: where a point's run-to-run spread comes from. N medians of fresh instances (each built,
// sampled and released, as the stability profile's repeats do) against N medians of one instance
// sampled again and again: a spread only the fresh instances show belongs to the instance (where its
// buffers landed, its graph), not to the clock or the sampling.
const rounds = Number(option('rounds', 0));
function spreadPct(medians) {
  const sorted = [...medians].sort((a, b) => a - b);
  return (100 * (sorted.at(-1) - sorted[0])) / quantile(sorted, 0.5);
}
function instanceSpread(config) {
  const fresh = Array.from({ length: rounds }, () => time(config).median);
  const model = new addon.Model('cuda', config);
  try {
    model.measure(1);
    const same = Array.from({ length: rounds }, () => sample(model).median);
    const list = (medians) => medians.map((m) => m.toFixed(3)).join(' ');
    return `spread of ${rounds} medians: fresh instances ${spreadPct(fresh).toFixed(2)} % (${list(fresh)}), ` +
      `one instance ${spreadPct(same).toFixed(2)} % (${list(same)})`;
  } finally {
    model.release();
  }
}

const info = addon.deviceInfo('cuda');
console.log(`${info.name} | SMs ${info.sm_count} | SM clock ${info.sm_clock_mhz}/${info.sm_clock_max_mhz} MHz | ` +
  `driver ${info.driver} | CUDA ${info.cuda_runtime} | ${info.cublas}`);
const rows = [];
for (const point of points) {
  for (const precision of precisions) {
    const { name, ...fields } = point;
    const base = { ...FT_DECODING, ...fields, precision };
    const result = { point: name, precision };
    for (const variant of variants) result[variant] = time({ ...base, variant });
    rows.push(result);
    const cell = (r) => `${r.median.toFixed(3)} ms (${r.p10.toFixed(3)}-${r.p90.toFixed(3)}) ` +
      `${Math.round(point.batch * point.seq / (r.median / 1000))} tok/s` +
      (point.path === 'decoder' ? ` ${(r.median / point.seq * 1000).toFixed(1)} us/step` : '');
    const ratio = result.fused && result.unfused ? ` | unfused/fused ${(result.unfused.median / result.fused.median).toFixed(2)}x` : '';
    console.log(`${name} ${precision}: ` + variants.map((v) => `${v} ${cell(result[v])}`).join(' | ') + ratio);
    if (rounds > 1) for (const variant of variants) console.log(`  ${variant} ${instanceSpread({ ...base, variant })}`);
  }
}
const json = option('json', undefined);
if (json) fs.writeFileSync(json, JSON.stringify({ device: info, rows }, null, 2));
