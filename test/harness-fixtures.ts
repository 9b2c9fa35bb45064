// Fixtures for the harness tests: schema-valid configs, points and environments, and the addon
// (or the reason the tests that need it are skipped).
import { configKey, DEFAULT_CONFIG, type PointConfig } from '../src/engine/config.js';
import { loadAddon, type NativeAddon } from '../src/engine/native.js';
import { summarizePoint } from '../src/measure/runner.js';
import type { Environment, Point, RunInfo } from '../src/results/schema.js';

export function cpuConfig(overrides: Partial<PointConfig> = {}): PointConfig {
  return { ...DEFAULT_CONFIG, backend: 'cpu', path: 'encoder', variant: 'reference', precision: 'fp32', ...overrides };
}

/** An ok, correct point measured as `samples`; `overrides` replace any field afterwards. */
export function okPoint(config: PointConfig, samples: number[], overrides: Partial<Point> = {}): Point {
  return {
    key: configKey(config),
    config,
    status: 'ok',
    summary: summarizePoint(config, {
      samples_ms: samples, host_ms: samples.map((ms) => ms + 0.01), stop_reason: 'noise', mode: 'cold', units_per_sample: 1, discarded: 0,
      sm_clock_mhz: null, instances: 1,
    }, config.seq),
    samples_ms: samples,
    correct: true,
    max_rel_err: null,
    checks: [{ name: 'hidden finite', ok: true, detail: '512 values' }],
    notes: {},
    started_at: '2026-11-22T10:00:00.000Z',
    duration_s: 0.5,
    ...overrides,
  };
}

/** A point that failed with `message` (status "error" unless `status` says otherwise). */
export function failedPoint(config: PointConfig, message: string, status: 'error' | 'oom' = 'error'): Point {
  return {
    key: configKey(config), config, status, error: message, summary: null, samples_ms: [], correct: null,
    max_rel_err: null, checks: [], notes: {}, started_at: '2026-11-22T10:00:01.000Z', duration_s: 0.01,
  };
}

export const ENVIRONMENT: Environment = {
  host: { cpu: 'Test CPU', cores: 2, physical_cores: 2, memory_gb: 8, os: 'Test OS 1', node: 'v20.0.0' },
  device: { backend: 'cpu', name: 'CPU reference (fp32 storage, fp64 accumulation)', threads: 2 },
  git: { commit: '0123456789abcdef0123456789abcdef01234567', dirty: false },
};

export function runInfo(id: string): RunInfo {
  return {
    id, started_at: '2026-11-22T10:00:00.000Z', finished_at: null, wall_s: null, command: 'ftbench bench --profile smoke',
    profile: 'smoke', backend: 'cpu', options: { measurement: { min_samples: 3, min_time_ms: 1, warmup_ms: 1 } },
  };
}

/** The native addon, or why it cannot be loaded (tests that need it are then skipped with that reason). */
export function addonOrSkip(): { addon?: NativeAddon; skip?: string } {
  try {
    return { addon: loadAddon() };
  } catch (error) {
    return { skip: `native addon not loadable (${(error as Error).message})` };
  }
}
