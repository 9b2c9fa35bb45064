#!/usr/bin/env node
// `ftbench merge <out.json> <shard files...>` (npm run merge -- ...): joins the files of a sweep run
// in shards (bench --shard K/N, on as many machines) into one run, written as bench writes one (the
// JSON and the reporters' CSVs beside it), after checking that the shards are slices of one sweep
// measured alike (src/sweep/merge-shards.ts). Exit 0 written, 2 unusable input or shards refused.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { writeRunReports } from '../../reporters/run-files.js';
import { readResults } from '../results/reader.js';
import { renderResultsJson, writeFileAtomic } from '../results/writer.js';
import { mergeShards } from '../sweep/merge-shards.js';
import { EXIT, reportBadInput, UsageError } from './exit.js';

const USAGE = `usage: ftbench merge <out.json> <shard.json|shard.jsonl>...   (or: npm run merge -- ...)
Joins the files of one sweep run in shards (bench --shard K/N) into one run <out.json>, with its id
from the file name and its points in the unsharded sweep's order, and writes its CSVs beside it.
Refuses shards measured differently (device, driver, CUDA/cuBLAS versions, git commit, profile,
options other than the shard) and shards holding the same point, saying what differs; warns of
shards missing from the sweep.
exit: 0 written, 2 unusable input or shards that cannot be joined`;

export function main(argv: readonly string[]): number {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv], options: { help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true,
    });
    if (values.help) {
      console.log(USAGE);
      return EXIT.ok;
    }
    const [out, ...files] = positionals;
    if (out === undefined || files.length === 0) throw new UsageError('expected <out.json> and at least one shard file (see --help)');
    if (!out.endsWith('.json') || files.includes(out)) throw new UsageError(`${out}: the merged run's file must be a new <run-id>.json`);
    if (fs.existsSync(out)) throw new UsageError(`${out} already exists: merge writes a new run`);
    const shards = files.map((file) => {
      const { results, warnings } = readResults(file);
      for (const warning of warnings) console.error(`merge: warning: ${warning}`);
      return { file, results };
    });
    const { results, missing } = mergeShards(shards, path.basename(out, '.json'), `ftbench merge ${[out, ...files].join(' ')}`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    writeFileAtomic(out, renderResultsJson(results));
    const reports = writeRunReports(out.slice(0, -'.json'.length), results);
    const count = (results.run.options.merged_shards as { count: number }).count;
    if (missing.length > 0) console.error(`merge: warning: shard(s) ${missing.map((index) => `${index}/${count}`).join(', ')} missing: their points are not in the run`);
    console.log(`merge: ${results.points.length} points from ${shards.length} of ${count} shards; wrote ${[out, ...reports].join(', ')}`);
    return EXIT.ok;
  } catch (error) {
    return reportBadInput('merge', error);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
