// GEMM autotuning and the GEMM suite over a profile's points (cuda backend). Both plan each point's
// model without running it (the addon's planGemms): tuning with the engine's tuner on, so every shape
// the cache lacks is tuned as it is planned (native/src/cuda/gemm/gemm_tuner.cc); the suite with
// bench on, so every shape's chosen algorithm is timed against cuBLASLt's heuristic.
import { z } from 'zod';
import { configKey, isPeerVariant, type PointConfig, type PrecisionName } from '../engine/config.js';
import { gemmKey, loadGemmCache, cacheDevice, mergeEntries, writeGemmCache, type LoadedCache } from './cache.js';
import { nativeErrorCode, type NativeAddon, type NativeGemmChoice } from '../engine/native.js';
import { describeChoiceAlgo, GemmChoiceSchema, GemmShapeSchema, type GemmChoice, type GemmEntry, type GemmShape } from '../engine/gemm-types.js';
import { EnvSchema, type Point } from '../results/schema.js';

/** The tuning cache of the GPU and library versions the addon runs on (`file` instead, when given). */
export function openGemmCache(addon: NativeAddon, file?: string): LoadedCache {
  return loadGemmCache(cacheDevice(addon.deviceInfo('cuda')), file === undefined ? {} : { file });
}

/** What planning a set of points found: each shape's choice (first planner) and roles, and the points that failed. */
interface Planned {
  shapes: Map<string, { choice: NativeGemmChoice; roles: string[] }>;
  failed: string[];
}

/**
 * Plans every point's GEMMs under the table and options the engine has now; a point the engine
 * refuses is listed, not fatal. `planned(n)` is called after each point that brought n new shapes.
 */
function planAll(addon: NativeAddon, points: readonly PointConfig[], progress: (line: string) => void,
  planned: (added: number) => void = () => {}): Planned {
  // A peer's GEMMs are its library's, not the engine's to tune.
  const configs = points.filter((c) => !isPeerVariant(c.variant));
  const result: Planned = { shapes: new Map(), failed: [] };
  for (const [i, config] of configs.entries()) {
    let choices: NativeGemmChoice[];
    try {
      choices = addon.planGemms('cuda', config);
    } catch (error) {
      if (nativeErrorCode(error) === undefined) throw error;
      result.failed.push(`${configKey(config)}: ${(error as Error).message}`);
      continue;
    }
    let added = 0;
    for (const choice of choices) {
      const key = gemmKey(choice);
      const shape = result.shapes.get(key);
      if (shape === undefined) {
        result.shapes.set(key, { choice, roles: [choice.role] });
        added++;
      } else if (!shape.roles.includes(choice.role)) {
        shape.roles.push(choice.role);
      }
    }
    progress(`[${i + 1}/${configs.length}] ${config.path} ${config.variant} ${config.precision} b${config.batch} beam${config.beam} ` +
      `seq${config.seq}: ${choices.length} GEMMs, ${added} new shapes (${result.shapes.size} so far)`);
    if (added > 0) planned(added);
  }
  return result;
}

export interface TuneReport {
  /** The cache written: the old entries with the new ones merged in. */
  entries: GemmEntry[];
  /** Shapes tuned by this call. */
  added: GemmEntry[];
  /** Points whose models could not be planned, with the engine's message. */
  failed: string[];
}

/**
 * Tunes every GEMM shape of `configs` that `cache` lacks and leaves the engine running the new table
 * without tuning. `cache.file` is rewritten after each point that brought new shapes, so a tuning
 * stopped half-way keeps what it tuned and a second call goes on from there.
 */
