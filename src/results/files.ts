// Checked file writes for every file the harness writes (results, reports, GEMM caches): each write
// loops until all its bytes are down (fs.writeSync may write fewer than asked, and a full disk says so
// only through that count or ENOSPC), is fsynced, and a whole file goes through a temporary file
// that is renamed into place, or removed when anything fails, so a file is either the old one, the
// new one complete, or absent. Failures are FileWriteErrors naming the path (one line, exit 2).
import fs from 'node:fs';
import path from 'node:path';
import { InputError } from '../input-error.js';

/** A file or folder that cannot be written; the message names it and says why. */
export class FileWriteError extends InputError {}

/** `<file>: cannot <action> (<reason>)`, from a Node system error or any other. */
export function fileError(file: string, action: string, error: unknown): FileWriteError {
  const { code, message } = error as NodeJS.ErrnoException;
  // Node's message repeats the code and ends with the call and its paths: "ENOENT: no such file or directory, open '/x'".
  const reason = code ? `${code}: ${message.replace(/^\w+: /, '').replace(/, \w+( '.*')?$/, '')}` : String(message ?? error);
  return new FileWriteError(`${file}: cannot ${action} (${reason})`);
}

/**
 * Creates `dir` and its missing parents. Not fs.mkdirSync's recursive mode: under /proc it spins
 * forever on ENOENT (Node 20); here each level is tried once.
 */
export function makeDirectory(dir: string): void {
  try {
    fs.mkdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && fs.statSync(dir).isDirectory()) return;
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw fileError(dir, 'create the folder', error);
    makeDirectory(parent);
    try {
      fs.mkdirSync(dir);
    } catch (retry) {
      if (!((retry as NodeJS.ErrnoException).code === 'EEXIST' && fs.statSync(dir).isDirectory())) throw fileError(dir, 'create the folder', retry);
    }
  }
}

/**
 * Makes way for a new set of files: refuses (naming them) any of `files` that exist, unless `force`,
 * then they are removed (so no file of the old set outlives it beside the new one).
 */
export function clearOldFiles(files: readonly string[], force: boolean): void {
  const existing = files.filter((file) => fs.existsSync(file));
  if (existing.length === 0) return;
  if (!force) {
    throw new FileWriteError(`${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}: ` +
      'choose another --run-id or --out, or pass --force to replace them');
  }
  for (const file of existing) fs.rmSync(file, { force: true });
}

/**
 * Writes every byte of `data`, looping on short writes, at `position` in the file (else at the fd's
 * own position); a write of 0 bytes is a full disk.
 */
export function writeAll(fd: number, data: Buffer, file: string, position?: number): void {
  let offset = 0;
  while (offset < data.length) {
    let written: number;
    try {
      written = fs.writeSync(fd, data, offset, data.length - offset, position === undefined ? null : position + offset);
    } catch (error) {
      throw fileError(file, 'write', error);
    }
    if (written <= 0) throw new FileWriteError(`${file}: cannot write (ENOSPC: no space left on device, ${offset} of ${data.length} bytes written)`);
    offset += written;
  }
}

/** fsync, as a FileWriteError naming `file`. */
function syncFile(fd: number, file: string): void {
  try {
    fs.fsyncSync(fd);
  } catch (error) {
    throw fileError(file, 'fsync', error);
  }
}

/** Writes `text` (or bytes) to `file` through a temporary file in the same folder and a rename; the temporary is removed on failure. */
export function writeFileAtomic(file: string, text: string | Uint8Array): void {
  const temporary = `${file}.${process.pid}.tmp`;
  let fd: number;
  try {
    fd = fs.openSync(temporary, 'w');
  } catch (error) {
    throw fileError(temporary, 'create', error);
  }
  try {
    try {
      writeAll(fd, typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text.buffer, text.byteOffset, text.byteLength), temporary);
      syncFile(fd, temporary);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error instanceof FileWriteError ? error : fileError(file, 'write', error);
  }
}

/** An append-only file whose every append is whole or absent: a failed append is cut off again. */
export class CheckedAppender {
  private size: number;

  constructor(private readonly fd: number, readonly file: string) {
    this.size = fs.fstatSync(fd).size;
  }

  /**
   * Appends `text` and fsyncs it; on failure truncates the file back to what it held and throws.
   * Written at explicit positions: after a cut, the next append starts where the last whole one ended.
   */
  append(text: string): void {
    const data = Buffer.from(text);
    try {
      writeAll(this.fd, data, this.file, this.size);
      syncFile(this.fd, this.file);
    } catch (error) {
      fs.ftruncateSync(this.fd, this.size);
      throw error;
    }
    this.size += data.length;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
