// Data shaping for the HTML dashboard: pure functions from a results file (and optionally the gate's
// comparison with a baseline) to display-ready data — formatted strings, table rows and plotly
// trace/layout objects. The browser script (page.ts) only turns this into DOM nodes and plots, so
// everything that decides what the page shows is here and unit-tested.
//
// Strings that reach plotly (names, hover text, category labels) go through plotlyText(): plotly
// renders a subset of HTML in them, so results-file strings are entity-escaped there. Strings that
// reach the DOM are inserted by page.ts with textContent and need no escaping here.
import {
  decodeStrategy, KEY_FIELDS, pairKey, PATHS, pointLabel, PRECISIONS, type PathName, type PointConfig, type PrecisionName,
} from '../src/engine/config.js';
import { formatChange, VERDICT_ORDER, type Comparison, type Verdict } from '../src/gate/compare.js';
import type { Environment, Point, Results, Summary } from '../src/results/schema.js';
import { describeAlgo } from '../src/engine/gemm-types.js';
import { deviceCeilings } from '../src/results/device-ceilings.js';
import { BERT_BASE, FT_DECODER as FT_DECODING } from '../suites/models.js';

// ---------------------------------------------------------------------------------------------
// Display types (the JSON embedded in the page; page.ts imports these types)

/** A plotly trace: the fields this module sets, plus plotly's own styling options. */
export interface Trace {
  type: 'scatter' | 'heatmap' | 'bar';
  name?: string;
  x: (number | string)[];
  y: (number | string | null)[];
  z?: (number | null)[][];
  hovertext?: string[] | string[][];
  [option: string]: unknown;
}

export interface Chart {
  id: string;
  title: string;
  traces: Trace[];
  layout: Record<string, unknown>;
}

export interface Field {
  label: string;
  value: string;
}

export interface FieldGroup {
  title: string;
  fields: Field[];
}

/** One selectable slice of a path's points (e.g. "seq 128"); batch is the x axis. */
export interface Facet {
  label: string;
  latency: Chart;
  throughput: Chart;
}

export interface PathView {
  path: PathName;
  facets: Facet[];
}

export interface Cell {
  display: string;
  /** Sort key: numbers sort numerically, null sorts last. */
  sort: number | string | null;
}

export interface Table {
  columns: string[];
  rows: Cell[][];
}

export interface ComparisonView {
  baseline: string;
  summary: string;
  warnings: string[];
  added: string[];
  removed: string[];
  table: Table;
  chart: Chart | null;
}

export interface DashboardData {
  title: string;
  header: FieldGroup[];
  warnings: string[];
  comparison: ComparisonView | null;
  paths: PathView[];
  heatmaps: Chart[];
  efficiency: Chart[];
  references: Table | null;
  gemms: { table: Table; chart: Chart } | null;
  breakdowns: Chart[];
  points: Table;
  failures: Table | null;
}

// ---------------------------------------------------------------------------------------------
// Formatting

/** Numbers with at least 4 significant digits and every integer digit: 3.217, 0.01235, 27,248. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const integerDigits = Math.abs(value) >= 1 ? Math.floor(Math.log10(Math.abs(value))) + 1 : 1;
  return new Intl.NumberFormat('en-US', { maximumSignificantDigits: Math.min(21, Math.max(4, integerDigits)) }).format(
    value,
  );
}

const formatOptional = (value: number | null | undefined, suffix = ''): string =>
  value === null || value === undefined ? '–' : `${formatNumber(value)}${suffix}`;

/** Escapes the characters plotly would read as markup in text it renders. */
export function plotlyText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const numberCell = (value: number | null | undefined, suffix = ''): Cell => ({
  display: formatOptional(value, suffix),
  sort: value ?? null,
});
const textCell = (value: string): Cell => ({ display: value, sort: value });

/** Makes labels unique by numbering repeats ("x", "x (2)"), so plotly categories never merge. */
function uniqueLabels(labels: string[]): string[] {
  const seen = new Map<string, number>();
  return labels.map((label) => {
    const count = (seen.get(label) ?? 0) + 1;
    seen.set(label, count);
    return count === 1 ? label : `${label} (${count})`;
  });
}

const PRECISION_COLORS: Record<PrecisionName, string> = {
  fp32: '#1f77b4',
  tf32: '#17becf',
  fp16: '#d62728',
  bf16: '#9467bd',
};
const VARIANT_DASH: Record<PointConfig['variant'], string> = { fused: 'solid', unfused: 'dash', reference: 'dot' };
const VARIANT_SYMBOL: Record<PointConfig['variant'], string> = { fused: 'circle', unfused: 'square', reference: 'diamond' };
/** Efficiency scatter markers: shape by path, filled for fused, open for unfused, dotted for reference. */
const PATH_SYMBOL: Record<PathName, string> = { encoder: 'circle', decoder: 'diamond', decoding: 'triangle-up' };
const VARIANT_FILL: Record<PointConfig['variant'], string> = { fused: '', unfused: '-open', reference: '-dot' };

// ---------------------------------------------------------------------------------------------
// Per-point records (GEMM choices, stage and kernel breakdowns, GB/s) from the schema's optional
// point fields, in the shape the views take; a point without them has empty ones.

export interface GemmRecord {
  role: string;
  m: number;
  n: number;
  k: number;
  batch_count: number;
  dtype: string;
  algo: string;
  source: string;
  tuned_ms: number | null;
  heuristic_ms: number | null;
}

export interface TimedRecord {
  name: string;
  /** Stage a kernel belongs to (kernels only). */
  stage: string | null;
  calls: number | null;
  total_ms: number;
}

export interface PointExtras {
  gbps: number | null;
  gemms: GemmRecord[];
  stages: TimedRecord[];
  kernels: TimedRecord[];
}

