// Writing and reading results files.
// A run writes `<out>/<run-id>.jsonl` while it runs: a header line, then one line per finished
// point, each appended and fsynced, so a run killed at any moment keeps every finished point.
// When the run ends, `<run-id>.json` (the whole run; written to a temporary file then renamed, so
// it is either absent or complete), `<run-id>.csv` and, when points recorded their GEMMs,
// `<run-id>.gemm.csv`.
import fs from 'node:fs';
import path from 'node:path';
import { renderCsv } from '../../reporters/csv.js';
import { renderGemmChoicesCsv } from '../../reporters/gemm-csv.js';
import { renderJson } from '../../reporters/json.js';
import {
  parseResults, parseStreamLine, ResultsFormatError, SCHEMA_ID, StreamLineSchema,
  type Dropped, type Environment, type Point, type Results, type RunInfo, type StreamLine,
} from './schema.js';

/** `<profile>-<yyyymmdd-hhmmss>` in UTC. */
export function defaultRunId(profile: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${profile}-${stamp}`;
}

/** Writes `text` to `file` through a temporary file in the same folder and a rename. */
export function writeFileAtomic(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(temporary, 'w');
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, file);
}

export interface RunHeader {
  run: RunInfo;
  env: Environment;
  dropped: Dropped[];
}

export class ResultsWriter {
  readonly jsonlPath: string;
  readonly jsonPath: string;
  readonly csvPath: string;
  readonly gemmCsvPath: string;
  readonly header: RunHeader;
  private readonly points: Point[] = [];
  private fd: number | undefined;

  /**
   * Creates `<dir>/<run id>.jsonl` with its header line; refuses to overwrite an existing run.
   * With `resumed` (see resume()), appends to the existing stream, whose points these are.
   */
  constructor(dir: string, header: RunHeader, resumed?: readonly Point[]) {
    fs.mkdirSync(dir, { recursive: true });
    const base = path.join(dir, header.run.id);
    this.jsonlPath = `${base}.jsonl`;
    this.jsonPath = `${base}.json`;
    this.csvPath = `${base}.csv`;
    this.gemmCsvPath = `${base}.gemm.csv`;
    this.header = header;
    if (resumed) {
      this.fd = fs.openSync(this.jsonlPath, 'a');
      this.points.push(...resumed);
      return;
    }
    try {
      this.fd = fs.openSync(this.jsonlPath, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new ResultsFormatError(`${this.jsonlPath} already exists: choose another --run-id or --out`);
      }
      throw error;
    }
    this.appendLine({ type: 'header', schema: SCHEMA_ID, ...header });
  }

  private appendLine(line: StreamLine): void {
    if (this.fd === undefined) throw new Error(`${this.jsonlPath} is closed: the run has finished`);
    // Validated before it is written: a harness bug must not leave a line the readers reject.
    fs.writeSync(this.fd, `${JSON.stringify(StreamLineSchema.parse(line))}\n`);
    fs.fsyncSync(this.fd);
  }

  /**
   * Reopens the stream of run `runId` in `dir` to append to it: a last line cut short when the run
   * was killed is removed first (its point runs again).
   */
  static resume(dir: string, runId: string): ResultsWriter {
    const file = path.join(dir, `${runId}.jsonl`);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ResultsFormatError(`no run ${runId} to resume: ${file} does not exist`);
      throw error;
    }
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    const { results } = readStream(complete, file);
    fs.truncateSync(file, Buffer.byteLength(complete));
    return new ResultsWriter(dir, { run: results.run, env: results.env, dropped: results.dropped }, results.points);
  }

  /** Points written so far (a resumed run's earlier ones first). */
  get written(): readonly Point[] {
    return this.points;
  }

  append(point: Point): void {
    this.appendLine({ type: 'point', point });
    this.points.push(point);
  }

  /** Closes the JSONL and writes the JSON and CSVs of the whole run; returns what was written. */
  finish(finishedAt: Date): Results {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    const started = Date.parse(this.header.run.started_at);
    const results: Results = {
      schema: SCHEMA_ID,
      run: { ...this.header.run, finished_at: finishedAt.toISOString(), wall_s: (finishedAt.getTime() - started) / 1000 },
      env: this.header.env,
      points: this.points,
      dropped: this.header.dropped,
    };
    writeFileAtomic(this.jsonPath, renderJson(results));
    writeFileAtomic(this.csvPath, renderCsv(results));
    const gemms = renderGemmChoicesCsv(results);
    if (gemms !== undefined) writeFileAtomic(this.gemmCsvPath, gemms);
    return results;
  }
}

export interface ReadResults {
  results: Results;
  /** Problems that did not stop the read (a half-written last JSONL line). */
  warnings: string[];
}

/** The run of a JSONL stream: its header and every complete point line. */
function readStream(text: string, file: string): ReadResults {
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

/** Reads and validates a `.json` results file or a `.jsonl` stream (possibly of an unfinished run). */
export function readResults(file: string): ReadResults {
  const text = fs.readFileSync(file, 'utf8');
  if (file.endsWith('.jsonl')) return readStream(text, file);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ResultsFormatError(`${file}: not JSON (${(error as Error).message})`);
  }
  return { results: parseResults(data, file), warnings: [] };
}
