// The reporters' files of a finished run, written beside its `<run-id>.json` (src/results/writer.ts):
// `<run-id>.csv`, one row per point, and, when points recorded their GEMMs (cuda), `<run-id>.gemm.csv`.
import { writeFileAtomic } from '../src/results/writer.js';
import type { Results } from '../src/results/schema.js';
import { renderCsv } from './csv.js';
import { renderGemmChoicesCsv } from './gemm-csv.js';

/** Writes the run's CSVs at `<basePath>.csv` (and `.gemm.csv`); returns the files written. */
export function writeRunReports(basePath: string, results: Results): string[] {
  const files = [`${basePath}.csv`];
  writeFileAtomic(files[0], renderCsv(results));
  const gemms = renderGemmChoicesCsv(results);
  if (gemms !== undefined) {
    files.push(`${basePath}.gemm.csv`);
    writeFileAtomic(files[1], gemms);
  }
  return files;
}
