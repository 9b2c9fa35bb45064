// Sweeps larger than one machine: `--shard K/N` runs the K-th of N deterministic slices of a
// profile's points, so that N machines (a Slurm job array, a Kubernetes indexed Job, a CI matrix)
// each run one and `ftbench merge` joins their files into one run (merge-shards.ts). Point i of the
// expansion (0-based, in the profile's own order) belongs to shard i mod N + 1: the slices are
// stable for a given profile and options, cover every point exactly once, and interleave the sweep
// so that each shard gets a like mix of small and large points. The shard is recorded in
// run.options.shard as { index: K, count: N }.
import { ConfigError } from '../engine/config.js';

export interface Shard {
  /** 1-based: 1..count. */
  index: number;
  count: number;
}

export const shardText = (shard: Shard): string => `${shard.index}/${shard.count}`;

/** The most shards a sweep may be cut into (more would be a typo rather than a cluster). */
const MAX_SHARDS = 100_000;

/** "2/8" -> { index: 2, count: 8 }; anything else is a ConfigError naming --shard. */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = match ? Number(match[1]) : NaN;
  const count = match ? Number(match[2]) : NaN;
  if (!(count >= 1 && count <= MAX_SHARDS && index >= 1 && index <= count)) {
    throw new ConfigError('shard', `--shard must be K/N with 1 <= K <= N <= ${MAX_SHARDS} (e.g. 2/8), got ${text}`);
  }
  return { index, count };
}

/** The points of `shard`: point i (0-based) when i mod count = index - 1, in their order. */
export function shardPoints<T>(points: readonly T[], shard: Shard): T[] {
  return points.filter((_, i) => i % shard.count === shard.index - 1);
}

/** The position in the whole sweep of the `j`-th point of `shard` (inverse of shardPoints). */
export const sweepPosition = (shard: Shard, j: number): number => j * shard.count + shard.index - 1;

/** run.options.shard of a run, checked: undefined when the run is not a shard; `file` names the run in errors. */
export function recordedShard(options: Record<string, unknown>, file?: string): Shard | undefined {
  const recorded = options.shard as { index?: unknown; count?: unknown } | undefined;
  if (recorded === undefined) return undefined;
  const { index, count } = recorded ?? {};
  if (!(Number.isInteger(index) && Number.isInteger(count) && (count as number) >= 1 && (index as number) >= 1 && (index as number) <= (count as number))) {
    throw new ConfigError('shard', `${file ? `${file}: ` : ''}run.options.shard must be { index: K, count: N } with 1 <= K <= N, got ${JSON.stringify(recorded)}`);
  }
  return { index: index as number, count: count as number };
}
