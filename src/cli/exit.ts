// The exit codes of every command (bench, tune, gate, dashboard) and how a command reports bad input:
// one line on stderr, `<command>: <message>`, exit 2, never a stack trace. Bad input is an InputError
// (src/input-error.ts: flags, profiles, results files, GEMM caches, runs the gate refuses) or a flag
// node:util's parseArgs rejects.
import { InputError } from '../input-error.js';

export const EXIT = {
  /** Everything asked for ran: every point ok and correct (bench, tune); no regression (gate). */
  ok: 0,
  /** A point failed or is incorrect (bench, tune); a regression (gate). */
  failed: 1,
  /** Input that cannot be used: a flag, a profile, a results or cache file. */
  badInput: 2,
  /** Ctrl-C during a sweep: the run's files are written and `--resume` finishes it. */
  interrupted: 130,
} as const;

/** A command line that cannot be run; the message is the whole explanation. */
export class UsageError extends InputError {}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** Whether `error` is the user's input rather than a bug. */
export const isBadInput = (error: unknown): error is Error => error instanceof InputError || isParseArgsError(error);

/** Prints bad input as `<command>: <message>` and returns EXIT.badInput; rethrows anything else. */
export function reportBadInput(command: string, error: unknown): number {
  if (!isBadInput(error)) throw error;
  console.error(`${command}: ${error.message}`);
  return EXIT.badInput;
}