export function tuneGemms(addon: NativeAddon, configs: readonly PointConfig[], cache: LoadedCache,
  progress: (line: string) => void): TuneReport {
  addon.setGemmTable('cuda', cache.entries, { enabled: true });
  const known = new Set(cache.entries.map((entry) => entry.key));
  const tunedAt = new Date().toISOString();
  const roles = new Map<string, string[]>();
  const report: TuneReport = { entries: cache.entries, added: [], failed: [] };
  const save = () => {
    report.added = addon.gemmTable('cuda')
      .map((tuned) => ({ key: gemmKey(tuned.shape), ...tuned }))
      .filter((tuned) => !known.has(tuned.key))
      .map((tuned) => ({ ...tuned, roles: roles.get(tuned.key) ?? tuned.roles, tuned_at: tunedAt }));
    report.entries = mergeEntries(cache.entries, report.added);
    writeGemmCache(cache.file, cache.device, report.entries);
  };
  const { shapes, failed } = planAll(addon, configs, progress, save);
  report.failed = failed;
  for (const [key, shape] of shapes) roles.set(key, shape.roles);
  save();
  addon.setGemmTable('cuda', report.entries, { enabled: false });
  return report;
}

/** The precision whose measured peak a GEMM of `dtype` is held against. */
const PRECISION_OF_DTYPE: Record<GemmShape['dtype'], PrecisionName> = { f32: 'fp32', 'f32/tf32': 'tf32', f16: 'fp16', bf16: 'bf16', 'e4m3/f16': 'fp8' };

/** One row of the GEMM suite: a distinct shape, the roles that run it, heuristic vs tuned. */
export interface GemmSuiteRow extends GemmShape {
  role: string;
  /**
   * tuned: the cache's algorithm; heuristic: the shape is not in the cache (tuned_ms is the heuristic's);
   * skinny: the engine's few-row kernel (tuned_ms is its time).
   */
  source: GemmChoice['source'];
  heuristic_ms: number;
  tuned_ms: number;
  /** heuristic_ms / tuned_ms. */
  speedup: number;
  tflops: number;
  /** tflops as % of the device's measured peak for the precision; null when not measured. */
  pct_peak: number | null;
  algo: string;
}

const flopsOfShape = (s: Pick<GemmShape, 'm' | 'n' | 'k' | 'batch_count'>): number => 2 * s.m * s.n * s.k * s.batch_count;

function suiteRow(choice: NativeGemmChoice, roles: readonly string[], peaks: Partial<Record<PrecisionName, number>>): GemmSuiteRow {
  const { bench_ms: tuned, bench_heuristic_ms: heuristic } = choice;
  if (tuned === undefined || heuristic === undefined) throw new Error(`the engine did not time gemm ${choice.role} (bench off?)`);
  const tflops = flopsOfShape(choice) / (tuned / 1e3) / 1e12;
  const peak = peaks[PRECISION_OF_DTYPE[choice.dtype]];
  return {
    role: roles.join('/'), m: choice.m, n: choice.n, k: choice.k, batch_count: choice.batch_count,
    trans_a: choice.trans_a, trans_b: choice.trans_b, dtype: choice.dtype, epilogue: choice.epilogue, source: choice.source,
    heuristic_ms: heuristic, tuned_ms: tuned, speedup: heuristic / tuned, tflops, pct_peak: peak ? (100 * tflops) / peak : null,
    algo: describeChoiceAlgo(choice),
  };
}

/**
 * The GEMM suite: every distinct shape of `configs`, its algorithm from `entries` (else the
 * heuristic's) timed against the heuristic's, in first-planned order.
 */
export function gemmSuite(addon: NativeAddon, configs: readonly PointConfig[], entries: readonly GemmEntry[],
  peaks: Partial<Record<PrecisionName, number>>, progress: (line: string) => void): { rows: GemmSuiteRow[]; failed: string[] } {
  addon.setGemmTable('cuda', entries, { enabled: false, bench: true });
  try {
    const { shapes, failed } = planAll(addon, configs, progress);
    return { rows: [...shapes.values()].map(({ choice, roles }) => suiteRow(choice, roles, peaks)), failed };
  } finally {
    addon.setGemmTable('cuda', entries, { enabled: false });
  }
}

