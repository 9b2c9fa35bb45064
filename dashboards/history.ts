// The history page's data: a folder's runs over commits (src/history/trends.ts) shaped for the same
// offline page as a run's dashboard (html.ts, page.ts). One chart per device × path × precision, with
// the commits on x in the order they were measured and one line per point, each point's median
// relative to its first measured commit (so that points of any size share an axis); the flagged steps
// as red crosses, and in a table; every point's first and last level; the runs read.
import type { FlaggedStep, History, PointTrend } from '../src/history/trends.js';
import { formatNumber, groupBy, numberCell, plotlyText, textCell } from './views/common.js';
import type { Chart, FieldGroup, HistoryPageData, Table, Trace } from './views/types.js';

/** Above this many lines a legend would cover the chart; hover names each line instead. */
const LEGEND_LIMIT = 12;

const changePercent = (ratio: number): number => (ratio - 1) * 100;

function levelText(trend: PointTrend, index: number, positions: History['positions']): string {
  const level = trend.levels[index];
  if (level === null) return '';
  const position = positions[index];
  const detail = `${position.label}: ${formatNumber(level.median)} ms ± ${formatNumber(level.noise)} ` +
    `(${level.samples} samples; runs ${position.runIds.join(', ')})`;
  return `${plotlyText(trend.label)}<br>${plotlyText(detail)}`;
}

function trendTrace(trend: PointTrend, history: History): Trace {
  const measured = trend.levels.flatMap((level, index) => (level === null ? [] : [index]));
  const first = trend.levels[measured[0]]?.median ?? 1;
  return {
    type: 'scatter',
    mode: 'lines+markers',
    name: plotlyText(trend.label),
    x: measured.map((index) => plotlyText(history.positions[index].label)),
    y: measured.map((index) => (trend.levels[index]?.median ?? first) / first),
    hovertext: measured.map((index) => levelText(trend, index, history.positions)),
    hoverinfo: 'text',
    marker: { size: 6 },
  };
}

function stepTrace(trends: PointTrend[], history: History): Trace {
  const marks = trends.flatMap((trend) => {
    const first = trend.levels.find((level) => level !== null)?.median ?? 1;
    return trend.steps.map((step) => ({ trend, step, first }));
  });
  return {
    type: 'scatter',
    mode: 'markers',
    name: 'step flagged',
    x: marks.map(({ step }) => plotlyText(history.positions[step.index].label)),
    y: marks.map(({ step, first }) => step.after.median / first),
    hovertext: marks.map(({ trend, step }) => plotlyText(`${trend.label}: step ${changePercent(step.ratio).toFixed(1)} %`)),
    hoverinfo: 'text',
    marker: { symbol: 'x', size: 12, color: '#d62728' },
  };
}

function trendCharts(history: History): Chart[] {
  const groups = groupBy(history.trends, (trend) => `${trend.device} · ${trend.path} · ${trend.precision}`);
  const categories = history.positions.map((position) => plotlyText(position.label));
  return [...groups.entries()].map(([title, trends], index) => {
    const traces = trends.map((trend) => trendTrace(trend, history));
    if (trends.some((trend) => trend.steps.length > 0)) traces.push(stepTrace(trends, history));
    return {
      id: `history-${index}`,
      title: `${title} (${trends.length} points)`,
      traces,
      layout: {
        showlegend: trends.length <= LEGEND_LIMIT,
        xaxis: { title: { text: 'commit (in the order measured)' }, type: 'category', categoryorder: 'array', categoryarray: categories },
        yaxis: { title: { text: 'median / first measured median' } },
      },
    };
  });
}

function stepsTable(steps: FlaggedStep[]): Table {
  return {
    columns: ['device', 'point', 'from', 'to', 'before ms', 'after ms', 'change %', 'key'],
    rows: steps.map(({ trend, step, from, to }) => [
      textCell(trend.device), textCell(trend.label), textCell(from.label), textCell(to.label),
      numberCell(step.before.median), numberCell(step.after.median), numberCell(changePercent(step.ratio)), textCell(trend.key),
    ]),
  };
}

function pointsTable(history: History): Table {
  return {
    columns: ['device', 'point', 'commits', 'first ms', 'last ms', 'last / first', 'steps', 'key'],
    rows: history.trends.map((trend) => {
      const measured = trend.levels.filter((level) => level !== null);
      const first = measured[0]?.median ?? null;
      const last = measured[measured.length - 1]?.median ?? null;
      return [
        textCell(trend.device), textCell(trend.label), numberCell(measured.length), numberCell(first), numberCell(last),
        numberCell(first && last ? last / first : null), numberCell(trend.steps.length), textCell(trend.key),
      ];
    }),
  };
}

function runsTable(history: History): Table {
  return {
    columns: ['run', 'file', 'commit', 'started', 'device', 'profile'],
    rows: history.runs.map((run) => [
      textCell(run.id), textCell(run.file), textCell(`${run.commit ?? 'unknown'}${run.dirty ? ' (dirty)' : ''}`),
      textCell(run.startedAt), textCell(run.device), textCell(run.profile),
    ]),
  };
}

function headerGroups(history: History, folder: string): FieldGroup[] {
  const devices = [...new Set(history.runs.map((run) => run.device))];
  return [
    {
      title: 'History',
      fields: [
        { label: 'folder', value: folder },
        { label: 'runs', value: String(history.runs.length) },
        { label: 'devices', value: devices.join(', ') },
        { label: 'points', value: String(history.trends.length) },
        { label: 'steps flagged', value: String(history.steps.length) },
      ],
    },
    {
      title: 'Commits, in the order measured',
      fields: history.positions.map((position) => ({
        label: position.label, value: `${position.startedAt.slice(0, 16).replace('T', ' ')} · ${position.runIds.join(', ')}`,
      })),
    },
  ];
}

export function buildHistoryPage(history: History, folder: string): HistoryPageData {
  const percent = `${+(history.threshold * 100).toFixed(2)} %`;
  return {
    kind: 'history',
    title: `ftbench history · ${folder}`,
    header: headerGroups(history, folder),
    warnings: history.warnings,
    stepsSummary: `${history.steps.length} step change(s) flagged: at each commit, the point's median against the ` +
      `samples since its last step, flagged when it moved by more than ${percent} and by more than the noise ` +
      '(half the interquartile range) of both sides added up.',
    steps: stepsTable(history.steps),
    charts: trendCharts(history),
    points: pointsTable(history),
    runs: runsTable(history),
  };
}
