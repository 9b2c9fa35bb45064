// Typed access to the native addon (native/src/addon/). Everything that touches the engine
// goes through this module.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';
import type { GemmChoice, GemmEntry } from './gemm-types.js';

/** The engine's view of a point: snake_case fields, as validated in native/src/common/config.cc. */
export interface NativeConfig {
  path: string;
  variant: string;
  precision: string;
  layers: number;
  heads: number;
  head_size: number;
  inter_size: number;
  vocab: number;
  max_seq: number;
  mem_len: number;
  batch: number;
  beam: number;
  seq: number;
  top_k: number;
  top_p: number;
  temperature: number;
  length_penalty: number;
  start_id: number;
  end_id: number;
  stop_at_end: boolean;
  full_length: boolean;
  graph: boolean;
  seed: number;
  /** Tensor-parallel ranks (1, 2, 4, 8; absent = 1): native/MODEL.md, "Tensor parallelism". */
  tp?: number;
  /** Encoder settings a checkpoint's config.json sets (defaults 1e-6 and gelu_tanh, the synthetic model's). */
  layer_norm_eps?: number;
  activation?: 'gelu_tanh' | 'gelu_erf';
}

/** A checkpoint's weights in the engine's fp32 layouts and the token ids it runs on (native/src/common/checkpoint.h). */
export interface NativeCheckpoint {
  tensors: Record<string, Float32Array>;
  /** [batch, seq] token ids and [batch] lengths. */
  ids: Int32Array;
  lengths: Int32Array;
  position_offset: number;
}

/** Results of a model's last run; see native/src/engine/backend.h for shapes. */
export interface NativeOutputs {
  hidden: Float32Array;
  lengths: Int32Array;
  outputIds: Int32Array;
  stepIds: Int32Array;
  parentIds: Int32Array;
  cumLogProbs: Float32Array;
  scores: Float32Array;
  stepsRun: number;
}

/** One sample: mean ms per unit by the backend's clock, and the mean SM clock (0: the backend has none). */
export interface NativeSample {
  ms: number;
  smClockMhz: number;
}

/** One activity of a kernel trace: a kernel, memcpy or memset, and the engine stage that launched it. */
export interface NativeTraceRecord {
  kind: 'kernel' | 'memcpy' | 'memset';
  name: string;
  stage: string;
  startNs: number;
  endNs: number;
  grid: Int32Array;
  block: Int32Array;
}

export interface NativeProfile {
  iterations: number;
  /** CUDA-event time of the traced iterations, per iteration. */
  eventMs: number;
  note: string;
  records: NativeTraceRecord[];
}

/** A GEMM a model runs (engine/gemm_choice.h), as a point records it; bench times when planned under `bench`. */
export type NativeGemmChoice = GemmChoice & { bench_ms?: number; bench_heuristic_ms?: number };

/** A table entry as the engine tunes it (the cache entry without key and date). */
export type NativeGemmTuned = Omit<GemmEntry, 'key' | 'tuned_at'>;

export interface GemmTuningOptions {
  /** Tune the shapes the table lacks as models plan them. */
  enabled: boolean;
  max_candidates?: number;
  samples?: number;
  /** Time each planned shape's algorithm against the heuristic's (the GEMM suite). */
  bench?: boolean;
}

export interface NativeModel {
  run(): void;
  /** Runs `iterations` units back to back (after an L2 flush when asked); their mean duration and the SM clock. */
  measure(iterations?: number, flushL2?: boolean): NativeSample;
  /** A kernel trace of `iterations` units (cuda backend). */
  profile(iterations: number): NativeProfile;
  outputs(): NativeOutputs;
  notes(): Record<string, string>;
  /** The GEMMs the model runs (none on the cpu backend). */
  gemms(): NativeGemmChoice[];
  /** Peak device memory since the model was built (cuda), or why there is none. */
  memory(): NativeMemory;
  /** The device's energy over at least `minWindowMs` of back-to-back units (cuda, NVML), or why there is none. */
  measureEnergy(minWindowMs: number): NativeEnergy;
  release(): void;
}

export type NativeMemory = { peakBytes: number } | { reason: string };
export type NativeEnergy = { joules: number; units: number; windowMs: number } | { reason: string };

