// Point configuration and its validation: the same rules and messages as the engine's
// (native/src/common/config.cc), checked before the addon is touched.
import { InputError } from '../input-error.js';
import type { NativeConfig } from './native.js';

export const PATHS = ['encoder', 'decoder', 'decoding'] as const;
/** The native engine's variants (native/src/common/config.cc). */
export const ENGINE_VARIANTS = ['fused', 'unfused', 'reference'] as const;
/**
 * Peers: the engines users run today, measured by the same runner on the same weights (peers/torch/,
 * src/engine/peer-model.ts): Hugging Face / PyTorch eager, the same replayed from CUDA graphs,
 * torch.compile, HF generate() (decoding only).
 */
export const PEER_VARIANTS = ['torch-eager', 'torch-graph', 'torch-compile', 'hf-generate'] as const;
/** The variant axis: the engine's variants and the peers. */
export const VARIANTS = [...ENGINE_VARIANTS, ...PEER_VARIANTS] as const;

export const PRECISIONS = ['fp32', 'tf32', 'fp16', 'bf16', 'fp8'] as const;
export const BACKENDS = ['cpu', 'cuda'] as const;
/** How a point's samples are taken (src/measure/runner.ts): cold flushes the L2 before each run, hot times
 * back-to-back runs, auto picks cold for points under 1 ms and hot for the others. */
export const MODES = ['auto', 'cold', 'hot'] as const;

export type PathName = (typeof PATHS)[number];
export type VariantName = (typeof VARIANTS)[number];
export type EngineVariantName = (typeof ENGINE_VARIANTS)[number];
export type PeerVariantName = (typeof PEER_VARIANTS)[number];
export const isPeerVariant = (variant: string): variant is PeerVariantName =>
  (PEER_VARIANTS as readonly string[]).includes(variant);
export type PrecisionName = (typeof PRECISIONS)[number];
export type BackendName = (typeof BACKENDS)[number];
export type MeasureMode = (typeof MODES)[number];

/** Tensor-parallel ranks a point may split over (Megatron-style; native/MODEL.md, "Tensor parallelism"). */
export const TP_VALUES = [1, 2, 4, 8] as const;

export const MAX_BEAM = 32;
export const MAX_TOP_K = 1024;

/** A user's Hugging Face checkpoint a point runs (`--model`, src/checkpoints/); absent for the synthetic model. */
export interface ModelRef {
  /** The model folder, and the `--inputs` file of token ids when one was given. */
  dir: string;
  inputs?: string;
  /** config.json's model_type and name. */
  type: string;
  name: string;
  /** sha256 of the weights: the one file's, or of the shards' "file sha256" lines; and each file's. */
  sha256: string;
  weights: { file: string; sha256: string }[];
}

/** One benchmark point: which backend runs which model configuration. */
export interface PointConfig extends NativeConfig {
  path: PathName;
  variant: VariantName;
  precision: PrecisionName;
  backend: BackendName;
  mode: MeasureMode;
  /** Tensor-parallel ranks (TP_VALUES); absent = 1. */
  tp?: number;
  model?: ModelRef;
}

/** An invalid value; `field` names the offending field. */
export class ConfigError extends InputError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export const DEFAULT_CONFIG: Omit<PointConfig, 'path' | 'variant' | 'precision' | 'backend'> = {
  mode: 'auto',
  layers: 1, heads: 2, head_size: 8, inter_size: 64, vocab: 64, max_seq: 64, mem_len: 0,
  batch: 1, beam: 1, seq: 16, top_k: 0, top_p: 0, temperature: 1, length_penalty: 0,
  start_id: 1, end_id: 2, stop_at_end: false, full_length: false, graph: true, seed: 1,
};

/** Throws ConfigError unless `value` is an integer in lo..hi, e.g. "batch must be 1..4096, got 0". */
export function requireRange(field: string, value: number, lo: number, hi: number): void {
  if (!Number.isInteger(value)) throw new ConfigError(field, `${field} must be an integer, got ${value}`);
  if (value < lo || value > hi) throw new ConfigError(field, `${field} must be ${lo}..${hi}, got ${value}`);
}

export function requireOneOf<T extends string>(field: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(field, `${field} must be one of ${allowed.join(', ')}, got ${value}`);
  }
  return value as T;
}

/** The point's tensor-parallel ranks (absent: 1, one GPU, unsplit). */
export const tpOf = (c: Pick<PointConfig, 'tp'>): number => c.tp ?? 1;

/** tp is 1, 2, 4 or 8 and divides what the split shares out: heads, inter_size and (decoding) vocab. */
function validateTensorParallel(c: PointConfig): void {
  const tp = tpOf(c);
  if (!(TP_VALUES as readonly number[]).includes(tp)) {
    throw new ConfigError('tp', `tp must be one of ${TP_VALUES.join(', ')}, got ${tp}`);
  }
  const shared: [keyof PointConfig, number][] = [['heads', c.heads], ['inter_size', c.inter_size]];
  if (c.path === 'decoding') shared.push(['vocab', c.vocab]);
  for (const [field, value] of shared) {
    if (value % tp !== 0) throw new ConfigError(field, `${field} must be divisible by tp ${tp}, got ${value}`);
  }
}

