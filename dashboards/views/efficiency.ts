// Efficiency: achieved TFLOP/s and GB/s per point, against the peaks measured on the device when the
// run recorded them (dash-dotted lines).
import { PRECISIONS, type PathName, type PrecisionName } from '../../src/engine/config.js';
import { batchAxis, distinctSorted, formatNumber, groupBy, hoverText, PRECISION_COLORS, seriesKey, VARIANT_STYLES, type MeasuredPoint } from './common.js';
import type { Peaks } from './header.js';
import type { Chart, Trace } from './types.js';

/** Efficiency scatter markers: shape by path, filled for fused, open for unfused and peers, dotted for reference. */
const PATH_SYMBOL: Record<PathName, string> = { encoder: 'circle', decoder: 'diamond', decoding: 'triangle-up' };

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

/** The measured peaks across the chart: copy bandwidth, or the GEMM peak of each precision shown. */
function peakLines(measured: MeasuredPoint[], peaks: Peaks, metric: 'tflops' | 'gbps'): Trace[] {
  const batches = distinctSorted(measured.map((point) => point.config.batch));
  if (metric === 'gbps') {
    return peaks.gbps === null ? [] : [peakLine(`measured copy peak ${formatNumber(peaks.gbps)} GB/s`, peaks.gbps, batches, '#555')];
  }
  return PRECISIONS.flatMap((precision) => {
    const peak = peaks.tflops[precision];
    if (peak === undefined || !measured.some((point) => point.config.precision === precision)) return [];
    return [peakLine(`measured GEMM peak ${precision} ${formatNumber(peak)} TFLOP/s`, peak, batches, PRECISION_COLORS[precision])];
  });
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
        marker: { color: PRECISION_COLORS[precision], symbol: `${PATH_SYMBOL[path]}${VARIANT_STYLES[variant].fill}`, size: 9, opacity: 0.85 },
      };
    });
  traces.push(...peakLines(measured, peaks, metric));
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
