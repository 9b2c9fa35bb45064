// The base of every error that means "this input cannot be used": a flag, a profile name, a results
// file, a GEMM cache, a pair of runs the gate refuses. Every command prints its message as one line on
// stderr and exits 2 (src/cli/exit.ts); anything else that escapes is a bug and keeps its stack trace.
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
