// `npm run dashboard -- <run.json|run.jsonl> [--compare <baseline.json>] [--out <file.html>]`:
// writes one self-contained HTML file (see html.ts) for a run, optionally compared with a baseline.
// Exit 0 written, 2 unusable input or an --out that cannot be written, one line on stderr (the exit
// codes of every command: src/cli/exit.ts). The file is written whole or not at all (src/results/files.ts).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { EXIT, reportBadInput } from '../src/cli/exit.js';
import { makeDirectory, writeFileAtomic } from '../src/results/files.js';
import { readResults } from '../src/results/reader.js';
import { loadAssets, type PageAssets } from './html.js';
import { renderDashboard } from './render.js';

const USAGE = 'usage: ftbench dashboard <run.json|run.jsonl> [--compare <baseline.json>] [--out <file.html>]   (or: npm run dashboard -- ...)';

export interface DashboardOptions {
  run: string;
  compare?: string;
}

/** The dashboard HTML for a run file, compared with a baseline file when given. */
export function dashboardHtml(options: DashboardOptions, assets: PageAssets = loadAssets()): string {
  const { results, warnings } = readResults(options.run);
  const baseline = options.compare ? { results: readResults(options.compare).results, name: options.compare } : undefined;
  return renderDashboard(results, { baseline, readWarnings: warnings, assets });
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
    return EXIT.badInput;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return EXIT.ok;
  }
  if (parsed.positionals.length !== 1) {
    console.error(`dashboard: expected one results file, got ${parsed.positionals.length}\n${USAGE}`);
    return EXIT.badInput;
  }
  const [run] = parsed.positionals;
  const out = parsed.values.out ?? defaultOutput(run);
  try {
    const html = dashboardHtml({ run, compare: parsed.values.compare });
    makeDirectory(path.dirname(out));
    writeFileAtomic(out, html);
  } catch (error) {
    return reportBadInput('dashboard', error);
  }
  console.log(`dashboard: wrote ${out}`);
  return EXIT.ok;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
