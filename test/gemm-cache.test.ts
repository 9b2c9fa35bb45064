// The GEMM tuning cache (src/gemm/cache.ts) and the tuning / suite drivers (src/gemm/tuning.ts) on a
// scripted engine: keying, device and version mismatch, missing shapes, malformed files, merging,
// and the GEMM CSVs. The tuner itself runs on the GPU (test/gpu-gemm.test.ts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { GEMM_CHOICES_HEADER, GEMM_SUITE_HEADER, renderGemmChoicesCsv } from '../reporters/gemm-csv.js';
import { main } from '../src/cli/main.js';
import {
  cacheFileName, gemmKey, GemmCacheError, loadGemmCache, mergeEntries, readGemmCache, writeGemmCache,
  type CacheDevice,
} from '../src/gemm/cache.js';
import { writeGemmSuite } from '../src/cli/gemm-suite.js';
import { gemmSuite, tuneGemms, untunedShapes, GEMM_SUITE_SCHEMA, GemmSuiteSchema } from '../src/gemm/tuning.js';
import type { GemmTuningOptions, NativeAddon, NativeGemmChoice, NativeGemmTuned } from '../src/engine/native.js';
import { describeAlgo, type GemmAlgo, type GemmEntry, type GemmShape } from '../src/engine/gemm-types.js';
import { cpuConfig, ENVIRONMENT, okPoint } from './harness-fixtures.js';

const H100: CacheDevice = { gpu: 'NVIDIA H100 80GB HBM3', compute_capability: '9.0', cuda_runtime: '13.0', cublas: 'cuBLASLt 13.1.0' };
const SHAPE: GemmShape = { m: 4096, n: 2304, k: 768, batch_count: 1, trans_a: false, trans_b: false, dtype: 'f16', epilogue: 'none' };
const ALGO: GemmAlgo = { id: 66, tile: 18, stages: 4, splitk: 1, reduction: 0, swizzle: 1, custom: 0, inner: 0, cluster: 0, workspace: 0 };

function entry(shape: GemmShape, overrides: Partial<GemmEntry> = {}): GemmEntry {
  return {
    key: gemmKey(shape), shape, algo: ALGO, heuristic_kept: false, tuned_ms: 0.04, heuristic_ms: 0.05, candidates_tried: 48,
    rejected: [], roles: ['qkv'], tuned_at: '2026-11-30T12:00:00.000Z', ...overrides,
  };
}

/** Cells of a CSV without quoted commas (these have none). */
const parse = (text: string): string[][] => text.trimEnd().split('\n').map((line) => line.split(','));

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-gemm-'));

