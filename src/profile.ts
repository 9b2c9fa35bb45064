// A kernel trace (NativeProfile, from the engine's CUPTI trace) summarised for the results: time per
// engine stage and per kernel, per unit of work, next to the CUDA-event time of the traced units.
// Their difference is what the device spent outside any kernel, memcpy or memset: launch gaps.
import type { NativeProfile, NativeTraceRecord } from './native.js';
import type { KernelTime, Point, StageTime } from './schema.js';

const durationMs = (r: NativeTraceRecord): number => (r.endNs - r.startNs) / 1e6;
const dims = (d: Int32Array): string => Array.from(d).join('x');
/** Activities launched outside any named stage. */
export const NO_STAGE = '(no stage)';

/** The point's `profile`, `stages` and `kernels`: totals per unit of work, largest first. */
export function kernelProfile(p: NativeProfile): Required<Pick<Point, 'profile' | 'stages' | 'kernels'>> {
  const perUnit = (ms: number) => ms / p.iterations;
  const stages = new Map<string, StageTime>();
  const kernels = new Map<string, KernelTime>();
  let totalMs = 0;
  for (const record of p.records) {
    const ms = durationMs(record);
    const stage = record.stage || NO_STAGE;
    totalMs += ms;
    const stageTime = stages.get(stage) ?? { name: stage, calls: 0, total_ms: 0 };
    stageTime.calls += 1;
    stageTime.total_ms += ms;
    stages.set(stage, stageTime);
    const key = `${stage}\u0000${record.name}`;
    const kernel = kernels.get(key) ?? {
      name: record.name, kind: record.kind, stage, calls: 0, total_ms: 0, mean_ms: 0,
      grid: record.kind === 'kernel' ? dims(record.grid) : null, block: record.kind === 'kernel' ? dims(record.block) : null,
    };
    kernel.calls += 1;
    kernel.total_ms += ms;
    kernels.set(key, kernel);
  }
  const byTime = <T extends { total_ms: number }>(a: T, b: T) => b.total_ms - a.total_ms;
  return {
    profile: { iterations: p.iterations, event_ms: p.eventMs, kernel_ms: perUnit(totalMs), note: p.note },
    stages: [...stages.values()].map((s) => ({ ...s, calls: s.calls / p.iterations, total_ms: perUnit(s.total_ms) })).sort(byTime),
    kernels: [...kernels.values()]
      .map((k) => ({ ...k, mean_ms: k.total_ms / k.calls, calls: k.calls / p.iterations, total_ms: perUnit(k.total_ms) }))
      .sort(byTime),
  };
}