/** A point's optional records, as the views take them (absent fields give empty ones). */
export function pointExtras(point: Point): PointExtras {
  return {
    gbps: point.summary?.gbps ?? null,
    gemms: (point.gemms ?? []).map((gemm) => ({
      role: gemm.role, m: gemm.m, n: gemm.n, k: gemm.k, batch_count: gemm.batch_count, dtype: gemm.dtype,
      algo: describeAlgo(gemm.algo), source: gemm.source, tuned_ms: gemm.tuned_ms, heuristic_ms: gemm.heuristic_ms,
    })),
    stages: (point.stages ?? []).map((stage) => ({ name: stage.name, stage: null, calls: stage.calls, total_ms: stage.total_ms })),
    kernels: (point.kernels ?? []).map((kernel) => ({ name: kernel.name, stage: kernel.stage, calls: kernel.calls, total_ms: kernel.total_ms })),
  };
}

export const NO_EXTRAS: PointExtras = { gbps: null, gemms: [], stages: [], kernels: [] };

// ---------------------------------------------------------------------------------------------
// Header and measured peaks

export interface Peaks {
  /** Measured device-to-device copy bandwidth, GB/s. */
  gbps: number | null;
  /** Measured large-GEMM TFLOP/s per precision. */
  tflops: Partial<Record<PrecisionName, number>>;
}

/** Peaks from the environment's device map: `peak_gbps` and `peak_tflops_<precision>` (decimal strings). */
export function readPeaks(env: Environment): Peaks {
  const ceilings = deviceCeilings(env);
  return { gbps: ceilings.peak_gbps ?? null, tflops: ceilings.peak_tflops ?? {} };
}

/** The CUDA backend's device fields (native/src/cuda/device_info.cc), in display order; others follow as recorded. */
const DEVICE_FIELDS: { key: string; label: string; unit: string }[] = [
  { key: 'name', label: 'GPU', unit: '' },
  { key: 'compute_capability', label: 'compute capability', unit: '' },
  { key: 'sm_count', label: 'SMs', unit: '' },
  { key: 'memory_mb', label: 'memory', unit: ' MB' },
  { key: 'l2_mb', label: 'L2', unit: ' MB' },
  { key: 'sm_clock_max_mhz', label: 'max SM clock', unit: ' MHz' },
  { key: 'sm_clock_mhz', label: 'SM clock at start', unit: ' MHz' },
  { key: 'driver', label: 'driver', unit: '' },
  { key: 'cuda_driver_api', label: 'CUDA driver API', unit: '' },
  { key: 'cuda_runtime', label: 'CUDA runtime', unit: '' },
  { key: 'cublas', label: 'cuBLAS', unit: '' },
];

/** The value with its unit when it is a number ("1980 MHz"), as recorded otherwise ("unavailable"). */
const withUnit = (value: string, unit: string): string => (/^\d+(\.\d+)?$/.test(value) ? `${value}${unit}` : value);

const isPeakKey = (key: string): boolean => key === 'peak_gbps' || key.startsWith('peak_tflops_');

function countByStatus(points: Point[]): string {
  const counts = { ok: 0, error: 0, oom: 0 };
  for (const point of points) counts[point.status]++;
  return `${points.length} (${counts.ok} ok, ${counts.error} error, ${counts.oom} oom)`;
}

export function headerGroups(results: Results): FieldGroup[] {
  const { run, env } = results;
  const device: Field[] = DEVICE_FIELDS.filter(({ key }) => env.device[key] !== undefined).map(({ key, label, unit }) => ({
    label,
    value: withUnit(env.device[key], unit),
  }));
  const known = new Set(DEVICE_FIELDS.map(({ key }) => key));
  for (const [key, value] of Object.entries(env.device)) {
    if (!known.has(key) && !isPeakKey(key)) device.push({ label: key, value });
  }
  const peaks = readPeaks(env);
  const peakFields: Field[] = [];
  if (peaks.gbps !== null) peakFields.push({ label: 'copy bandwidth', value: `${formatNumber(peaks.gbps)} GB/s` });
  for (const precision of PRECISIONS) {
    const value = peaks.tflops[precision];
    if (value !== undefined) peakFields.push({ label: `GEMM ${precision}`, value: `${formatNumber(value)} TFLOP/s` });
  }
  const commit = env.git.commit === null ? 'unknown' : `${env.git.commit}${env.git.dirty ? ' (dirty tree)' : ''}`;
  const groups: FieldGroup[] = [
    { title: run.backend === 'cuda' ? 'Device' : 'Device (CPU backend)', fields: device },
    {
      title: 'Host',
      fields: [
        { label: 'CPU', value: `${env.host.cpu} (${env.host.cores} cores)` },
        { label: 'memory', value: `${formatNumber(env.host.memory_gb)} GB` },
        { label: 'OS', value: env.host.os },
        { label: 'Node', value: env.host.node },
      ],
    },
    {
      title: 'Run',
      fields: [
        { label: 'id', value: run.id },
        { label: 'profile', value: run.profile },
        { label: 'backend', value: run.backend },
        { label: 'command', value: run.command },
        { label: 'commit', value: commit },
        { label: 'started', value: run.started_at },
        { label: 'finished', value: run.finished_at ?? 'not finished (partial run)' },
        { label: 'wall time', value: run.wall_s === null ? '–' : `${formatNumber(run.wall_s)} s` },
        { label: 'points', value: countByStatus(results.points) },
        { label: 'dropped', value: String(results.dropped.length) },
      ],
    },
  ];
  if (peakFields.length > 0) groups.push({ title: 'Measured peaks', fields: peakFields });
  return groups;
}

// ---------------------------------------------------------------------------------------------
// Points that have timings

/** A point that finished with a summary, and its optional extras. */
export interface MeasuredPoint {
  config: PointConfig;
  summary: Summary;
  extras: PointExtras;
}

