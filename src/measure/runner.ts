// Runs points. For each point the model is built once, warmed up, then measured: tinybench drives
// the loop and times each call on the host clock (launch + sync latency), while the task records
// the backend's own duration of the iteration (CPU: host clock inside the engine; CUDA: events).
// The backend durations are the point's samples; src/measure/stop-rule.ts decides when there are enough.
// With measurement.instances > 1 the point is built, warmed and sampled on several fresh models in
// turn and their samples pooled (src/measure/instances.ts says why and how many).
// runPoint is a function of (config, options) -> Point; the CLI runs it in a worker process
// (src/run/supervisor.ts). A peer variant's model runs in the peer worker (src/engine/peer-model.ts):
// the same loop drives it, asynchronously; the engine's synchronous calls keep their synchronous loop.
// A checkpoint's point (--model) is checked for parity against transformers' output of its ids,
// asked of the peer worker, when the run has transformers (options.parity), else the CPU reference.
import { Bench } from 'tinybench';
import type { Measurement } from '../sweep/axes.js';
import { configKey, isPeerVariant, type MeasureMode, type ModelRef, type PointConfig } from '../engine/config.js';
import type { DeviceCeilings } from '../results/device-ceilings.js';
import { checkOutputs, uncheckedReason, type ParityReference, type ReferenceOutputs } from '../check/correctness.js';
import { bytesMoved, flopCount, stageFlops } from './flops.js';
import { loadAddon, nativeErrorCode, type NativeAddon, type NativeGemmTuned, type NativeModel, type NativeSample } from '../engine/native.js';
import { kernelProfile } from './kernel-trace.js';
import { checkpointInputs, createModel } from '../checkpoints/model.js';
import { engineReferences, type ReferenceSource } from '../check/references.js';
import { PeerModel, type PeerBackend } from '../engine/peer-model.js';
import type { Point, Summary } from '../results/schema.js';
import { median, summarize } from './sample-stats.js';
import { measureResources } from './resources.js';
import { StopRule, type StopReason } from './stop-rule.js';
import { affordableInstances, instanceShare, pooledMeasurement, type Measured } from './instances.js';

/** Warm-up runs at least this many iterations, however short `warmup_ms` is... */
export const MIN_WARMUP_ITERATIONS = 3;
/**
 * ...unless they add up to more than this, ms: a unit that long has done its one-time work (module
 * loading, graph instantiation, cuBLAS heuristics) in its first run, and more would only cost time.
 */
export const WARMUP_CAP_MS = 1000;

/** Past warm-up, a point whose units take less than this many ms is sampled cold under mode auto, else hot. */
export const COLD_BELOW_MS = 1;
/** A hot sample runs back-to-back units for about this long (at least one unit). */
export const HOT_SAMPLE_MS = 10;
/** A sample whose SM clock is under this fraction of the device's maximum is discarded (throttled). */
export const THROTTLE_FRACTION = 0.75;
/** The pause after a throttled sample, ms, so the clock can recover. */
export const THROTTLE_PAUSE_MS = 50;

export interface RunPointOptions {
  measurement: Measurement;
  /** The engine; loadAddon() when absent. */
  addon?: NativeAddon;
  /** What each point's outputs are compared with; engineReferences(addon) when absent. */
  references?: ReferenceSource;
  /** The device's clock and peaks; no throttle check and no % of peak when absent. */
  ceilings?: DeviceCeilings;
  /** Record a kernel trace of this many units after the measurement (cuda backend; not for peers). */
  profileIterations?: number;
  /** Runs the points of peer variants (one worker per point worker process), and computes transformers' parity references. */
  peers?: PeerBackend;
  /** What a checkpoint's points are checked against for parity: transformers' output (by `peers`), or the CPU reference (absent). */
  parity?: ParityReference;
}

/** What is measured of each point of a run, the same for all of them (serialisable: it goes to the worker). */
export type PointWork = Pick<RunPointOptions, 'measurement' | 'ceilings' | 'profileIterations' | 'parity'> & {
  /** The GEMM tuning cache's entries, which the worker's engine looks its GEMMs up in (cuda backend). */
  gemmTable?: NativeGemmTuned[];
};


