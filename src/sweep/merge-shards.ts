// Joining the files of a sharded sweep (shard.ts) into one run. Shards are joined only when they are
// slices of one sweep measured alike: the same device, driver and CUDA/cuBLAS versions, the same git
// commit (and dirtiness), profile, backend and options (all but the shard itself), the same number of
// shards, no shard twice and no point twice. Anything else is refused with what differs. The merged
// run's points are in the unsharded sweep's order; its environment is the first shard's (hosts and
// measured peaks may differ between machines: each point's % of peak was computed on its own).
import { InputError } from '../input-error.js';
import { deviceMismatch } from '../results/device-match.js';
import { parseResults, SCHEMA_ID, type Point, type Results } from '../results/schema.js';
import { recordedShard, shardText, sweepPosition, type Shard } from './shard.js';

/** Shard files that cannot be joined; the message says which and why. */
export class MergeError extends InputError {}

export interface ShardFile {
  file: string;
  results: Results;
}

interface ReadShard extends ShardFile {
  shard: Shard;
}

export interface MergedRun {
  results: Results;
  /** Shard indices (1-based) of the sweep that no file held. */
  missing: number[];
}

const json = (value: unknown): string => JSON.stringify(value) ?? 'undefined';

/** What differs between two shards besides their slice, one `field: a vs b` per difference. */
function shardMismatch(a: ReadShard, b: ReadShard): string[] {
  const differences = deviceMismatch(a.results, b.results);
  const pairs: [string, unknown, unknown][] = [
    ['env.git.commit', a.results.env.git.commit, b.results.env.git.commit],
    ['env.git.dirty', a.results.env.git.dirty, b.results.env.git.dirty],
    ['run.profile', a.results.run.profile, b.results.run.profile],
  ];
  const options = new Set([...Object.keys(a.results.run.options), ...Object.keys(b.results.run.options)]);
  for (const option of [...options].filter((name) => name !== 'shard').sort()) {
    pairs.push([`run.options.${option}`, a.results.run.options[option], b.results.run.options[option]]);
  }
  for (const [field, left, right] of pairs) if (json(left) !== json(right)) differences.push(`${field}: ${json(left)} vs ${json(right)}`);
  if (a.shard.count !== b.shard.count) differences.push(`run.options.shard: ${shardText(a.shard)} vs ${shardText(b.shard)}`);
  return differences;
}

function readShard({ file, results }: ShardFile): ReadShard {
  const shard = recordedShard(results.run.options, file);
  if (shard === undefined) throw new MergeError(`${file}: not a shard (run.options.shard is absent: shards come from bench --shard K/N)`);
  return { file, results, shard };
}

/** A point's identity in a sweep: its key, and its pass when the run repeats its sweep. */
const sweepKey = (point: Point): string => (point.repeat === undefined ? point.key : `${point.key} (repeat ${point.repeat})`);

function refuseOverlaps(shards: readonly ReadShard[]): void {
  const holder = new Map<string, string>();
  for (const { file, results } of shards) {
    const overlapping = results.points.map(sweepKey).filter((key) => holder.has(key));
    if (overlapping.length > 0) {
      const more = overlapping.length > 1 ? ` (and ${overlapping.length - 1} more)` : '';
      throw new MergeError(`${holder.get(overlapping[0])} and ${file} both hold point ${overlapping[0]}${more}`);
    }
    for (const point of results.points) holder.set(sweepKey(point), file);
  }
}

/** The shards' points in the order of the unsharded sweep: by pass, then by position in the sweep. */
function sweepOrder(shards: readonly ReadShard[]): Point[] {
  const placed = shards.flatMap(({ shard, results }) => {
    const seen = new Map<number, number>();
    return results.points.map((point) => {
      const pass = point.repeat ?? 0;
      const j = seen.get(pass) ?? 0;
      seen.set(pass, j + 1);
      return { point, pass, position: sweepPosition(shard, j) };
    });
  });
  return placed.sort((a, b) => a.pass - b.pass || a.position - b.position).map(({ point }) => point);
}

function mergedRunInfo(shards: readonly ReadShard[], id: string, command: string): Results['run'] {
  const first = shards[0].results.run;
  const started = Math.min(...shards.map(({ results }) => Date.parse(results.run.started_at)));
  const finishes = shards.map(({ results }) => results.run.finished_at);
  const finished = finishes.includes(null) ? null : Math.max(...finishes.map((at) => Date.parse(at as string)));
  const { shard: _shard, ...options } = first.options;
  const merged = shards.map(({ shard, results }) => ({ index: shard.index, run_id: results.run.id, host: results.env.host.cpu }));
  return {
    ...first,
    id,
    started_at: new Date(started).toISOString(),
    finished_at: finished === null ? null : new Date(finished).toISOString(),
    wall_s: finished === null ? null : (finished - started) / 1000,
    command,
    options: { ...options, merged_shards: { count: shards[0].shard.count, shards: merged } },
  };
}

/** Joins shard files into one run named `id`; refuses (MergeError) shards that are not one sweep's. */
export function mergeShards(files: readonly ShardFile[], id: string, command: string): MergedRun {
  if (files.length === 0) throw new MergeError('no shard files to merge');
  const shards = files.map(readShard).sort((a, b) => a.shard.index - b.shard.index);
  for (const shard of shards.slice(1)) {
    const differences = shardMismatch(shards[0], shard);
    if (differences.length > 0) throw new MergeError(`${shards[0].file} and ${shard.file} differ: ${differences.join('; ')}`);
  }
  shards.slice(1).forEach((shard, i) => {
    if (shard.shard.index === shards[i].shard.index) {
      throw new MergeError(`${shards[i].file} and ${shard.file} are both shard ${shardText(shard.shard)}`);
    }
  });
  refuseOverlaps(shards);
  const { env, dropped } = shards[0].results;
  const results = parseResults({
    schema: SCHEMA_ID, run: mergedRunInfo(shards, id, command), env, points: sweepOrder(shards), dropped,
  }, `merged run ${id}`);
  const present = new Set(shards.map(({ shard }) => shard.index));
  const missing = Array.from({ length: shards[0].shard.count }, (_, i) => i + 1).filter((index) => !present.has(index));
  return { results, missing };
}
