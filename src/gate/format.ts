// The gate's outputs: a console table (<= 120 columns), a markdown summary for CI job summaries and
// a JSON verdicts document. Text from results files (run ids, paths, error messages) is data: in the
// markdown nothing of it may become markup (a link, an image, code, emphasis, HTML, a table cell).
import { KEY_FIELDS, type PointConfig } from '../engine/config.js';
import type { Results } from '../results/schema.js';
import { CONFIDENCE } from './hodges-lehmann.js';
import { VERDICT_ORDER, type Comparison, type Metric, type PointComparison } from './compare.js';

export const TABLE_WIDTH = 120;
export const VERDICTS_SCHEMA = 'ftbench/gate@1';

/** What was compared with what, and how: the header of every output. */
export interface GateContext {
  baseline: { file: string; results: Results };
  candidate: { file: string; results: Results };
  threshold: number;
  metric: Metric;
  strict: boolean;
}

/** Key fields whose values differ between the compared points (the rest say nothing). */
function varyingFields(configs: readonly PointConfig[]): (keyof PointConfig)[] {
  const varying = KEY_FIELDS.filter((field) => new Set(configs.map((config) => config[field])).size > 1);
  return varying.length > 0 ? varying : ['path', 'variant', 'precision'];
}

/** The point's values of `fields` (the ones that vary in this comparison), as field=value. */
const keyFieldsText = (config: PointConfig, fields: readonly (keyof PointConfig)[]): string =>
  fields.map((field) => `${field}=${config[field]}`).join(' ');

const formatRatio = (ratio: number | null): string => (ratio === null ? '-' : ratio.toFixed(3));
const formatCi = (ci: [number, number] | null): string => (ci === null ? '-' : `${ci[0].toFixed(3)}..${ci[1].toFixed(3)}`);
const formatMs = (ms: number | null): string => (ms === null ? '-' : ms >= 1000 ? ms.toFixed(0) : ms.toPrecision(4));
const formatPercent = (fraction: number): string => `${+(fraction * 100).toFixed(2)}%`;

function verdictCounts(comparison: Comparison): string {
  return VERDICT_ORDER.map((verdict) => `${verdict} ${comparison.points.filter((p) => p.verdict === verdict).length}`)
    .join(', ');
}

/** One line: PASS/FAIL and the counts. */
export function summaryLine(comparison: Comparison): string {
  const missing = comparison.partial_allowed ? 0 : comparison.removed.length;
  const outcome = comparison.regressions === 0 ? 'PASS' : `FAIL: ${comparison.regressions} regression(s)${
    missing > 0 ? `, ${missing} of them baseline points the candidate lacks (--allow-partial accepts a partial run)` : ''}`;
  return `gate ${outcome}; ${verdictCounts(comparison)}; added ${comparison.added.length}, removed ${
    comparison.removed.length}`;
}

/** How the points were judged. */
function settingsLine(context: GateContext): string {
  return `metric ${context.metric}, threshold ${formatPercent(context.threshold)}${context.strict ? ', strict' : ''}, ${
    Math.round(CONFIDENCE * 100)}% Hodges-Lehmann intervals`;
}

