// The history's embedded store: SQLite (sql.js, SQLite compiled to WebAssembly, shipped inside its npm
// package) in one cache file. It is never the only copy of anything: every row comes from a results
// file under the folder, read through the one results reader, so deleting the cache only costs a
// rebuild. sync() brings it up to date incrementally: a file whose size and mtime are unchanged is
// not opened; one whose bytes hash as before (a touch, a fresh checkout) is not parsed again; a new
// or changed file replaces its rows; a file that is gone takes its rows with it.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import initSqlJs, { type Database, type SqlValue } from 'sql.js';
import { pointLabel } from '../engine/config.js';
import { parseResultsFile } from '../results/reader.js';
import type { Point, Results } from '../results/schema.js';
import { writeFileAtomic } from '../results/files.js';
import { resultsCandidates } from './scan.js';

/** Bumped whenever the tables change: a cache of another version is rebuilt from the files. */
const STORE_VERSION = '1';

const TABLES = `
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files (file TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ms REAL NOT NULL, sha256 TEXT NOT NULL,
  is_run INTEGER NOT NULL, problem TEXT);
CREATE TABLE runs (file TEXT PRIMARY KEY, id TEXT NOT NULL, started_at TEXT NOT NULL, git_commit TEXT, dirty INTEGER,
  device TEXT NOT NULL, profile TEXT NOT NULL, backend TEXT NOT NULL);
CREATE TABLE points (file TEXT NOT NULL, position INTEGER NOT NULL, key TEXT NOT NULL, label TEXT NOT NULL,
  path TEXT NOT NULL, precision TEXT NOT NULL, samples TEXT NOT NULL);
`;

/** What a sync did, file by file (paths relative to the folder). */
export interface SyncReport {
  /** Parsed through the results reader (new or changed). */
  read: string[];
  /** Opened and hashed, found unchanged, not parsed again. */
  rehashed: string[];
  /** Not opened: size and mtime as stored. */
  unchanged: number;
  removed: string[];
}

export interface StoredRun {
  file: string;
  id: string;
  startedAt: string;
  commit: string | null;
  dirty: boolean | null;
  device: string;
  profile: string;
  backend: string;
}

export interface StoredPoint {
  file: string;
  key: string;
  label: string;
  path: string;
  precision: string;
  samples: number[];
}

/** A file under the folder that could not be used, and why (it is kept out of the history). */
export interface FileProblem {
  file: string;
  problem: string;
}