export function measuredPoints(results: Results, extras: PointExtras[]): MeasuredPoint[] {
  const measured: MeasuredPoint[] = [];
  results.points.forEach((point, index) => {
    if (point.status === 'ok' && point.summary !== null) {
      measured.push({ config: point.config, summary: point.summary, extras: extras[index] ?? NO_EXTRAS });
    }
  });
  return measured;
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

const distinctSorted = (values: number[]): number[] => [...new Set(values)].sort((a, b) => a - b);

/** Config fields that split a path's points into facets; beam/top_k/top_p enter as the decode strategy. */
const FACET_FIELDS = KEY_FIELDS.filter(
  (field) => !['backend', 'path', 'variant', 'precision', 'batch', 'beam', 'top_k', 'top_p'].includes(field),
);

type FacetDimension = { name: string; valueOf: (config: PointConfig) => string };

/** The dimensions (other than `exclude`) whose values differ among `points`. */
function varyingDimensions(points: MeasuredPoint[], exclude: readonly string[]): FacetDimension[] {
  const dimensions: FacetDimension[] = FACET_FIELDS.filter((field) => !exclude.includes(field)).map((field) => ({
    name: field,
    valueOf: (config: PointConfig) => `${field} ${config[field]}`,
  }));
  if (!exclude.includes('strategy')) dimensions.push({ name: 'strategy', valueOf: decodeStrategy });
  return dimensions.filter((dimension) => new Set(points.map((point) => dimension.valueOf(point.config))).size > 1);
}

const describeBy = (dimensions: FacetDimension[], config: PointConfig): string =>
  dimensions.map((dimension) => dimension.valueOf(config)).join(' · ');

// ---------------------------------------------------------------------------------------------
// Hover text: every field of a point

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

export function hoverText(point: MeasuredPoint): string {
  const { config, summary, extras } = point;
  const configLines = chunk(Object.entries(config).map(([key, value]) => `${key}=${String(value)}`), 5).map((line) =>
    line.join(' '),
  );
  const summaryEntries: [string, number | null | undefined][] = [
    ['median ms', summary.gpu_ms_median],
    ['mean ms', summary.gpu_ms_mean],
    ['min ms', summary.gpu_ms_min],
    ['max ms', summary.gpu_ms_max],
    ['p10 ms', summary.gpu_ms_p10],
    ['p90 ms', summary.gpu_ms_p90],
    ['stdev ms', summary.gpu_ms_stdev],
    ['noise %', summary.noise_pct],
    ['samples', summary.samples],
    ['host ms', summary.host_ms_median],
    ['tokens/s', summary.tokens_per_s],
    ['TFLOP/s', summary.tflops],
    ['GB/s', extras.gbps],
    ['% of peak TFLOP/s', summary.pct_peak_tflops],
    ['% of peak GB/s', summary.pct_peak_gbps],
    ['SM clock MHz', summary.sm_clock_mhz],
    ['units/sample', summary.units_per_sample],
    ['discarded', summary.discarded],
  ];
  const summaryLines = chunk(
    summaryEntries.filter(([, value]) => value !== null && value !== undefined).map(([label, value]) => `${label} ${formatNumber(value as number)}`),
    4,
  ).map((line) => line.join(' · '));
  const how = [summary.mode && `${summary.mode} samples`, summary.stop_reason && `stopped on ${summary.stop_reason}`].filter(Boolean).join(' · ');
  return [`<b>${plotlyText(pointLabel(config))}</b>`, ...summaryLines, ...(how ? [how] : []), ...configLines.map(plotlyText)].join('<br>');
}

// ---------------------------------------------------------------------------------------------
// Published FasterTransformer figures (../shared/REFERENCE.md §2; A100, FT's own harness)

export interface PublishedFigure {
  case: string;
  /** Which FT implementation the figure is for. */
  implementation: string;
  path: PathName;
  precision: PrecisionName;
  config: Partial<PointConfig> & Pick<PointConfig, 'batch'>;
  metric: 'gpu_ms_median' | 'tokens_per_s';
  value: number;
}

const SWEEP_DECODING: Partial<PointConfig> = { ...FT_DECODING, seq: 128 };

export const PUBLISHED_FIGURES: PublishedFigure[] = [
  { case: 'BERT-base fp16 b32 s128', implementation: 'FT', path: 'encoder', precision: 'fp16', config: { ...BERT_BASE, batch: 32, seq: 128 }, metric: 'gpu_ms_median', value: 4.81 },
  { case: 'BERT-base fp16 b32 s128', implementation: 'EFF-FT (padding removed)', path: 'encoder', precision: 'fp16', config: { ...BERT_BASE, batch: 32, seq: 128 }, metric: 'gpu_ms_median', value: 2.75 },
  { case: 'BERT-base fp16 b1 s32', implementation: 'FT', path: 'encoder', precision: 'fp16', config: { ...BERT_BASE, batch: 1, seq: 32 }, metric: 'gpu_ms_median', value: 0.9 },
  { case: 'BERT-base fp16 b32 s384', implementation: 'FT', path: 'encoder', precision: 'fp16', config: { ...BERT_BASE, batch: 32, seq: 384 }, metric: 'gpu_ms_median', value: 14.67 },
  { case: 'BERT-base fp16 b32 s384', implementation: 'EFF-FT (padding removed)', path: 'encoder', precision: 'fp16', config: { ...BERT_BASE, batch: 32, seq: 384 }, metric: 'gpu_ms_median', value: 7.71 },
  { case: 'decoding fp16 b128 beam 4', implementation: 'FT decoding', path: 'decoding', precision: 'fp16', config: { ...SWEEP_DECODING, batch: 128, beam: 4, top_k: 0, top_p: 0 }, metric: 'tokens_per_s', value: 27248 },
  { case: 'decoding fp16 b1 beam 4', implementation: 'FT decoding', path: 'decoding', precision: 'fp16', config: { ...SWEEP_DECODING, batch: 1, beam: 4, top_k: 0, top_p: 0 }, metric: 'tokens_per_s', value: 1272 },
  { case: 'sampling fp16 b128 top-k 4', implementation: 'FT decoding', path: 'decoding', precision: 'fp16', config: { ...SWEEP_DECODING, batch: 128, beam: 1, top_k: 4, top_p: 0 }, metric: 'tokens_per_s', value: 44960 },
  { case: 'sampling fp16 b128 top-p 0.75', implementation: 'FT decoding', path: 'decoding', precision: 'fp16', config: { ...SWEEP_DECODING, batch: 128, beam: 1, top_k: 0, top_p: 0.75 }, metric: 'tokens_per_s', value: 35418 },
  { case: 'FT sample: decoding b8 6L s32 8×64 beam 4', implementation: 'FT decoding', path: 'decoding', precision: 'fp16', config: { ...FT_DECODING, batch: 8, seq: 32, beam: 4, top_k: 0, top_p: 0 }, metric: 'gpu_ms_median', value: 30.57 },
];

const REFERENCE_NOTE = 'published FasterTransformer figure, A100 (another GPU), FT’s own harness';

export function figureMatches(figure: PublishedFigure, config: PointConfig): boolean {
  if (config.path !== figure.path || config.precision !== figure.precision) return false;
  return Object.entries(figure.config).every(([field, value]) => config[field as keyof PointConfig] === value);
}

function referenceTrace(figures: PublishedFigure[], metric: PublishedFigure['metric']): Trace | null {
  const shown = figures.filter((figure) => figure.metric === metric);
  if (shown.length === 0) return null;
  const unit = metric === 'gpu_ms_median' ? 'ms' : 'tokens/s';
  return {
    type: 'scatter',
    mode: 'markers',
    name: 'FT published (A100, another GPU)',
    x: shown.map((figure) => figure.config.batch),
    y: shown.map((figure) => figure.value),
    hovertext: shown.map(
      (figure) => `<b>${plotlyText(figure.implementation)}: ${formatNumber(figure.value)} ${unit}</b><br>${plotlyText(figure.case)}<br>${REFERENCE_NOTE}`,
    ),
    hoverinfo: 'text',
    marker: { symbol: 'star', size: 14, color: '#111', line: { color: '#fff', width: 1 } },
  };
}

/** Published figures next to this run's points of the same configuration (one row per figure and variant). */
export function referenceTable(points: MeasuredPoint[]): Table | null {
  const rows: Cell[][] = [];
  for (const figure of PUBLISHED_FIGURES) {
    const unit = figure.metric === 'gpu_ms_median' ? 'ms' : 'tokens/s';
    for (const point of points.filter((candidate) => figureMatches(figure, candidate.config))) {
      const ours = point.summary[figure.metric];
      // Ratio > 1 means this run is faster than the published figure, for either metric.
      const speedup = figure.metric === 'gpu_ms_median' ? figure.value / ours : ours / figure.value;
      rows.push([
        textCell(figure.case),
        textCell(figure.implementation),
        numberCell(figure.value, ` ${unit}`),
        textCell(`${point.config.variant} (${point.config.backend})`),
        numberCell(ours, ` ${unit}`),
        numberCell(speedup, '×'),
      ]);
    }
  }
  if (rows.length === 0) return null;
  return {
    columns: ['case', 'published (A100)', 'published value', 'this run', 'this run value', 'speed vs published (>1: this run faster)'],
    rows,
  };
}

// ---------------------------------------------------------------------------------------------
// Per-path latency / throughput vs batch

const seriesKey = (config: PointConfig): string => `${config.variant} ${config.precision}`;

function lineTraces(points: MeasuredPoint[], metric: 'gpu_ms_median' | 'tokens_per_s'): Trace[] {
  const series = groupBy(points, (point) => seriesKey(point.config));
  return [...series.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, members]) => {
      const sorted = [...members].sort((a, b) => a.config.batch - b.config.batch);
      const { variant, precision } = sorted[0].config;
      const trace: Trace = {
        type: 'scatter',
        mode: 'lines+markers',
        name,
        x: sorted.map((point) => point.config.batch),
        y: sorted.map((point) => point.summary[metric]),
        hovertext: sorted.map(hoverText),
        hoverinfo: 'text',
        line: { color: PRECISION_COLORS[precision], dash: VARIANT_DASH[variant] },
        marker: { symbol: VARIANT_SYMBOL[variant], size: 7 },
      };
      if (metric === 'gpu_ms_median') {
        trace.error_y = {
          type: 'data',
          symmetric: false,
          array: sorted.map((point) => point.summary.gpu_ms_p90 - point.summary.gpu_ms_median),
          arrayminus: sorted.map((point) => point.summary.gpu_ms_median - point.summary.gpu_ms_p10),
          thickness: 1,
          width: 3,
        };
      }
      return trace;
    });
}