describe('GEMM cache', () => {
  test('keys name batch count, m, n, k, transposes, types and epilogue; any of them makes another key', () => {
    assert.equal(gemmKey(SHAPE), '1x4096x2304x768 NN f16 none');
    assert.equal(gemmKey({ ...SHAPE, batch_count: 384, trans_b: true, dtype: 'f32/tf32', epilogue: 'bias_gelu' }),
      '384x4096x2304x768 NT f32/tf32 bias_gelu');
    const variants: Partial<GemmShape>[] = [
      { m: 4095 }, { n: 2305 }, { k: 769 }, { batch_count: 2 }, { trans_a: true }, { trans_b: true }, { dtype: 'bf16' }, { epilogue: 'bias' },
    ];
    const keys = new Set([SHAPE, ...variants.map((v) => ({ ...SHAPE, ...v }))].map(gemmKey));
    assert.equal(keys.size, variants.length + 1);
  });

  test('the file is named by GPU, CUDA and cuBLAS versions', () => {
    assert.equal(cacheFileName(H100), 'nvidia-h100-80gb-hbm3-cuda13.0-cublas13.1.0.json');
  });

  test('a cache round-trips through its file; entries merge by key, the newer winning, sorted', () => {
    const dir = tempDir();
    const file = path.join(dir, cacheFileName(H100));
    const old = entry(SHAPE);
    const other = entry({ ...SHAPE, m: 32 }, { roles: ['ffn2'] });
    const retuned = entry(SHAPE, { tuned_ms: 0.03, algo: { ...ALGO, splitk: 2 } });
    const merged = mergeEntries([old, other], [retuned]);
    assert.deepEqual(merged.map((e) => e.key), ['1x32x2304x768 NN f16 none', '1x4096x2304x768 NN f16 none']);
    assert.equal(merged[1].tuned_ms, 0.03);
    writeGemmCache(file, H100, merged);
    const loaded = loadGemmCache(H100, { dir });
    assert.deepEqual(loaded, { device: H100, file, entries: merged, warnings: [] });
  });

  test('a cache of another GPU or version is ignored with a warning naming what differs', () => {
    const dir = tempDir();
    const made = { ...H100, cublas: 'cuBLASLt 13.0.2' };
    const file = path.join(dir, 'tuned.json');
    writeGemmCache(file, made, [entry(SHAPE)]);
    const loaded = loadGemmCache(H100, { file });
    assert.deepEqual(loaded.entries, []);
    assert.equal(loaded.file, path.join(dir, cacheFileName(H100)), 'tuning writes this device\'s own file, never the other one');
    assert.deepEqual(loaded.warnings, [`${file} was tuned for another device or version (cublas cuBLASLt 13.0.2 (here cuBLASLt 13.1.0)): ignored`]);
    const h200 = loadGemmCache({ ...H100, gpu: 'NVIDIA H200' }, { dir });
    assert.deepEqual(h200.entries, []);
    assert.match(h200.warnings.join('\n'), /tuned\.json is not for this device and versions: ignored/);
    assert.match(h200.warnings.join('\n'), /no GEMM tuning cache .*nvidia-h200-cuda13\.0-cublas13\.1\.0\.json: every GEMM runs cuBLASLt's heuristic/);
  });

  test('malformed caches are errors naming the file and field', () => {
    const dir = tempDir();
    const file = path.join(dir, 'bad.json');
    const write = (data: unknown) => fs.writeFileSync(file, typeof data === 'string' ? data : JSON.stringify(data));
    const valid = { schema: 'ftbench/gemm-cache@1', device: H100, entries: [entry(SHAPE)] };
    write('{ not json');
    assert.throws(() => readGemmCache(file), (e: Error) => e instanceof GemmCacheError && e.message.startsWith(`${file}: not a readable JSON file`));
    write({ ...valid, schema: 'ftbench/gemm-cache@0' });
    assert.throws(() => readGemmCache(file), /bad\.json: invalid GEMM cache: schema: /);
    write({ ...valid, entries: [{ ...entry(SHAPE), algo: { ...ALGO, splitk: 1.5 } }] });
    assert.throws(() => readGemmCache(file), /invalid GEMM cache: entries\.0\.algo\.splitk: /);
    write({ ...valid, entries: [{ ...entry(SHAPE), shape: { ...SHAPE, dtype: 'fp8' } }] });
    assert.throws(() => readGemmCache(file), /invalid GEMM cache: entries\.0\.shape\.dtype: /);
    write({ ...valid, entries: [{ ...entry(SHAPE), key: '1x1x1x1 NN f16 none' }] });
    assert.throws(() => readGemmCache(file), /entries\.0\.key: "1x1x1x1 NN f16 none" is not the key of its shape \("1x4096x2304x768 NN f16 none"\)/);
    assert.throws(() => loadGemmCache(H100, { file: path.join(dir, 'absent.json') }), /absent\.json: no such GEMM cache/);
  });

  test('a cache with two entries of one key, or a GEMM with an empty dimension, is refused naming the entry', () => {
    const dir = tempDir();
    const file = path.join(dir, 'bad.json');
    const write = (entries: unknown[]) => fs.writeFileSync(file, JSON.stringify({ schema: 'ftbench/gemm-cache@1', device: H100, entries }));
    const other = { ...SHAPE, m: 32 };
    write([entry(SHAPE), entry(other), { ...entry(SHAPE), tuned_ms: 0.5 }]);
    assert.throws(() => readGemmCache(file), {
      name: 'GemmCacheError',
      message: `${file}: invalid GEMM cache: entries.2.key: "1x4096x2304x768 NN f16 none" again (entries.0 has it too)`,
    });
    const empty = { ...SHAPE, k: 0 };
    write([entry(other), { ...entry(SHAPE), shape: empty, key: gemmKey(empty) }]);
    assert.throws(() => readGemmCache(file), {
      name: 'GemmCacheError',
      message: `${file}: invalid GEMM cache: entries.1.shape.k: 0 in "1x4096x2304x0 NN f16 none" (a GEMM dimension must be at least 1)`,
    });
  });

  test('tune on the cpu backend exits 2: GEMM tuning needs cuBLASLt', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(file, '[]');
    const errors: string[] = [];
    const original = console.error;
    console.error = (line: string) => errors.push(line);
    try {
      assert.equal(await main(['tune', '--backend', 'cpu', '--gemm-cache', file]), 2);
    } finally {
      console.error = original;
    }
    assert.deepEqual(errors, ['ftbench: tune needs the cuda backend (GEMMs run through cuBLASLt)']);
  });

  test('describeAlgo spells every configuration field', () => {
    assert.equal(describeAlgo(ALGO), 'algo 66 tile 18 stages 4 splitk 1 reduction 0 swizzle 1 custom 0 inner 0 cluster 0 workspace 0');
  });
});

