// The one reader of results files: a finished run's `<run-id>.json` or the `<run-id>.jsonl` stream of
// a run still going or killed (a half-written last line is dropped with a warning), validated against
// the whole schema (schema.ts). Resume, the gate and the dashboard all read runs through it, so a file
// one of them accepts, every other accepts too; a file it refuses is a ResultsFormatError naming the
// file (and line or field).
import fs from 'node:fs';
import path from 'node:path';
import { parseResults, parseStreamLine, ResultsFormatError, SCHEMA_ID, type Results } from './schema.js';

export interface ReadResults {
  results: Results;
  /** Problems that did not stop the read (a half-written last JSONL line). */
  warnings: string[];
}

/** The text of `file`; a missing or unreadable file is a ResultsFormatError naming it. */
export function readResultsText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ResultsFormatError(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read (${(error as Error).message})`);
  }
}

/** The run of a JSONL stream: its header and every complete point line. */
export function parseStream(text: string, file: string): ReadResults {
  const lines = text.split('\n');
  const warnings: string[] = [];
  // The writer ends every line with a newline, so a complete stream's last element is empty. A
  // non-empty one was being written when the run was killed: kept if it parses, else reported.
  const last = lines.pop();
  if (last) {
    try {
      parseStreamLine(last, `${file}:${lines.length + 1}`);
      lines.push(last);
    } catch {
      warnings.push(`${file}:${lines.length + 1}: incomplete last line ignored (the run was stopped while writing it)`);
    }
  }
  if (lines.length === 0) throw new ResultsFormatError(`${file}: no header line`);
  const [header, ...rest] = lines.map((line, i) => parseStreamLine(line, `${file}:${i + 1}`));
  if (header.type !== 'header') throw new ResultsFormatError(`${file}:1: the first line must be the header, got a ${header.type} line`);
  const points = rest.map((line, i) => {
    if (line.type !== 'point') throw new ResultsFormatError(`${file}:${i + 2}: a second header line`);
    return line.point;
  });
  const results = parseResults({ schema: header.schema, run: header.run, env: header.env, points, dropped: header.dropped }, file);
  return { results, warnings };
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ResultsFormatError(`${file}: not JSON (${(error as Error).message})`);
  }
}

/** Reads and validates a `.json` results file or a `.jsonl` stream (possibly of an unfinished run). */
export function readResults(file: string): ReadResults {
  const text = readResultsText(file);
  if (file.endsWith('.jsonl')) return parseStream(text, file);
  return { results: parseResults(parseJson(text, file), file), warnings: [] };
}

/**
 * The run in `text`, the contents of `file` (a `.json` run or a `.jsonl` stream); null for a JSON
 * file of another schema that may sit beside runs (a GEMM tuning cache, a GEMM suite, gate verdicts).
 */
export function parseResultsFile(text: string, file: string): ReadResults | null {
  if (file.endsWith('.jsonl')) return parseStream(text, file);
  const data = parseJson(text, file);
  if ((data as { schema?: unknown } | null)?.schema !== SCHEMA_ID) return null;
  return { results: parseResults(data, file), warnings: [] };
}

/** The finished runs (`.json`) in `dir`, by file name; JSON files of other schemas are skipped. */
export function readResultsDir(dir: string): (ReadResults & { file: string })[] {
  const runs: (ReadResults & { file: string })[] = [];
  for (const name of fs.readdirSync(dir).filter((entry) => entry.endsWith('.json')).sort()) {
    const file = path.join(dir, name);
    const run = parseResultsFile(readResultsText(file), file);
    if (run) runs.push({ file, ...run });
  }
  return runs;
}
