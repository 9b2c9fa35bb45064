// The primitives the correctness checks compare with (src/check/correctness.ts, src/check/fp8.ts):
// a check's record, the relative L2 error, the share of equal decoding ids, and what a reference is.
import type { NativeOutputs } from '../engine/native.js';
import type { Check } from '../results/schema.js';

/** What a point is compared with ("unfused", "cpu", "transformers"): its outputs, or why they could not be computed. */
export type ReferenceOutputs = { name: string; outputs: NativeOutputs } | { name: string; error: string };

/** Values compared: typed arrays of the outputs, or plain arrays. */
export type Numbers = ArrayLike<number>;

/** A passed check (with an optional detail) when `failure` is undefined, else a failed one saying why. */
export const check = (name: string, failure: string | undefined, detail?: string): Check =>
  failure === undefined ? { name, ok: true, ...(detail === undefined ? {} : { detail }) } : { name, ok: false, detail: failure };

/** ‖actual − expected‖₂ / ‖expected‖₂ (0 when both are zero, Infinity when only `expected` is). */
export function relativeL2(actual: Numbers, expected: Numbers): number {
  if (actual.length !== expected.length) throw new RangeError(`comparing ${actual.length} values with ${expected.length}`);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    diff += (actual[i] - expected[i]) ** 2;
    norm += expected[i] ** 2;
  }
  if (diff === 0) return 0;
  return norm === 0 ? Infinity : Math.sqrt(diff / norm);
}

/** The share of output ids equal to the reference's (1 when there are none); the sizes are equal. */
export function idsEqualShare(out: NativeOutputs, ref: NativeOutputs): { share: number; differing: number } {
  const differing = out.outputIds.reduce((n, id, i) => n + (id !== ref.outputIds[i] ? 1 : 0), 0);
  return { share: out.outputIds.length === 0 ? 1 : 1 - differing / out.outputIds.length, differing };
}
