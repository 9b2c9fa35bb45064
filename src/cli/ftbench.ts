#!/usr/bin/env node
// `ftbench <command> [options]`: the package's one command (its `bin`, and what the npm scripts run).
// It picks the command and hands it the rest of the line: bench and tune (main.ts), gate (gate.ts),
// dashboard (dashboards/cli.ts), history (history.ts), merge (merge.ts). Each command parses its own flags and has its own --help; this
// module only names them, so a new command is one more row of COMMANDS.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { main as dashboardMain } from '../../dashboards/cli.js';
import { EXIT } from './exit.js';
import { main as gateMain } from './gate.js';
import { main as historyMain } from './history.js';
import { main as benchMain } from './main.js';
import { main as mergeMain } from './merge.js';

interface Command {
  summary: string;
  run(args: readonly string[]): number | Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  bench: { summary: "run a profile's sweep (or the GEMM suite) and write the run's results files", run: (args) => benchMain(['bench', ...args]) },
  tune: { summary: "tune the GEMM shapes of a profile's points into the tuning cache (cuda)", run: (args) => benchMain(['tune', ...args]) },
  gate: { summary: 'compare a run with a baseline and fail on a regression; --promote a run to baseline', run: gateMain },
  dashboard: { summary: 'write one self-contained HTML dashboard of a run (optionally compared with a baseline)', run: (args) => dashboardMain([...args]) },
  history: { summary: "read every run under a folder: each point's trend across commits, step changes, a page and markdown", run: historyMain },
  merge: { summary: "join the shard files of one sweep (bench --shard K/N) into one run", run: mergeMain },
};

export const OVERVIEW = `usage: ftbench <command> [options]     (ftbench <command> --help: the command's options)

${Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(10)} ${command.summary}`).join('\n')}

exit: 0 ok, 1 a point failed or is incorrect / a regression, 2 bad input, 130 interrupted`;

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(OVERVIEW);
    return EXIT.ok;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    console.error(`ftbench: unknown command ${name} (commands: ${Object.keys(COMMANDS).join(', ')}; see ftbench --help)`);
    return EXIT.badInput;
  }
  return command.run(args);
}

if (process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
