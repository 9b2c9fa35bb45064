#!/usr/bin/env node
// `npm run gate -- --baseline a.json --candidate b.json ...`: exit 0 no regression, 1 regression,
// 2 unusable input (one line on stderr). `--promote run.json` makes a run its device's baseline.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { readResults, readResultsDir, readResultsText } from '../results/reader.js';
import { SCHEMA_ID, type Results } from '../results/schema.js';
import { compareRuns, DEFAULT_THRESHOLD, GateInputError, METRICS, type Comparison, type Metric } from '../gate/compare.js';
import { renderMarkdown, renderTable, verdictsDocument, type GateContext } from '../gate/format.js';
import { checkDeviceSlug, deviceSlug, promoteBaseline } from '../gate/promote.js';
import { EXIT, isBadInput, reportBadInput } from './exit.js';
import { parseThreshold } from './threshold.js';

const USAGE = `usage:
  npm run gate -- --baseline <a.json> --candidate <b.json|dir> [--threshold 5%|0.05] [--metric gpu_ms|host_ms]
                  [--strict] [--allow-env-mismatch] [--allow-partial] [--markdown <summary.md>] [--json <verdicts.json>]
  npm run gate -- --promote <run.json> [--device <name>]   (writes results/baselines/<name>.json)
A directory as --candidate stands for its newest run (latest run.started_at among its ${SCHEMA_ID} files).
A baseline point the candidate lacks is a regression unless --allow-partial.
exit: 0 no regression, 1 regression, 2 unusable input`;

const OPTIONS = {
  baseline: { type: 'string' },
  candidate: { type: 'string' },
  threshold: { type: 'string' },
  metric: { type: 'string' },
  strict: { type: 'boolean' },
  'allow-env-mismatch': { type: 'boolean' },
  'allow-partial': { type: 'boolean' },
  markdown: { type: 'string' },
  json: { type: 'string' },
  promote: { type: 'string' },
  device: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>['values'];

function parseMetric(text: string): Metric {
  if (!(METRICS as readonly string[]).includes(text)) {
    throw new GateInputError(`--metric must be one of ${METRICS.join(', ')}, got ${text}`);
  }
  return text as Metric;
}

interface LoadedRun {
  file: string;
  results: Results;
}

function loadRun(file: string): LoadedRun {
  return { file, results: readResults(file).results };
}

/** The run of `file`, or of the newest results file in `file` when it is a directory. */
function loadCandidate(file: string): LoadedRun {
  if (!fs.statSync(file, { throwIfNoEntry: false })?.isDirectory()) return loadRun(file);
  const runs = readResultsDir(file);
  if (runs.length === 0) throw new GateInputError(`${file}: no ${SCHEMA_ID} files in this directory`);
  // Dates, not strings: the reader checked that each is an ISO 8601 date, but their zones may differ.
  const started = (run: LoadedRun) => Date.parse(run.results.run.started_at);
  return runs.reduce((newest, run) => (started(run) > started(newest) ? run : newest));
}

function refuseWith(flags: Flags, mode: string, names: readonly (keyof Flags)[]): void {
  const given = names.filter((name) => flags[name] !== undefined);
  if (given.length > 0) throw new GateInputError(`${given.map((name) => `--${name}`).join(', ')} cannot be used with ${mode}`);
}

function promote(flags: Flags & { promote: string }): number {
  refuseWith(flags, '--promote', ['baseline', 'candidate', 'threshold', 'metric', 'strict', 'allow-env-mismatch', 'allow-partial', 'markdown', 'json']);
  const run = loadRun(flags.promote);
  const device = flags.device === undefined ? deviceSlug(run.results) : checkDeviceSlug(flags.device);
  // The run's own bytes: a baseline is the file as it was measured, not a re-rendering of it.
  const { file, previous } = promoteBaseline(readResultsText(flags.promote), device);
  const notOk = run.results.points.filter((point) => point.status !== 'ok' || point.correct === false).length;
  process.stdout.write(`promoted run ${run.results.run.id} (${run.results.points.length} points${
    notOk > 0 ? `, ${notOk} failed or incorrect` : ''}) to ${file}${previous ? `; previous kept as ${previous}` : ''}\n`);
  return EXIT.ok;
}

function writeOutput(flag: string, file: string, text: string): void {
  try {
    fs.writeFileSync(file, text);
  } catch (error) {
    throw new GateInputError(`${flag} ${file}: cannot write (${(error as Error).message})`);
  }
}

/** Nothing to decide on: no point has a timing verdict and none regressed. */
function nothingComparable(comparison: Comparison): string | null {
  if (comparison.points.some((point) => point.regression || point.verdict !== 'incomparable')) return null;
  return `nothing comparable: ${comparison.points.length} matched point(s), none with timings in both runs (${
    comparison.added.length} only in the candidate, ${comparison.removed.length} only in the baseline)`;
}

function gate(flags: Flags): number {
  refuseWith(flags, 'a comparison', ['device']);
  if (flags.baseline === undefined || flags.candidate === undefined) {
    throw new GateInputError('--baseline and --candidate are both required (or --promote <run.json>); see --help');
  }
  const threshold = flags.threshold === undefined ? DEFAULT_THRESHOLD : parseThreshold(flags.threshold);
  const metric = flags.metric === undefined ? 'gpu_ms' : parseMetric(flags.metric);
  const strict = flags.strict ?? false;
  const baseline = loadRun(flags.baseline);
  const candidate = loadCandidate(flags.candidate);
  const comparison = compareRuns(baseline.results, candidate.results, {
    threshold, metric, strict, allowEnvMismatch: flags['allow-env-mismatch'] ?? false, allowPartial: flags['allow-partial'] ?? false,
  });
  const nothing = nothingComparable(comparison);
  if (nothing) throw new GateInputError(nothing);
  const context: GateContext = { baseline, candidate, threshold, metric, strict };
  const exitCode = comparison.regressions > 0 ? EXIT.failed : EXIT.ok;
  process.stdout.write(renderTable(comparison, context));
  if (flags.markdown !== undefined) writeOutput('--markdown', flags.markdown, renderMarkdown(comparison, context));
  if (flags.json !== undefined) {
    writeOutput('--json', flags.json, `${JSON.stringify(verdictsDocument(comparison, context, exitCode), null, 2)}\n`);
  }
  return exitCode;
}

export function main(argv: readonly string[]): number {
  try {
    const { values: flags } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false });
    if (flags.help) {
      process.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    return flags.promote !== undefined ? promote({ ...flags, promote: flags.promote }) : gate(flags);
  } catch (error) {
    if (isBadInput(error)) return reportBadInput('gate', error);
    // Exit 1 means "regression" to CI, so even a bug in the gate must not exit 1.
    process.stderr.write(`gate: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT.badInput;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