function batchAxis(points: MeasuredPoint[]): Record<string, unknown> {
  const batches = distinctSorted(points.map((point) => point.config.batch));
  return { title: { text: 'batch' }, type: 'log', tickvals: batches, ticktext: batches.map(String) };
}

function lineChart(
  id: string,
  title: string,
  points: MeasuredPoint[],
  figures: PublishedFigure[],
  metric: 'gpu_ms_median' | 'tokens_per_s',
): Chart {
  const traces = lineTraces(points, metric);
  const reference = referenceTrace(figures, metric);
  if (reference) traces.push(reference);
  const yTitle = metric === 'gpu_ms_median' ? 'median latency (ms), bars p10–p90' : 'tokens / s';
  return {
    id,
    title,
    traces,
    layout: { xaxis: batchAxis(points), yaxis: { title: { text: yTitle }, type: 'log' } },
  };
}

export function pathViews(points: MeasuredPoint[]): PathView[] {
  const views: PathView[] = [];
  for (const path of PATHS) {
    const onPath = points.filter((point) => point.config.path === path);
    if (onPath.length === 0) continue;
    const dimensions = varyingDimensions(onPath, path === 'encoder' ? ['strategy'] : []);
    const facets = [...groupBy(onPath, (point) => describeBy(dimensions, point.config)).entries()]
      .sort(([, a], [, b]) => compareFacetConfigs(a[0].config, b[0].config, dimensions))
      .map(([label, members], index): Facet => {
        const figures = PUBLISHED_FIGURES.filter((figure) => members.some((point) => figureMatches(figure, point.config)));
        const shown = label || 'all points';
        return {
          label: shown,
          latency: lineChart(`${path}-latency-${index}`, `${path} latency vs batch · ${shown}`, members, figures, 'gpu_ms_median'),
          throughput: lineChart(`${path}-throughput-${index}`, `${path} throughput vs batch · ${shown}`, members, figures, 'tokens_per_s'),
        };
      });
    views.push({ path, facets });
  }
  return views;
}

