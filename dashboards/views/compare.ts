// Compare mode: the gate's comparison with a baseline shaped for the page — a summary line with the
// count of each verdict, a table of every point, and a chart of the points that changed or are too
// noisy to tell. The verdict order of the dashboard (legend and counts) is defined here, once.
import { formatChange, VERDICT_ORDER, type Comparison, type PointComparison, type Verdict } from '../../src/gate/compare.js';
import { numberCell, plotlyText, textCell } from './common.js';
import { pointLabel, uniqueLabels } from './labels.js';
import type { Chart, ComparisonView, Table, Trace } from './types.js';

const VERDICT_COLORS: Record<Verdict, string> = {
  slower: '#d62728',
  noisy: '#ff7f0e',
  'too-few-samples': '#bcbd22',
  incomparable: '#7f7f7f',
  faster: '#2ca02c',
  same: '#1f77b4',
};

/** A compared point with its unique label. */
interface LabelledPoint {
  point: PointComparison;
  label: string;
}

const percent = (ratio: number): number => (ratio - 1) * 100;

function comparisonTable(labelled: LabelledPoint[]): Table {
  return {
    columns: ['', 'point', 'verdict', 'change', '99% CI of the change', 'baseline ms', 'candidate ms', 'reason'],
    rows: labelled.map(({ point, label }) => [
      textCell(point.regression ? 'REGRESSION' : ''),
      textCell(label),
      textCell(point.verdict),
      { display: point.ratio === null ? '–' : formatChange(point.ratio), sort: point.ratio },
      {
        display: point.ci ? `${formatChange(point.ci[0])} .. ${formatChange(point.ci[1])}` : '–',
        sort: point.ci ? point.ci[0] : null,
      },
      numberCell(point.baseline_ms),
      numberCell(point.candidate_ms),
      textCell(point.reason),
    ]),
  };
}

/** The horizontal bars of one verdict: % change with its confidence interval. */
function verdictBars(verdict: Verdict, members: LabelledPoint[]): Trace {
  return {
    type: 'bar',
    orientation: 'h',
    name: verdict,
    x: members.map(({ point }) => percent(point.ratio as number)),
    y: members.map(({ label }) => plotlyText(label)),
    hovertext: members.map(
      ({ point, label }) =>
        `<b>${plotlyText(label)}</b><br>${verdict}${point.regression ? ' (regression)' : ''}: ${formatChange(point.ratio as number)}` +
        `<br>${plotlyText(point.reason)}`,
    ),
    hoverinfo: 'text',
    marker: { color: VERDICT_COLORS[verdict] },
    error_x: {
      type: 'data',
      symmetric: false,
      array: members.map(({ point }) => (point.ci ? percent(point.ci[1]) - percent(point.ratio as number) : 0)),
      arrayminus: members.map(({ point }) => (point.ci ? percent(point.ratio as number) - percent(point.ci[0]) : 0)),
      thickness: 1,
    },
  };
}

/** The chart shows what changed; points the gate calls the same stay in the table only. */
function comparisonChart(labelled: LabelledPoint[]): Chart | null {
  const charted = labelled.filter(({ point }) => point.ratio !== null && point.verdict !== 'same');
  if (charted.length === 0) return null;
  const unchanged = labelled.filter(({ point }) => point.verdict === 'same').length;
  return {
    id: 'compare',
    title: `points that changed or are too noisy to tell (${charted.length}; right = slower)${unchanged > 0 ? `; ${unchanged} the same, in the table` : ''}`,
    traces: VERDICT_ORDER.filter((verdict) => charted.some(({ point }) => point.verdict === verdict)).map((verdict) =>
      verdictBars(verdict, charted.filter(({ point }) => point.verdict === verdict)),
    ),
    layout: {
      height: Math.max(260, 140 + 22 * charted.length),
      xaxis: { title: { text: '% change of median time (candidate / baseline − 1)' }, zeroline: true },
      yaxis: { type: 'category', automargin: true, autorange: 'reversed', categoryorder: 'array', categoryarray: charted.map(({ label }) => plotlyText(label)) },
      legend: { orientation: 'h', x: 0, y: 1.02, yanchor: 'bottom' },
      barmode: 'overlay',
    },
  };
}

/** The comparison in the gate's order (regressions first, then the largest changes). */
export function comparisonView(comparison: Comparison, baselineName: string): ComparisonView {
  const ordered = comparison.points;
  const counts = VERDICT_ORDER.map((verdict) => `${ordered.filter((point) => point.verdict === verdict).length} ${verdict}`);
  const labels = uniqueLabels(ordered.map((point) => pointLabel(point.config)));
  const labelled = ordered.map((point, index) => ({ point, label: labels[index] }));
  return {
    baseline: baselineName,
    summary: `${comparison.regressions} regression${comparison.regressions === 1 ? '' : 's'} · ${counts.join(' · ')} · ${comparison.added.length} added · ${comparison.removed.length} removed`,
    warnings: comparison.env_mismatch.map((line) => `environment differs from the baseline: ${line}`),
    added: comparison.added,
    removed: comparison.removed,
    table: comparisonTable(labelled),
    chart: comparisonChart(labelled),
  };
}
