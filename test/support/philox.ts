// An independent TypeScript Philox4x32-10 and the derived draws of native/src/common/philox.h,
// so tests can check the engine's generator and reproduce its sampling draws.

const M0 = 0xd2511f53n;
const M1 = 0xcd9e8d57n;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const MASK32 = 0xffffffffn;

type Words = [number, number, number, number];

/** Philox4x32 with 10 rounds (Salmon et al. 2011) over counter c and key k. */
export function philox4x32_10(c: Words, k: [number, number]): Words {
  let [c0, c1, c2, c3] = c.map(BigInt) as [bigint, bigint, bigint, bigint];
  let [k0, k1] = k;
  for (let round = 0; round < 10; round += 1) {
    const p0 = M0 * c0;
    const p1 = M1 * c2;
    [c0, c1, c2, c3] = [(p1 >> 32n) ^ c1 ^ BigInt(k0), p1 & MASK32, (p0 >> 32n) ^ c3 ^ BigInt(k1), p0 & MASK32];
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  return [Number(c0), Number(c1), Number(c2), Number(c3)];
}

/** Word 0 of Philox at counter (index lo, index hi, stream, 0), key (seed lo, seed hi). */
export function randomWord(seed: number, stream: number, index: number): number {
  const split = (value: number): [number, number] => [value % 2 ** 32, Math.floor(value / 2 ** 32)];
  const [indexLo, indexHi] = split(index);
  const [seedLo, seedHi] = split(seed);
  return philox4x32_10([indexLo, indexHi, stream, 0], [seedLo, seedHi])[0];
}

/** random_unit: an odd multiple of 2^-24 in (0, 1). */
export function randomUnit(seed: number, stream: number, index: number): number {
  return ((randomWord(seed, stream, index) >>> 8) | 1) * 2 ** -24;
}

/** random_symmetric: offset + scale · v, v an odd multiple of 2^-24 in (-1, 1), fp32 arithmetic. */
export function randomSymmetric(seed: number, stream: number, index: number, scale: number, offset: number): number {
  const v = ((randomWord(seed, stream, index) >>> 8) * 2 + 1 - 2 ** 24) * 2 ** -24;
  return Math.fround(Math.fround(v * scale) + offset);
}

/** random_int: lo + word mod (hi − lo + 1). */
export function randomInt(seed: number, stream: number, index: number, lo: number, hi: number): number {
  return lo + (randomWord(seed, stream, index) % (hi - lo + 1));
}

/** stream_of(tensor, layer): a distinct stream per layer of a per-layer tensor. */
export function streamOf(tensorId: number, layer = 0): number {
  return ((layer << 8) | tensorId) >>> 0;
}
