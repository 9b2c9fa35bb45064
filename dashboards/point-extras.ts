// Per-point records (GEMM choices, stage and kernel breakdowns, GB/s) from the schema's optional
// point fields, in the shape the views take; a point without them has empty ones. The views read
// them through MeasuredPoint (views/common.ts).
import { describeAlgo } from '../src/engine/gemm-types.js';
import type { Point } from '../src/results/schema.js';

export interface GemmRecord {
  role: string;
  m: number;
  n: number;
  k: number;
  batch_count: number;
  dtype: string;
  algo: string;
  source: string;
  tuned_ms: number | null;
  heuristic_ms: number | null;
}

export interface TimedRecord {
  name: string;
  /** Stage a kernel belongs to (kernels only). */
  stage: string | null;
  calls: number | null;
  total_ms: number;
  /** Its own TFLOP/s (stages whose matrix products are counted). */
  tflops?: number;
}

export interface PointExtras {
  gbps: number | null;
  gemms: GemmRecord[];
  stages: TimedRecord[];
  kernels: TimedRecord[];
}

/** A point's optional records, as the views take them (absent fields give empty ones). */
export function pointExtras(point: Point): PointExtras {
  return {
    gbps: point.summary?.gbps ?? null,
    gemms: (point.gemms ?? []).map((gemm) => ({
      role: gemm.role, m: gemm.m, n: gemm.n, k: gemm.k, batch_count: gemm.batch_count, dtype: gemm.dtype,
      algo: describeAlgo(gemm.algo), source: gemm.source, tuned_ms: gemm.tuned_ms, heuristic_ms: gemm.heuristic_ms,
    })),
    stages: (point.stages ?? []).map((stage) => ({
      name: stage.name, stage: null, calls: stage.calls, total_ms: stage.total_ms, ...(stage.tflops === undefined ? {} : { tflops: stage.tflops }),
    })),
    kernels: (point.kernels ?? []).map((kernel) => ({ name: kernel.name, stage: kernel.stage, calls: kernel.calls, total_ms: kernel.total_ms })),
  };
}

export const NO_EXTRAS: PointExtras = { gbps: null, gemms: [], stages: [], kernels: [] };
