// What the GPU test files share: the addon when it has the cuda backend (else why the tests are
// skipped), and one run of a model with its outputs, notes and GEMMs.
import { loadAddon, type NativeAddon, type NativeConfig } from '../../src/engine/native.js';

export function cudaAvailability(): { addon?: NativeAddon; skip?: string } {
  let addon: NativeAddon;
  try {
    addon = loadAddon();
  } catch (error) {
    return { skip: `native addon not loadable: ${(error as Error).message}` };
  }
  const backends = addon.backends();
  if (!backends.includes('cuda')) {
    return { skip: `cuda backend not built into this addon (backends: ${backends.join(', ')})` };
  }
  return { addon };
}

/** Builds, runs once and releases a model of `config` on `backend`; its outputs, notes and GEMMs. */
export function runModel(addon: NativeAddon, backend: string, config: Partial<NativeConfig>) {
  const model = new addon.Model(backend, config);
  try {
    model.run();
    return { outputs: model.outputs(), notes: model.notes(), gemms: model.gemms(), memory: model.memory() };
  } finally {
    model.release();
  }
}