/** An error the engine would have raised itself: recorded as status "error" by runPoint. */
function engineError(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_FTB_ENGINE' });
}

const pause = (ms: number): void => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms) as unknown as void;

/** How a point is sampled: cold or hot, and units per sample. */
export interface SamplingPlan {
  mode: 'cold' | 'hot';
  units: number;
}

/** How to sample: `mode` with 'auto' resolved by the warm-up's median unit time; units per sample. */
function samplingPlan(mode: MeasureMode, warmupMs: readonly number[]): SamplingPlan {
  const estimate = median(warmupMs);
  const resolved = mode === 'auto' ? (estimate < COLD_BELOW_MS ? 'cold' : 'hot') : mode;
  return { mode: resolved, units: resolved === 'cold' ? 1 : Math.max(1, Math.round(HOT_SAMPLE_MS / estimate)) };
}

/** The model of a point: the engine's, or a peer's (whose calls are requests to its worker). */
export type PointModel = NativeModel | PeerModel;

/** Runs single units of `model` until `warmup_ms` of backend time and MIN_WARMUP_ITERATIONS (or WARMUP_CAP_MS); their times. */
async function warmUp(model: PointModel, m: Measurement): Promise<number[]> {
  const times: number[] = [];
  let total = 0;
  const enough = () =>
    total >= m.warmup_ms && (times.length >= MIN_WARMUP_ITERATIONS || total >= Math.max(WARMUP_CAP_MS, m.warmup_ms));
  while (!enough()) {
    times.push(checkedMs(await model.measure(1)).ms);
    total += times.at(-1)!;
  }
  return times;
}

/** `sample`, or an engine error when its time is not a positive number. */
function checkedMs(sample: NativeSample): NativeSample {
  if (!(Number.isFinite(sample.ms) && sample.ms > 0)) throw engineError(`the backend timed an iteration at ${sample.ms} ms`);
  return sample;
}

/**
 * Samples a warm `model` as `plan` says until the stop rule says enough (src/measure/stop-rule.ts).
 * Samples taken at a throttled SM clock are discarded.
 */
async function sampleModel(model: PointModel, m: Measurement, plan: SamplingPlan, ceilings?: DeviceCeilings): Promise<Measured> {
  const samples: number[] = [];
  const clocks: number[] = [];
  const rule = new StopRule(m);
  const stop = new AbortController();
  let stopReason: StopReason = 'timeout';
  let discarded = 0;
  let firstSampleAt: number | undefined;
  const throttleBelow = (ceilings?.sm_clock_max_mhz ?? 0) * THROTTLE_FRACTION;
  const bench = new Bench({
    // tinybench runs until both its minimums hold or the signal aborts: the stop rule aborts it,
    // and a budget of `timeout_ms` of backend time is the backstop.
    iterations: m.min_samples,
    time: m.timeout_ms,
    warmup: false,
    retainSamples: true,
    throws: true,
    signal: stop.signal,
  });
  // The stop rule's clock starts when the first sample's call does.
  const sampleClock = () => (firstSampleAt ??= performance.now());
  const takeSample = (sample: NativeSample, since: number) => {
    if (sample.smClockMhz > 0 && sample.smClockMhz < throttleBelow) {
      discarded++;
      pause(THROTTLE_PAUSE_MS);
    } else {
      samples.push(sample.ms);
      if (sample.smClockMhz > 0) clocks.push(sample.smClockMhz);
      const reason = rule.add(sample.ms, performance.now() - since);
      if (reason) {
        stopReason = reason;
        stop.abort();
      }
    }
    // Budget by backend time; the sample itself stays tinybench's host-clock latency.
    return { overriddenIterationCost: sample.ms * plan.units };
  };
  const cold = plan.mode === 'cold';
  // Declared sync or async: tinybench would otherwise call the task once more to find out.
  if (model instanceof PeerModel) {
    bench.add('point', async () => {
      const since = sampleClock();
      return takeSample(checkedMs(await model.measure(plan.units, cold)), since);
    }, { async: true });
  } else {
    bench.add('point', () => {
      const since = sampleClock();
      return takeSample(checkedMs(model.measure(plan.units, cold)), since);
    }, { async: false });
  }
  const [task] = model instanceof PeerModel ? await bench.run() : bench.runSync();
  const result = task.result;
  if ((result.state !== 'completed' && result.state !== 'aborted-with-statistics') || !result.latency.samples) {
    throw new Error(`tinybench finished the point in state ${result.state}`);
  }
  return {
    samples_ms: samples,
    host_ms: result.latency.samples.map((ms) => ms / plan.units),
    stop_reason: stopReason,
    mode: plan.mode,
    units_per_sample: plan.units,
    discarded,
    sm_clock_mhz: clocks.length > 0 ? clocks.reduce((a, b) => a + b, 0) / clocks.length : null,
    instances: 1,
  };
}