/** Keys of the shapes that ran cuBLASLt's heuristic in `points` (missing from the cache), each once. */
export function untunedShapes(points: readonly Pick<Point, 'gemms'>[]): string[] {
  const keys = points.flatMap((point) => (point.gemms ?? []).filter((gemm) => gemm.source === 'heuristic').map(gemmKey));
  return [...new Set(keys)];
}

const speedupText = (heuristicMs: number, tunedMs: number): string =>
  `${(heuristicMs * 1e3).toFixed(1)} -> ${(tunedMs * 1e3).toFixed(1)} us (${(heuristicMs / tunedMs).toFixed(3)}x)`;

/** What a tuning call did, in a few lines: counts, then the largest gains. */
export function tuneSummary(report: TuneReport, file: string): string[] {
  const kept = report.added.filter((entry) => entry.heuristic_kept).length;
  const rejected = report.added.reduce((sum, entry) => sum + entry.rejected.length, 0);
  const best = [...report.added].sort((a, b) => b.heuristic_ms / b.tuned_ms - a.heuristic_ms / a.tuned_ms).slice(0, 5);
  return [
    `tuned ${report.added.length} new shapes into ${file} (${report.entries.length} in all): the heuristic's algorithm kept for ` +
      `${kept}, ${rejected} candidates rejected for their output`,
    ...best.filter((entry) => !entry.heuristic_kept).map((entry) => `  ${entry.key} [${entry.roles.join('/')}]: ${speedupText(entry.heuristic_ms, entry.tuned_ms)}`),
    ...report.failed.map((failure) => `  could not plan ${failure}`),
  ];
}

export const GEMM_SUITE_SCHEMA = 'ftbench/gemm-suite@1';

export const GemmSuiteSchema = z.object({
  schema: z.literal(GEMM_SUITE_SCHEMA),
  run: z.object({
    id: z.string().min(1), started_at: z.string(), finished_at: z.string(), command: z.string(), profile: z.string(), gemm_cache: z.string(),
  }),
  env: EnvSchema,
  rows: z.array(GemmShapeSchema.extend({
    role: z.string(), source: GemmChoiceSchema.shape.source, heuristic_ms: z.number().positive(), tuned_ms: z.number().positive(),
    speedup: z.number().positive(), tflops: z.number().nonnegative(), pct_peak: z.number().nullable(), algo: z.string(),
  })),
  /** Points whose models could not be planned, with the engine's message. */
  failed: z.array(z.string()),
});
export type GemmSuiteResults = z.infer<typeof GemmSuiteSchema>;

/** The suite in a few lines: counts, the tuned/heuristic extremes, the best rates. */
export function gemmSuiteSummary(rows: readonly GemmSuiteRow[]): string[] {
  const tuned = rows.filter((row) => row.source === 'tuned');
  const bySpeedup = [...tuned].sort((a, b) => b.speedup - a.speedup);
  const label = (row: GemmSuiteRow) => `${gemmKey(row)} [${row.role}]`;
  const lines = [`${rows.length} shapes: ${tuned.length} tuned, ${rows.length - tuned.length} not in the cache (heuristic)`];
  if (bySpeedup.length > 0) {
    const worst = bySpeedup.at(-1)!;
    lines.push(`lowest tuned speedup: ${label(worst)}: ${speedupText(worst.heuristic_ms, worst.tuned_ms)}`);
    lines.push('best speedups:', ...bySpeedup.slice(0, 5).map((row) => `  ${label(row)}: ${speedupText(row.heuristic_ms, row.tuned_ms)}`));
  }
  const byRate = [...rows].sort((a, b) => b.tflops - a.tflops).slice(0, 3);
  lines.push('highest rates:', ...byRate.map((row) =>
    `  ${label(row)}: ${row.tflops.toFixed(1)} TFLOP/s${row.pct_peak === null ? '' : ` (${row.pct_peak.toFixed(1)} % of peak)`}`));
  return lines;
}
