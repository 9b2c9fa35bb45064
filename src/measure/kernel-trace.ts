// A kernel trace (NativeProfile, from the engine's CUPTI trace) summarised for the results: time per
// engine stage and per kernel, per unit of work. The trace is of eager launches (stages need them),
// slowed on the host by the tracing itself, so its kernel time is set against the point's measured
// median: their difference (gap_pct) is what the device spends between kernels, launch gaps. A stage
// whose matrix products flops.ts counts (stageFlops, or the sum of its parts for a stage that stands
// for several: COMPOSITE_STAGES) also gets its own TFLOP/s.
import type { NativeProfile, NativeTraceRecord } from '../engine/native.js';
import type { KernelTime, Point, StageTime } from '../results/schema.js';
import { COMPOSITE_STAGES } from './flops.js';

const durationMs = (r: NativeTraceRecord): number => (r.endNs - r.startNs) / 1e6;
const dims = (d: Int32Array): string => Array.from(d).join('x');
/** Activities launched outside any named stage. */
export const NO_STAGE = '(no stage)';

/** A demangled kernel name without its parameter list: "ftb::cuda::(anonymous namespace)::fused_mha<__half, 64>". */
export function kernelName(name: string): string {
  let text = name.startsWith('void ') ? name.slice(5) : name;
  if (!text.endsWith(')')) return text;
  let depth = 0;
  for (let i = text.length - 1; i >= 0; i--) {
    if (text[i] === ')') depth++;
    else if (text[i] === '(' && --depth === 0) {
      text = text.slice(0, i);
      break;
    }
  }
  return text;
}

/** A stage's FLOPs: its own, or those of all its parts (COMPOSITE_STAGES); undefined where not counted. */
function stageFlopsOf(stage: string, flopsByStage: Record<string, number>): number | undefined {
  if (Object.hasOwn(flopsByStage, stage)) return flopsByStage[stage];
  const parts = Object.hasOwn(COMPOSITE_STAGES, stage) ? COMPOSITE_STAGES[stage] : undefined;
  if (parts === undefined || !parts.every((part) => Object.hasOwn(flopsByStage, part))) return undefined;
  return parts.reduce((sum, part) => sum + flopsByStage[part], 0);
}

/** `stage` with its TFLOP/s where its FLOPs are counted and its time is not zero. */
const withTflops = (stage: StageTime, flops: number | undefined): StageTime =>
  flops !== undefined && stage.total_ms > 0 ? { ...stage, tflops: flops / (stage.total_ms * 1e-3) / 1e12 } : stage;

/**
 * The point's `profile`, `stages` and `kernels`: totals per unit of work, largest first; `medianMs` is
 * the point's measured median, `flopsByStage` the FLOPs of a unit per stage (stageFlops).
 */
export function kernelProfile(p: NativeProfile, medianMs: number, flopsByStage: Record<string, number> = {}):
  Required<Pick<Point, 'profile' | 'stages' | 'kernels'>> {
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
    const name = kernelName(record.name);
    const key = `${stage}\u0000${name}`;
    const kernel = kernels.get(key) ?? {
      name, kind: record.kind, stage, calls: 0, total_ms: 0, mean_ms: 0,
      grid: record.kind === 'kernel' ? dims(record.grid) : null, block: record.kind === 'kernel' ? dims(record.block) : null,
    };
    kernel.calls += 1;
    kernel.total_ms += ms;
    kernels.set(key, kernel);
  }
  const byTime = <T extends { total_ms: number }>(a: T, b: T) => b.total_ms - a.total_ms;
  return {
    profile: {
      iterations: p.iterations, event_ms: p.eventMs, kernel_ms: perUnit(totalMs),
      gap_pct: (100 * (medianMs - perUnit(totalMs))) / medianMs, note: p.note,
    },
    stages: [...stages.values()]
      .map((s) => withTflops({ ...s, calls: s.calls / p.iterations, total_ms: perUnit(s.total_ms) },
        stageFlopsOf(s.name, flopsByStage)))
      .sort(byTime),
    kernels: [...kernels.values()]
      .map((k) => ({ ...k, mean_ms: k.total_ms / k.calls, calls: k.calls / p.iterations, total_ms: perUnit(k.total_ms) }))
      .sort(byTime),
  };
}