/**
 * Measures a point over fresh models in turn: measurement.instances of them, fewer where its timeout
 * affords fewer (affordableInstances, from the first one's warm-up). Each is warmed up and sampled
 * with its share of the budgets and the first one's sampling plan; the samples are pooled. `live`
 * holds the model being measured (the caller releases it): the last one once this returns.
 */
async function measureInstances(config: PointConfig, options: RunPointOptions, addon: NativeAddon,
  live: { model?: PointModel }): Promise<Measured> {
  const m = options.measurement;
  const asked = m.instances ?? 1;
  const fresh = async (): Promise<PointModel> => {
    await live.model?.release();
    live.model = undefined;
    return (live.model = await loadModel(config, addon, options.peers));
  };
  const first = await fresh();
  const warmup = await warmUp(first, { ...m, warmup_ms: m.warmup_ms / asked });
  const plan = samplingPlan(config.mode, warmup);
  const share = instanceShare(m, affordableInstances(asked, median(warmup), m.timeout_ms, MIN_WARMUP_ITERATIONS + 1));
  const parts = [await sampleModel(first, share, plan, options.ceilings)];
  while (parts.length < share.instances!) {
    const model = await fresh();
    await warmUp(model, share);
    parts.push(await sampleModel(model, share, plan, options.ceilings));
  }
  return pooledMeasurement(parts);
}

/** Tokens one unit of work produces or consumes: batch·seq (encoder), batch·steps (decoder, decoding). */
function tokensPerUnit(c: PointConfig, decodingSteps: number): number {
  return c.batch * (c.path === 'decoding' ? decodingSteps : c.seq);
}

export function summarizePoint(c: PointConfig, measured: Measured, decodingSteps: number, ceilings?: DeviceCeilings): Summary {
  const s = summarize(measured.samples_ms);
  const seconds = s.median / 1000;
  const tflops = flopCount(c, decodingSteps) / seconds / 1e12;
  const gbps = bytesMoved(c, decodingSteps) / seconds / 1e9;
  const peakTflops = ceilings?.peak_tflops?.[c.precision];
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
    mode: measured.mode,
    units_per_sample: measured.units_per_sample,
    discarded: measured.discarded,
    sm_clock_mhz: measured.sm_clock_mhz,
    instances: measured.instances,
    host_ms_median: measured.host_ms.length > 0 ? median(measured.host_ms) : null,
    tokens_per_s: tokensPerUnit(c, decodingSteps) / seconds,
    tflops,
    gbps,
    pct_peak_tflops: peakTflops ? (100 * tflops) / peakTflops : null,
    pct_peak_gbps: ceilings?.peak_gbps ? (100 * gbps) / ceilings.peak_gbps : null,
  };
}

