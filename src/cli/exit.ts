// The exit codes of every command (bench, tune, gate, dashboard) and how a command reports bad input:
// one line on stderr, `<command>: <message>`, exit 2, never a stack trace. Bad input is an InputError
// (src/input-error.ts: flags, profiles, results files, GEMM caches, runs the gate refuses, files that
// cannot be written), a flag node:util's parseArgs rejects, or a file system error (a path the user
// named that cannot be read or written: it carries the path and the call).
import { InputError } from '../input-error.js';
import { fileError } from '../results/files.js';

export const EXIT = {
  /** Everything asked for ran: every point ok and correct (bench, tune); no regression (gate). */
  ok: 0,
  /** A point failed or is incorrect (bench, tune); a regression (gate). */
  failed: 1,
  /** Input that cannot be used: a flag, a profile, a results or cache file. */
  badInput: 2,
  /** Ctrl-C (SIGINT) during a sweep: the run's files are written and `--resume` finishes it. */
  interrupted: 130,
  /** SIGTERM during a sweep (128 + 15), handled as an interrupt: files written, `--resume` finishes it. */
  terminated: 143,
  /** SIGHUP during a sweep (128 + 1: the terminal went away), handled as SIGTERM. */
  hangup: 129,
} as const;

/** A command line that cannot be run; the message is the whole explanation. */
export class UsageError extends InputError {}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** A Node file system error (it names its call and, for a path, the path). */
function isFileSystemError(error: unknown): error is NodeJS.ErrnoException & { syscall: string } {
  const { code, syscall } = (error ?? {}) as NodeJS.ErrnoException;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) && typeof syscall === 'string';
}

/** Whether `error` is the user's input rather than a bug. */
export const isBadInput = (error: unknown): error is Error =>
  error instanceof InputError || isParseArgsError(error) || isFileSystemError(error);

/** Prints bad input as `<command>: <message>` and returns EXIT.badInput; rethrows anything else. */
export function reportBadInput(command: string, error: unknown): number {
  if (!isBadInput(error)) throw error;
  const message = isFileSystemError(error) ? fileError(error.path ?? '(no path)', error.syscall, error).message : error.message;
  console.error(`${command}: ${message}`);
  return EXIT.badInput;
}
