// The display types: the JSON that shape.ts assembles from the views, html.ts embeds in the page and
// page.ts turns into DOM nodes and plots. Each view module fills one part of DashboardData.
import type { PathName } from '../../src/engine/config.js';
import type { TraceType } from '../trace-types.js';

/** A plotly trace: the fields the views set, plus plotly's own styling options. */
export interface Trace {
  type: TraceType;
  name?: string;
  x: (number | string)[];
  y: (number | string | null)[];
  z?: (number | null)[][];
  hovertext?: string[] | string[][];
  [option: string]: unknown;
}

export interface Chart {
  id: string;
  title: string;
  traces: Trace[];
  layout: Record<string, unknown>;
}

export interface Field {
  label: string;
  value: string;
}

export interface FieldGroup {
  title: string;
  fields: Field[];
}

/** One selectable slice of a path's points (e.g. "seq 128"); batch is the x axis. */
export interface Facet {
  label: string;
  latency: Chart;
  throughput: Chart;
}

export interface PathView {
  path: PathName;
  facets: Facet[];
}

export interface Cell {
  display: string;
  /** Sort key: numbers sort numerically, null sorts last. */
  sort: number | string | null;
}

export interface Table {
  columns: string[];
  rows: Cell[][];
}

export interface ComparisonView {
  baseline: string;
  summary: string;
  warnings: string[];
  added: string[];
  removed: string[];
  table: Table;
  chart: Chart | null;
}

/** A measured point's samples (views/distributions.ts), drawn as a box when the point is clicked. */
export interface Distribution {
  /** The point's label, escaped for plotly (it names the box). */
  label: string;
  samples: number[];
}

export interface DashboardData {
  title: string;
  header: FieldGroup[];
  warnings: string[];
  comparison: ComparisonView | null;
  paths: PathView[];
  heatmaps: Chart[];
  efficiency: Chart[];
  references: Table | null;
  gemms: { table: Table; chart: Chart } | null;
  breakdowns: Chart[];
  points: Table;
  failures: Table | null;
  /** The samples of each measured point, by the index its chart traces carry as customdata. */
  distributions: Distribution[];
}

/** The history page (dashboards/history.ts): a folder of runs over commits, one chart per device × path × precision. */
export interface HistoryPageData {
  kind: 'history';
  title: string;
  header: FieldGroup[];
  warnings: string[];
  /** One line on the steps flagged and the rule that flagged them. */
  stepsSummary: string;
  steps: Table;
  charts: Chart[];
  points: Table;
  runs: Table;
}

/** What html.ts embeds in a page: a run's dashboard or a folder's history. */
export type PageData = DashboardData | HistoryPageData;