/** Throws ConfigError for the first invalid field, e.g. "beam must be 1..32, got 64". */
export function validateConfig(c: PointConfig): void {
  requireOneOf('path', c.path, PATHS);
  requireOneOf('variant', c.variant, VARIANTS);
  requireOneOf('precision', c.precision, PRECISIONS);
  requireOneOf('backend', c.backend, BACKENDS);
  requireOneOf('mode', c.mode, MODES);
  requireRange('layers', c.layers, 1, 64);
  requireRange('heads', c.heads, 1, 128);
  requireRange('head_size', c.head_size, 1, 256);
  requireRange('inter_size', c.inter_size, 1, 65536);
  requireRange('max_seq', c.max_seq, 1, 4096);
  requireRange('batch', c.batch, 1, 4096);
  requireRange('seq', c.seq, 1, c.max_seq);
  requireRange('mem_len', c.mem_len, 0, 4096);
  requireRange('beam', c.beam, 1, c.path === 'encoder' ? 1 : MAX_BEAM);
  validateTensorParallel(c);
  if (c.path !== 'decoding') return;
  requireRange('vocab', c.vocab, 2, 1 << 20);
  requireRange('beam', c.beam, 1, Math.min(MAX_BEAM, Math.floor(c.vocab / 2)));
  requireRange('top_k', c.top_k, 0, Math.min(MAX_TOP_K, c.vocab));
  requireRange('start_id', c.start_id, 0, c.vocab - 1);
  requireRange('end_id', c.end_id, 0, c.vocab - 1);
  if (!(c.top_p >= 0 && c.top_p <= 1)) throw new ConfigError('top_p', `top_p must be 0..1, got ${c.top_p}`);
  if (!(c.temperature > 0) || !Number.isFinite(c.temperature)) {
    throw new ConfigError('temperature', `temperature must be > 0, got ${c.temperature}`);
  }
  if (c.beam > 1 && (c.top_k > 0 || c.top_p > 0)) {
    throw new ConfigError('top_k', `top_k/top_p need beam 1 (sampling), got beam ${c.beam}`);
  }
  if (!(c.length_penalty >= 0) || !Number.isFinite(c.length_penalty)) {
    throw new ConfigError('length_penalty', `length_penalty must be >= 0, got ${c.length_penalty}`);
  }
}

export const hiddenSize = (c: Pick<PointConfig, 'heads' | 'head_size'>): number => c.heads * c.head_size;
export const isSampling = (c: Pick<PointConfig, 'beam' | 'top_k' | 'top_p'>): boolean =>
  c.beam === 1 && (c.top_k > 0 || c.top_p > 0);

/** How a decoder/decoding point picks tokens: "beam 4", "top-k 4", "top-p 0.75", "top-k 4, top-p 0.75". */
export function decodeStrategy(c: Pick<PointConfig, 'beam' | 'top_k' | 'top_p'>): string {
  const sampling = [c.top_k > 0 ? `top-k ${c.top_k}` : '', c.top_p > 0 ? `top-p ${c.top_p}` : ''].filter(Boolean).join(', ');
  return c.beam === 1 && sampling ? sampling : `beam ${c.beam}`;
}

/** A point in a few words, wherever one is shown (progress, dashboard): "encoder fused fp16 b32 s128 12L 12×64". */
export function pointLabel(c: PointConfig): string {
  const strategy = c.path === 'encoder' ? '' : ` ${decodeStrategy(c)}`;
  const tp = tpOf(c) > 1 ? ` tp${tpOf(c)}` : '';
  return `${c.path} ${c.variant} ${c.precision} b${c.batch} s${c.seq}${strategy} ${c.layers}L ${c.heads}×${c.head_size}${tp}`;
}

/** Fields that identify a point across runs (the gate and --resume match on this key). */
export const KEY_FIELDS = [
  'backend', 'path', 'variant', 'precision', 'batch', 'beam', 'seq', 'layers', 'heads', 'head_size',
  'inter_size', 'vocab', 'mem_len', 'top_k', 'top_p', 'temperature', 'length_penalty', 'full_length', 'graph', 'mode',
] as const satisfies readonly (keyof PointConfig)[];

/** A checkpoint's part of a key: absent for the synthetic model, so its keys are those of older runs. */
const modelKeyPart = (c: PointConfig): string[] => (c.model ? [`model=${c.model.type}@${c.model.sha256.slice(0, 16)}`] : []);
/** tp's part of a key: absent at tp 1, so single-GPU points keep the keys of older runs. */
const tpKeyPart = (c: PointConfig): string[] => (tpOf(c) > 1 ? [`tp=${tpOf(c)}`] : []);

const keyOf = (fields: readonly (keyof PointConfig)[], c: PointConfig): string =>
  [...fields.map((field) => `${field}=${c[field]}`), ...tpKeyPart(c), ...modelKeyPart(c)].join(' ');

export function configKey(c: PointConfig): string {
  return keyOf(KEY_FIELDS, c);
}

/**
 * Whether a variant replays a CUDA graph unless told otherwise: fused does, as FasterTransformer
 * would be deployed; unfused launches every kernel from the host, as a framework runs the layer.
 * A peer's name says it (torch-graph replays graphs; --graph and --no-graph leave peers alone).
 */
export const defaultGraph = (variant: VariantName): boolean =>
  isPeerVariant(variant) ? variant === 'torch-graph' : variant !== 'unfused';

const PAIR_FIELDS = KEY_FIELDS.filter((field) => field !== 'variant' && field !== 'graph');

/**
 * The key of a point's fused/unfused pair: every identifying field but the variant and how its
 * kernels are launched (a graph replay computes exactly what eager launches compute).
 */
export function pairKey(c: PointConfig): string {
  return keyOf(PAIR_FIELDS, c);
}
