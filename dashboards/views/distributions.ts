// Each measured point's samples, for the distribution the page draws on demand (click a point on a
// latency or throughput chart: a box of its samples). The chart traces carry the point's index here
// as customdata. Samples are kept to 4 significant digits: they are drawn, not computed on, and the
// page of a run with thousands of samples stays small.
import { plotlyText, type MeasuredPoint } from './common.js';
import { pointLabel } from './labels.js';
import type { Distribution } from './types.js';

export function distributions(points: MeasuredPoint[]): Distribution[] {
  return points.map((point) => ({
    label: plotlyText(pointLabel(point.config)),
    samples: point.samples.map((ms) => Number(ms.toPrecision(4))),
  }));
}
