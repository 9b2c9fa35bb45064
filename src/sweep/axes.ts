// The vocabulary of a benchmark profile: a Sweep is one model (its dims) crossed with lists of
// values per axis; a Profile is named sweeps plus how long to measure each point.
import type { MeasureMode, PathName, PrecisionName, VariantName } from '../engine/config.js';

/** List-valued axes: a sweep runs the cartesian product of these. */
export interface SweepAxes {
  path: PathName[];
  variant: VariantName[];
  precision: PrecisionName[];
  batch: number[];
  /** Beam width (decoder/decoding); absent = [1]. */
  beam?: number[];
  /** Encoder: sequence length. Decoder and decoding: number of steps (generated tokens). */
  seq: number[];
  /** Sampling (decoding at beam 1 only); absent = top_k [0], top_p [0], temperature [1]. */
  top_k?: number[];
  top_p?: number[];
  temperature?: number[];
  /** How samples are taken (src/measure/runner.ts); absent = ['auto']. */
  mode?: MeasureMode[];
  /** Tensor-parallel ranks (1, 2, 4, 8); absent = [1]. */
  tp?: number[];
}

/** The model every point of a sweep runs (one value each). */
export interface ModelDims {
  layers: number;
  heads: number;
  head_size: number;
  inter_size: number;
  /** Decoding only; absent = the default config's. */
  vocab?: number;
  /** Memory (encoder output) length read by the decoder's cross-attention; absent = 0. */
  mem_len?: number;
  /** KV-cache capacity; absent = the largest `seq` of the sweep or `mem_len`, whichever is larger. */
  max_seq?: number;
}

export type Sweep = SweepAxes & ModelDims & {
  /** Says what the sweep reproduces (shown in dropped reasons and --help). */
  name: string;
  /** false: --peers adds no peer variant to this sweep (the profile keeps it to the engine); absent: it does. */
  peers?: false;
};

/** How long each point is measured (src/measure/stop-rule.ts has the rule). */
export interface Measurement {
  min_samples: number;
  /** Backend-clock time the samples must add up to, ms. */
  min_time_ms: number;
  /** Past both minimums, stop once the samples' relative standard deviation is at most this, %. */
  max_noise_pct: number;
  /** Stop sampling after this much wall time, ms, whatever the noise. */
  timeout_ms: number;
  /** Backend-clock time spent running the point before samples are kept, ms. */
  warmup_ms: number;
  /**
   * Fresh model instances a point's samples are spread over (default 1): each builds the model anew
   * (new buffers, a new graph), so the point's median covers where its buffers land, which moves
   * latency-bound points by up to ≈ 1.5 % between instances (native/src/cuda/NOTES.md, version 10).
   * The sample, time and warm-up budgets are shared out among the instances.
   */
  instances?: number;
  /**
   * Each point in a worker process of its own (default false: one worker serves point after point).
   * On the H200 a process that has built eight fused FT decoder models (batch 2 or more) runs every later
   * latency-bound point 6–10 % slower (more time between kernels, not in them), for the rest of its
   * life (native/src/cuda/NOTES.md, version 13); a fresh process per point keeps a point's figure
   * from depending on the points run before it. Costs a worker start per point, and a fused point
   * then computes its unfused reference itself (src/check/references.ts).
   */
  fresh_process?: boolean;
}

export interface Profile {
  name: string;
  description: string;
  sweeps: Sweep[];
  measurement: Measurement;
}
