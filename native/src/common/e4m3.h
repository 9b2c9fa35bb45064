// FP8 E4M3 (OCP "E4M3FN": 1 sign, 4 exponent bits with bias 7, 3 mantissa bits, no infinities, the
// all-ones pattern S.1111.111 is NaN) as the engine's fp8 precision uses it, in host code: the CPU
// reference emulates with it exactly what the cuda backend's quantize kernels compute
// (cuda/kernels/fp8_quant.cu: __nv_cvt_float_to_fp8(x / scale, __NV_SATFINITE, __NV_E4M3)), so an
// fp8 point is checked against what fp8 should compute, not only against fp32.
//
// Rounding: to the nearest E4M3 value, ties to the even mantissa; magnitudes above the largest finite
// value 448 saturate to ±448 (SATFINITE; what cuBLASLt-style per-tensor scaling relies on instead of
// overflowing); below the smallest normal 2^-6 the subnormals are multiples of 2^-9 (smallest 2^-9,
// so |x| ≤ 2^-10 rounds to ±0, the tie at exactly 2^-10 to 0, the even one); NaN stays NaN; ±inf
// saturates to ±448 like any large finite value (the SATFINITE conversion's rule).
// Scale: per tensor, scale = amax / 448 (fp32 division), so the tensor's largest magnitude maps to
// 448 exactly; q = e4m3(x / scale), and x ≈ q · scale. An all-zero (or empty) tensor has scale 1.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace ftb {

constexpr float kE4m3Max = 448.0f;

// x rounded to the nearest E4M3 value (as a float; every E4M3 value is exactly a float).
inline float round_e4m3(float x) {
  if (std::isnan(x)) return x;
  const float magnitude = std::fabs(x);
  if (magnitude >= kE4m3Max) return std::copysign(kE4m3Max, x);
  // The spacing of E4M3 values around |x|: 2^(e−3) for a normal |x| in [2^e, 2^(e+1)), e ≥ −6;
  // 2^-9 in the subnormal range below 2^-6 (the same spacing as the lowest binade).
  int exponent = 0;
  std::frexp(magnitude, &exponent);  // magnitude = f · 2^exponent, f in [0.5, 1): binade 2^(exponent−1)
  const int binade = exponent - 1 < -6 ? -6 : exponent - 1;
  const float spacing = std::ldexp(1.0f, binade - 3);
  // magnitude / spacing is exact (a power-of-two scaling of a float in range); nearbyint rounds to
  // nearest, ties to even under the default rounding mode, which the engine never changes.
  const float rounded = std::nearbyint(magnitude / spacing) * spacing;
  // Rounding up out of the top binade lands on 448 at most (464 and up were handled above).
  return std::copysign(rounded, x);
}

// The per-tensor scale of a tensor whose largest magnitude is `amax`: amax / 448, or 1 for amax 0.
inline float e4m3_scale(float amax) { return amax > 0.0f ? amax / kE4m3Max : 1.0f; }

// The value of an E4M3 bit pattern (what the device stores): S.EEEE.MMM, subnormal when E is 0,
// NaN for S.1111.111.
inline float e4m3_value(uint8_t bits) {
  const int exponent = (bits >> 3) & 15, mantissa = bits & 7;
  const float sign = (bits & 0x80) != 0 ? -1.0f : 1.0f;
  if (exponent == 15 && mantissa == 7) return std::numeric_limits<float>::quiet_NaN();
  if (exponent == 0) return sign * std::ldexp(static_cast<float>(mantissa), -9);
  return sign * std::ldexp(1.0f + mantissa / 8.0f, exponent - 7);
}

// Largest |x[i]| over n values (NaN ignored: std::fmax returns the other operand).
inline float abs_max(const float* x, size_t n) {
  float amax = 0.0f;
  for (size_t i = 0; i < n; ++i) amax = std::fmax(amax, std::fabs(x[i]));
  return amax;
}

// out[i] = round_e4m3(x[i] / scale): the E4M3 values whose products the fp8 GEMM accumulates.
inline void quantize_e4m3(const float* x, size_t n, float scale, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = round_e4m3(x[i] / scale);
}

}  // namespace ftb
