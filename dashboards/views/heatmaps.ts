// What fusion buys: for each path, precision and slice, a heatmap of unfused median time over fused
// median time, batch against sequence length (encoder) or decode strategy (decoder, decoding).
import { pairKey, PATHS, PRECISIONS, type PointConfig } from '../../src/config.js';
import { distinctSorted, formatNumber, groupBy, plotlyText, type MeasuredPoint } from './common.js';
import { describeBy, strategyOrder, varyingDimensions } from './facets.js';
import { decodeStrategy } from './labels.js';
import type { Chart } from './types.js';

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
