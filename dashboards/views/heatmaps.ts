// What fusion buys: for each path, precision and slice, a heatmap of unfused median time over fused
// median time, batch against sequence length (encoder) or decode strategy (decoder, decoding); where
// the run measured peers, one more of the best peer's time over fused. Every heatmap of a page shares
// one colour scale, so the same colour is the same speedup on all of them.
import { isPeerVariant, pairKey, PATHS, PRECISIONS, type PathName, type PointConfig } from '../../src/engine/config.js';
import { distinctSorted, formatNumber, groupBy, plotlyText, type MeasuredPoint } from './common.js';
import { describeBy, strategyOrder, varyingDimensions } from './facets.js';
import { decodeStrategy } from './labels.js';
import type { Chart } from './types.js';

/** The heatmap's column for a point: seq for the encoder, the decode strategy otherwise. */
const heatmapColumn = (config: PointConfig): string =>
  config.path === 'encoder' ? `seq ${config.seq}` : decodeStrategy(config);

/** Speedups labelled on the heatmaps' colour bar. */
const SPEEDUP_TICKS = [1 / 64, 1 / 32, 1 / 16, 1 / 8, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64];

/** A fused point and the point it is compared with: the unfused one, or the fastest peer, of the same configuration. */
interface FusionPair {
  fused: MeasuredPoint;
  other: MeasuredPoint;
}

/** What the fused points are compared with in one family of heatmaps. */
interface Baseline {
  /** "unfused", "best peer" */
  name: string;
  matches: (point: MeasuredPoint) => boolean;
}

const BASELINES: Baseline[] = [
  { name: 'unfused', matches: (point) => point.config.variant === 'unfused' },
  { name: 'best peer', matches: (point) => isPeerVariant(point.config.variant) },
];

/** Each fused point with the fastest point `baseline` matches of the same configuration. */
function fusionPairs(points: MeasuredPoint[], baseline: Baseline): FusionPair[] {
  const fastest = new Map<string, MeasuredPoint>();
  for (const point of points.filter(baseline.matches)) {
    const key = pairKey(point.config);
    const best = fastest.get(key);
    if (!best || point.summary.gpu_ms_median < best.summary.gpu_ms_median) fastest.set(key, point);
  }
  return points
    .filter((point) => point.config.variant === 'fused')
    .flatMap((fused) => {
      const other = fastest.get(pairKey(fused.config));
      return other ? [{ fused, other }] : [];
    });
}

/** One heatmap: the pairs of one path, precision and slice, batch down and column across. */
function heatmapChart(id: string, title: string, path: PathName, members: FusionPair[], baseline: string): Chart {
  const columns = [...new Map(members.map((pair) => [heatmapColumn(pair.fused.config), pair.fused.config])).entries()]
    .sort(([, a], [, b]) => (path === 'encoder' ? a.seq - b.seq : strategyOrder(a) - strategyOrder(b)))
    .map(([column]) => column);
  const batches = distinctSorted(members.map((pair) => pair.fused.config.batch));
  const cells = batches.map((batch) =>
    columns.map((column) =>
      members.find((pair) => pair.fused.config.batch === batch && heatmapColumn(pair.fused.config) === column),
    ),
  );
  const speedups = cells.map((row) =>
    row.map((pair) => (pair ? pair.other.summary.gpu_ms_median / pair.fused.summary.gpu_ms_median : null)),
  );
  const text = speedups.map((row) => row.map((value) => (value === null ? '' : `${formatNumber(value)}×`)));
  const hovertext = cells.map((row, rowIndex) =>
    row.map((pair, columnIndex) => {
      const where = `batch ${batches[rowIndex]} · ${plotlyText(columns[columnIndex])}`;
      if (!pair) return `${where}: no fused/${baseline} pair`;
      return (
        `${where}<br>fused ${formatNumber(pair.fused.summary.gpu_ms_median)} ms` +
        ` · ${plotlyText(pair.other.config.variant)} ${formatNumber(pair.other.summary.gpu_ms_median)} ms<br>speedup ${text[rowIndex][columnIndex]}`
      );
    }),
  );
  return {
    id,
    title,
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
      },
    ],
    layout: {
      xaxis: { title: { text: path === 'encoder' ? 'sequence length' : 'beam width / sampling' }, type: 'category' },
      yaxis: { title: { text: 'batch' }, type: 'category' },
    },
  };
}

/**
 * Sets every heatmap's colour range to the same ±log2 of the largest speedup or slowdown on the
 * page (at least 2×), centred on parity, with one set of ticks.
 */
function shareColourScale(charts: Chart[]): void {
  const extremes = charts.flatMap((chart) => chart.traces.flatMap((trace) => (trace.z ?? []).flat()))
    .filter((value): value is number => value !== null)
    .map(Math.abs);
  const limit = Math.max(1, Math.ceil(Math.max(0, ...extremes)));
  const ticks = SPEEDUP_TICKS.filter((tick) => Math.abs(Math.log2(tick)) <= limit);
  for (const trace of charts.flatMap((chart) => chart.traces)) {
    Object.assign(trace, {
      zmin: -limit, zmax: limit,
      colorbar: { title: { text: 'speedup' }, tickvals: ticks.map(Math.log2), ticktext: ticks.map((tick) => `${formatNumber(tick)}×`) },
    });
  }
}

/** Per path and precision: a heatmap per slice of the other fields that vary, fused vs unfused, then fused vs the best peer. */
export function speedupHeatmaps(points: MeasuredPoint[]): Chart[] {
  const charts: Chart[] = [];
  for (const path of PATHS) {
    const families = BASELINES.map((baseline) => {
      const pairs = fusionPairs(points, baseline).filter((pair) => pair.fused.config.path === path);
      const exclude = path === 'encoder' ? ['seq', 'strategy'] : ['strategy'];
      return { baseline, pairs, dimensions: varyingDimensions(pairs.map((pair) => pair.fused), exclude) };
    });
    for (const precision of PRECISIONS) {
      for (const { baseline, pairs, dimensions } of families) {
        const ofPrecision = pairs.filter((pair) => pair.fused.config.precision === precision);
        for (const [groupLabel, members] of groupBy(ofPrecision, (pair) => describeBy(dimensions, pair.fused.config))) {
          const title = `${path} ${precision}${groupLabel ? ` · ${groupLabel}` : ''}: fused vs ${baseline.name} (${baseline.name} ms / fused ms)`;
          charts.push(heatmapChart(`heatmap-${charts.length}`, title, path, members, baseline.name));
        }
      }
    }
  }
  shareColourScale(charts);
  return charts;
}
