// The reference outputs a point is compared with (src/check/correctness.ts does the comparing):
// - a fused CUDA point or a peer's (src/engine/peer-model.ts): the unfused variant of the same config:
//   the outputs of the unfused point measured last when the sweep ran it before the points of its
//   pair (profiles list unfused first; the variant axis is innermost), else one extra run;
// - any CUDA point whose CPU reference is cheap enough (≤ CPU_REFERENCE_MAX_FLOP), and every point of a
//   checkpoint (--model) whose parity is measured against the CPU (no transformers), whatever it costs: the CPU
//   reference backend's outputs, computed once per model shape and kept for the other variants and
//   precisions of that shape (the CPU computes the same fp32 values whatever the precision asked for,
//   but for fp8: its reference emulates fp8's E4M3 rounding, native/MODEL.md "fp8");
// - an fp8 point, also the fp32 reference: its unfused variant in fp32, whose error is recorded
//   (fp32_rel_err; decoding: fp32_ids_equal_fraction too), not judged;
// - an fp8 decoding point, also the same config in fp16 (issue 22's target: fp8's ids against fp16's),
//   recorded as fp16_ids_equal_fraction and fp16_score_rel_err, not judged.
// A CPU point has no reference: it is the reference, checked by its invariants and by the tests; but a
// CPU point split over tensor-parallel ranks (tp > 1) is compared with the unsplit CPU reference.
import { configKey, defaultGraph, isPeerVariant, pairKey, tpOf, type PointConfig } from '../engine/config.js';
import type { ParityReference, ReferenceOutputs } from './correctness.js';
import { FP16_REFERENCE, FP32_REFERENCE } from './fp8.js';
import { flopCount } from '../measure/flops.js';
import { nativeErrorCode, type NativeAddon, type NativeOutputs } from '../engine/native.js';
import { createModel } from '../checkpoints/model.js';

/** The CPU reference runs for points of at most this many FLOPs (BERT-base b1 s128 is 2.2e10). */
export const CPU_REFERENCE_MAX_FLOP = 5e10;

export interface ReferenceSource {
  /** The references of a point (`parity`: a checkpoint's parity reference); an engine error while computing one is that reference's `error`. */
  of(config: PointConfig, parity?: ParityReference): ReferenceOutputs[];
  /** Offers the outputs of a point just measured, to stand as a reference for the next point. */
  offer(config: PointConfig, outputs: NativeOutputs): void;
}

/** Runs `config` once on the engine and returns its outputs; the model is always released. */
function runOnce(addon: NativeAddon, config: PointConfig): NativeOutputs {
  const model = createModel(addon, config);
  try {
    model.run();
    return model.outputs();
  } finally {
    model.release();
  }
}

/**
 * The CPU reference's config for a point: same model, inputs and seed on the reference backend, unsplit (tp 1).
 * An fp8 point's is the fp8 emulation (E4M3 rounding of every layer GEMM's inputs: native/MODEL.md, "fp8"),
 * so its `correct` says whether it computes what fp8 should; every other precision's is fp32.
 */
export function cpuReferenceConfig(config: PointConfig): PointConfig {
  const precision = config.precision === 'fp8' ? 'fp8' : 'fp32';
  return { ...config, backend: 'cpu', variant: 'reference', precision, graph: false, tp: undefined };
}

/** An fp8 point's fp32 reference (FP32_REFERENCE): the same config's unfused variant in fp32, eager, on the same backend. */
export function fp32ReferenceConfig(config: PointConfig): PointConfig {
  return { ...config, variant: 'unfused', precision: 'fp32', graph: false };
}

/** An fp8 decoding point's fp16 reference (FP16_REFERENCE): the same config, variant and graph in fp16. */
export function fp16ReferenceConfig(config: PointConfig): PointConfig {
  return { ...config, precision: 'fp16' };
}

/** The reference `name` from `compute`, or the engine error that stopped it (other errors propagate). */
function reference(name: string, compute: () => NativeOutputs): ReferenceOutputs {
  try {
    return { name, outputs: compute() };
  } catch (error) {
    if (nativeErrorCode(error) === undefined) throw error;
    return { name, error: (error as Error).message };
  }
}

/** A ReferenceSource over `addon`, caching the CPU references it computes. */
export function engineReferences(addon: NativeAddon): ReferenceSource {
  const cpuCache = new Map<string, NativeOutputs>();
  const cpuOutputs = (config: PointConfig): NativeOutputs => {
    const cpuConfig = cpuReferenceConfig(config);
    const key = `${configKey(cpuConfig)} seed=${cpuConfig.seed} max_seq=${cpuConfig.max_seq}`;
    let outputs = cpuCache.get(key);
    if (!outputs) {
      outputs = runOnce(addon, cpuConfig);
      cpuCache.set(key, outputs);
    }
    return outputs;
  };
  // Only the latest unfused outputs are kept, while the points of its pair (fused, peers) follow.
  let lastUnfused: { key: string; outputs: NativeOutputs } | undefined;
  const unfusedOutputs = (config: PointConfig): NativeOutputs => {
    const unfused: PointConfig = { ...config, variant: 'unfused', graph: defaultGraph('unfused') };
    return lastUnfused?.key === pairKey(config) ? lastUnfused.outputs : runOnce(addon, unfused);
  };
  // The latest fp32 outputs, kept while the fp8 points of the same config (fused, unfused) follow.
  let lastFp32: { key: string; outputs: NativeOutputs } | undefined;
  const fp32Outputs = (config: PointConfig): NativeOutputs => {
    const fp32 = fp32ReferenceConfig(config);
    const key = `${configKey(fp32)} seed=${fp32.seed} max_seq=${fp32.max_seq}`;
    if (lastFp32?.key !== key) lastFp32 = { key, outputs: runOnce(addon, fp32) };
    return lastFp32.outputs;
  };
  return {
    of(config, parity) {
      if (config.backend === 'cpu') return tpOf(config) > 1 ? [reference('cpu', () => cpuOutputs(config))] : [];
      const references: ReferenceOutputs[] = [];
      if (config.variant === 'fused' || isPeerVariant(config.variant)) references.push(reference('unfused', () => unfusedOutputs(config)));
      // A checkpoint's point without transformers always has its CPU reference: its parity is recorded (PARITY_TOLERANCE).
      const cpuParity = config.model !== undefined && parity !== 'transformers';
      if (cpuParity || flopCount(config) <= CPU_REFERENCE_MAX_FLOP) references.push(reference('cpu', () => cpuOutputs(config)));
      if (config.precision === 'fp8' && !isPeerVariant(config.variant)) {
        references.push(reference(FP32_REFERENCE, () => fp32Outputs(config)));
        if (config.path === 'decoding') references.push(reference(FP16_REFERENCE, () => runOnce(addon, fp16ReferenceConfig(config))));
      }
      return references;
    },
    offer(config, outputs) {
      if (config.variant === 'unfused') lastUnfused = { key: pairKey(config), outputs };
      else if (lastUnfused?.key !== pairKey(config)) lastUnfused = undefined;
    },
  };
}