/** The times a point contributes: its samples, or its median when a run kept no samples. */
function timesOf(point: Point): number[] {
  if (point.status !== 'ok' || point.summary === null) return [];
  return point.samples_ms.length > 0 ? point.samples_ms : [point.summary.gpu_ms_median];
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

export class HistoryStore {
  private constructor(private readonly db: Database, readonly cacheFile: string) {}

  /** Opens the cache at `cacheFile`, or starts an empty one when it is absent, unreadable or of another version. */
  static async open(cacheFile: string): Promise<HistoryStore> {
    const SQL = await initSqlJs();
    let db: Database | undefined;
    if (fs.existsSync(cacheFile)) {
      try {
        db = new SQL.Database(fs.readFileSync(cacheFile));
        const version = db.exec("SELECT value FROM meta WHERE name = 'version'")[0]?.values[0]?.[0];
        if (version !== STORE_VERSION) db = undefined;
      } catch {
        // Not a database of ours (or a damaged one): it is only a cache, so start again.
        db = undefined;
      }
    }
    if (db === undefined) {
      db = new SQL.Database();
      db.exec(TABLES);
      db.run("INSERT INTO meta VALUES ('version', ?)", [STORE_VERSION]);
    }
    return new HistoryStore(db, cacheFile);
  }

  private rows(sql: string, params: SqlValue[] = []): SqlValue[][] {
    return this.db.exec(sql, params)[0]?.values ?? [];
  }

  /** Brings the store up to date with the results files under `dir`. */
  sync(dir: string): SyncReport {
    const report: SyncReport = { read: [], rehashed: [], unchanged: 0, removed: [] };
    const stored = new Map(this.rows('SELECT file, size, mtime_ms, sha256 FROM files')
      .map(([file, size, mtime, hash]) => [String(file), { size: Number(size), mtime: Number(mtime), hash: String(hash) }]));
    const present = resultsCandidates(dir);
    this.db.exec('BEGIN');
    for (const file of present) {
      const stat = fs.statSync(path.join(dir, file));
      const known = stored.get(file);
      if (known && known.size === stat.size && known.mtime === stat.mtimeMs) {
        report.unchanged += 1;
        continue;
      }
      const bytes = fs.readFileSync(path.join(dir, file));
      const hash = sha256(bytes);
      if (known && known.hash === hash) {
        this.db.run('UPDATE files SET size = ?, mtime_ms = ? WHERE file = ?', [stat.size, stat.mtimeMs, file]);
        report.rehashed.push(file);
        continue;
      }
      this.forget(file);
      this.ingest(dir, file, bytes.toString('utf8'), { size: stat.size, mtime: stat.mtimeMs, hash });
      report.read.push(file);
    }
    const kept = new Set(present);
    for (const file of stored.keys()) {
      if (!kept.has(file)) {
        this.forget(file);
        report.removed.push(file);
      }
    }
    this.db.exec('COMMIT');
    return report;
  }

  private forget(file: string): void {
    for (const table of ['files', 'runs', 'points']) this.db.run(`DELETE FROM ${table} WHERE file = ?`, [file]);
  }

  /** Reads one file through the results reader into the tables; a file it refuses is recorded as a problem. */
  private ingest(dir: string, file: string, text: string, stamp: { size: number; mtime: number; hash: string }): void {
    let results: Results | undefined;
    let problem: string | null = null;
    try {
      results = parseResultsFile(text, path.join(dir, file))?.results;
    } catch (error) {
      problem = (error as Error).message;
    }
    this.db.run('INSERT INTO files VALUES (?, ?, ?, ?, ?, ?)', [file, stamp.size, stamp.mtime, stamp.hash, results ? 1 : 0, problem]);
    if (results) this.insertRun(file, results);
  }

  private insertRun(file: string, { run, env, points }: Results): void {
    const dirty = env.git.dirty === null ? null : Number(env.git.dirty);
    this.db.run('INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
      file, run.id, run.started_at, env.git.commit, dirty, env.device.name ?? run.backend, run.profile, run.backend,
    ]);
    const insert = this.db.prepare('INSERT INTO points VALUES (?, ?, ?, ?, ?, ?, ?)');
    points.forEach((point, position) => {
      const times = timesOf(point);
      if (times.length === 0) return;
      const { config } = point;
      insert.run([file, position, point.key, pointLabel(config), config.path, config.precision, JSON.stringify(times)]);
    });
    insert.free();
  }

  runs(): StoredRun[] {
    return this.rows('SELECT file, id, started_at, git_commit, dirty, device, profile, backend FROM runs ORDER BY started_at, file')
      .map(([file, id, startedAt, commit, dirty, device, profile, backend]) => ({
        file: String(file), id: String(id), startedAt: String(startedAt), commit: commit === null ? null : String(commit),
        dirty: dirty === null ? null : dirty === 1, device: String(device), profile: String(profile), backend: String(backend),
      }));
  }

  points(): StoredPoint[] {
    return this.rows('SELECT file, key, label, path, precision, samples FROM points ORDER BY file, position')
      .map(([file, key, label, pathName, precision, samples]) => ({
        file: String(file), key: String(key), label: String(label), path: String(pathName), precision: String(precision),
        samples: JSON.parse(String(samples)) as number[],
      }));
  }

  problems(): FileProblem[] {
    return this.rows('SELECT file, problem FROM files WHERE problem IS NOT NULL ORDER BY file')
      .map(([file, problem]) => ({ file: String(file), problem: String(problem) }));
  }

  /** Writes the cache file (atomically: a cache cut short would only be rebuilt, but need not be). */
  save(): void {
    fs.mkdirSync(path.dirname(this.cacheFile), { recursive: true });
    writeFileAtomic(this.cacheFile, Buffer.from(this.db.export()));
  }

  close(): void {
    this.db.close();
  }
}
