// Per-path latency and throughput against batch: one line per variant × precision (fused, unfused
// and any peers on the same chart, each variant its own line style), one facet per combination of the
// other fields that vary, with the published FT figures of the same configuration as stars. Whether
// a point replayed a CUDA graph is in its hover text; it splits a line only where one variant ran both.
import { PATHS, type PointConfig } from '../../src/engine/config.js';
import { batchAxis, groupBy, hoverText, PRECISION_COLORS, seriesKey, VARIANT_STYLES, type MeasuredPoint } from './common.js';
import { compareFacetConfigs, describeBy, varyingDimensions } from './facets.js';
import { figureMatches, PUBLISHED_FIGURES, referenceTrace, type PublishedFigure } from './published.js';
import type { Chart, Facet, PathView, Trace } from './types.js';

/** A line's name: variant and precision, and how it launched when its variant ran both ways here. */
function lineNames(points: MeasuredPoint[]): (config: PointConfig) => string {
  const launches = groupBy(points, (point) => point.config.variant);
  const both = new Set([...launches].filter(([, members]) => new Set(members.map((point) => point.config.graph)).size > 1).map(([variant]) => variant));
  return (config) => `${seriesKey(config)}${both.has(config.variant) ? (config.graph ? ' graph' : ' eager') : ''}`;
}

function lineTraces(points: MeasuredPoint[], metric: 'gpu_ms_median' | 'tokens_per_s'): Trace[] {
  const series = groupBy(points, (point) => lineNames(points)(point.config));
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
        customdata: sorted.map((point) => point.index),
        line: { color: PRECISION_COLORS[precision], dash: VARIANT_STYLES[variant].dash },
        marker: { symbol: VARIANT_STYLES[variant].symbol, size: 7 },
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
    // Fused and unfused differ in graph by default: graph is no slice, so they share each chart.
    const dimensions = varyingDimensions(onPath, path === 'encoder' ? ['strategy', 'graph'] : ['graph']);
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
