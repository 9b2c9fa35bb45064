// Writing a run's results files.
// A run writes `<out>/<run-id>.jsonl` while it runs: a header line, then one line per finished
// point, each appended whole (or cut off again) and fsynced, so a run killed at any moment keeps every
// finished point. When the run ends, `<run-id>.json`: the whole run, written to a temporary file then
// renamed, so it is either absent or complete (files.ts). (The reporters write their files beside it:
// reporters/run-files.ts.) One process at a time writes a run's files: it holds `<run-id>.lock`
// (lock.ts) from the moment it opens the stream until close(); an existing run's files are replaced
// only when the caller says so (`force`).
import fs from 'node:fs';
import path from 'node:path';
import { CheckedAppender, clearOldFiles, fileError, makeDirectory, writeFileAtomic } from './files.js';
import { RunLock } from './lock.js';
import { parseStream, readResultsText } from './reader.js';
import {
  ResultsFormatError, ResultsSchema, SCHEMA_ID, StreamLineSchema,
  type Dropped, type Environment, type Point, type Results, type RunInfo, type StreamLine,
} from './schema.js';

export { writeFileAtomic };

/** The files of a run `<out>/<run-id>`: the stream, the JSON and the reporters' CSVs. */
export const RUN_FILE_EXTENSIONS = ['.jsonl', '.json', '.csv', '.gemm.csv'] as const;

/** `<profile>-<yyyymmdd-hhmmss>` in UTC. */
export function defaultRunId(profile: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${profile}-${stamp}`;
}

/** The whole run as one JSON document, validated first: a harness bug must never write a file the reader rejects. */
export function renderResultsJson(results: Results): string {
  return `${JSON.stringify(ResultsSchema.parse(results), null, 2)}\n`;
}

export interface RunHeader {
  run: RunInfo;
  env: Environment;
  dropped: Dropped[];
}

export interface NewRunOptions {
  /** Replace the files of an existing run of the same id (never those of a run still going: the lock says). */
  force?: boolean;
  /** Says what the writer did that the user should know (a stale lock taken over); stderr by default. */
  warn?: (message: string) => void;
}

const warnOnStderr = (message: string): void => console.error(`warning: ${message}`);

/** Opens `file` with `flags`, as a FileWriteError naming it. */
function openChecked(file: string, flags: string): number {
  try {
    return fs.openSync(file, flags);
  } catch (error) {
    throw fileError(file, 'open', error);
  }
}

/** Runs `open` holding the lock of the run at `basePath`; the lock is released when `open` fails. */
function holdingLock<T>(basePath: string, warn: (message: string) => void, open: (lock: RunLock) => T): T {
  const lock = RunLock.acquire(basePath, warn);
  try {
    return open(lock);
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** What resume() hands the constructor: the stream it read (under the run's lock) and its points. */
class ResumedStream {
  constructor(readonly runId: string, readonly points: readonly Point[], readonly lock: RunLock) {}
}

export class ResultsWriter {
  /** The name of the run's files: `<dir>/<runId>.<extension>` (a resumed copy keeps its own name). */
  readonly runId: string;
  /** `<dir>/<run id>`: the run's files are this with an extension. */
  readonly basePath: string;
  readonly jsonlPath: string;
  readonly jsonPath: string;
  readonly header: RunHeader;
  private readonly points: Point[] = [];
  private readonly lock: RunLock;
  private stream: CheckedAppender | undefined;

  /**
   * Creates `<dir>/<run id>.jsonl` with its header line, holding the run's lock. Refuses a run id
   * whose files exist unless `force` (then they are removed first). With `resumed` (see resume()),
   * appends to the stream resume() read instead.
   */
  constructor(dir: string, header: RunHeader, options: NewRunOptions = {}, resumed?: ResumedStream) {
    this.runId = resumed?.runId ?? header.run.id;
    this.basePath = path.join(dir, this.runId);
    this.jsonlPath = `${this.basePath}.jsonl`;
    this.jsonPath = `${this.basePath}.json`;
    this.header = header;
    if (resumed) {
      this.lock = resumed.lock;
      this.points.push(...resumed.points);
      this.stream = new CheckedAppender(openChecked(this.jsonlPath, 'a'), this.jsonlPath);
      return;
    }
    makeDirectory(dir);
    this.lock = holdingLock(this.basePath, options.warn ?? warnOnStderr, (lock) => {
      clearOldFiles(RUN_FILE_EXTENSIONS.map((extension) => `${this.basePath}${extension}`), options.force ?? false);
      this.stream = new CheckedAppender(openChecked(this.jsonlPath, 'wx'), this.jsonlPath);
      try {
        this.appendLine({ type: 'header', schema: SCHEMA_ID, ...header });
      } catch (error) {
        // A stream without its header is no run: it goes, so the same id can be tried again.
        this.stream.close();
        fs.rmSync(this.jsonlPath, { force: true });
        throw error;
      }
      return lock;
    });
  }

  private appendLine(line: StreamLine): void {
    if (this.stream === undefined) throw new Error(`${this.jsonlPath} is closed: the run has finished`);
    // Validated before it is written: a harness bug must not leave a line the readers reject.
    this.stream.append(`${JSON.stringify(StreamLineSchema.parse(line))}\n`);
  }

  /**
   * Reopens the stream `<dir>/<runId>.jsonl` to append to it, holding the run's lock: a last line cut
   * short when the run was killed is removed first (its point runs again). The run's files are the
   * ones named by `runId`, whatever run id the header records (a copied run stays a copy).
   */
  static resume(dir: string, runId: string, warn: (message: string) => void = warnOnStderr): ResultsWriter {
    const file = path.join(dir, `${runId}.jsonl`);
    if (!fs.existsSync(file)) throw new ResultsFormatError(`no run ${runId} to resume: ${file} does not exist`);
    return holdingLock(path.join(dir, runId), warn, (lock) => {
      const text = readResultsText(file);
      const complete = text.slice(0, text.lastIndexOf('\n') + 1);
      const { results } = parseStream(complete, file);
      fs.truncateSync(file, Buffer.byteLength(complete));
      const header = { run: results.run, env: results.env, dropped: results.dropped };
      return new ResultsWriter(dir, header, {}, new ResumedStream(runId, results.points, lock));
    });
  }

  /** Points written so far (a resumed run's earlier ones first). */
  get written(): readonly Point[] {
    return this.points;
  }

  append(point: Point): void {
    this.appendLine({ type: 'point', point });
    this.points.push(point);
  }

  /** Closes the JSONL and writes the JSON of the whole run; returns what was written. The lock stays until close(). */
  finish(finishedAt: Date): Results {
    this.stream?.close();
    this.stream = undefined;
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

  /** Closes the stream if still open and releases the run's lock: the run's files are no longer being written. */
  close(): void {
    this.stream?.close();
    this.stream = undefined;
    this.lock.release();
  }
}
