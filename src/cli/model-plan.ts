// `--model DIR` (and `--inputs FILE`): a user's Hugging Face checkpoint on the encoder path. The
// folder is checked whole before the sweep starts (config.json, headers, shapes, inputs: exit 2 on
// any problem); its dims replace the profile's, its ids file sets batch and seq, and every point
// carries the model (its identity is part of the point's key) and its config.json's encoder settings.
import { ConfigError, isPeerVariant, type ModelRef, type PointConfig } from '../engine/config.js';
import { inspectCheckpoint, modelRef } from '../checkpoints/load.js';
import type { EncoderSpec } from '../checkpoints/hf-config.js';
import { readInputsFile } from '../checkpoints/inputs.js';
import type { SweepOverrides } from '../sweep/expand.js';

/** Where a run's model comes from: recorded in run.options so that --resume finds it again. */
export interface ModelRequest {
  dir: string;
  inputs?: string;
}

export interface ModelPlan {
  ref: ModelRef;
  spec: EncoderSpec;
  /** The request's overrides with the model's dims (and the inputs' batch and seq). */
  overrides: SweepOverrides;
}

/** Checks the model folder (and inputs file) and derives the sweep's overrides from them. */
export function modelPlan(request: ModelRequest, overrides: SweepOverrides): ModelPlan {
  const inspected = inspectCheckpoint(request.dir);
  const { spec } = inspected;
  const inputs = request.inputs === undefined ? undefined : readInputsFile(request.inputs, spec);
  return {
    ref: modelRef(request.dir, inspected, request.inputs),
    spec,
    overrides: {
      ...overrides,
      path: ['encoder'],
      layers: spec.layers, heads: spec.heads, head_size: spec.hidden / spec.heads, inter_size: spec.inter_size,
      ...(inputs === undefined ? {} : { batch: [inputs.ids.length], seq: [inputs.ids[0].length] }),
    },
  };
}

/**
 * The sweep's points with the model attached; a seq past the model's positions is refused. Peer
 * variants are refused too: the peers load the engine's own checkpoint of a point, not a user's.
 */
export function withModel(points: readonly PointConfig[], plan: ModelPlan): PointConfig[] {
  const positions = plan.spec.max_positions - plan.spec.position_offset;
  const long = points.find((point) => point.seq > positions);
  if (long !== undefined) throw new ConfigError('seq', `seq must be at most ${positions} (the model's positions), got ${long.seq}`);
  const peer = points.find((point) => isPeerVariant(point.variant));
  if (peer !== undefined) throw new ConfigError('variant', `--model runs the engine's variants only, got ${peer.variant}`);
  return points.map((point) => ({
    ...point, model: plan.ref, layer_norm_eps: plan.spec.layer_norm_eps, activation: plan.spec.activation,
  }));
}
