// One run of a checkpoint folder's model on a backend, for fixed ids and lengths: the shared step of
// the CPU checkpoint tests and the GPU ones.
import { loadCheckpoint } from '../../src/checkpoints/load.js';
import type { NativeAddon, NativeConfig, NativeGemmChoice } from '../../src/engine/native.js';

export interface CheckpointRun {
  hidden: Float32Array;
  lengths: Int32Array;
  notes: Record<string, string>;
  gemms: NativeGemmChoice[];
}

/** Loads `dir`, builds its model on `backend` (with `extra` config: variant, precision) for `ids` / `lengths`, runs it once. */
export function runCheckpoint(addon: NativeAddon, backend: string, dir: string, ids: number[][], lengths: number[],
  extra: Partial<NativeConfig> = {}): CheckpointRun {
  const { spec, tensors } = loadCheckpoint(dir);
  const config: Partial<NativeConfig> = {
    path: 'encoder', variant: 'reference', precision: 'fp32', layers: spec.layers, heads: spec.heads, head_size: spec.hidden / spec.heads,
    inter_size: spec.inter_size, batch: ids.length, seq: ids[0].length, max_seq: ids[0].length, layer_norm_eps: spec.layer_norm_eps,
    activation: spec.activation, ...extra,
  };
  const model = new addon.Model(backend, config, {
    tensors, ids: Int32Array.from(ids.flat()), lengths: Int32Array.from(lengths), position_offset: spec.position_offset,
  });
  try {
    model.run();
    const outputs = model.outputs();
    return { hidden: outputs.hidden, lengths: outputs.lengths, notes: model.notes(), gemms: model.gemms() };
  } finally {
    model.release();
  }
}
