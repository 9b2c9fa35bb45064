// What a point costs besides time: the model's peak device memory and the device's energy per unit
// of work, as the results file records them (schema.ts MemorySchema, EnergySchema). Both come from
// the engine (native/src/cuda/measured_model.h): memory is the model's device buffers at their peak
// since it was built (weights, workspace, activations; not the timing's L2 flush buffer); energy is
// NVML's total-energy counter over a dedicated window of back-to-back (hot) units run after the
// samples, at least ENERGY_WINDOW_MS long and bounded by two ticks of the counter (it updates only
// every few tens of milliseconds on some GPUs, too coarse to read around one sample). Where a reading
// is impossible (the cpu backend, NVML missing, the counter unsupported, a peer model) the point
// records why instead.
import type { NativeEnergy, NativeMemory } from '../engine/native.js';
import type { Point } from '../results/schema.js';

/** Shortest energy window: many counter periods, so that the ticks bounding it cost a few percent at most. */
export const ENERGY_WINDOW_MS = 250;

/** What a model reports of its resources (the engine's models and the peers' alike). */
export interface ResourceSource {
  memory(): NativeMemory;
  measureEnergy(minWindowMs: number): NativeEnergy;
}

/** The point's memory and energy records; `tokensPerUnit` as tokens_per_s counts a unit's tokens. */
export function measureResources(model: ResourceSource, tokensPerUnit: number):
  { memory: NonNullable<Point['memory']>; energy: NonNullable<Point['energy']> } {
  const memory = model.memory();
  const energy = model.measureEnergy(ENERGY_WINDOW_MS);
  return {
    memory: 'reason' in memory ? { reason: memory.reason } : { peak_bytes: memory.peakBytes },
    energy: 'reason' in energy ? { reason: energy.reason } : {
      joules_per_unit: energy.joules / energy.units,
      joules_per_token: energy.joules / energy.units / tokensPerUnit,
      mean_w: energy.joules / (energy.windowMs / 1000),
      units: energy.units,
      window_ms: energy.windowMs,
    },
  };
}
