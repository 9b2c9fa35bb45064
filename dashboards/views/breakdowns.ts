// Where the time goes: per-point stacked bars of time per stage and per kernel (from a profiling
// trace), next to the event-timed median, so the gap shows launch overhead; a stage's hover gives its
// own TFLOP/s where the results have it.
import { formatNumber, plotlyText, type MeasuredPoint } from './common.js';
import { pointLabel, uniqueLabels } from './labels.js';
import type { Chart, Trace } from './types.js';

const MAX_KERNEL_SERIES = 12;

interface Part {
  name: string;
  ms: number;
  tflops?: number;
}

/** " · 235 TFLOP/s" when the bar is one part with its TFLOP/s, else nothing. */
function rateText(parts: Part[]): string {
  return parts.length === 1 && parts[0].tflops !== undefined ? ` · ${formatNumber(parts[0].tflops)} TFLOP/s` : '';
}

function stackedBars(
  id: string,
  title: string,
  points: MeasuredPoint[],
  partsOf: (point: MeasuredPoint) => Part[],
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
  const traces: Trace[] = series.map((name) => {
    const partsIn = shown.map((point) => partsOf(point).filter((part) => seriesOf(part.name) === name));
    return {
      type: 'bar',
      name: plotlyText(name),
      x: labels,
      y: partsIn.map((parts) => parts.reduce((sum, part) => sum + part.ms, 0)),
      hovertext: partsIn.map(rateText),
      hovertemplate: `${plotlyText(name)}: %{y:.4g} ms%{hovertext}<extra>%{x}</extra>`,
    };
  });
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
      ? point.extras.stages.map((stage) => ({ name: stage.name, ms: stage.total_ms, tflops: stage.tflops }))
      : point.extras.kernels.map((kernel) => ({ name: kernel.stage ?? kernel.name, ms: kernel.total_ms }));
  const kernelsOf = (point: MeasuredPoint) => point.extras.kernels.map((kernel) => ({ name: kernel.name, ms: kernel.total_ms }));
  return [
    stackedBars('stages', 'time per stage vs event time (gap = launch overhead)', points, stagesOf),
    stackedBars('kernels', `time per kernel (top ${MAX_KERNEL_SERIES} kernels)`, points, kernelsOf),
  ].filter((chart): chart is Chart => chart !== null);
}
