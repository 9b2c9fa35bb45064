#!/usr/bin/env node
// `ftbench history <dir>` (npm run history -- <dir>): every run under a folder, over the commits they
// were measured at. The runs are read through the results reader into the history store (a SQLite
// cache, src/history/store.ts, rebuilt incrementally), each point's trend is followed across commits
// and its step changes flagged (src/history/steps.ts); writes the history page (the dashboard's
// offline stack) and, when asked, a markdown summary for CI. Exit 0 written, 2 unusable input.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildHistoryPage } from '../../dashboards/history.js';
import { loadAssets, renderHtml } from '../../dashboards/html.js';
import { renderHistoryMarkdown } from '../../reporters/history-markdown.js';
import { DEFAULT_STEP_THRESHOLD } from '../history/steps.js';
import { HistoryStore, type SyncReport } from '../history/store.js';
import { buildHistory, type History } from '../history/trends.js';
import { SCHEMA_ID } from '../results/schema.js';
import { EXIT, reportBadInput, UsageError } from './exit.js';
import { parseThreshold } from './threshold.js';

/** The cache's name in the folder it describes (git-ignored: .gitignore). */
export const HISTORY_CACHE = '.ftbench-history.sqlite';

const USAGE = `usage: ftbench history <dir> [--out <page.html>] [--markdown <summary.md>] [--db <cache.sqlite>] [--threshold 5%]
       (or: npm run history -- <dir> ...)
Reads every ${SCHEMA_ID} run under <dir> and its subfolders (a .jsonl only while its run has no .json),
follows each point (by its key, on its device) across the commits the runs were measured at (env.git,
ordered by run.started_at), and flags step changes: a commit whose samples' median differs from the
samples since the point's last step by more than --threshold (default ${DEFAULT_STEP_THRESHOLD * 100}%) and by more than both
sides' noise (half the interquartile range) added up.
  --out FILE       the history page (default results/runs/history-<dir name>.html)
  --markdown FILE  also write a markdown summary (e.g. $GITHUB_STEP_SUMMARY; appended to)
  --db FILE        the store, a cache rebuilt from the results files (default <dir>/${HISTORY_CACHE});
                   safe to delete, only changed files are read again
exit: 0 written, 2 unusable input`;

/** Steps listed on the console; the page and the markdown list them all. */
const CONSOLE_STEPS = 20;

const OPTIONS = {
  out: { type: 'string' },
  markdown: { type: 'string' },
  db: { type: 'string' },
  threshold: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface HistoryRequest {
  dir: string;
  out: string;
  markdown?: string;
  db: string;
  threshold: number;
}

/** The request of a command line; undefined for --help. */
export function parseHistoryArgs(argv: readonly string[]): HistoryRequest | undefined {
  const { values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: true });
  if (values.help) return undefined;
  if (positionals.length !== 1) throw new UsageError(`expected one folder of runs, got ${positionals.length} arguments (see --help)`);
  const dir = positionals[0];
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${dir}: no such folder`);
  return {
    dir,
    out: values.out ?? path.join('results', 'runs', `history-${path.basename(path.resolve(dir))}.html`),
    markdown: values.markdown,
    db: values.db ?? path.join(dir, HISTORY_CACHE),
    threshold: values.threshold === undefined ? DEFAULT_STEP_THRESHOLD : parseThreshold(values.threshold),
  };
}

/** Syncs the store with the folder and builds its history; the cache is saved when it can be. */
export async function folderHistory(request: HistoryRequest): Promise<{ history: History; sync: SyncReport }> {
  const store = await HistoryStore.open(request.db);
  try {
    const sync = store.sync(request.dir);
    const history = buildHistory({ runs: store.runs(), points: store.points(), problems: store.problems() }, request.threshold);
    try {
      store.save();
    } catch (error) {
      // The store is a cache: the history is complete without it, the next run reads the files again.
      console.error(`history: warning: cache ${request.db} not saved (${(error as Error).message})`);
    }
    return { history, sync };
  } finally {
    store.close();
  }
}

function writeOutput(flag: string, file: string, text: string, append = false): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text, { flag: append ? 'a' : 'w' });
  } catch (error) {
    throw new UsageError(`${flag} ${file}: cannot write (${(error as Error).message})`);
  }
}

function report(history: History, sync: SyncReport, out: string): void {
  console.log(`history: ${sync.read.length} file(s) read, ${sync.unchanged + sync.rehashed.length} unchanged, ` +
    `${sync.removed.length} removed; ${history.runs.length} runs over ${history.positions.length} commits, ` +
    `${history.trends.length} points, ${history.steps.length} step(s) flagged`);
  for (const { trend, step, from, to } of history.steps.slice(0, CONSOLE_STEPS)) {
    console.log(`  ${trend.device} ${trend.label}: ${from.label} -> ${to.label} ${((step.ratio - 1) * 100).toFixed(1)} %`);
  }
  if (history.steps.length > CONSOLE_STEPS) console.log(`  ... ${history.steps.length - CONSOLE_STEPS} more on the page`);
  for (const warning of history.warnings) console.log(`  warning: ${warning}`);
  console.log(`history: wrote ${out}`);
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    const request = parseHistoryArgs(argv);
    if (request === undefined) {
      console.log(USAGE);
      return EXIT.ok;
    }
    const { history, sync } = await folderHistory(request);
    if (history.runs.length === 0) throw new UsageError(`${request.dir}: no ${SCHEMA_ID} runs in this folder or below it`);
    writeOutput('--out', request.out, renderHtml(buildHistoryPage(history, request.dir), loadAssets()));
    if (request.markdown !== undefined) writeOutput('--markdown', request.markdown, renderHistoryMarkdown(history, request.dir), true);
    report(history, sync, request.out);
    return EXIT.ok;
  } catch (error) {
    return reportBadInput('history', error);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
