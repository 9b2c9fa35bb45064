// Sweep expansion: a profile's sweeps (with CLI overrides) become the list of points to run.
// Combinations that make no sense, or that the backend cannot run, are dropped with a reason and
// never run; every point produced passes validateConfig. Peer variants (--peers) are dropped the
// same way where they cannot run: off the cuda backend, off their path, or where the machine has no
// peer worker that can run them (the caller asks the worker: src/engine/peer-worker-client.ts).
// fp8 points are dropped where the machine cannot run them (src/sweep/fp8-support.ts).
// Tensor-parallel points (tp > 1) are dropped where the machine has fewer devices than ranks, and on
// the cuda backend, which has no NCCL build yet; the cpu backend simulates the ranks.
import type { ModelDims, Profile, Sweep, SweepAxes } from './axes.js';
import {
  configKey, DEFAULT_CONFIG, defaultGraph, isPeerVariant, PRECISIONS, requireRange, tpOf, validateConfig, ConfigError,
  type BackendName, type EngineVariantName, type PathName, type PeerVariantName, type PointConfig, type PrecisionName,
  type VariantName,
} from '../engine/config.js';
import type { Dropped } from '../results/schema.js';
import { fp8DropReason, fp8Unsupported } from './fp8-support.js';

/** What each backend can run. The cpu backend's one variant stands for every variant asked for. */
export const BACKEND_SUPPORT: Readonly<Record<BackendName, { precisions: readonly PrecisionName[]; variants: readonly EngineVariantName[] }>> = {
  cpu: { precisions: ['fp32'], variants: ['reference'] },
  cuda: { precisions: PRECISIONS, variants: ['fused', 'unfused'] },
};

/** Overrides from the command line: each given axis or dim replaces the sweep's, in every sweep. */
export interface SweepOverrides extends Partial<Omit<SweepAxes, 'path'>>,
  Partial<Pick<ModelDims, 'layers' | 'heads' | 'head_size' | 'inter_size' | 'vocab'>> {
  /** Keeps only these paths of each sweep (a filter, not a replacement). */
  path?: PathName[];
  /** Peer variants added to each sweep's variants (--peers), but to a sweep marked `peers: false`. */
  peers?: PeerVariantName[];
  /** Decoder/decoding steps: replaces `seq` on those paths (and wins over `seq` there). */
  steps?: number[];
  full_length?: boolean;
  graph?: boolean;
  seed?: number;
}

/** Why each peer variant cannot run on this machine (the peer worker's hello says); absent: it can. */
export type PeerUnavailability = Partial<Record<PeerVariantName, string>>;

export interface Expansion {
  points: PointConfig[];
  dropped: Dropped[];
  /** Facts about the expansion worth showing once (e.g. variants collapsed on the cpu backend). */
  notes: string[];
}

/** Numeric overrides checked one value at a time (field of the config each one sets). */
const NUMERIC_OVERRIDES = {
  batch: 'batch', beam: 'beam', seq: 'seq', steps: 'seq', top_k: 'top_k', top_p: 'top_p', temperature: 'temperature',
  layers: 'layers', heads: 'heads', head_size: 'head_size', inter_size: 'inter_size', vocab: 'vocab', tp: 'tp',
} as const satisfies Partial<Record<keyof SweepOverrides, keyof PointConfig>>;

/**
 * A decoding config in which every field is valid and every range is as wide as the engine allows,
 * so that setting one field and validating reports only that field's own rule.
 */
const PERMISSIVE_PROBE: PointConfig = {
  ...DEFAULT_CONFIG, backend: 'cpu', path: 'decoding', variant: 'reference', precision: 'fp32', max_seq: 4096, vocab: 1 << 20,
  heads: 8, inter_size: 64,
};

/**
 * Throws ConfigError for the first override value that no point could accept, by the config's own
 * rules (e.g. "batch must be 1..4096, got 0"); cross-field limits are checked per point later.
 */
export function validateOverrides(overrides: SweepOverrides): void {
  for (const [option, field] of Object.entries(NUMERIC_OVERRIDES) as [keyof typeof NUMERIC_OVERRIDES, keyof PointConfig][]) {
    const given = overrides[option];
    if (given === undefined) continue;
    for (const value of Array.isArray(given) ? given : [given]) {
      try {
        validateConfig({ ...PERMISSIVE_PROBE, [field]: value });
      } catch (error) {
        // --steps sets `seq` on its paths; the message names the option the user wrote.
        if (error instanceof ConfigError && option !== field && error.field === field) {
          throw new ConfigError(option, error.message.replace(field, option));
        }
        throw error;
      }
    }
  }
  if (overrides.seed !== undefined) requireRange('seed', overrides.seed, 0, Number.MAX_SAFE_INTEGER);
}

