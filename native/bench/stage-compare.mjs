// Compares two ftbench results files point by point (same variant and precision): a checkpoint run
// (--model) against the synthetic model of the same dims, or one commit against another. For each
// pair it prints the medians and their difference, then, when both runs were made with
// --profile-kernels, the time per unit of each engine stage and of the kernels that only one side
// runs or whose time differs most, and each side's FFN1 GEMM (epilogue, tuned or heuristic).
// Device-side tool (it reads files only; see native/bench/checkpoint-speed.sh):
//   node native/bench/stage-compare.mjs BASE.json OTHER.json
import fs from 'node:fs';

const [baseFile, otherFile] = process.argv.slice(2);
if (!baseFile || !otherFile) {
  console.error('usage: node native/bench/stage-compare.mjs BASE.json OTHER.json');
  process.exit(2);
}
const read = (file) => JSON.parse(fs.readFileSync(file, 'utf8')).points.filter((p) => p.status === 'ok');
const pairKey = (p) => `${p.config.path} ${p.config.variant} ${p.config.precision} b${p.config.batch} s${p.config.seq}`;
const others = new Map(read(otherFile).map((p) => [pairKey(p), p]));
const us = (ms) => (ms * 1000).toFixed(1).padStart(8);
const pct = (a, b) => `${(100 * (b - a) / a).toFixed(1).padStart(6)} %`;

/** name -> per-unit ms of a point's stages or kernels (kernels keyed by stage and name). */
function times(point, field) {
  const map = new Map();
  for (const entry of point[field] ?? []) {
    const key = field === 'kernels' ? `${entry.stage} | ${entry.name.slice(0, 90)}` : entry.name;
    map.set(key, (map.get(key) ?? 0) + entry.total_ms);
  }
  return map;
}

function table(title, base, other, limit) {
  const keys = [...new Set([...base.keys(), ...other.keys()])];
  const rows = keys.map((key) => [key, base.get(key) ?? 0, other.get(key) ?? 0])
    .sort((x, y) => Math.abs(y[2] - y[1]) - Math.abs(x[2] - x[1])).slice(0, limit);
  console.log(`  ${title} (µs per unit: base, other, other - base)`);
  for (const [key, a, b] of rows) console.log(`    ${us(a)} ${us(b)} ${us(b - a)}  ${key}`);
}

const ffn1 = (p) => (p.gemms ?? []).filter((g) => g.role === 'ffn1')
  .map((g) => `${g.epilogue} ${g.source}, algo ${g.algo.id} tile ${g.algo.tile}${g.tuned_ms ? `, ${us(g.tuned_ms).trim()} µs alone` : ''}`).join('; ') || '-';

for (const base of read(baseFile)) {
  const other = others.get(pairKey(base));
  if (!other) continue;
  const [a, b] = [base.summary.gpu_ms_median, other.summary.gpu_ms_median];
  console.log(`${pairKey(base)}: median ${a.toFixed(4)} -> ${b.toFixed(4)} ms (${pct(a, b)}); ` +
    `notes ffn1: ${base.notes.ffn1_bias_gelu ?? '-'} -> ${other.notes.ffn1_bias_gelu ?? '-'}`);
  console.log(`  ffn1 GEMM: base ${ffn1(base)}\n             other ${ffn1(other)}`);
  if (!base.stages || !other.stages) {
    console.log('  (no stage profile: run both with --profile-kernels)');
    continue;
  }
  table('stages', times(base, 'stages'), times(other, 'stages'), 20);
  table('kernels, largest differences', times(base, 'kernels'), times(other, 'kernels'), 8);
}