function fit(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

function runLine(role: string, side: GateContext['baseline']): string {
  return `${role}: ${side.file} (run ${side.results.run.id}, ${side.results.env.device.name ?? side.results.run.backend})`;
}

/** The console report: header, one row per compared point (with its reason), added/removed, summary. */
export function renderTable(comparison: Comparison, context: GateContext): string {
  const fields = varyingFields(comparison.points.map((point) => point.config));
  const ciHeader = `${Math.round(CONFIDENCE * 100)}% CI`;
  const row = (cells: readonly string[], label: string): string => {
    const fixed = `${cells[0].padEnd(13)}${cells[1].padStart(7)}  ${cells[2].padEnd(13)}${cells[3].padStart(10)}${
      cells[4].padStart(10)}  `;
    return fit(`${fixed}${label}`, TABLE_WIDTH);
  };
  const lines = [runLine('baseline ', context.baseline), runLine('candidate', context.candidate), settingsLine(context)]
    .map((line) => fit(line, TABLE_WIDTH));
  for (const mismatch of comparison.env_mismatch) lines.push(fit(`env mismatch (allowed): ${mismatch}`, TABLE_WIDTH));
  lines.push('', row(['verdict', 'ratio', ciHeader, 'base ms', 'cand ms'], 'point'));
  for (const point of comparison.points) {
    const verdict = point.regression ? `${point.verdict}!` : point.verdict;
    lines.push(row([verdict, formatRatio(point.ratio), formatCi(point.ci), formatMs(point.baseline_ms),
      formatMs(point.candidate_ms)], keyFieldsText(point.config, fields)));
    lines.push(fit(`${' '.repeat(13)}${point.reason}`, TABLE_WIDTH));
  }
  for (const key of comparison.added) lines.push(fit(`added:   ${key}`, TABLE_WIDTH));
  for (const key of comparison.removed) lines.push(fit(`removed: ${key}`, TABLE_WIDTH));
  lines.push('', fit(summaryLine(comparison), TABLE_WIDTH));
  return `${lines.join('\n')}\n`;
}

/**
 * Text as markdown that renders as itself, in a table cell or a list item: HTML and entities are
 * escaped, and so are the characters that open links, images, code, emphasis and cells (a link needs
 * `[`, an image `![`; `://`, `www.` and `@` make GitHub's bare-URL and e-mail links); newlines become spaces.
 */
function cell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/[\\`*_~[\]|@]|:(?=\/\/)/g, '\\$&').replace(/(w{3})\./gi, '$1\\.');
}

/** Text as a markdown code span: a fence of more backticks than any run in it, so nothing inside ends it. */
function code(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const padded = /^`|`$/.test(text) ? ` ${text} ` : text;
  return `${fence}${padded.replace(/\r?\n/g, ' ')}${fence}`;
}

function markdownTable(points: readonly PointComparison[], fields: readonly (keyof PointConfig)[]): string[] {
  const ciHeader = `${Math.round(CONFIDENCE * 100)}% CI`;
  const lines = [
    `| verdict | ratio | ${ciHeader} | baseline ms | candidate ms | point | reason |`,
    '|---|---:|---|---:|---:|---|---|',
  ];
  for (const point of points) {
    const verdict = point.regression ? `**${point.verdict}** (regression)` : point.verdict;
    lines.push(`| ${[verdict, ...[formatRatio(point.ratio), formatCi(point.ci), formatMs(point.baseline_ms),
      formatMs(point.candidate_ms), keyFieldsText(point.config, fields), point.reason].map(cell)].join(' | ')} |`);
  }
  return lines;
}

function keyList(title: string, keys: readonly string[]): string[] {
  if (keys.length === 0) return [];
  return ['', `**${title}** (${keys.length}):`, '', ...keys.map((key) => `- ${code(key)}`)];
}

/** A markdown summary (e.g. for $GITHUB_STEP_SUMMARY): changed points in a table, unchanged ones folded. */
export function renderMarkdown(comparison: Comparison, context: GateContext): string {
  const fields = varyingFields(comparison.points.map((point) => point.config));
  const notable = comparison.points.filter((point) => point.regression || point.verdict !== 'same');
  const unchanged = comparison.points.filter((point) => !point.regression && point.verdict === 'same');
  const lines = [
    `### ftbench gate: ${comparison.regressions > 0 ? `${comparison.regressions} regression(s)` : 'no regression'}`,
    '',
    cell(summaryLine(comparison)),
    '',
    `- ${cell(settingsLine(context))}`,
    `- baseline: ${code(context.baseline.file)} (run ${code(context.baseline.results.run.id)})`,
    `- candidate: ${code(context.candidate.file)} (run ${code(context.candidate.results.run.id)})`,
    ...comparison.env_mismatch.map((mismatch) => `- env mismatch (allowed): ${cell(mismatch)}`),
  ];
  if (notable.length > 0) lines.push('', ...markdownTable(notable, fields));
  if (unchanged.length > 0) {
    lines.push('', `<details><summary>${unchanged.length} point(s) within the threshold</summary>`, '',
      ...markdownTable(unchanged, fields), '', '</details>');
  }
  lines.push(...keyList('Added', comparison.added), ...keyList('Removed', comparison.removed));
  return `${lines.join('\n')}\n`;
}

/** The JSON verdicts document: settings, both runs' identities, the comparison, the exit code. */
export function verdictsDocument(comparison: Comparison, context: GateContext, exitCode: number): object {
  const run = (side: GateContext['baseline']) => ({
    file: side.file, id: side.results.run.id, device: side.results.env.device.name ?? null,
  });
  return {
    schema: VERDICTS_SCHEMA,
    baseline: run(context.baseline),
    candidate: run(context.candidate),
    metric: context.metric,
    threshold: context.threshold,
    strict: context.strict,
    confidence: CONFIDENCE,
    exit_code: exitCode,
    ...comparison,
  };
}
