// GEMM autotuning on the GPU (native/src/cuda/gemm/gemm_tuner.cc through src/gemm/tuning.ts): a small
// encoder's and decoding's shapes tuned into a cache file, the models' outputs with the tuned
// algorithms against the CPU reference, two other processes loading the cache and planning the same
// algorithms, and the GEMM suite's timings. Skipped visibly without the cuda backend.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { suiteUnless } from './support/suite.js';
import { pathToFileURL } from 'node:url';
import { REL_ERR_TOLERANCE, relativeL2 } from '../src/check/correctness.js';
import { DEFAULT_CONFIG, type PointConfig } from '../src/engine/config.js';
import type { GemmEntry } from '../src/engine/gemm-types.js';
import { cacheDevice, gemmKey, loadGemmCache, readGemmCache } from '../src/gemm/cache.js';
import { gemmSuite, tuneGemms } from '../src/gemm/tuning.js';
import { projectRoot, type NativeGemmChoice } from '../src/engine/native.js';
import { cudaAvailability, runModel } from './support/cuda.js';

const { addon, skip } = cudaAvailability();

const encoder = (precision: PointConfig['precision'], variant: PointConfig['variant']): PointConfig => ({
  ...DEFAULT_CONFIG, backend: 'cuda', path: 'encoder', variant, precision, layers: 2, heads: 4, head_size: 64, inter_size: 1024,
  batch: 4, seq: 96, max_seq: 128, seed: 20261130,
});
const decoding: PointConfig = {
  ...DEFAULT_CONFIG, backend: 'cuda', path: 'decoding', variant: 'fused', precision: 'fp16', layers: 1, heads: 4, head_size: 64,
  inter_size: 1024, vocab: 3001, batch: 4, beam: 4, seq: 8, max_seq: 16, mem_len: 16, seed: 20261130,
};
const CONFIGS = [encoder('fp16', 'fused'), encoder('fp32', 'fused'), encoder('bf16', 'unfused'), decoding];
const TOLERANCE = REL_ERR_TOLERANCE;

/** The GEMM choices `config` plans in a fresh process that loads `cacheFile`. */
function planInAnotherProcess(cacheFile: string, config: PointConfig): NativeGemmChoice[] {
  const module = (name: string) => JSON.stringify(pathToFileURL(path.join(projectRoot, 'dist/src', name)).href);
  const script = `
    const { loadAddon } = await import(${module('engine/native.js')});
    const { readGemmCache } = await import(${module('gemm/cache.js')});
    const addon = loadAddon();
    addon.setGemmTable('cuda', readGemmCache(${JSON.stringify(cacheFile)}).entries, { enabled: false });
    console.log(JSON.stringify(addon.planGemms('cuda', ${JSON.stringify(config)})));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as NativeGemmChoice[];
}

suiteUnless('CUDA GEMM tuning', skip, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-gpu-gemm-'));
  let entries: GemmEntry[] = [];
  let file = '';
  after(() => addon?.setGemmTable('cuda', [], { enabled: false }));

  test('every shape is tuned, the heuristic kept unless the winner is faster, the cache written', () => {
    const cache = loadGemmCache(cacheDevice(addon!.deviceInfo('cuda')), { dir });
    file = cache.file;
    const report = tuneGemms(addon!, CONFIGS, cache, () => {});
    assert.deepEqual(report.failed, []);
    const planned = new Set(CONFIGS.flatMap((config) => addon!.planGemms('cuda', config).map(gemmKey)));
    assert.deepEqual(new Set(report.added.map((entry) => entry.key)), planned);
    for (const entry of report.added) {
      assert.ok(entry.candidates_tried >= 1, entry.key);
      assert.ok(entry.tuned_ms > 0 && entry.heuristic_ms > 0, entry.key);
      // A winner beat the heuristic by more than 1 % in the confirmation; else the heuristic is kept, at its own time.
      if (entry.heuristic_kept) assert.equal(entry.tuned_ms, entry.heuristic_ms, entry.key);
      else assert.ok(entry.tuned_ms < 0.99 * entry.heuristic_ms, `${entry.key}: ${entry.tuned_ms} vs ${entry.heuristic_ms}`);
    }
    assert.ok(report.added.some((entry) => entry.candidates_tried > 8), 'the expansion adds candidates beyond the heuristic\'s');
    entries = readGemmCache(file).entries;
    assert.equal(entries.length, planned.size);
  });

  test('models run the tuned algorithms and match the CPU reference', () => {
    addon!.setGemmTable('cuda', entries, { enabled: false });
    for (const config of CONFIGS.filter((c) => c.path === 'encoder')) {
      const model = new addon!.Model('cuda', config);
      const gemms = model.gemms();
      model.release();
      assert.ok(gemms.length > 0 && gemms.every((gemm) => gemm.source === 'tuned'), `${config.precision}: ${JSON.stringify(gemms.map((g) => g.source))}`);
      const gpu = runModel(addon!, 'cuda', config).outputs.hidden;
      const cpu = runModel(addon!, 'cpu', { ...config, precision: 'fp32', variant: 'reference' }).outputs.hidden;
      const error = relativeL2(gpu, cpu);
      assert.ok(error <= TOLERANCE[config.precision], `${config.precision} ${config.variant}: relative L2 ${error}`);
    }
  });

  test('two other processes loading the cache plan the same algorithms, the cache\'s', () => {
    for (const config of [CONFIGS[0], decoding]) {
      const first = planInAnotherProcess(file, config);
      const second = planInAnotherProcess(file, config);
      assert.deepEqual(first.map((choice) => choice.role), second.map((choice) => choice.role));
      // A few-row shape runs the skinny kernel where it timed faster in that process; every other
      // shape runs the cache's algorithm, the same in both.
      for (const choice of [...first, ...second]) {
        if (choice.source === 'skinny') {
          assert.ok(choice.m <= 128 && choice.dtype !== 'f32', choice.role);
          assert.match(choice.note ?? '', /^skinny kernel [0-9.]+ us vs cuBLASLt \(tuned\) [0-9.]+ us, relative L2 /, choice.role);
          continue;
        }
        const cached = entries.find((entry) => entry.key === gemmKey(choice));
        assert.equal(choice.source, 'tuned', choice.role);
        assert.deepEqual({ ...choice.algo, workspace: 0 }, { ...cached!.algo, workspace: 0 }, choice.role);
      }
    }
  });

  test('the GEMM suite times each shape\'s tuned algorithm against the heuristic\'s', () => {
    const peaks = { fp16: 700 };
    const { rows, failed } = gemmSuite(addon!, CONFIGS, entries, peaks, () => {});
    assert.deepEqual(failed, []);
    assert.equal(rows.length, entries.length);
    for (const row of rows) {
      const cached = entries.find((entry) => entry.key === gemmKey(row))!;
      if (row.source === 'skinny') {
        assert.equal(row.algo, 'skinny kernel');
      } else {
        assert.equal(row.source, 'tuned');
        if (cached.heuristic_kept) assert.equal(row.tuned_ms, row.heuristic_ms, 'the same algorithm is timed once');
      }
      assert.ok(row.tuned_ms > 0 && row.heuristic_ms > 0 && Math.abs(row.speedup - row.heuristic_ms / row.tuned_ms) < 1e-12);
      assert.equal(row.pct_peak === null, row.dtype !== 'f16', row.role);
    }
  });
});
