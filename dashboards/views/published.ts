// Published FasterTransformer figures (../shared/REFERENCE.md §2; A100, FT's own harness): the
// figures themselves, the stars they add to the path charts, and the table that sets them next to
// this run's points of the same configuration.
import type { PathName, PointConfig, PrecisionName } from '../../src/engine/config.js';
import { BERT_BASE, FT_DECODER as FT_DECODING } from '../../suites/models.js';
import { formatNumber, numberCell, plotlyText, textCell, type MeasuredPoint } from './common.js';
import type { Cell, Table, Trace } from './types.js';

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

export function referenceTrace(figures: PublishedFigure[], metric: PublishedFigure['metric']): Trace | null {
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
