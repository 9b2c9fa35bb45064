// Synthetic, schema-valid results files for the dashboard tests. Timings follow simple formulas
// (they are test data, not measurements), so tests can predict every number the page shows.
import { DEFAULT_CONFIG, configKey, defaultGraph, type PointConfig } from '../src/engine/config.js';
import { parseResults, SCHEMA_ID, type Point, type Results } from '../src/results/schema.js';
import { BERT_BASE as BERT_BASE_DIMS, FT_DECODER } from '../suites/models.js';

export const BERT_BASE = { ...BERT_BASE_DIMS, max_seq: 512 };
export const FT_DECODING = { ...FT_DECODER, max_seq: 128, seq: 128, mem_len: 128 };

/** A cuda point; launched as the runner launches it by default (fused replays a CUDA graph, unfused does not). */
export function config(fields: Partial<PointConfig> & Pick<PointConfig, 'path' | 'variant' | 'precision'>): PointConfig {
  return { ...DEFAULT_CONFIG, backend: 'cuda', graph: defaultGraph(fields.variant), ...fields };
}

/** Twelve samples spread ±0.55% around `median` (their median is `median`). */
export const samplesAround = (median: number): number[] =>
  Array.from({ length: 12 }, (_, index) => median * (1 + 0.001 * (index - 5.5)));

export function okPoint(pointConfig: PointConfig, median: number, extra: Partial<Point> = {}): Point {
  const samples = samplesAround(median);
  const tokens = pointConfig.batch * pointConfig.seq;
  return {
    key: configKey(pointConfig),
    config: pointConfig,
    status: 'ok',
    summary: {
      samples: samples.length,
      gpu_ms_median: median,
      gpu_ms_mean: median,
      gpu_ms_min: samples[0],
      gpu_ms_max: samples[samples.length - 1],
      gpu_ms_p10: samples[1],
      gpu_ms_p90: samples[10],
      gpu_ms_stdev: median * 0.0036,
      noise_pct: 0.36,
      host_ms_median: median + 0.02,
      tokens_per_s: (tokens * 1000) / median,
      tflops: pointConfig.backend === 'cuda' ? pointConfig.batch / median : null,
    },
    samples_ms: samples,
    correct: true,
    max_rel_err: 0.0004,
    checks: [{ name: 'matches reference', ok: true }],
    notes: {},
    started_at: '2026-11-22T10:00:00.000Z',
    duration_s: 0.5,
    ...extra,
  };
}

export function failedPoint(pointConfig: PointConfig, status: 'error' | 'oom', error: string): Point {
  return {
    key: configKey(pointConfig),
    config: pointConfig,
    status,
    error,
    summary: null,
    samples_ms: [],
    correct: null,
    max_rel_err: null,
    checks: [],
    notes: {},
    started_at: '2026-11-22T10:00:00.000Z',
    duration_s: 0.1,
  };
}

/** Encoder fused median: 0.1 ms + 0.02 ms per 1000 tokens (fp32 2×); unfused 1 + 0.1·log2(batch) + seq/256 times that. */
export function encoderMs(batch: number, seq: number, variant: 'fused' | 'unfused', precision: 'fp16' | 'fp32'): number {
  const fused = (0.1 + (0.02 * batch * seq) / 1000) * (precision === 'fp32' ? 2 : 1);
  return variant === 'unfused' ? fused * (1 + 0.1 * Math.log2(batch) + seq / 256) : fused;
}

/** Decoding fused median: 10 ms + 0.05 ms per batch × beam; unfused 1.1 + 0.05·beam + 0.02·log2(batch) times that. */
export function decodingMs(batch: number, beam: number, variant: 'fused' | 'unfused'): number {
  const fused = 10 + 0.05 * batch * beam;
  return variant === 'unfused' ? fused * (1.1 + 0.05 * beam + 0.02 * Math.log2(batch)) : fused;
}

