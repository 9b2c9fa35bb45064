// The history's markdown summary for CI (e.g. $GITHUB_STEP_SUMMARY): which runs over which commits,
// and every step change flagged, slower ones first. Everything that comes from a results file (run
// ids, device names, commits, file names) is escaped: markdown would read it as markup.
import type { FlaggedStep, History } from '../src/history/trends.js';
import { escapeMarkdown } from './markdown.js';

const milliseconds = (value: number): string => (value >= 100 ? value.toFixed(1) : value.toPrecision(4));

function changeText(ratio: number): string {
  const percent = (ratio - 1) * 100;
  return `${percent >= 0 ? '+' : ''}${percent.toFixed(1)} % (${ratio > 1 ? 'slower' : 'faster'})`;
}

function stepRow({ trend, step, from, to }: FlaggedStep): string {
  const cells = [
    trend.device, trend.label, from.label, to.label,
    `${milliseconds(step.before.median)} ± ${milliseconds(step.before.noise)}`,
    `${milliseconds(step.after.median)} ± ${milliseconds(step.after.noise)}`,
    changeText(step.ratio),
  ];
  return `| ${cells.map(escapeMarkdown).join(' | ')} |`;
}

/** Slower steps first, the largest change first within each direction. */
const stepOrder = (a: FlaggedStep, b: FlaggedStep): number =>
  Number(b.step.ratio > 1) - Number(a.step.ratio > 1) || Math.abs(Math.log(b.step.ratio)) - Math.abs(Math.log(a.step.ratio));

export function renderHistoryMarkdown(history: History, folder: string): string {
  const devices = new Set(history.runs.map((run) => run.device));
  const percent = `${+(history.threshold * 100).toFixed(2)} %`;
  const lines = [
    `### ftbench history of ${escapeMarkdown(folder)}`,
    '',
    `${history.runs.length} runs over ${history.positions.length} commits ` +
      `(${history.positions.map((position) => escapeMarkdown(position.label)).join(', ')}), ` +
      `${history.trends.length} points on ${devices.size} device(s). ` +
      `A step is flagged where a point's median moved by more than ${percent} and by more than the noise ` +
      '(half the interquartile range) of the samples before and after it added up.',
    '',
  ];
  if (history.steps.length === 0) {
    lines.push('No step change flagged.');
  } else {
    lines.push(
      `**${history.steps.length} step change(s) flagged** (median ± noise, ms):`,
      '',
      '| device | point | from | to | before | after | change |',
      '|---|---|---|---|---:|---:|---|',
      ...[...history.steps].sort(stepOrder).map(stepRow),
    );
  }
  if (history.warnings.length > 0) lines.push('', ...history.warnings.map((warning) => `- ${escapeMarkdown(warning)}`));
  return `${lines.join('\n')}\n`;
}
