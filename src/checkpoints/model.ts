// Builds a point's engine model: the synthetic one, or a checkpoint's (`config.model`) with its
// token ids. The weights are loaded once per process and kept for the next point of the same
// model (a worker runs point after point; references rebuild the same model on the CPU).
import { TensorId, type NativeAddon, type NativeCheckpoint, type NativeModel } from '../engine/native.js';
import type { ModelRef, PointConfig } from '../engine/config.js';
import { randomInputs, readInputsFile, type TokenInputs } from './inputs.js';
import { loadCheckpoint, type LoadedCheckpoint } from './load.js';

let loaded: { dir: string; checkpoint: LoadedCheckpoint } | undefined;

function checkpointOf(dir: string): LoadedCheckpoint {
  // One model at a time: a BERT-large is over a GB of fp32.
  if (loaded?.dir !== dir) loaded = { dir, checkpoint: loadCheckpoint(dir) };
  return loaded.checkpoint;
}

/** The token ids of a checkpoint's point: its --inputs file, else seeded ids with the synthetic model's lengths. */
export function pointInputs(addon: NativeAddon, config: PointConfig, checkpoint: LoadedCheckpoint): TokenInputs {
  if (config.model?.inputs !== undefined) return readInputsFile(config.model.inputs, checkpoint.spec);
  const lengths = Array.from({ length: config.batch }, (_, b) =>
    config.full_length ? config.seq : addon.sequenceLength(config, TensorId.EncoderLengths, b, config.seq));
  return randomInputs(checkpoint.spec, config.seed, lengths, config.seq);
}

/** The token ids and lengths a checkpoint's point runs on (what its parity reference is asked for too). */
export function checkpointInputs(addon: NativeAddon, config: PointConfig & { model: ModelRef }): TokenInputs {
  return pointInputs(addon, config, checkpointOf(config.model.dir));
}

/** The checkpoint argument of addon.Model for `config`'s model. */
export function nativeCheckpoint(addon: NativeAddon, config: PointConfig, dir: string): NativeCheckpoint {
  const checkpoint = checkpointOf(dir);
  const inputs = pointInputs(addon, config, checkpoint);
  return {
    tensors: checkpoint.tensors,
    ids: Int32Array.from(inputs.ids.flat()),
    lengths: Int32Array.from(inputs.lengths),
    position_offset: checkpoint.spec.position_offset,
  };
}

/** The engine model of a point: its checkpoint's when it has one, else the synthetic model. */
export function createModel(addon: NativeAddon, config: PointConfig): NativeModel {
  if (config.model === undefined) return new addon.Model(config.backend, config);
  return new addon.Model(config.backend, config, nativeCheckpoint(addon, config, config.model.dir));
}
