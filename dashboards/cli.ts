// `npm run dashboard -- <run.json|run.jsonl> [--compare <baseline.json>] [--out <file.html>]`:
// writes one self-contained HTML file (see html.ts) for a run, optionally compared with a baseline.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { compareRuns, GateInputError } from '../src/gate/compare.js';
import { parseResults, parseStreamLine, ResultsFormatError, SCHEMA_ID, type Point, type Results } from '../src/schema.js';
import { loadAssets, renderHtml, type PageAssets } from './html.js';
import { readPointExtras, type ExtrasReading } from './point-extras.js';
import { buildDashboard } from './shape.js';
import { comparisonView } from './views/compare.js';

const USAGE = 'usage: npm run dashboard -- <run.json|run.jsonl> [--compare <baseline.json>] [--out <file.html>]';

/** Bad arguments or unreadable input; the message says which. */
export class DashboardInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DashboardInputError';
  }
}

export interface LoadedRun {
  results: Results;
  extras: ExtrasReading;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new DashboardInputError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

/** A JSONL stream (header line, then a line per finished point): what a killed run leaves behind. */
function loadStream(text: string, file: string): LoadedRun {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0) throw new DashboardInputError(`${file}: empty file`);
  const header = parseStreamLine(lines[0], `${file}:1`);
  if (header.type !== 'header') throw new ResultsFormatError(`${file}:1: expected the header line, got a ${header.type} line`);
  const points: Point[] = [];
  const rawPoints: unknown[] = [];
  lines.slice(1).forEach((line, index) => {
    const parsed = parseStreamLine(line, `${file}:${index + 2}`);
    if (parsed.type !== 'point') throw new ResultsFormatError(`${file}:${index + 2}: a second header line`);
    points.push(parsed.point);
    rawPoints.push((JSON.parse(line) as { point: unknown }).point);
  });
  const results: Results = { schema: SCHEMA_ID, run: header.run, env: header.env, points, dropped: header.dropped };
  return { results, extras: readPointExtras({ points: rawPoints }) };
}

/** Reads and validates a results file (.json, or the .jsonl stream of a run that did not finish). */
export function loadRun(file: string): LoadedRun {
  const text = readText(file);
  if (file.endsWith('.jsonl')) return loadStream(text, file);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ResultsFormatError(`${file}: not JSON (${(error as Error).message})`);
  }
  return { results: parseResults(raw, file), extras: readPointExtras(raw) };
}

export interface DashboardOptions {
  run: string;
  compare?: string;
}

/** The dashboard HTML for a run file, compared with a baseline file when given. */
export function dashboardHtml(options: DashboardOptions, assets: PageAssets = loadAssets()): string {
  const { results, extras } = loadRun(options.run);
  const comparison = options.compare
    ? comparisonView(compareRuns(loadRun(options.compare).results, results, { allowEnvMismatch: true }), options.compare)
    : undefined;
  return renderHtml(buildDashboard({ results, extras, comparison }), assets);
}

/** Default output: the run's name under results/runs/ (git-ignored, where runs are written). */
export const defaultOutput = (run: string): string =>
  path.join('results', 'runs', `${path.basename(run).replace(/\.jsonl?$/, '')}.html`);

export function main(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { compare: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    console.error(`dashboard: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    console.error(`dashboard: expected one results file, got ${parsed.positionals.length}\n${USAGE}`);
    return 2;
  }
  const [run] = parsed.positionals;
  const out = parsed.values.out ?? defaultOutput(run);
  try {
    const html = dashboardHtml({ run, compare: parsed.values.compare });
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, html);
  } catch (error) {
    if (error instanceof DashboardInputError || error instanceof ResultsFormatError || error instanceof GateInputError) {
      console.error(`dashboard: ${error.message}`);
      return 1;
    }
    throw error;
  }
  console.log(`dashboard: wrote ${out}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
