// Column definitions shared by the reporters: the CSV columns (names are a contract: the first 22
// are issue 2's list, in its order; new ones are appended) and the display columns of the console
// and markdown tables. A CSV row carries what identifies its point across runs (the key, the run id,
// commit and device), so the CSVs of many runs can be stacked into one table.
import { tpOf } from '../src/engine/config.js';
import { percentileOfSorted, sortedAscending } from '../src/measure/sample-stats.js';
import type { Point, Results } from '../src/results/schema.js';

export type CsvValue = string | number | null;

export interface CsvColumn {
  name: string;
  value: (point: Point, results: Results) => CsvValue;
}

const summaryValue = (key: keyof NonNullable<Point['summary']>) => (p: Point): CsvValue => p.summary?.[key] ?? null;
/** The config's scalar fields that are always present (a checkpoint's model and settings are not CSV columns). */
type ScalarField = Exclude<keyof Point['config'], 'model' | 'layer_norm_eps' | 'activation' | 'tp'>;
const configValue = (key: ScalarField) => (p: Point): CsvValue => {
  const value = p.config[key];
  return typeof value === 'boolean' ? String(value) : value;
};

type Measured<T> = Exclude<T, { reason: string }>;
const energyValue = (key: keyof Measured<NonNullable<Point['energy']>>) => (p: Point): CsvValue =>
  (p.energy && !('reason' in p.energy) ? p.energy[key] : null);

export const CSV_COLUMNS: readonly CsvColumn[] = [
  ...(['path', 'variant', 'precision', 'batch', 'beam', 'seq', 'layers', 'heads', 'head_size', 'inter_size', 'vocab'] as const)
    .map((name) => ({ name, value: configValue(name) })),
  { name: 'status', value: (p) => p.status },
  { name: 'gpu_ms_median', value: summaryValue('gpu_ms_median') },
  { name: 'gpu_ms_p10', value: summaryValue('gpu_ms_p10') },
  { name: 'gpu_ms_p90', value: summaryValue('gpu_ms_p90') },
  { name: 'noise_pct', value: summaryValue('noise_pct') },
  { name: 'samples', value: summaryValue('samples') },
  { name: 'host_ms_median', value: summaryValue('host_ms_median') },
  { name: 'tokens_per_s', value: summaryValue('tokens_per_s') },
  { name: 'tflops', value: summaryValue('tflops') },
  { name: 'correct', value: (p) => (p.correct === null ? null : String(p.correct)) },
  { name: 'max_rel_err', value: (p) => p.max_rel_err },
  ...(['top_k', 'top_p', 'temperature', 'backend'] as const).map((name) => ({ name, value: configValue(name) })),
  ...(['gpu_ms_mean', 'gpu_ms_min', 'gpu_ms_max', 'gpu_ms_stdev', 'stop_reason', 'gbps', 'mode', 'units_per_sample', 'discarded',
    'sm_clock_mhz', 'pct_peak_tflops', 'pct_peak_gbps'] as const)
    .map((name) => ({ name, value: summaryValue(name) })),
  { name: 'ids_equal_fraction', value: (p) => p.ids_equal_fraction ?? null },
  { name: 'repeat', value: (p) => p.repeat ?? null },
  { name: 'error', value: (p) => p.error ?? null },
  ...(['graph', 'full_length', 'mem_len', 'seed'] as const).map((name) => ({ name, value: configValue(name) })),
  { name: 'gpu_ms_p50', value: summaryValue('gpu_ms_median') },
  { name: 'gpu_ms_p99', value: (p) => samplesPercentile(p, 99) },
  { name: 'key', value: (p) => p.key },
  { name: 'run_id', value: (_p, results) => results.run.id },
  { name: 'commit', value: (_p, results) => results.env.git.commit },
  { name: 'device', value: (_p, results) => results.env.device.name ?? results.run.backend },
  { name: 'tp', value: (p) => p.config.tp ?? 1 },
  // Memory and energy (src/measure/resources.ts): empty where not measured (the JSON says why).
  { name: 'peak_memory_bytes', value: (p) => (p.memory && 'peak_bytes' in p.memory ? p.memory.peak_bytes : null) },
  { name: 'joules_per_unit', value: energyValue('joules_per_unit') },
  { name: 'joules_per_token', value: energyValue('joules_per_token') },
  { name: 'mean_w', value: energyValue('mean_w') },
  // fp8 points: the relative L2 error against the same config's fp32 run (empty for other precisions).
  { name: 'fp32_rel_err', value: (p) => p.fp32_rel_err ?? null },
  // fp8 decoding points: the shares of ids equal to the fp32 and fp16 runs', the scores' error against fp16.
  { name: 'fp32_ids_equal_fraction', value: (p) => p.fp32_ids_equal_fraction ?? null },
  { name: 'fp16_ids_equal_fraction', value: (p) => p.fp16_ids_equal_fraction ?? null },
  { name: 'fp16_score_rel_err', value: (p) => p.fp16_score_rel_err ?? null },
  // Fresh model instances the samples were spread over (src/measure/instances.ts); empty: one, before it was recorded.
  { name: 'instances', value: summaryValue('instances') },
];

/** A percentile of the point's retained samples (the summary records p10, p50 and p90 only); null without samples. */
function samplesPercentile(p: Point, percentile: number): number | null {
  return p.samples_ms.length === 0 ? null : percentileOfSorted(sortedAscending(p.samples_ms), percentile);
}

// ---------------------------------------------------------------------------------------------
// Display

/** Milliseconds in at most 7 characters: 1234, 12.35, 0.0123. */
export function formatMs(ms: number): string {
  if (ms >= 1000) return ms.toFixed(0);
  if (ms >= 1) return ms.toPrecision(4);
  return ms.toFixed(4);
}