/** Orders facets by their varying fields (numerically where the field is numeric). */
function compareFacetConfigs(a: PointConfig, b: PointConfig, dimensions: FacetDimension[]): number {
  for (const dimension of dimensions) {
    if (dimension.name === 'strategy') {
      const order = strategyOrder(a) - strategyOrder(b);
      if (order !== 0) return order;
      continue;
    }
    const field = dimension.name as keyof PointConfig;
    const [left, right] = [a[field], b[field]];
    const order = typeof left === 'number' && typeof right === 'number' ? left - right : String(left).localeCompare(String(right));
    if (order !== 0) return order;
  }
  return 0;
}

/** Beam search first (by width), then top-k, then top-p. */
const strategyOrder = (config: PointConfig): number =>
  config.beam > 1 || (config.top_k === 0 && config.top_p === 0) ? config.beam : 1e6 + config.top_k * 10 + config.top_p;

// ---------------------------------------------------------------------------------------------
// Fused / unfused speedup heatmaps

/** The heatmap's column for a point: seq for the encoder, the decode strategy otherwise. */
const heatmapColumn = (config: PointConfig): string =>
  config.path === 'encoder' ? `seq ${config.seq}` : decodeStrategy(config);

/** Speedups labelled on the heatmaps' colour bar. */
const SPEEDUP_TICKS = [0.25, 0.5, 1, 2, 4, 8];

export function speedupHeatmaps(points: MeasuredPoint[]): Chart[] {
  const unfusedByPair = new Map(
    points.filter((point) => point.config.variant === 'unfused').map((point) => [pairKey(point.config), point]),
  );
  const pairs = points
    .filter((point) => point.config.variant === 'fused')
    .flatMap((fused) => {
      const unfused = unfusedByPair.get(pairKey(fused.config));
      return unfused ? [{ fused, unfused }] : [];
    });
  const charts: Chart[] = [];
  for (const path of PATHS) {
    const onPath = pairs.filter((pair) => pair.fused.config.path === path);
    if (onPath.length === 0) continue;
    const exclude = path === 'encoder' ? ['seq', 'strategy'] : ['strategy'];
    const dimensions = varyingDimensions(
      onPath.map((pair) => pair.fused),
      exclude,
    );
    for (const precision of PRECISIONS) {
      const ofPrecision = onPath.filter((pair) => pair.fused.config.precision === precision);
      for (const [groupLabel, members] of groupBy(ofPrecision, (pair) => describeBy(dimensions, pair.fused.config))) {
        const columnConfigs = [...new Map(members.map((pair) => [heatmapColumn(pair.fused.config), pair.fused.config])).entries()]
          .sort(([, a], [, b]) => (path === 'encoder' ? a.seq - b.seq : strategyOrder(a) - strategyOrder(b)));
        const columns = columnConfigs.map(([column]) => column);
        const batches = distinctSorted(members.map((pair) => pair.fused.config.batch));
        const cell = (batch: number, column: string) =>
          members.find((pair) => pair.fused.config.batch === batch && heatmapColumn(pair.fused.config) === column);
        const speedups = batches.map((batch) =>
          columns.map((column) => {
            const pair = cell(batch, column);
            return pair ? pair.unfused.summary.gpu_ms_median / pair.fused.summary.gpu_ms_median : null;
          }),
        );
        const text = speedups.map((row) => row.map((value) => (value === null ? '' : `${formatNumber(value)}×`)));
        const hovertext = batches.map((batch) =>
          columns.map((column) => {
            const pair = cell(batch, column);
            if (!pair) return `batch ${batch} · ${plotlyText(column)}: no fused/unfused pair`;
            return (
              `batch ${batch} · ${plotlyText(column)}<br>fused ${formatNumber(pair.fused.summary.gpu_ms_median)} ms` +
              ` · unfused ${formatNumber(pair.unfused.summary.gpu_ms_median)} ms<br>speedup ${text[batches.indexOf(batch)][columns.indexOf(column)]}`
            );
          }),
        );
        charts.push({
          id: `heatmap-${charts.length}`,
          title: `${path} ${precision}${groupLabel ? ` · ${groupLabel}` : ''}: fused speedup (unfused ms / fused ms)`,
          traces: [
            {
              type: 'heatmap',
              x: columns.map(plotlyText),
              y: batches.map((batch) => `b${batch}`),
              // Coloured by log2(speedup), so 2× faster and 2× slower are equally far from parity.
              z: speedups.map((row) => row.map((value) => (value === null ? null : Math.log2(value)))),
              text,
              texttemplate: '%{text}',
              hovertext,
              hoverinfo: 'text',
              // Red where fused is slower, white at parity, blue where fused is faster.
              colorscale: [[0, '#b2182b'], [0.5, '#f7f7f7'], [1, '#2166ac']],
              zmid: 0,
              colorbar: { title: { text: 'speedup' }, tickvals: SPEEDUP_TICKS.map(Math.log2), ticktext: SPEEDUP_TICKS.map((x) => `${x}×`) },
            },
          ],
          layout: {
            xaxis: { title: { text: path === 'encoder' ? 'sequence length' : 'beam width / sampling' }, type: 'category' },
            yaxis: { title: { text: 'batch' }, type: 'category' },
          },
        });
      }
    }
  }
  return charts;
}

// ---------------------------------------------------------------------------------------------
// Efficiency: achieved TFLOP/s and GB/s against the measured peaks

function peakLine(name: string, value: number, batches: number[], color: string): Trace {
  return {
    type: 'scatter',
    mode: 'lines',
    name,
    x: [batches[0], batches[batches.length - 1]],
    y: [value, value],
    hovertext: [name, name],
    hoverinfo: 'text',
    line: { color, dash: 'dashdot', width: 1.5 },
  };
}

