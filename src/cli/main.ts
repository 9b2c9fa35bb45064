#!/usr/bin/env node
// `ftbench bench` and `ftbench tune` (reached through src/cli/ftbench.ts): parses the command line and runs its command: bench (a
// profile's sweep, or --suite gemm) or tune. Exit codes are those of every command (src/cli/exit.ts):
// 0 every point ok and correct, 1 a point failed or is incorrect, 2 bad input (one line on stderr
// naming the field), 130 interrupted.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseBenchArgs } from './args.js';
import { bench } from './bench.js';
import { EXIT, reportBadInput } from './exit.js';
import { gemmSuiteRun } from './gemm-suite.js';
import { tune } from './tune.js';
import { USAGE } from './usage.js';

export async function main(args: readonly string[]): Promise<number> {
  try {
    const request = parseBenchArgs(args);
    if (request === undefined) {
      console.log(USAGE);
      return EXIT.ok;
    }
    if (request.command === 'tune') return tune(request);
    return request.suite === 'gemm' ? await gemmSuiteRun(request) : await bench(request);
  } catch (error) {
    return reportBadInput('ftbench', error);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