export interface NativeAddon {
  /** A model of `config`: the synthetic one, or `checkpoint`'s (converted once to the point's precision by the backend). */
  Model: new (backend: string, config: Partial<NativeConfig>, checkpoint?: NativeCheckpoint) => NativeModel;
  backends(): string[];
  deviceInfo(backend: string): Record<string, string>;
  /** Devices a tensor-parallel point may spread over: cuda's visible GPUs; a huge number on the cpu backend, which simulates the ranks. */
  deviceCount(backend: string): number;
  /** The device's measured ceilings: peak_gbps and peak_tflops_<precision>; {} on the cpu backend. */
  calibrate(backend: string): Record<string, number>;
  philox(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): number[];
  tensor(config: Partial<NativeConfig>, id: number, layer: number, count: number): Float32Array;
  sequenceLength(config: Partial<NativeConfig>, lengthsId: number, sentence: number, len: number): number;
  /** Test hook of the sampling step: config.batch draws from one logits row (native Backend::sample_row). */
  sampleRow(backend: string, config: Partial<NativeConfig>, logits: Float32Array): Int32Array;
  /** Test hooks of the fp8 emulation (native/src/common/e4m3.h): each value rounded to E4M3, and the per-tensor scale of an amax. */
  e4m3(values: Float32Array): Float32Array;
  e4m3Scale(amax: number): number;
  /** Test hook of fp8's dynamic quantization of a tensor of rows of `cols` values, a scale per row, on `backend` (cpu: the emulation; cuda: the device kernel). */
  quantizeE4m3(backend: string, values: Float32Array, cols: number): { values: Float32Array; scales: Float32Array };
  /** The table GEMMs are looked up in (cache entries), and whether shapes it lacks are tuned as they are planned. */
  setGemmTable(backend: string, entries: readonly NativeGemmTuned[], tuning: GemmTuningOptions): void;
  /** The table, with the shapes tuned since setGemmTable. */
  gemmTable(backend: string): NativeGemmTuned[];
  /** The GEMMs config's model would run, planned (and tuned when tuning is on) but not run. */
  planGemms(backend: string, config: Partial<NativeConfig>): NativeGemmChoice[];
}

/** Error codes the addon sets on the errors it throws. */
export type NativeErrorCode = 'ERR_FTB_CONFIG' | 'ERR_FTB_OOM' | 'ERR_FTB_ENGINE';

export function nativeErrorCode(error: unknown): NativeErrorCode | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_FTB_CONFIG' || code === 'ERR_FTB_OOM' || code === 'ERR_FTB_ENGINE' ? code : undefined;
}

/** Tensor ids of native/src/common/tensors.h (random streams of weights and inputs). */
export const TensorId = {
  EncQkvW: 1, EncQkvB: 2, EncAttnOutW: 3, EncAttnOutB: 4, EncAttnLnGamma: 5, EncAttnLnBeta: 6,
  EncFfn1W: 7, EncFfn1B: 8, EncFfn2W: 9, EncFfn2B: 10, EncFfnLnGamma: 11, EncFfnLnBeta: 12,
  DecSelfLnGamma: 32, DecSelfLnBeta: 33, DecSelfQkvW: 34, DecSelfQkvB: 35, DecSelfOutW: 36, DecSelfOutB: 37,
  DecCrossLnGamma: 38, DecCrossLnBeta: 39, DecCrossQW: 40, DecCrossQB: 41, DecCrossKvW: 42, DecCrossKvB: 43,
  DecCrossOutW: 44, DecCrossOutB: 45, DecFfnLnGamma: 46, DecFfnLnBeta: 47, DecFfn1W: 48, DecFfn1B: 49,
  DecFfn2W: 50, DecFfn2B: 51,
  Embedding: 96, FinalLnGamma: 97, FinalLnBeta: 98, LogitsW: 99, LogitsB: 100,
  EncoderInput: 128, EncoderLengths: 129, DecoderInput: 130, Memory: 131, MemoryLengths: 132,
  SamplingDraw: 160,
} as const;

/** The repository (package) root: dist/src/engine/native.js is three levels below it. */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Where the addon is: FTBENCH_ADDON, else native/build/Release/ftbench.node. */
export function addonPath(): string {
  return process.env.FTBENCH_ADDON ?? path.join(projectRoot, 'native/build/Release/ftbench.node');
}

let cached: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  if (cached) return cached;
  const file = addonPath();
  if (!fs.existsSync(file)) {
    throw new Error(`native addon not found at ${file}: run \`npm run build:native\``);
  }
  cached = createRequire(import.meta.url)(file) as NativeAddon;
  return cached;
}