function efficiencyChart(points: MeasuredPoint[], peaks: Peaks, metric: 'tflops' | 'gbps'): Chart | null {
  const valueOf = (point: MeasuredPoint): number | null => (metric === 'tflops' ? point.summary.tflops : point.extras.gbps);
  const measured = points.filter((point) => valueOf(point) !== null);
  if (measured.length === 0) return null;
  const unit = metric === 'tflops' ? 'TFLOP/s' : 'GB/s';
  const peakOf = (precision: PrecisionName): number | null =>
    metric === 'tflops' ? (peaks.tflops[precision] ?? null) : peaks.gbps;
  const series = groupBy(measured, (point) => `${point.config.path} ${seriesKey(point.config)}`);
  const traces: Trace[] = [...series.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, members]) => {
      const sorted = [...members].sort((a, b) => a.config.batch - b.config.batch);
      const { path, variant, precision } = sorted[0].config;
      return {
        type: 'scatter',
        mode: 'markers',
        name,
        x: sorted.map((point) => point.config.batch),
        y: sorted.map(valueOf),
        hovertext: sorted.map((point) => {
          const peak = peakOf(point.config.precision);
          const value = valueOf(point) as number;
          const share = peak === null ? '' : ` (${formatNumber((100 * value) / peak)}% of measured peak)`;
          return `${formatNumber(value)} ${unit}${share}<br>${hoverText(point)}`;
        }),
        hoverinfo: 'text',
        marker: { color: PRECISION_COLORS[precision], symbol: `${PATH_SYMBOL[path]}${VARIANT_FILL[variant]}`, size: 9, opacity: 0.85 },
      };
    });
  const batches = distinctSorted(measured.map((point) => point.config.batch));
  if (metric === 'gbps' && peaks.gbps !== null) {
    traces.push(peakLine(`measured copy peak ${formatNumber(peaks.gbps)} GB/s`, peaks.gbps, batches, '#555'));
  }
  if (metric === 'tflops') {
    for (const precision of PRECISIONS) {
      const peak = peaks.tflops[precision];
      if (peak !== undefined && measured.some((point) => point.config.precision === precision)) {
        traces.push(peakLine(`measured GEMM peak ${precision} ${formatNumber(peak)} TFLOP/s`, peak, batches, PRECISION_COLORS[precision]));
      }
    }
  }
  return {
    id: `efficiency-${metric}`,
    title: `achieved ${unit} per point${traces.some((trace) => trace.mode === 'lines') ? ' vs measured peaks' : ''}`,
    traces,
    layout: { xaxis: batchAxis(measured), yaxis: { title: { text: `achieved ${unit}` }, type: 'log' } },
  };
}

export function efficiencyCharts(points: MeasuredPoint[], peaks: Peaks): Chart[] {
  return [efficiencyChart(points, peaks, 'tflops'), efficiencyChart(points, peaks, 'gbps')].filter(
    (chart): chart is Chart => chart !== null,
  );
}

// ---------------------------------------------------------------------------------------------
// GEMM records

const gemmFlop = (gemm: GemmRecord): number => 2 * gemm.m * gemm.n * gemm.k * gemm.batch_count;
const tflopsAt = (gemm: GemmRecord, ms: number | null): number | null => (ms === null ? null : gemmFlop(gemm) / (ms * 1e9));

/** The time of the algorithm the point ran: the tuned one when the source says so. */
export const chosenMs = (gemm: GemmRecord): number | null =>
  gemm.source === 'tuned' ? (gemm.tuned_ms ?? gemm.heuristic_ms) : (gemm.heuristic_ms ?? gemm.tuned_ms);

function gemmShape(gemm: GemmRecord): string {
  return `${gemm.role} ${gemm.m}×${gemm.n}×${gemm.k}${gemm.batch_count > 1 ? ` ×${gemm.batch_count}` : ''} ${gemm.dtype}`;
}

