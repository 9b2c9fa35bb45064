// What fusion buys: for each path, precision and slice, a heatmap of unfused median time over fused
// median time, batch against sequence length (encoder) or decode strategy (decoder, decoding).
import { pairKey, PATHS, PRECISIONS, type PathName, type PointConfig } from '../../src/engine/config.js';
import { distinctSorted, formatNumber, groupBy, plotlyText, type MeasuredPoint } from './common.js';
import { describeBy, strategyOrder, varyingDimensions } from './facets.js';
import { decodeStrategy } from './labels.js';
import type { Chart } from './types.js';

/** The heatmap's column for a point: seq for the encoder, the decode strategy otherwise. */
const heatmapColumn = (config: PointConfig): string =>
  config.path === 'encoder' ? `seq ${config.seq}` : decodeStrategy(config);

/** Speedups labelled on the heatmaps' colour bar. */
const SPEEDUP_TICKS = [0.25, 0.5, 1, 2, 4, 8];

/** A fused point and the unfused point of the same configuration. */
interface FusionPair {
  fused: MeasuredPoint;
  unfused: MeasuredPoint;
}

function fusionPairs(points: MeasuredPoint[]): FusionPair[] {
  const unfusedByPair = new Map(
    points.filter((point) => point.config.variant === 'unfused').map((point) => [pairKey(point.config), point]),
  );
  return points
    .filter((point) => point.config.variant === 'fused')
    .flatMap((fused) => {
      const unfused = unfusedByPair.get(pairKey(fused.config));
      return unfused ? [{ fused, unfused }] : [];
    });
}

/** One heatmap: the pairs of one path, precision and slice, batch down and column across. */
function heatmapChart(id: string, title: string, path: PathName, members: FusionPair[]): Chart {
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
    row.map((pair) => (pair ? pair.unfused.summary.gpu_ms_median / pair.fused.summary.gpu_ms_median : null)),
  );
  const text = speedups.map((row) => row.map((value) => (value === null ? '' : `${formatNumber(value)}×`)));
  const hovertext = cells.map((row, rowIndex) =>
    row.map((pair, columnIndex) => {
      const where = `batch ${batches[rowIndex]} · ${plotlyText(columns[columnIndex])}`;
      if (!pair) return `${where}: no fused/unfused pair`;
      return (
        `${where}<br>fused ${formatNumber(pair.fused.summary.gpu_ms_median)} ms` +
        ` · unfused ${formatNumber(pair.unfused.summary.gpu_ms_median)} ms<br>speedup ${text[rowIndex][columnIndex]}`
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
        zmid: 0,
        colorbar: { title: { text: 'speedup' }, tickvals: SPEEDUP_TICKS.map(Math.log2), ticktext: SPEEDUP_TICKS.map((x) => `${x}×`) },
      },
    ],
    layout: {
      xaxis: { title: { text: path === 'encoder' ? 'sequence length' : 'beam width / sampling' }, type: 'category' },
      yaxis: { title: { text: 'batch' }, type: 'category' },
    },
  };
}

/** One heatmap per path, precision and slice of the other fields that vary among its pairs. */
export function speedupHeatmaps(points: MeasuredPoint[]): Chart[] {
  const pairs = fusionPairs(points);
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
        const title = `${path} ${precision}${groupLabel ? ` · ${groupLabel}` : ''}: fused speedup (unfused ms / fused ms)`;
        charts.push(heatmapChart(`heatmap-${charts.length}`, title, path, members));
      }
    }
  }
  return charts;
}