/** An engine whose planGemms returns scripted choices and tunes missing shapes into its table, as the native one. */
function scriptedEngine(plans: Record<number, GemmShape[]>) {
  let table: NativeGemmTuned[] = [];
  let tuning: GemmTuningOptions = { enabled: false };
  const calls: string[] = [];
  const addon = {
    deviceInfo: () => ({ name: H100.gpu, compute_capability: '9.0', cuda_runtime: '13.0', cublas: 'cuBLASLt 13.1.0' }),
    setGemmTable: (_backend: string, entries: readonly NativeGemmTuned[], options: GemmTuningOptions) => {
      table = [...entries];
      tuning = options;
      calls.push(`set ${entries.length} ${options.enabled ? 'tune' : ''}${options.bench ? 'bench' : ''}`);
    },
    gemmTable: () => table,
    planGemms: (_backend: string, config: { batch: number }): NativeGemmChoice[] => {
      const shapes = plans[config.batch];
      if (shapes === undefined) throw Object.assign(new Error('out of memory planning'), { code: 'ERR_FTB_OOM' });
      return shapes.map((shape, i) => {
        let found = table.find((t) => gemmKey(t.shape) === gemmKey(shape));
        if (!found && tuning.enabled) {
          found = { shape, algo: { ...ALGO, splitk: shape.m }, heuristic_kept: false, tuned_ms: 0.01, heuristic_ms: 0.02, candidates_tried: 9, rejected: ['algo 1: error'], roles: [`role${i}`] };
          table.push(found);
        }
        return {
          role: `role${i}`, ...shape, algo: found?.algo ?? ALGO, source: found ? 'tuned' : 'heuristic',
          tuned_ms: found?.tuned_ms ?? null, heuristic_ms: found?.heuristic_ms ?? null,
          ...(tuning.bench ? { bench_ms: found ? 0.01 : 0.02, bench_heuristic_ms: 0.02 } : {}),
        };
      });
    },
  };
  return { addon: addon as unknown as NativeAddon, calls };
}

