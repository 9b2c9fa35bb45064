// Fixtures for the gate's tests: a seeded generator of timing samples and schema-valid results files
// built from them.
import { configKey, DEFAULT_CONFIG, type PointConfig } from '../src/engine/config.js';
import { parseResults, SCHEMA_ID, type Point, type Results, type Summary } from '../src/results/schema.js';

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal variate (Box–Muller). */
export function standardNormal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** `count` lognormal times with the given median and log-sd `noise` (0.05 ≈ 5% relative noise). */
export function lognormalSamples(random: () => number, count: number, medianMs: number, noise: number): number[] {
  return Array.from({ length: count }, () => medianMs * Math.exp(noise * standardNormal(random)));
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function quantile(sorted: readonly number[], q: number): number {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

/** The summary the runner would write for these samples (host time: the samples' median + 0.01 ms). */
export function summarize(samples: readonly number[], config: PointConfig): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((sum, value) => sum + value, 0) / samples.length;
  const stdev = Math.sqrt(samples.reduce((sum, value) => sum + (value - mean) ** 2, 0) / Math.max(1, samples.length - 1));
  const gpuMedian = median(samples);
  return {
    samples: samples.length,
    gpu_ms_median: gpuMedian,
    gpu_ms_mean: mean,
    gpu_ms_min: sorted[0],
    gpu_ms_max: sorted[sorted.length - 1],
    gpu_ms_p10: quantile(sorted, 0.1),
    gpu_ms_p90: quantile(sorted, 0.9),
    gpu_ms_stdev: stdev,
    noise_pct: (stdev / mean) * 100,
    host_ms_median: gpuMedian + 0.01,
    tokens_per_s: (config.batch * config.seq) / (gpuMedian / 1000),
    tflops: null,
  };
}

export const H100_DEVICE: Record<string, string> = {
  backend: 'cuda', name: 'NVIDIA H100 80GB HBM3', compute_capability: '9.0', driver: '580.95.05',
  cuda_driver_api: '13.0', cuda_runtime: '13.0', cublas: '13.1.0', sm_clock_mhz: '1980', memory_free_mb: '80000',
};

export function pointConfig(overrides: Partial<PointConfig> = {}): PointConfig {
  return { ...DEFAULT_CONFIG, backend: 'cuda', path: 'encoder', variant: 'fused', precision: 'fp16', ...overrides };
}

/** An ok, correct point measured as `samples`; `overrides` replace any field afterwards. */
export function makePoint(config: PointConfig, samples: readonly number[], overrides: Partial<Point> = {}): Point {
  return {
    key: configKey(config),
    config,
    status: 'ok',
    summary: samples.length > 0 ? summarize(samples, config) : null,
    samples_ms: [...samples],
    correct: true,
    max_rel_err: 1e-3,
    checks: [],
    notes: {},
    started_at: '2026-11-22T12:00:00.000Z',
    duration_s: 1,
    ...overrides,
  };
}

/** A results file holding `points`, validated against the schema so fixtures cannot drift from it. */
export function makeResults(points: Point[], device: Record<string, string> = H100_DEVICE, id = 'h100-test'): Results {
  return parseResults({
    schema: SCHEMA_ID,
    run: {
      id, started_at: '2026-11-22T12:00:00.000Z', finished_at: '2026-11-22T12:05:00.000Z', wall_s: 300,
      command: 'ftbench bench --profile h100', profile: 'h100', backend: device.backend, options: {},
    },
    env: {
      host: { cpu: 'test CPU', cores: 16, memory_gb: 128, os: 'linux', node: 'v20.20.2' },
      device,
      git: { commit: null, dirty: null },
    },
    points,
    dropped: [],
  }, `fixture ${id}`);
}

/** One-point baseline and candidate runs: `noise` log-sd, `count` samples each, candidate slowed by `factor`. */
export function pointPair(random: () => number, factor: number, noise = 0.05, count = 30): [Results, Results] {
  const config = pointConfig();
  return [
    makeResults([makePoint(config, lognormalSamples(random, count, 1.0, noise))]),
    makeResults([makePoint(config, lognormalSamples(random, count, factor, noise))]),
  ];
}