export const DECODING_STRATEGIES = [
  { beam: 1, top_k: 0, top_p: 0 },
  { beam: 4, top_k: 0, top_p: 0 },
  { beam: 1, top_k: 4, top_p: 0 },
];

const GPU_NAME = 'Test GPU (synthetic)';

export function gpuResults(deviceName = GPU_NAME): Results {
  const points: Point[] = [];
  for (const precision of ['fp32', 'fp16'] as const) {
    for (const variant of ['fused', 'unfused'] as const) {
      for (const seq of [32, 128]) {
        for (const batch of [1, 8, 32]) {
          const pointConfig = config({ path: 'encoder', variant, precision, ...BERT_BASE, batch, seq });
          points.push(okPoint(pointConfig, encoderMs(batch, seq, variant, precision)));
        }
      }
    }
  }
  for (const variant of ['fused', 'unfused'] as const) {
    for (const strategy of DECODING_STRATEGIES) {
      for (const batch of [1, 8, 128]) {
        const pointConfig = config({ path: 'decoding', variant, precision: 'fp16', ...FT_DECODING, ...strategy, batch });
        points.push(okPoint(pointConfig, decodingMs(batch, strategy.beam, variant)));
      }
    }
  }
  points.push(failedPoint(config({ path: 'decoding', variant: 'unfused', precision: 'fp32', ...FT_DECODING, batch: 128, beam: 32 }), 'oom', 'out of memory allocating the K/V cache (12.0 GiB)'));
  points.push(failedPoint(config({ path: 'encoder', variant: 'fused', precision: 'fp32', ...BERT_BASE, batch: 64, seq: 384 }), 'error', 'worker exited on signal SIGSEGV'));
  return parseResults(
    {
      schema: SCHEMA_ID,
      run: {
        id: 'a100-20261122-100000',
        started_at: '2026-11-22T10:00:00.000Z',
        finished_at: '2026-11-22T10:07:30.000Z',
        wall_s: 450,
        command: 'ftbench bench --profile a100',
        profile: 'a100',
        backend: 'cuda',
        options: {},
      },
      env: {
        host: { cpu: 'Test CPU @ 2.0GHz', cores: 16, memory_gb: 128, os: 'Linux 6.8', node: 'v20.20.2' },
        device: {
          name: deviceName, device_index: '0', compute_capability: '9.0', sm_count: '132', memory_mb: '81559', memory_free_mb: '80000',
          l2_mb: '50', sm_clock_max_mhz: '1980', sm_clock_mhz: 'unavailable', driver: '580.95', cuda_driver_api: '13.0',
          cuda_runtime: '13.0', cublas: '13.1.0',
          peak_gbps: '3000', peak_tflops_fp16: '700', peak_tflops_fp32: '50',
        },
        git: { commit: '0123456789abcdef0123456789abcdef01234567', dirty: false },
      },
      points,
      dropped: [{ config: { path: 'decoding', beam: 64 }, reason: 'beam must be 1..32, got 64' }],
    },
    'gpu fixture',
  );
}

/** GEMM records for the BERT-base b32 s128 fp16 encoder points (4096 tokens), kernel and stage records. */
const ALGO = { id: 66, tile: 18, stages: 4, splitk: 1, reduction: 0, swizzle: 0, custom: 0, inner: 0, cluster: 0, workspace: 0 };
const SHAPE = { batch_count: 1, trans_a: false, trans_b: false, dtype: 'f16', epilogue: 'none' };
export const ENCODER_GEMMS = [
  { role: 'qkv', m: 4096, n: 2304, k: 768, ...SHAPE, algo: ALGO, source: 'tuned', tuned_ms: 0.04, heuristic_ms: 0.05 },
  { role: 'ffn1', m: 4096, n: 3072, k: 768, ...SHAPE, algo: { ...ALGO, tile: 20 }, source: 'heuristic', tuned_ms: null, heuristic_ms: 0.052 },
  // Not in the tuning cache: no times.
  { role: 'ffn2', m: 4096, n: 768, k: 3072, ...SHAPE, algo: ALGO, source: 'heuristic', tuned_ms: null, heuristic_ms: null },
];
export const ENCODER_STAGES = [
  { name: 'qkv_gemm', calls: 12, total_ms: 0.08 },
  { name: 'attention', calls: 12, total_ms: 0.05 },
  { name: 'ffn', calls: 12, total_ms: 0.03 },
];
const kernel = (name: string, stage: string, totalMs: number) =>
  ({ name, kind: 'kernel', stage, calls: 12, total_ms: totalMs, mean_ms: totalMs / 12, grid: '8x12x1', block: '128x1x1' });