/** Every combination of the lists, the first key varying slowest. */
function product<T extends Record<string, readonly unknown[]>>(axes: T): { [K in keyof T]: T[K][number] }[] {
  let rows: Record<string, unknown>[] = [{}];
  for (const [name, values] of Object.entries(axes)) {
    rows = rows.flatMap((row) => values.map((value) => ({ ...row, [name]: value })));
  }
  return rows as { [K in keyof T]: T[K][number] }[];
}

const unique = <T>(values: readonly T[]): T[] => [...new Set(values)];

/** Sampling settings of a point that differ from "no sampling", e.g. ["top_k 4"]. */
function samplingSettings(c: PointConfig): string[] {
  return [
    c.top_k !== DEFAULT_CONFIG.top_k ? `top_k ${c.top_k}` : '',
    c.top_p !== DEFAULT_CONFIG.top_p ? `top_p ${c.top_p}` : '',
    c.temperature !== DEFAULT_CONFIG.temperature ? `temperature ${c.temperature}` : '',
  ].filter(Boolean);
}

/** Why a peer variant's point is not run, or undefined when it is. */
function peerDropReason(c: PointConfig & { variant: PeerVariantName }, unavailable: PeerUnavailability): string | undefined {
  if (c.backend !== 'cuda') return `variant ${c.variant} on the ${c.backend} backend: peers run on the cuda backend's GPU`;
  if (c.variant === 'hf-generate' && c.path !== 'decoding') return `hf-generate on the ${c.path}: it runs the decoding path only`;
  const why = unavailable[c.variant];
  return why === undefined ? undefined : `${c.variant} unavailable: ${why}`;
}

/** Why the machine cannot run a tensor-parallel point, or undefined when it can (tp 1 always can). */
function tpDropReason(c: PointConfig, deviceCount: number): string | undefined {
  const tp = tpOf(c);
  if (tp === 1) return undefined;
  if (tp > deviceCount) return `tp ${tp} on the ${c.backend} backend: it needs ${tp} GPUs, the machine has ${deviceCount}`;
  if (c.backend === 'cuda') return `tp ${tp}: tensor parallelism over NCCL is not built (needs NCCL and several GPUs)`;
  return undefined;
}

/**
 * Why a combination is not run, or undefined when it is. `deviceCount`: the devices tensor-parallel
 * points may spread over (the addon's deviceCount; unlimited on the cpu backend, which simulates them).
 * `fp8`: why the machine cannot run fp8 (src/sweep/fp8-support.ts; by default, the backend's own answer
 * without a device: the cpu backend cannot, the cuda backend can).
 */
export function dropReason(c: PointConfig, unavailablePeers: PeerUnavailability = {}, deviceCount = Number.POSITIVE_INFINITY,
  fp8 = defaultFp8Unsupported(c.backend)): string | undefined {
  if (c.path === 'encoder' && c.beam > 1) return `beam ${c.beam} on the encoder: beam width applies to the decoder and decoding paths`;
  const sampling = samplingSettings(c).join(', ');
  if (sampling && c.path !== 'decoding') return `${sampling} on the ${c.path}: sampling applies to the decoding path only`;
  if (sampling && c.beam > 1) return `${sampling} with beam ${c.beam}: sampling needs beam 1 (a wider beam runs beam search)`;
  if (c.temperature !== DEFAULT_CONFIG.temperature && c.top_k === 0 && c.top_p === 0) {
    return `temperature ${c.temperature} without top_k or top_p: temperature only changes sampling`;
  }
  if (c.backend === 'cuda' && c.variant === 'unfused' && c.graph && c.path !== 'encoder') {
    return `graph on the unfused ${c.path}: it launches each step from the host (only the encoder's unfused forward replays a graph)`;
  }
  if (isPeerVariant(c.variant)) {
    const fp8Peer = c.precision === 'fp8' ? `variant ${c.variant} in fp8: peers run fp32, tf32, fp16 and bf16` : undefined;
    return peerDropReason({ ...c, variant: c.variant }, unavailablePeers) ?? tpDropReason(c, deviceCount) ?? fp8Peer;
  }
  const tpReason = tpDropReason(c, deviceCount) ?? fp8DropReason(c, fp8);
  if (tpReason) return tpReason;
  const support = BACKEND_SUPPORT[c.backend];
  if (!support.precisions.includes(c.precision)) {
    return `precision ${c.precision} on the ${c.backend} backend: it runs ${support.precisions.join(', ')} only`;
  }
  if (!(support.variants as readonly VariantName[]).includes(c.variant)) {
    return `variant ${c.variant} on the ${c.backend} backend: it runs ${support.variants.join(', ')}`;
  }
  return undefined;
}

