// The GEMM CSVs (csv-stringify): `<run-id>.gemm.csv`, one row per GEMM per point of a run (what each
// point ran and where its algorithm came from), and the GEMM suite's, one row per shape.
import { stringify } from 'csv-stringify/sync';
import { describeChoiceAlgo } from '../src/engine/gemm-types.js';
import type { GemmSuiteRow } from '../src/gemm/tuning.js';
import type { Results } from '../src/results/schema.js';

const POINT_FIELDS = ['path', 'variant', 'precision', 'batch', 'beam', 'seq', 'top_k', 'top_p'] as const;
const SHAPE_FIELDS = ['m', 'n', 'k', 'batch_count', 'trans_a', 'trans_b', 'dtype', 'epilogue'] as const;

export const GEMM_CHOICES_HEADER = [
  ...POINT_FIELDS, 'role', ...SHAPE_FIELDS, 'source', 'algo', 'workspace', 'tuned_ms', 'heuristic_ms', 'note',
] as const;

/** One row per GEMM of every point that recorded its GEMMs; undefined when none did (cpu runs). */
export function renderGemmChoicesCsv(results: Pick<Results, 'points'>): string | undefined {
  const rows = results.points.flatMap((point) => (point.gemms ?? []).map((gemm) => [
    ...POINT_FIELDS.map((field) => point.config[field]), gemm.role, ...SHAPE_FIELDS.map((field) => String(gemm[field])),
    gemm.source, describeChoiceAlgo(gemm), gemm.algo.workspace, gemm.tuned_ms ?? '', gemm.heuristic_ms ?? '', gemm.note ?? '',
  ]));
  return rows.length === 0 ? undefined : stringify([[...GEMM_CHOICES_HEADER], ...rows]);
}

export const GEMM_SUITE_HEADER = [
  'role', ...SHAPE_FIELDS, 'heuristic_ms', 'tuned_ms', 'speedup', 'tflops', 'pct_peak', 'source', 'algo',
] as const satisfies readonly (keyof GemmSuiteRow)[];

export function renderGemmSuiteCsv(rows: readonly GemmSuiteRow[]): string {
  return stringify([[...GEMM_SUITE_HEADER], ...rows.map((row) => GEMM_SUITE_HEADER.map((field) => {
    const value = row[field];
    return typeof value === 'boolean' ? String(value) : (value ?? '');
  }))]);
}