/** A rate in at most 7 characters: 987, 12.3k, 4.56M. */
export function formatRate(value: number): string {
  if (value >= 1e9) return `${(value / 1e9).toPrecision(3)}G`;
  if (value >= 1e6) return `${(value / 1e6).toPrecision(3)}M`;
  if (value >= 1e4) return `${(value / 1e3).toPrecision(3)}k`;
  return value.toFixed(0);
}

/** TFLOP/s in at most 7 characters: 512, 12.3, 0.456, 1.2e-3. */
export function formatTflops(value: number): string {
  if (value >= 1000) return value.toFixed(0);
  if (value >= 0.01) return value.toPrecision(3);
  return value.toExponential(1);
}

/** Joules in at most 7 characters: 1234, 12.3, 0.00123, 1.2e-4. */
export function formatJoules(value: number): string {
  if (value >= 1000) return value.toFixed(0);
  if (value >= 0.001) return value.toPrecision(3);
  return value.toExponential(1);
}

export interface DisplayColumn {
  header: string;
  /** Console width; cells are padded to it (the last column takes what the 120 columns leave, wrapping). */
  width: number;
  align: 'left' | 'right';
  text: (point: Point) => string;
  /** Shown in the markdown table only: the console's 120 columns have no room for it. */
  markdownOnly?: true;
}

const NONE = '-';
const fromSummary = (format: (s: NonNullable<Point['summary']>) => string) => (p: Point): string =>
  (p.summary ? format(p.summary) : NONE);

/** Energy per forward (encoder) or per token (decoder, decoding): the unit each path is compared by. */
function energyText(p: Point): string {
  if (!p.energy || 'reason' in p.energy) return NONE;
  return formatJoules(p.config.path === 'encoder' ? p.energy.joules_per_unit : p.energy.joules_per_token);
}

export const DISPLAY_COLUMNS: readonly DisplayColumn[] = [
  { header: 'path', width: 8, align: 'left', text: (p) => p.config.path },
  { header: 'variant', width: 9, align: 'left', text: (p) => p.config.variant },
  { header: 'prec', width: 4, align: 'left', text: (p) => p.config.precision },
  { header: 'batch', width: 5, align: 'right', text: (p) => String(p.config.batch) },
  { header: 'beam', width: 4, align: 'right', text: (p) => String(p.config.beam) },
  { header: 'seq', width: 4, align: 'right', text: (p) => String(p.config.seq) },
  { header: 'status', width: 6, align: 'left', text: (p) => p.status, markdownOnly: true },
  { header: 'mode', width: 4, align: 'left', text: fromSummary((s) => s.mode ?? NONE) },
  { header: 'median ms', width: 9, align: 'right', text: fromSummary((s) => formatMs(s.gpu_ms_median)) },
  { header: 'p10/p90 ms', width: 13, align: 'right', text: fromSummary((s) => `${formatMs(s.gpu_ms_p10)}/${formatMs(s.gpu_ms_p90)}`), markdownOnly: true },
  { header: 'noise %', width: 7, align: 'right', text: fromSummary((s) => s.noise_pct.toFixed(2)) },
  { header: 'tok/s', width: 7, align: 'right', text: fromSummary((s) => formatRate(s.tokens_per_s)) },
  { header: 'TFLOP/s', width: 7, align: 'right', text: fromSummary((s) => (s.tflops === null ? NONE : formatTflops(s.tflops))) },
  { header: 'GiB', width: 6, align: 'right', text: (p) => (p.memory && 'peak_bytes' in p.memory ? (p.memory.peak_bytes / 2 ** 30).toPrecision(3) : NONE) },
  { header: 'J/fwd,tok', width: 9, align: 'right', text: energyText },
  // A failed point's status stands here (its message is on the line under the row).
  { header: 'correct', width: 7, align: 'left', text: (p) => (p.status !== 'ok' ? p.status : p.correct === null ? NONE : p.correct ? 'yes' : 'NO') },
  { header: 'options', width: 16, align: 'left', text: optionsLabel },
];

/** A point's sampling settings, compactly: "k4", "p0.75", "k4 t0.7"; "" when it does not sample. */
function samplingLabel(p: Point): string {
  const { top_k, top_p, temperature } = p.config;
  return [top_k > 0 ? `k${top_k}` : '', top_p > 0 ? `p${top_p}` : '', temperature !== 1 ? `t${temperature}` : '']
    .filter(Boolean).join(' ');
}

/**
 * What else tells a point apart from its neighbours in a sweep: sampling (k, p, temperature), the
 * length penalty, graph replay or eager launches (always shown: the default differs by variant), full-length
 * sequences, tp and the checkpoint: "k4 p0.9 graph", "eager full tp2".
 */
export function optionsLabel(p: Point): string {
  const c = p.config;
  return [samplingLabel(p), c.length_penalty !== 0 ? `lp${c.length_penalty}` : '', c.graph ? 'graph' : 'eager',
    c.full_length ? 'full' : '', tpOf(c) > 1 ? `tp${tpOf(c)}` : '', c.model ? c.model.type : ''].filter(Boolean).join(' ');
}

/** Why a point is not a clean pass: its error, or the names and details of its failed checks. */
export function problemOf(p: Point): string | undefined {
  if (p.status !== 'ok') return `${p.status}: ${p.error ?? 'no message'}`;
  const failed = p.checks.filter((c) => !c.ok);
  if (failed.length === 0) return undefined;
  return `incorrect: ${failed.map((c) => (c.detail ? `${c.name} (${c.detail})` : c.name)).join('; ')}`;
}