describe('GEMM tuning and suite drivers', () => {
  const a = SHAPE;
  const b = { ...SHAPE, m: 32 };
  const c = { ...SHAPE, m: 32, dtype: 'f32' as const };

  test('tuning adds the missing shapes with every role that plans them, keeps the old ones, writes the cache', () => {
    const dir = tempDir();
    const { addon, calls } = scriptedEngine({ 1: [a, b], 8: [b, a], 9: [c] });
    const kept = entry(a, { roles: ['old'] });
    const file = path.join(dir, cacheFileName(H100));
    const cache = { device: H100, file, entries: [kept], warnings: [] };
    const lines: string[] = [];
    const report = tuneGemms(addon, [cpuConfig({ batch: 1 }), cpuConfig({ batch: 8 }), cpuConfig({ batch: 5 })], cache, (l) => lines.push(l));
    assert.deepEqual(report.added.map((e) => [e.key, e.roles, e.algo.splitk]), [['1x32x2304x768 NN f16 none', ['role1', 'role0'], 32]]);
    assert.deepEqual(report.entries.map((e) => e.key), [gemmKey(b), gemmKey(a)]);
    assert.equal(report.failed.length, 1);
    assert.match(report.failed[0], /batch=5 .*: out of memory planning/);
    assert.deepEqual(readGemmCache(file).entries, report.entries);
    assert.deepEqual(calls, ['set 1 tune', 'set 2 ']);
    assert.equal(lines.length, 2);
  });

  test('the suite has one row per distinct shape, with its roles, speedup, TFLOP/s and % of the precision\'s peak', () => {
    const { addon, calls } = scriptedEngine({ 1: [a, b], 8: [b, c] });
    const { rows, failed } = gemmSuite(addon, [cpuConfig({ batch: 1 }), cpuConfig({ batch: 8 })], [entry(a)], { fp16: 800 }, () => {});
    assert.deepEqual(failed, []);
    assert.deepEqual(rows.map((r) => [gemmKey(r), r.role, r.source, r.speedup]), [
      [gemmKey(a), 'role0', 'tuned', 2], [gemmKey(b), 'role1/role0', 'heuristic', 1], [gemmKey(c), 'role1', 'heuristic', 1],
    ]);
    const flops = 2 * 4096 * 2304 * 768;
    assert.equal(rows[0].tflops, flops / 1e-5 / 1e12);
    assert.equal(rows[0].pct_peak, (100 * rows[0].tflops) / 800);
    assert.equal(rows[2].pct_peak, null, 'no fp32 peak measured');
    assert.deepEqual(calls, ['set 1 bench', 'set 1 ']);
    const dir = tempDir();
    const [json, csv] = writeGemmSuite(dir, {
      schema: GEMM_SUITE_SCHEMA, env: ENVIRONMENT, rows, failed,
      run: { id: 'gemm-x', started_at: 'a', finished_at: 'b', command: 'ftbench bench --suite gemm', profile: 'a100', gemm_cache: 'c.json' },
    });
    assert.equal(GemmSuiteSchema.parse(JSON.parse(fs.readFileSync(json, 'utf8'))).rows.length, 3);
    const table = parse(fs.readFileSync(csv, 'utf8')) as string[][];
    assert.deepEqual(table[0], [...GEMM_SUITE_HEADER]);
    for (const column of ['role', 'm', 'n', 'k', 'batch_count', 'dtype', 'heuristic_ms', 'tuned_ms', 'speedup', 'tflops', 'pct_peak', 'algo'] as const) {
      assert.ok(table[0].includes(column), column);
    }
    assert.deepEqual(table[2].slice(0, 4), ['role1/role0', '32', '2304', '768']);
  });

  test('a run lists the shapes that ran the heuristic once, and its gemm.csv has a row per GEMM per point', () => {
    const gemm = (shape: GemmShape, source: 'tuned' | 'heuristic', role: string): NativeGemmChoice => ({
      role, ...shape, algo: ALGO, source, tuned_ms: source === 'tuned' ? 0.01 : null, heuristic_ms: source === 'tuned' ? 0.02 : null,
    });
    const points = [
      okPoint(cpuConfig({ batch: 1 }), [1], { gemms: [gemm(a, 'tuned', 'qkv'), gemm(b, 'heuristic', 'ffn1')] }),
      okPoint(cpuConfig({ batch: 2 }), [1], { gemms: [gemm(b, 'heuristic', 'ffn1'), gemm(c, 'heuristic', 'ffn2')] }),
      okPoint(cpuConfig({ batch: 3 }), [1]),
    ];
    assert.deepEqual(untunedShapes(points), [gemmKey(b), gemmKey(c)]);
    const table = parse(renderGemmChoicesCsv({ points })!) as string[][];
    assert.deepEqual(table[0], [...GEMM_CHOICES_HEADER]);
    assert.equal(table.length, 5);
    assert.deepEqual(table[1].slice(0, 12), ['encoder', 'reference', 'fp32', '1', '1', '16', '0', '0', 'qkv', '4096', '2304', '768']);
    assert.equal(table[1][GEMM_CHOICES_HEADER.indexOf('source')], 'tuned');
    assert.equal(table[2][GEMM_CHOICES_HEADER.indexOf('tuned_ms')], '');
    assert.equal(renderGemmChoicesCsv({ points: [points[2]] }), undefined, 'no GEMMs (cpu): no file');
  });
});
