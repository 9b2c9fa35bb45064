// A run's dashboard as one HTML string, from results already read (the package API's renderDashboard
// and the dashboard command's): shaped by shape.ts, compared with a baseline by the gate when one is
// given, assembled with its assets by html.ts.
import { compareRuns } from '../src/gate/compare.js';
import type { Results } from '../src/results/schema.js';
import { loadAssets, renderHtml, type PageAssets } from './html.js';
import { buildDashboard } from './shape.js';
import { comparisonView } from './views/compare.js';

export interface RenderOptions {
  /** A baseline run to compare with, and the name it is shown under (its file). */
  baseline?: { results: Results; name: string };
  /** What the results reader reported without stopping (a half-written last JSONL line). */
  readWarnings?: string[];
  /** plotly.js and the page script; read from the package when not given. */
  assets?: PageAssets;
}

export function renderDashboard(results: Results, options: RenderOptions = {}): string {
  const { baseline } = options;
  const comparison = baseline
    ? comparisonView(compareRuns(baseline.results, results, { allowEnvMismatch: true, allowPartial: true }), baseline.name)
    : undefined;
  return renderHtml(buildDashboard({ results, readWarnings: options.readWarnings, comparison }), options.assets ?? loadAssets());
}
