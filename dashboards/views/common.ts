// What several views share: number formatting and table cells, the points that have timings (with
// their optional extras), grouping helpers, the per-precision colours and the batch axis of the
// line and scatter charts, and the hover text that lists every field of a point.
//
// Strings that reach plotly (names, hover text, category labels) go through plotlyText(): plotly
// renders a subset of HTML in them, so results-file strings are entity-escaped there. Strings that
// reach the DOM are inserted by page.ts with textContent and need no escaping here.
import type { PeerVariantName, PointConfig, PrecisionName, VariantName } from '../../src/engine/config.js';
import type { Results, Summary } from '../../src/results/schema.js';
import { NO_EXTRAS, type PointExtras } from '../point-extras.js';
import { pointLabel } from './labels.js';
import type { Cell } from './types.js';

/** Numbers with at least 4 significant digits and every integer digit: 3.217, 0.01235, 27,248. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const integerDigits = Math.abs(value) >= 1 ? Math.floor(Math.log10(Math.abs(value))) + 1 : 1;
  return new Intl.NumberFormat('en-US', { maximumSignificantDigits: Math.min(21, Math.max(4, integerDigits)) }).format(
    value,
  );
}

export const formatOptional = (value: number | null | undefined, suffix = ''): string =>
  value === null || value === undefined ? '–' : `${formatNumber(value)}${suffix}`;

/** Escapes the characters plotly would read as markup in text it renders. */
export function plotlyText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export const numberCell = (value: number | null | undefined, suffix = ''): Cell => ({
  display: formatOptional(value, suffix),
  sort: value ?? null,
});
export const textCell = (value: string): Cell => ({ display: value, sort: value });

/** How a variant's line and markers look on every chart: FT's variants, then each peer its own dash. */
export interface VariantStyle {
  dash: string;
  symbol: string;
  /** The efficiency scatter's marker: filled, open or dotted. */
  fill: string;
}

export const VARIANT_STYLES: Record<VariantName | PeerVariantName, VariantStyle> = {
  fused: { dash: 'solid', symbol: 'circle', fill: '' },
  unfused: { dash: 'dash', symbol: 'square', fill: '-open' },
  reference: { dash: 'dot', symbol: 'diamond', fill: '-dot' },
  'torch-eager': { dash: 'dashdot', symbol: 'x', fill: '-open' },
  'torch-graph': { dash: 'longdash', symbol: 'cross', fill: '-open' },
  'torch-compile': { dash: 'longdashdot', symbol: 'star-triangle-up', fill: '-open' },
  'hf-generate': { dash: '2px,6px', symbol: 'hexagram', fill: '-open' },
};

export const PRECISION_COLORS: Record<PrecisionName, string> = {
  fp32: '#1f77b4',
  tf32: '#17becf',
  fp16: '#d62728',
  bf16: '#9467bd',
  fp8: '#ff7f0e',
};

/** A point that finished with a summary, and its optional extras. */
export interface MeasuredPoint {
  config: PointConfig;
  summary: Summary;
  extras: PointExtras;
  /** Its place in DashboardData.distributions (its samples), which a chart's trace carries as customdata. */
  index: number;
  samples: number[];
}

export function measuredPoints(results: Results, extras: PointExtras[]): MeasuredPoint[] {
  const measured: MeasuredPoint[] = [];
  results.points.forEach((point, index) => {
    if (point.status === 'ok' && point.summary !== null) {
      measured.push({
        config: point.config, summary: point.summary, extras: extras[index] ?? NO_EXTRAS, index: measured.length, samples: point.samples_ms,
      });
    }
  });
  return measured;
}

export function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

export const distinctSorted = (values: number[]): number[] => [...new Set(values)].sort((a, b) => a - b);

/** A line chart's series: one per variant × precision (the efficiency scatter prefixes the path). */
export const seriesKey = (config: PointConfig): string => `${config.variant} ${config.precision}`;

export function batchAxis(points: MeasuredPoint[]): Record<string, unknown> {
  const batches = distinctSorted(points.map((point) => point.config.batch));
  return { title: { text: 'batch' }, type: 'log', tickvals: batches, ticktext: batches.map(String) };
}

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

/** A point's hover text: its label, every summary figure it recorded, then every config field. */
export function hoverText(point: Pick<MeasuredPoint, 'config' | 'summary' | 'extras'>): string {
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
    ['instances', summary.instances],
    ['discarded', summary.discarded],
  ];
  const summaryLines = chunk(
    summaryEntries.filter(([, value]) => value !== null && value !== undefined).map(([label, value]) => `${label} ${formatNumber(value as number)}`),
    4,
  ).map((line) => line.join(' · '));
  const how = [summary.mode && `${summary.mode} samples`, summary.stop_reason && `stopped on ${summary.stop_reason}`].filter(Boolean).join(' · ');
  return [`<b>${plotlyText(pointLabel(config))}</b>`, ...summaryLines, ...(how ? [how] : []), ...configLines.map(plotlyText)].join('<br>');
}