export const ENCODER_KERNELS = [kernel('gemm_128x256', 'qkv_gemm', 0.08), kernel('softmax<half>', 'attention', 0.05), kernel('add_bias_gelu', 'ffn', 0.03)];

/**
 * The GPU fixture as raw JSON with the optional records the dashboard reads (GEMMs, stages,
 * kernels on the b32 s128 fp16 encoder points; GB/s on every fused encoder point).
 */
export function gpuRawJson(results: Results = gpuResults()): Record<string, unknown> {
  const raw = JSON.parse(JSON.stringify(results)) as { points: Record<string, unknown>[] } & Record<string, unknown>;
  raw.points.forEach((point, index) => {
    const pointConfig = results.points[index].config;
    if (pointConfig.path !== 'encoder' || results.points[index].status !== 'ok') return;
    if (pointConfig.variant === 'fused') (point.summary as Record<string, unknown>).gbps = 100 * pointConfig.batch;
    if (pointConfig.precision === 'fp16' && pointConfig.batch === 32 && pointConfig.seq === 128) {
      point.gemms = ENCODER_GEMMS;
      point.stages = ENCODER_STAGES;
      point.kernels = ENCODER_KERNELS;
    }
  });
  return raw;
}

/** The GPU fixture with its optional records (GEMMs, stages, kernels, GB/s), as the reader returns it. */
export const gpuRun = (deviceName?: string): Results => parseResults(gpuRawJson(gpuResults(deviceName)), 'fixture');

export function cpuResults(): Results {
  const points: Point[] = [];
  for (const path of ['encoder', 'decoding'] as const) {
    for (const batch of [1, 2]) {
      const pointConfig = config({ backend: 'cpu', path, variant: 'reference', precision: 'fp32', batch, beam: path === 'encoder' ? 1 : 2 });
      points.push(okPoint(pointConfig, 1.5 * batch));
    }
  }
  return parseResults(
    {
      schema: SCHEMA_ID,
      run: {
        id: 'smoke-20261122-090000', started_at: '2026-11-22T09:00:00.000Z', finished_at: null, wall_s: null,
        command: 'ftbench bench --profile smoke', profile: 'smoke', backend: 'cpu', options: {},
      },
      env: {
        host: { cpu: 'Test CPU @ 2.0GHz', cores: 2, memory_gb: 8, os: 'Linux 6.8', node: 'v20.20.2' },
        device: { name: 'cpu' },
        git: { commit: null, dirty: null },
      },
      points,
      dropped: [],
    },
    'cpu fixture',
  );
}

/** The GPU fixture with one point 20% slower, one decoding point missing, and another driver. */
export function slowerCandidate(): Results {
  const results = gpuResults();
  const slowKey = configKey(config({ path: 'encoder', variant: 'fused', precision: 'fp16', ...BERT_BASE, batch: 32, seq: 128 }));
  const points = results.points
    .filter((point) => !(point.config.path === 'decoding' && point.config.batch === 8 && point.config.beam === 4 && point.config.variant === 'fused'))
    .map((point) => (point.key === slowKey ? okPoint(point.config, point.summary!.gpu_ms_median * 1.2) : point));
  return { ...results, points, env: { ...results.env, device: { ...results.env.device, driver: '590.10' } } };
}
