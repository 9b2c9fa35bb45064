// The GEMM tuning cache: results/gemm/<gpu>-cuda<ver>-cublas<ver>.json, written by `npm run tune`
// (src/cli/tune.ts) and handed to the engine, which looks each GEMM it plans up in it. An entry is keyed
// by (batch count, m, n, k, transposes, data/compute type, epilogue) and holds the winner's whole
// cuBLASLt configuration, its time, the heuristic's time and what tuning tried and rejected.
// A cache made on another GPU or with other CUDA / cuBLAS versions is ignored with a warning; a
// malformed one is an error naming the file and field.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { makeDirectory, writeFileAtomic } from '../results/files.js';
import { GemmEntrySchema, type GemmEntry, type GemmShape } from '../engine/gemm-types.js';
import { InputError } from '../input-error.js';

export const GEMM_CACHE_SCHEMA = 'ftbench/gemm-cache@1';
export const DEFAULT_GEMM_CACHE_DIR = 'results/gemm';

export const CacheDeviceSchema = z.object({
  gpu: z.string().min(1), compute_capability: z.string(), cuda_runtime: z.string().min(1), cublas: z.string().min(1),
});
export const GemmCacheSchema = z.object({
  schema: z.literal(GEMM_CACHE_SCHEMA),
  device: CacheDeviceSchema,
  entries: z.array(GemmEntrySchema),
});

export type CacheDevice = z.infer<typeof CacheDeviceSchema>;
export type GemmCache = z.infer<typeof GemmCacheSchema>;

/** A cache file that cannot be used as one; the message names the file and the field. */
export class GemmCacheError extends InputError {}

/** The key of a shape: "<batch>x<m>x<n>x<k> <NN|NT|TN|TT> <dtype> <epilogue>". */
export function gemmKey(shape: GemmShape): string {
  const transposes = `${shape.trans_a ? 'T' : 'N'}${shape.trans_b ? 'T' : 'N'}`;
  return `${shape.batch_count}x${shape.m}x${shape.n}x${shape.k} ${transposes} ${shape.dtype} ${shape.epilogue}`;
}

/** What a cache is valid for, from a run's device fields (the addon's deviceInfo). */
export function cacheDevice(device: Readonly<Record<string, string>>): CacheDevice {
  const field = (name: string) => {
    const value = device[name];
    if (!value) throw new GemmCacheError(`the device has no ${name}: GEMM tuning needs the cuda backend`);
    return value;
  };
  return { gpu: field('name'), compute_capability: field('compute_capability'), cuda_runtime: field('cuda_runtime'), cublas: field('cublas') };
}

/** "nvidia-h100-80gb-hbm3-cuda13.0-cublas13.1.0.json" */
export function cacheFileName(device: CacheDevice): string {
  const slug = device.gpu.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  const cublas = device.cublas.replace(/^[^0-9]*/, '');
  return `${slug}-cuda${device.cuda_runtime}-cublas${cublas}.json`;
}

/** Why a cache made on `made` does not apply to `here`, or undefined when it does. */
export function deviceMismatch(made: CacheDevice, here: CacheDevice): string | undefined {
  const differing = (Object.keys(here) as (keyof CacheDevice)[]).filter((field) => made[field] !== here[field]);
  if (differing.length === 0) return undefined;
  return differing.map((field) => `${field} ${made[field]} (here ${here[field]})`).join(', ');
}

/** Reads and validates a cache file; GemmCacheError names the file and the first bad field. */
export function readGemmCache(file: string): GemmCache {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new GemmCacheError(`${file}: not a readable JSON file (${(error as Error).message})`);
  }
  const parsed = GemmCacheSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new GemmCacheError(`${file}: invalid GEMM cache: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const firstOfKey = new Map<string, number>();
  for (const [i, entry] of parsed.data.entries.entries()) {
    const invalid = (field: string, why: string) => new GemmCacheError(`${file}: invalid GEMM cache: entries.${i}.${field}: ${why}`);
    if (entry.key !== gemmKey(entry.shape)) throw invalid('key', `"${entry.key}" is not the key of its shape ("${gemmKey(entry.shape)}")`);
    // A GEMM with an empty dimension does nothing: no engine plans one, so such an entry is no tuning result.
    const empty = (['m', 'n', 'k', 'batch_count'] as const).find((dimension) => entry.shape[dimension] === 0);
    if (empty) throw invalid(`shape.${empty}`, `0 in "${entry.key}" (a GEMM dimension must be at least 1)`);
    // Two entries of one key: the engine would use one of them, silently; which one was meant is unknown.
    const first = firstOfKey.get(entry.key);
    if (first !== undefined) throw invalid('key', `"${entry.key}" again (entries.${first} has it too)`);
    firstOfKey.set(entry.key, i);
  }
  return parsed.data;
}

/** `kept` with `added` merged in: an added entry replaces a kept one of the same key; sorted by key. */
export function mergeEntries(kept: readonly GemmEntry[], added: readonly GemmEntry[]): GemmEntry[] {
  const byKey = new Map(kept.map((entry) => [entry.key, entry]));
  for (const entry of added) byKey.set(entry.key, entry);
  return [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key));
}

export function writeGemmCache(file: string, device: CacheDevice, entries: readonly GemmEntry[]): void {
  makeDirectory(path.dirname(file));
  const cache: GemmCache = { schema: GEMM_CACHE_SCHEMA, device, entries: [...entries] };
  writeFileAtomic(file, `${JSON.stringify(cache, null, 1)}\n`);
}

export interface LoadedCache {
  /** The device and versions the run is on (what a cache written back is keyed by). */
  device: CacheDevice;
  /** The file for this device (where tuning writes), whether or not it exists yet; never another device's. */
  file: string;
  /** Its entries when it exists and applies here, else none. */
  entries: GemmEntry[];
  /** What the run should say about it (never silent): a cache ignored, or none found. */
  warnings: string[];
}

/**
 * The cache for `device`: `file` when given (it must exist), else `<dir>/<cacheFileName>`. A cache of
 * another GPU or version is ignored with a warning, and so are other devices' caches in `dir`.
 */
export function loadGemmCache(device: CacheDevice, options: { file?: string; dir?: string } = {}): LoadedCache {
  const dir = options.dir ?? DEFAULT_GEMM_CACHE_DIR;
  const file = options.file ?? path.join(dir, cacheFileName(device));
  if (!fs.existsSync(file)) {
    if (options.file !== undefined) throw new GemmCacheError(`${file}: no such GEMM cache`);
    const others = fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.endsWith('.json')) : [];
    const warnings = others.map((name) => `${path.join(dir, name)} is not for this device and versions: ignored`);
    return { device, file, entries: [], warnings: [...warnings, `no GEMM tuning cache ${file}: every GEMM runs cuBLASLt's heuristic (npm run tune makes one)`] };
  }
  const cache = readGemmCache(file);
  const mismatch = deviceMismatch(cache.device, device);
  if (mismatch) {
    const own = path.join(path.dirname(file), cacheFileName(device));
    return { device, file: own, entries: [], warnings: [`${file} was tuned for another device or version (${mismatch}): ignored`] };
  }
  return { device, file, entries: cache.entries, warnings: [] };
}