/** The point's model: the engine's, or a peer's loaded in the peer worker. */
async function loadModel(config: PointConfig, addon: NativeAddon, peers: PeerBackend | undefined): Promise<PointModel> {
  if (!isPeerVariant(config.variant)) return createModel(addon, config);
  if (!peers) throw new Error(`the runner has no peer backend for the ${config.variant} point (RunPointOptions.peers)`);
  return peers.load({ ...config, variant: config.variant });
}

/**
 * transformers' output of a checkpoint point's ids, from the peer worker: the parity reference when
 * the run has one (options.parity 'transformers'); its failure is the reference's error, so the
 * point's parity check fails with it.
 */
async function transformersReference(config: PointConfig, options: RunPointOptions, addon: NativeAddon): Promise<ReferenceOutputs | undefined> {
  if (options.parity !== 'transformers' || config.model === undefined) return undefined;
  const checkpoint = config as PointConfig & { model: ModelRef };
  if (!options.peers) throw new Error('the runner has no peer backend for the transformers parity reference (RunPointOptions.peers)');
  try {
    const hidden = await options.peers.transformersHidden(checkpoint.model, checkpointInputs(addon, checkpoint));
    const none = new Int32Array();
    return { name: 'transformers', outputs: { hidden, lengths: none, outputIds: none, stepIds: none, parentIds: none,
      cumLogProbs: new Float32Array(), scores: new Float32Array(), stepsRun: 1 } };
  } catch (error) {
    if (nativeErrorCode(error) === undefined) throw error;
    return { name: 'transformers', error: (error as Error).message };
  }
}

/**
 * Builds, measures, releases and checks the model of one point (against its references). Engine
 * errors (bad config for this backend, a failed kernel, out of memory, in the point or in computing
 * a reference; a peer's coded failure, its worker's death or silence) become the point's status; the
 * model is always released. Other exceptions are harness bugs and propagate.
 */
export async function runPoint(config: PointConfig, options: RunPointOptions): Promise<Point> {
  const addon = options.addon ?? loadAddon();
  const startedAt = new Date();
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  const live: { model?: PointModel } = {};
  try {
    const measured = await measureInstances(config, options, addon, live);
    const model = live.model!;
    const profile = options.profileIterations && !(model instanceof PeerModel)
      ? kernelProfile(model.profile(options.profileIterations), median(measured.samples_ms), stageFlops(config)) : {};
    const outputs = await model.outputs();
    const notes = model.notes();
    const gemms = model.gemms();
    const resources = measureResources(model, tokensPerUnit(config, outputs.stepsRun));
    // Released before the references run, so that they have the device's memory to themselves.
    live.model = undefined;
    await model.release();
    const references = options.references ?? engineReferences(addon);
    const unchecked = uncheckedReason(config);
    const verdict = unchecked ? { correct: null, max_rel_err: null, checks: [] }
      : checkOutputs(config, outputs, references.of(config, options.parity), await transformersReference(config, options, addon));
    references.offer(config, outputs);
    return {
      key: configKey(config),
      config,
      started_at: startedAt.toISOString(),
      status: 'ok',
      summary: summarizePoint(config, measured, outputs.stepsRun, options.ceilings),
      samples_ms: measured.samples_ms,
      ...verdict,
      notes: unchecked ? { ...notes, correctness: unchecked } : notes,
      ...profile,
      ...(gemms.length > 0 ? { gemms } : {}),
      ...resources,
      duration_s: seconds(),
    };
  } catch (error) {
    const code = nativeErrorCode(error);
    if (code === undefined) throw error;
    return failedPoint(config, code === 'ERR_FTB_OOM' ? 'oom' : 'error', (error as Error).message, startedAt, seconds());
  } finally {
    await live.model?.release();
  }
}

/** The record of a point that did not finish: its status and why, no measurement. */
export function failedPoint(config: PointConfig, status: 'error' | 'oom', message: string, startedAt: Date, seconds: number): Point {
  return {
    key: configKey(config), config, started_at: startedAt.toISOString(), status, error: message, summary: null, samples_ms: [],
    correct: null, max_rel_err: null, checks: [], notes: {}, duration_s: seconds,
  };
}
