// The device side of the fp8 precision's row-wise quantization (native/MODEL.md, "fp8"), shared by
// every kernel that writes an E4M3 GEMM input: the row-wise quantize kernels (fp8_quant.cu) and the
// LayerNorm that writes the E4M3 copy of its own output (layernorm.cu). One definition of the scale,
// the rounding and the amax over a stored vector is what makes the LayerNorm's copy bit-identical to
// "LayerNorm, then quantize": both start from the same 16-byte vector of T (what the LayerNorm stores
// is what the quantize pass would read back) and run the same operations on it. The division
// x / scale is __fdiv_rn, IEEE round-to-nearest whatever the compiler's fast-math flags, as the host
// emulation (common/e4m3.h) divides.
#pragma once
#include <cuda_fp8.h>

#include <cstdint>

#include "cuda/kernels/device_math.cuh"

namespace ftb::cuda {

// A row's scale from its amax: amax / 448, 1 for an all-zero row (common/e4m3.h, e4m3_scale).
__device__ __forceinline__ float e4m3_scale(float amax) { return amax > 0.0f ? __fdiv_rn(amax, 448.0f) : 1.0f; }

__device__ __forceinline__ __nv_fp8_storage_t to_e4m3(float x, float scale) {
  return __nv_cvt_float_to_fp8(__fdiv_rn(x, scale), __NV_SATFINITE, __NV_E4M3);
}

// max(largest, |v|) over the kVec<T> values of one 16-byte vector; fmaxf drops a NaN operand, so a
// NaN value leaves the amax as it was (the host's abs_max does the same).
template <typename T>
__device__ __forceinline__ float abs_max_vec(const uint4& raw, float largest) {
  float values[kVec<T>];
  widen_vec<T>(raw, values);
#pragma unroll
  for (int i = 0; i < kVec<T>; ++i) largest = fmaxf(largest, fabsf(values[i]));
  return largest;
}

// kBytes E4M3 values stored with one access (8 from an fp16 or bf16 vector, 4 from an fp32 one).
template <int kBytes>
struct Fp8Pack;
template <>
struct Fp8Pack<8> {
  using type = uint2;
};
template <>
struct Fp8Pack<4> {
  using type = uint32_t;
};

// Rounds the kVec<T> values of one 16-byte vector to E4M3 and stores them as kVec<T> bytes with one
// access.
template <typename T>
__device__ __forceinline__ void store_e4m3(const uint4& raw, float scale, __nv_fp8_storage_t* out) {
  using Pack = typename Fp8Pack<kVec<T>>::type;
  float values[kVec<T>];
  widen_vec<T>(raw, values);
  Pack packed;
  __nv_fp8_storage_t* bytes = reinterpret_cast<__nv_fp8_storage_t*>(&packed);
#pragma unroll
  for (int i = 0; i < kVec<T>; ++i) bytes[i] = to_e4m3(values[i], scale);
  *reinterpret_cast<Pack*>(out) = packed;
}

}  // namespace ftb::cuda
