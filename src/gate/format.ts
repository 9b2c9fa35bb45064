// The gate's outputs: a console table (<= 120 columns), a markdown summary for CI job summaries and
// a JSON verdicts document. Text from results files (run ids, paths, error messages) is data: in the
// markdown nothing of it may become markup (a link, an image, code, emphasis, HTML, a table cell).
import { KEY_FIELDS, tpOf, type PointConfig } from '../engine/config.js';
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

/** How a name field's value is written compactly: `b8`, `s128`, `beam4`, `k0`, `p0.9`, `graph` / `eager`. */
const compact = (prefix: string) => (value: unknown): string => `${prefix}${String(value)}`;
const bare = (value: unknown): string => String(value);
const FIELD_TEXT: Record<(typeof KEY_FIELDS)[number], (value: unknown) => string> = {
  backend: bare, path: bare, variant: bare, precision: bare, mode: bare,
  batch: compact('b'), beam: compact('beam'), seq: compact('s'), layers: compact('layers'), heads: compact('heads'),
  head_size: compact('head'), inter_size: compact('inter'), vocab: compact('vocab'), mem_len: compact('mem'),
  top_k: compact('k'), top_p: compact('p'), temperature: compact('temp'), length_penalty: compact('lp'),
  full_length: (value) => (value ? 'full-length' : 'var-length'), graph: (value) => (value ? 'graph' : 'eager'),
};

/** What names a point: every key field, tp and the checkpoint (the key's parts, src/engine/config.ts). */
const NAME_FIELDS: readonly { name: string; text: (config: PointConfig) => string }[] = [
  ...KEY_FIELDS.map((field) => ({ name: field, text: (config: PointConfig) => FIELD_TEXT[field](config[field]) })),
  { name: 'tp', text: (config) => `tp${tpOf(config)}` },
  { name: 'model', text: (config) => (config.model ? `${config.model.type}@${config.model.sha256.slice(0, 16)}` : 'synthetic') },
];
type NameField = (typeof NAME_FIELDS)[number];

/** The name fields whose values differ between the compared points (the rest say nothing). */
function varyingFields(configs: readonly PointConfig[]): NameField[] {
  const varying = NAME_FIELDS.filter((field) => new Set(configs.map(field.text)).size > 1);
  return varying.length > 0 ? varying : NAME_FIELDS.filter((field) => ['path', 'variant', 'precision'].includes(field.name));
}

/** The point's values of `fields` (the ones that vary in this comparison), compactly: "decoder fused fp16 b8 k4 graph". */
const pointName = (config: PointConfig, fields: readonly NameField[]): string =>
  fields.map((field) => field.text(config)).join(' ');

/**
 * Text broken at spaces into lines of at most `width` (a word longer than that is split), so a
 * point's name or a reason is never cut short: the distinguishing field may be the last one.
 */
function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    for (let rest = word; ; ) {
      const joined = line === '' ? rest : `${line} ${rest}`;
      if (joined.length <= width) {
        line = joined;
        break;
      }
      if (line !== '') {
        lines.push(line);
        line = '';
        continue;
      }
      lines.push(rest.slice(0, width));
      rest = rest.slice(width);
      if (rest === '') break;
    }
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines;
}

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
    Math.round(CONFIDENCE * 100)}% intervals: Hodges-Lehmann, or Welch t on log-times for a few samples`;
}

function fit(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

function runLine(role: string, side: GateContext['baseline']): string {
  return `${role}: ${side.file} (run ${side.results.run.id}, ${side.results.env.device.name ?? side.results.run.backend})`;
}

/** Width of the console's verdict column: the longest verdict and the regression mark. */
const VERDICT_WIDTH = Math.max(...VERDICT_ORDER.map((verdict) => verdict.length)) + 2;

/** The console report: header, one row per compared point (with its reason), added/removed, summary. */
export function renderTable(comparison: Comparison, context: GateContext): string {
  const fields = varyingFields(comparison.points.map((point) => point.config));
  const ciHeader = `${Math.round(CONFIDENCE * 100)}% CI`;
  // The point's name is wrapped under its own column, never cut: the field that tells two points apart may be its last.
  const row = (cells: readonly string[], label: string): string[] => {
    const fixed = `${cells[0].padEnd(VERDICT_WIDTH)}${cells[1].padStart(7)}  ${cells[2].padEnd(13)}${cells[3].padStart(10)}${
      cells[4].padStart(10)}  `;
    return wrapText(label, TABLE_WIDTH - fixed.length).map((part, i) => `${i === 0 ? fixed : ' '.repeat(fixed.length)}${part}`);
  };
  const indented = (text: string, indent: number): string[] =>
    wrapText(text, TABLE_WIDTH - indent).map((part) => `${' '.repeat(indent)}${part}`);
  const lines = [runLine('baseline ', context.baseline), runLine('candidate', context.candidate), settingsLine(context)]
    .map((line) => fit(line, TABLE_WIDTH));
  for (const mismatch of comparison.env_mismatch) lines.push(...indented(`env mismatch (allowed): ${mismatch}`, 0));
  lines.push('', ...row(['verdict', 'ratio', ciHeader, 'base ms', 'cand ms'], 'point'));
  for (const point of comparison.points) {
    const verdict = point.regression ? `${point.verdict}!` : point.verdict;
    lines.push(...row([verdict, formatRatio(point.ratio), formatCi(point.ci), formatMs(point.baseline_ms),
      formatMs(point.candidate_ms)], pointName(point.config, fields)));
    lines.push(...indented(point.reason, 4));
  }
  for (const key of comparison.added) lines.push(...indented(`added:   ${key}`, 0));
  for (const key of comparison.removed) lines.push(...indented(`removed: ${key}`, 0));
  lines.push('', ...indented(summaryLine(comparison), 0));
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

function markdownTable(points: readonly PointComparison[], fields: readonly NameField[]): string[] {
  const ciHeader = `${Math.round(CONFIDENCE * 100)}% CI`;
  const lines = [
    `| verdict | ratio | ${ciHeader} | baseline ms | candidate ms | point | reason |`,
    '|---|---:|---|---:|---:|---|---|',
  ];
  for (const point of points) {
    const verdict = point.regression ? `**${point.verdict}** (regression)` : point.verdict;
    lines.push(`| ${[verdict, ...[formatRatio(point.ratio), formatCi(point.ci), formatMs(point.baseline_ms),
      formatMs(point.candidate_ms), pointName(point.config, fields), point.reason].map(cell)].join(' | ')} |`);
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