export function gemmSection(points: MeasuredPoint[], peaks: Peaks): { table: Table; chart: Chart } | null {
  type Use = { gemm: GemmRecord; precision: PrecisionName; points: number };
  const uses = new Map<string, Use>();
  for (const point of points) {
    for (const gemm of point.extras.gemms) {
      const key = JSON.stringify([gemm, point.config.precision]);
      const use = uses.get(key);
      if (use) use.points++;
      else uses.set(key, { gemm, precision: point.config.precision, points: 1 });
    }
  }
  if (uses.size === 0) return null;
  const rows = [...uses.values()].sort(
    (a, b) => a.gemm.role.localeCompare(b.gemm.role) || gemmFlop(a.gemm) - gemmFlop(b.gemm) || a.precision.localeCompare(b.precision),
  );
  const table: Table = {
    columns: ['role', 'm×n×k', 'batch count', 'dtype', 'precision', 'algorithm', 'source', 'time ms', 'TFLOP/s', '% of peak', 'heuristic ms', 'tuned ms', 'tuned speedup', 'points'],
    rows: rows.map(({ gemm, precision, points: count }) => {
      const tflops = tflopsAt(gemm, chosenMs(gemm));
      const peak = peaks.tflops[precision];
      const speedup = gemm.tuned_ms !== null && gemm.heuristic_ms !== null ? gemm.heuristic_ms / gemm.tuned_ms : null;
      return [
        textCell(gemm.role),
        { display: `${gemm.m}×${gemm.n}×${gemm.k}`, sort: gemmFlop(gemm) },
        numberCell(gemm.batch_count),
        textCell(gemm.dtype),
        textCell(precision),
        textCell(gemm.algo),
        textCell(gemm.source),
        numberCell(chosenMs(gemm)),
        numberCell(tflops),
        numberCell(tflops !== null && peak !== undefined ? (100 * tflops) / peak : null, '%'),
        numberCell(gemm.heuristic_ms),
        numberCell(gemm.tuned_ms),
        numberCell(speedup, '×'),
        numberCell(count),
      ];
    }),
  };
  const labels = uniqueLabels(rows.map(({ gemm, precision }) => `${gemmShape(gemm)} (${precision})`)).map(plotlyText);
  const bars = (name: string, timeOf: (gemm: GemmRecord) => number | null, color: string): Trace => ({
    type: 'bar',
    name,
    x: labels,
    y: rows.map(({ gemm }) => tflopsAt(gemm, timeOf(gemm))),
    hovertext: rows.map(({ gemm }) => `${plotlyText(gemmShape(gemm))}<br>${name}: ${formatOptional(tflopsAt(gemm, timeOf(gemm)), ' TFLOP/s')}<br>${plotlyText(gemm.algo)}`),
    hoverinfo: 'text',
    marker: { color },
  });
  return {
    table,
    chart: {
      id: 'gemms',
      title: 'GEMM TFLOP/s: heuristic vs tuned algorithm',
      traces: [bars('heuristic', (gemm) => gemm.heuristic_ms, '#9ab'), bars('tuned', (gemm) => gemm.tuned_ms, '#1f77b4')],
      layout: { barmode: 'group', xaxis: { type: 'category', automargin: true }, yaxis: { title: { text: 'TFLOP/s' } } },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Stage / kernel breakdowns

const MAX_KERNEL_SERIES = 12;

function stackedBars(
  id: string,
  title: string,
  points: MeasuredPoint[],
  partsOf: (point: MeasuredPoint) => { name: string; ms: number }[],
): Chart | null {
  const shown = points.filter((point) => partsOf(point).length > 0);
  if (shown.length === 0) return null;
  const labels = uniqueLabels(shown.map((point) => pointLabel(point.config))).map(plotlyText);
  const totals = new Map<string, number>();
  for (const point of shown) for (const part of partsOf(point)) totals.set(part.name, (totals.get(part.name) ?? 0) + part.ms);
  const ranked = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([name]) => name);
  const named = new Set(ranked.slice(0, MAX_KERNEL_SERIES));
  const seriesOf = (name: string): string => (named.has(name) ? name : 'other');
  const series = [...named, ...(ranked.length > named.size ? ['other'] : [])];
  const traces: Trace[] = series.map((name) => ({
    type: 'bar',
    name: plotlyText(name),
    x: labels,
    y: shown.map((point) =>
      partsOf(point)
        .filter((part) => seriesOf(part.name) === name)
        .reduce((sum, part) => sum + part.ms, 0),
    ),
    hovertemplate: `${plotlyText(name)}: %{y:.4g} ms<extra>%{x}</extra>`,
  }));
  traces.push({
    type: 'scatter',
    mode: 'markers',
    name: 'event time (median)',
    x: labels,
    y: shown.map((point) => point.summary.gpu_ms_median),
    hovertemplate: 'event time %{y:.4g} ms<extra>%{x}</extra>',
    marker: { symbol: 'line-ew-open', size: 26, color: '#000', line: { width: 2 } },
  });
  return {
    id,
    title,
    traces,
    layout: { barmode: 'stack', xaxis: { type: 'category', automargin: true }, yaxis: { title: { text: 'ms per iteration' } } },
  };
}

export function breakdownCharts(points: MeasuredPoint[]): Chart[] {
  const stagesOf = (point: MeasuredPoint) =>
    point.extras.stages.length > 0
      ? point.extras.stages.map((stage) => ({ name: stage.name, ms: stage.total_ms }))
      : point.extras.kernels.map((kernel) => ({ name: kernel.stage ?? kernel.name, ms: kernel.total_ms }));
  const kernelsOf = (point: MeasuredPoint) => point.extras.kernels.map((kernel) => ({ name: kernel.name, ms: kernel.total_ms }));
  return [
    stackedBars('stages', 'time per stage vs event time (gap = launch overhead)', points, stagesOf),
    stackedBars('kernels', `time per kernel (top ${MAX_KERNEL_SERIES} kernels)`, points, kernelsOf),
  ].filter((chart): chart is Chart => chart !== null);
}

// ---------------------------------------------------------------------------------------------
// Tables of all points and of failures

export function pointsTable(results: Results, extras: PointExtras[]): Table {
  const columns = [
    'status', 'path', 'variant', 'precision', 'batch', 'beam', 'seq', 'sampling', 'layers', 'heads×size', 'inter',
    'vocab', 'median ms', 'p10 ms', 'p90 ms', 'noise %', 'samples', 'host ms', 'tokens/s', 'TFLOP/s', 'GB/s',
    'correct', 'max rel err', 'key',
  ];
  const rows = results.points.map((point, index): Cell[] => {
    const { config, summary } = point;
    const sampling = config.path === 'encoder' || !(config.top_k > 0 || config.top_p > 0) ? '–' : decodeStrategy(config);
    return [
      textCell(point.status),
      textCell(config.path),
      textCell(config.variant),
      textCell(config.precision),
      numberCell(config.batch),
      numberCell(config.beam),
      numberCell(config.seq),
      textCell(sampling),
      numberCell(config.layers),
      { display: `${config.heads}×${config.head_size}`, sort: config.heads * config.head_size },
      numberCell(config.inter_size),
      numberCell(config.vocab),
      numberCell(summary?.gpu_ms_median),
      numberCell(summary?.gpu_ms_p10),
      numberCell(summary?.gpu_ms_p90),
      numberCell(summary?.noise_pct),
      numberCell(summary?.samples),
      numberCell(summary?.host_ms_median),
      numberCell(summary?.tokens_per_s),
      numberCell(summary?.tflops),
      numberCell(extras[index]?.gbps),
      textCell(point.correct === null ? '–' : point.correct ? 'yes' : 'NO'),
      numberCell(point.max_rel_err),
      textCell(point.key),
    ];
  });
  return { columns, rows };
}

export function failuresTable(results: Results): Table | null {
  const rows: Cell[][] = results.points
    .filter((point) => point.status !== 'ok')
    .map((point) => [textCell(point.status), textCell(pointLabel(point.config)), textCell(point.error ?? '(no message recorded)')]);
  for (const dropped of results.dropped) {
    const config = Object.entries(dropped.config)
      .map(([key, value]) => `${key}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
      .join(' ');
    rows.push([textCell('dropped'), textCell(config), textCell(dropped.reason)]);
  }
  return rows.length === 0 ? null : { columns: ['status', 'point', 'error / reason'], rows };
}

// ---------------------------------------------------------------------------------------------
// Compare mode (the gate's verdicts)

const VERDICT_COLORS: Record<Verdict, string> = {
  slower: '#d62728',
  noisy: '#ff7f0e',
  incomparable: '#7f7f7f',
  faster: '#2ca02c',
  same: '#1f77b4',
};

/** The comparison in the gate's order (regressions first, then the largest changes). */
export function comparisonView(comparison: Comparison, baselineName: string): ComparisonView {
  const ordered = comparison.points;
  const counts = VERDICT_ORDER.map((verdict) => `${ordered.filter((point) => point.verdict === verdict).length} ${verdict}`);
  const labels = uniqueLabels(ordered.map((point) => pointLabel(point.config)));
  const table: Table = {
    columns: ['', 'point', 'verdict', 'change', '99% CI of the change', 'baseline ms', 'candidate ms', 'reason'],
    rows: ordered.map((point, index) => [
      textCell(point.regression ? 'REGRESSION' : ''),
      textCell(labels[index]),
      textCell(point.verdict),
      { display: point.ratio === null ? '–' : formatChange(point.ratio), sort: point.ratio },
      {
        display: point.ci ? `${formatChange(point.ci[0])} .. ${formatChange(point.ci[1])}` : '–',
        sort: point.ci ? point.ci[0] : null,
      },
      numberCell(point.baseline_ms),
      numberCell(point.candidate_ms),
      textCell(point.reason),
    ]),
  };
  // The chart shows what changed; points the gate calls the same stay in the table only.
  const charted = ordered
    .map((point, index) => ({ point, label: labels[index] }))
    .filter(({ point }) => point.ratio !== null && point.verdict !== 'same');
  const unchanged = ordered.filter((point) => point.verdict === 'same').length;
  const percent = (ratio: number): number => (ratio - 1) * 100;
  const chart: Chart | null =
    charted.length === 0
      ? null
      : {
          id: 'compare',
          title: `points that changed or are too noisy to tell (${charted.length}; right = slower)${unchanged > 0 ? `; ${unchanged} the same, in the table` : ''}`,
          traces: VERDICT_ORDER.filter((verdict) => charted.some(({ point }) => point.verdict === verdict)).map((verdict) => {
            const members = charted.filter(({ point }) => point.verdict === verdict);
            return {
              type: 'bar',
              orientation: 'h',
              name: verdict,
              x: members.map(({ point }) => percent(point.ratio as number)),
              y: members.map(({ label }) => plotlyText(label)),
              hovertext: members.map(
                ({ point, label }) =>
                  `<b>${plotlyText(label)}</b><br>${verdict}${point.regression ? ' (regression)' : ''}: ${formatChange(point.ratio as number)}` +
                  `<br>${plotlyText(point.reason)}`,
              ),
              hoverinfo: 'text',
              marker: { color: VERDICT_COLORS[verdict] },
              error_x: {
                type: 'data',
                symmetric: false,
                array: members.map(({ point }) => (point.ci ? percent(point.ci[1]) - percent(point.ratio as number) : 0)),
                arrayminus: members.map(({ point }) => (point.ci ? percent(point.ratio as number) - percent(point.ci[0]) : 0)),
                thickness: 1,
              },
            };
          }),
          layout: {
            height: Math.max(260, 140 + 22 * charted.length),
            xaxis: { title: { text: '% change of median time (candidate / baseline − 1)' }, zeroline: true },
            yaxis: { type: 'category', automargin: true, autorange: 'reversed', categoryorder: 'array', categoryarray: charted.map(({ label }) => plotlyText(label)) },
            legend: { orientation: 'h', x: 0, y: 1.02, yanchor: 'bottom' },
            barmode: 'overlay',
          },
        };
  return {
    baseline: baselineName,
    summary: `${comparison.regressions} regression${comparison.regressions === 1 ? '' : 's'} · ${counts.join(' · ')} · ${comparison.added.length} added · ${comparison.removed.length} removed`,
    warnings: comparison.env_mismatch.map((line) => `environment differs from the baseline: ${line}`),
    added: comparison.added,
    removed: comparison.removed,
    table,
    chart,
  };
}

// ---------------------------------------------------------------------------------------------
// The whole page

export interface DashboardInput {
  results: Results;
  /** What the results reader reported without stopping (a half-written last JSONL line). */
  readWarnings?: string[];
  /** The comparison with a baseline, shaped by comparisonView(). */
  comparison?: ComparisonView;
}

export function buildDashboard(input: DashboardInput): DashboardData {
  const { results } = input;
  const extras = results.points.map(pointExtras);
  const points = measuredPoints(results, extras);
  const peaks = readPeaks(results.env);
  const warnings: string[] = [];
  if (results.run.finished_at === null) warnings.push('Partial run: it has not finished; only the points recorded so far are shown.');
  if (points.length === 0) warnings.push('No point finished with timings; there is nothing to chart.');
  warnings.push(...(input.readWarnings ?? []));
  const deviceName = results.env.device.name ?? results.run.backend;
  return {
    title: `ftbench · ${results.run.id} · ${deviceName}`,
    header: headerGroups(results),
    warnings,
    comparison: input.comparison ?? null,
    paths: pathViews(points),
    heatmaps: speedupHeatmaps(points),
    efficiency: efficiencyCharts(points, peaks),
    references: referenceTable(points),
    gemms: gemmSection(points, peaks),
    breakdowns: breakdownCharts(points),
    points: pointsTable(results, extras),
    failures: failuresTable(results),
  };
}
