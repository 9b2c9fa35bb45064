// Writing a run's results files.
// A run writes `<out>/<run-id>.jsonl` while it runs: a header line, then one line per finished
// point, each appended and fsynced, so a run killed at any moment keeps every finished point.
// When the run ends, `<run-id>.json`: the whole run, written to a temporary file then renamed, so it
// is either absent or complete. (The reporters write their files beside it: reporters/run-files.ts.)
import fs from 'node:fs';
import path from 'node:path';
import { parseStream, readResultsText } from './reader.js';
import {
  ResultsFormatError, ResultsSchema, SCHEMA_ID, StreamLineSchema,
  type Dropped, type Environment, type Point, type Results, type RunInfo, type StreamLine,
} from './schema.js';

/** `<profile>-<yyyymmdd-hhmmss>` in UTC. */
export function defaultRunId(profile: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${profile}-${stamp}`;
}

/** The whole run as one JSON document, validated first: a harness bug must never write a file the reader rejects. */
export function renderResultsJson(results: Results): string {
  return `${JSON.stringify(ResultsSchema.parse(results), null, 2)}\n`;
}

/** Writes `text` (or bytes) to `file` through a temporary file in the same folder and a rename. */
export function writeFileAtomic(file: string, text: string | Uint8Array): void {
  const temporary = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(temporary, 'w');
  try {
    fs.writeSync(fd, typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
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
  /** `<dir>/<run id>`: the run's files are this with an extension. */
  readonly basePath: string;
  readonly jsonlPath: string;
  readonly jsonPath: string;
  readonly header: RunHeader;
  private readonly points: Point[] = [];
  private fd: number | undefined;

  /**
   * Creates `<dir>/<run id>.jsonl` with its header line; refuses to overwrite an existing run.
   * With `resumed` (see resume()), appends to the existing stream, whose points these are.
   */
  constructor(dir: string, header: RunHeader, resumed?: readonly Point[]) {
    fs.mkdirSync(dir, { recursive: true });
    this.basePath = path.join(dir, header.run.id);
    this.jsonlPath = `${this.basePath}.jsonl`;
    this.jsonPath = `${this.basePath}.json`;
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
    if (!fs.existsSync(file)) throw new ResultsFormatError(`no run ${runId} to resume: ${file} does not exist`);
    const text = readResultsText(file);
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    const { results } = parseStream(complete, file);
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

  /** Closes the JSONL and writes the JSON of the whole run; returns what was written. */
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
    writeFileAtomic(this.jsonPath, renderResultsJson(results));
    return results;
  }
}