/** The sweep with every override applied, paths filtered. */
function applyOverrides(sweep: Sweep, o: SweepOverrides): Sweep {
  return {
    ...sweep,
    path: o.path ? sweep.path.filter((path) => o.path!.includes(path)) : sweep.path,
    variant: unique([...(o.variant ?? sweep.variant), ...(sweep.peers === false ? [] : o.peers ?? [])]),
    precision: o.precision ?? sweep.precision,
    batch: o.batch ?? sweep.batch,
    beam: o.beam ?? sweep.beam,
    seq: o.seq ?? sweep.seq,
    top_k: o.top_k ?? sweep.top_k,
    top_p: o.top_p ?? sweep.top_p,
    temperature: o.temperature ?? sweep.temperature,
    mode: o.mode ?? sweep.mode,
    tp: o.tp ?? sweep.tp,
    layers: o.layers ?? sweep.layers,
    heads: o.heads ?? sweep.heads,
    head_size: o.head_size ?? sweep.head_size,
    inter_size: o.inter_size ?? sweep.inter_size,
    vocab: o.vocab ?? sweep.vocab,
  };
}

/** fp8 support when the caller did not ask the device: none on the cpu backend, assumed on cuda. */
const defaultFp8Unsupported = (backend: BackendName): string | undefined =>
  (backend === 'cpu' ? fp8Unsupported('cpu') : undefined);

/** The configs of one path of a sweep (the variant axis innermost, so variants sit side by side). */
function sweepConfigs(sweep: Sweep, path: PathName, backend: BackendName, overrides: SweepOverrides): PointConfig[] {
  const seq = path === 'encoder' ? sweep.seq : overrides.steps ?? sweep.seq;
  const memLen = sweep.mem_len ?? DEFAULT_CONFIG.mem_len;
  const base = {
    ...DEFAULT_CONFIG,
    backend, path,
    layers: sweep.layers, heads: sweep.heads, head_size: sweep.head_size, inter_size: sweep.inter_size,
    vocab: sweep.vocab ?? DEFAULT_CONFIG.vocab,
    mem_len: memLen,
    max_seq: sweep.max_seq ?? Math.max(...seq, memLen),
    full_length: overrides.full_length ?? DEFAULT_CONFIG.full_length,
    seed: overrides.seed ?? DEFAULT_CONFIG.seed,
  };
  // The cpu backend's single variant runs in place of each engine variant asked for (peers are dropped there).
  const peers = sweep.variant.filter(isPeerVariant);
  const engine = sweep.variant.filter((variant) => !isPeerVariant(variant));
  const variants = backend === 'cpu' ? [...(engine.length > 0 ? BACKEND_SUPPORT.cpu.variants : []), ...unique(peers)] : unique(sweep.variant);
  return product({
    precision: unique(sweep.precision),
    batch: unique(sweep.batch),
    beam: unique(sweep.beam ?? [DEFAULT_CONFIG.beam]),
    seq: unique(seq),
    top_k: unique(sweep.top_k ?? [DEFAULT_CONFIG.top_k]),
    top_p: unique(sweep.top_p ?? [DEFAULT_CONFIG.top_p]),
    temperature: unique(sweep.temperature ?? [DEFAULT_CONFIG.temperature]),
    mode: unique(sweep.mode ?? [DEFAULT_CONFIG.mode]),
    tp: unique(sweep.tp ?? [1]),
    variant: variants,
  }).map(({ tp, ...axes }) => ({
    ...base, ...axes, ...(tp > 1 ? { tp } : {}), graph: isPeerVariant(axes.variant) ? defaultGraph(axes.variant) : overrides.graph ?? defaultGraph(axes.variant),
  }));
}

/**
 * The points of `profile` on `backend`: the cartesian product of each sweep's axes (overrides
 * applied), minus dropped combinations (with reasons) and duplicates. Throws ConfigError when a
 * point that is not dropped fails validateConfig (e.g. an override out of range for a sweep, or a tp
 * that does not divide the heads). `deviceCount` and `fp8`: as dropReason's.
 */
export function expandProfile(profile: Profile, backend: BackendName, overrides: SweepOverrides = {}, unavailablePeers: PeerUnavailability = {},
  deviceCount = Number.POSITIVE_INFINITY, fp8 = defaultFp8Unsupported(backend)): Expansion {
  const points: PointConfig[] = [];
  const dropped: Dropped[] = [];
  const notes = new Set<string>();
  const keys = new Set<string>();
  for (const sweep of profile.sweeps.map((s) => applyOverrides(s, overrides))) {
    if (backend === 'cpu' && sweep.path.length > 0 && sweep.variant.some((v) => v !== 'reference' && !isPeerVariant(v))) {
      notes.add('the cpu backend has one variant, reference: fused and unfused run once, as reference');
    }
    for (const path of sweep.path) {
      for (const config of sweepConfigs(sweep, path, backend, overrides)) {
        const reason = dropReason(config, unavailablePeers, deviceCount, fp8);
        if (reason) {
          dropped.push({ config: { ...config }, reason: `${sweep.name}: ${reason}` });
          continue;
        }
        validateConfig(config);
        const key = configKey(config);
        if (keys.has(key)) {
          dropped.push({ config: { ...config }, reason: `${sweep.name}: duplicate of an earlier point` });
          continue;
        }
        keys.add(key);
        points.push(config);
      }
    }
  }
  return { points, dropped, notes: [...notes] };
}
