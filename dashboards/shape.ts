// Data shaping for the HTML dashboard: pure functions from a results file (and optionally the gate's
// comparison with a baseline) to display-ready data — formatted strings, table rows and plotly
// trace/layout objects. The browser script (page.ts) only turns this into DOM nodes and plots, so
// everything that decides what the page shows is in this module and the views it assembles
// (views/: header, path charts, fusion heatmaps, efficiency, GEMMs, breakdowns, compare, published
// figures, points table, sample distributions), and is unit-tested.
import type { Results } from '../src/results/schema.js';
import { pointExtras } from './point-extras.js';
import { breakdownCharts } from './views/breakdowns.js';
import { measuredPoints } from './views/common.js';
import { distributions } from './views/distributions.js';
import { efficiencyCharts } from './views/efficiency.js';
import { gemmSection } from './views/gemms.js';
import { headerGroups, readPeaks } from './views/header.js';
import { speedupHeatmaps } from './views/heatmaps.js';
import { pathViews } from './views/paths.js';
import { failuresTable, pointsTable } from './views/points.js';
import { referenceTable } from './views/published.js';
import type { ComparisonView, DashboardData } from './views/types.js';

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
    distributions: distributions(points),
  };
}
