// The lock that makes one process the only writer of a run's files: `<out>/<run-id>.lock`, created
// exclusively (O_EXCL) and holding its holder's pid, host and start time. A second bench or resume of
// the run is refused while the holder lives; a lock left by a process that died on this host (kill -9,
// a crash) is stale and taken over with a warning. A lock from another host (a shared folder) is never
// judged stale: its holder's life cannot be checked from here.
import fs from 'node:fs';
import os from 'node:os';
import { fileError, FileWriteError, writeAll } from './files.js';

interface LockHolder {
  pid: number;
  host: string;
  started_at: string;
}

/** Whether process `pid` exists on this host (EPERM: it exists, owned by someone else). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock file's text; '' when it cannot be read (gone meanwhile). */
function lockText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The holder a lock's text names, or null when it names none (its holder died while writing it). */
function parseHolder(text: string): LockHolder | null {
  try {
    const holder = JSON.parse(text) as Partial<LockHolder>;
    if (Number.isInteger(holder.pid) && typeof holder.host === 'string' && typeof holder.started_at === 'string') return holder as LockHolder;
  } catch {
    // Not JSON: cut short.
  }
  return null;
}

export class RunLock {
  private constructor(readonly file: string, private readonly text: string) {}

  /**
   * Takes `<basePath>.lock` for this process. Throws a FileWriteError naming the holder when another
   * live process holds it; takes over (calling `warn`) a lock whose holder died on this host.
   */
  static acquire(basePath: string, warn: (message: string) => void): RunLock {
    const file = `${basePath}.lock`;
    const text = `${JSON.stringify({ pid: process.pid, host: os.hostname(), started_at: new Date().toISOString() } satisfies LockHolder)}\n`;
    if (RunLock.create(file, text)) return new RunLock(file, text);
    const seen = lockText(file);
    const holder = parseHolder(seen);
    if (holder !== null && (holder.host !== os.hostname() || processAlive(holder.pid))) {
      throw new FileWriteError(`${file}: the run is in use by pid ${holder.pid} on ${holder.host} since ${holder.started_at} ` +
        '(one writer per run; delete the lock only if that process is gone)');
    }
    // Stale: read again just before removing it, so that a lock another process took over meanwhile stays.
    if (lockText(file) !== seen) return RunLock.acquire(basePath, warn);
    fs.rmSync(file, { force: true });
    if (!RunLock.create(file, text)) throw new FileWriteError(`${file}: another process took the run's lock at the same time`);
    warn(holder === null
      ? `${file}: took over an unreadable lock (its holder died while writing it)`
      : `${file}: took over the lock of pid ${holder.pid}, which is no longer running (the run was killed)`);
    return new RunLock(file, text);
  }

  /** Creates the lock file exclusively with `text`; false when it exists. */
  private static create(file: string, text: string): boolean {
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw fileError(file, 'create', error);
    }
    try {
      writeAll(fd, Buffer.from(text), file);
    } catch (error) {
      fs.closeSync(fd);
      fs.rmSync(file, { force: true });
      throw error;
    }
    fs.closeSync(fd);
    return true;
  }

  /** Removes the lock, if it is still this process's. */
  release(): void {
    if (lockText(this.file) === this.text) fs.rmSync(this.file, { force: true });
  }
}
