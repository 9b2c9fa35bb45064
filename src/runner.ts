// Runs points. For each point the model is built once, warmed up, then measured: tinybench drives
// the loop and times each call on the host clock (launch + sync latency), while the task records
// the backend's own duration of the iteration (CPU: host clock inside the engine; CUDA: events).
// The backend durations are the point's samples; src/stopping.ts decides when there are enough.
// runPoint is a plain function of (config, options) -> Point; the CLI runs it in a worker process
// (src/isolation.ts).
import { Bench, type HookMode } from 'tinybench';
import type { Measurement } from '../suites/axes.js';
import { configKey, type PointConfig } from './config.js';
import { checkOutputs } from './correctness.js';
import { bytesMoved, flopCount } from './flops.js';
import { loadAddon, nativeErrorCode, type NativeAddon, type NativeModel } from './native.js';
import { engineReferences, type ReferenceSource } from './references.js';
import type { Point, Summary } from './schema.js';
import { median, summarize } from './stats.js';
import { StopRule, type StopReason } from './stopping.js';

/** Warm-up runs at least this many iterations, however short `warmup_ms` is. */
export const MIN_WARMUP_ITERATIONS = 3;

export interface RunPointOptions {
  measurement: Measurement;
  /** The engine; loadAddon() when absent. */
  addon?: NativeAddon;
  /** What each point's outputs are compared with; engineReferences(addon) when absent. */
  references?: ReferenceSource;
}

export interface Measured {
  /** Backend-clock duration of each measured iteration, ms, in run order. */
  samples_ms: number[];
  /** Host-clock latency of each measured call, ms. */
  host_ms: number[];
  stop_reason: StopReason;
}

/** An error the engine would have raised itself: recorded as status "error" by runPoint. */
function engineError(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_FTB_ENGINE' });
}

/** Warms `model` up, then samples it until the stop rule says enough (see src/stopping.ts). */
export function measureModel(model: NativeModel, m: Measurement): Measured {
  const samples: number[] = [];
  const rule = new StopRule(m);
  const stop = new AbortController();
  let stopReason: StopReason = 'timeout';
  let firstSampleAt: number | undefined;
  let phase: HookMode = 'warmup';
  const bench = new Bench({
    // tinybench runs until both its minimums hold or the signal aborts: the stop rule aborts it,
    // and a budget of `timeout_ms` of backend time is the backstop.
    iterations: m.min_samples,
    time: m.timeout_ms,
    warmup: true,
    warmupIterations: MIN_WARMUP_ITERATIONS,
    warmupTime: m.warmup_ms,
    retainSamples: true,
    throws: true,
    signal: stop.signal,
  });
  bench.add('point', () => {
    if (phase === 'run') firstSampleAt ??= performance.now();
    const ms = model.measure(1);
    if (!(Number.isFinite(ms) && ms > 0)) throw engineError(`the backend timed an iteration at ${ms} ms`);
    if (phase === 'run') {
      samples.push(ms);
      const reason = rule.add(ms, performance.now() - firstSampleAt!);
      if (reason) {
        stopReason = reason;
        stop.abort();
      }
    }
    // Budget by backend time; the sample itself stays tinybench's host-clock latency.
    return { overriddenIterationCost: ms };
  }, {
    // Declared sync: tinybench would otherwise call the task once more to find out.
    async: false,
    beforeAll(mode) {
      phase = mode ?? 'run';
    },
  });
  const [task] = bench.runSync();
  const result = task.result;
  if ((result.state !== 'completed' && result.state !== 'aborted-with-statistics') || !result.latency.samples) {
    throw new Error(`tinybench finished the point in state ${result.state}`);
  }
  return { samples_ms: samples, host_ms: [...result.latency.samples], stop_reason: stopReason };
}

/** Tokens one unit of work produces or consumes: batch·seq (encoder), batch·steps (decoder, decoding). */
function tokensPerUnit(c: PointConfig, decodingSteps: number): number {
  return c.batch * (c.path === 'decoding' ? decodingSteps : c.seq);
}

export function summarizePoint(c: PointConfig, measured: Measured, decodingSteps: number): Summary {
  const s = summarize(measured.samples_ms);
  const seconds = s.median / 1000;
  return {
    samples: s.count,
    gpu_ms_median: s.median,
    gpu_ms_mean: s.mean,
    gpu_ms_min: s.min,
    gpu_ms_max: s.max,
    gpu_ms_p10: s.p10,
    gpu_ms_p90: s.p90,
    gpu_ms_stdev: s.stdev,
    noise_pct: s.noise_pct,
    stop_reason: measured.stop_reason,
    host_ms_median: measured.host_ms.length > 0 ? median(measured.host_ms) : null,
    tokens_per_s: tokensPerUnit(c, decodingSteps) / seconds,
    tflops: flopCount(c, decodingSteps) / seconds / 1e12,
    gb_per_s: bytesMoved(c, decodingSteps) / seconds / 1e9,
  };
}

/**
 * Builds, measures, releases and checks the model of one point (against its references). Engine
 * errors (bad config for this backend, a failed kernel, out of memory, in the point or in computing
 * a reference) become the point's status; the model is always released. Other exceptions are
 * harness bugs and propagate.
 */
export function runPoint(config: PointConfig, options: RunPointOptions): Point {
  const addon = options.addon ?? loadAddon();
  const startedAt = new Date();
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  let model: NativeModel | undefined;
  try {
    model = new addon.Model(config.backend, config);
    const measured = measureModel(model, options.measurement);
    const outputs = model.outputs();
    const notes = model.notes();
    // Released before the references run, so that they have the device's memory to themselves.
    model.release();
    model = undefined;
    const references = options.references ?? engineReferences(addon);
    const verdict = checkOutputs(config, outputs, references(config));
    return {
      key: configKey(config),
      config,
      started_at: startedAt.toISOString(),
      status: 'ok',
      summary: summarizePoint(config, measured, outputs.stepsRun),
      samples_ms: measured.samples_ms,
      ...verdict,
      notes,
      duration_s: seconds(),
    };
  } catch (error) {
    const code = nativeErrorCode(error);
    if (code === undefined) throw error;
    return failedPoint(config, code === 'ERR_FTB_OOM' ? 'oom' : 'error', (error as Error).message, startedAt, seconds());
  } finally {
    model?.release();
  }
}

/** The record of a point that did not finish: its status and why, no measurement. */
export function failedPoint(config: PointConfig, status: 'error' | 'oom', message: string, startedAt: Date, seconds: number): Point {
  return {
    key: configKey(config), config, started_at: startedAt.toISOString(), status, error: message, summary: null, samples_ms: [],
    correct: null, max_rel_err: null, checks: [], notes: {}, duration_s: seconds,
  };
}
