// Device-side helpers shared by the kernels: storage types, fp32 conversion, 16-byte vectors,
// warp/block reductions, and the DType -> C++ type dispatch used by every launcher.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "cuda/dtype.h"
#include "engine/backend.h"

namespace ftb::cuda {

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T>
__device__ __forceinline__ T from_float(float x);
template <>
__device__ __forceinline__ float from_float<float>(float x) { return x; }
template <>
__device__ __forceinline__ __half from_float<__half>(float x) { return __float2half_rn(x); }
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

// Elements of T in one 16-byte access.
template <typename T>
constexpr int kVec = 16 / sizeof(T);

// Widens the kVec<T> elements of one 16-byte vector to fp32.
template <typename T>
__device__ __forceinline__ void widen_vec(const uint4& raw, float (&out)[kVec<T>]) {
  const T* values = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int i = 0; i < kVec<T>; ++i) out[i] = to_float(values[i]);
}

// Loads kVec<T> elements (16-byte aligned) and widens them to fp32. The copy into a local vector is
// what makes this one 16-byte load: a reference bound straight to global memory lets the compiler
// read only the elements widen_vec touches, one load each.
template <typename T>
__device__ __forceinline__ void load_vec(const T* src, float (&out)[kVec<T>]) {
  const uint4 raw = *reinterpret_cast<const uint4*>(src);
  widen_vec<T>(raw, out);
}

// Rounds kVec<T> fp32 values to T, packed in one 16-byte vector.
template <typename T>
__device__ __forceinline__ uint4 pack_vec(const float (&in)[kVec<T>]) {
  uint4 raw;
  T* values = reinterpret_cast<T*>(&raw);
#pragma unroll
  for (int i = 0; i < kVec<T>; ++i) values[i] = from_float<T>(in[i]);
  return raw;
}

// Rounds kVec<T> fp32 values to T and stores them with one 16-byte access.
template <typename T>
__device__ __forceinline__ void store_vec(T* dst, const float (&in)[kVec<T>]) {
  *reinterpret_cast<uint4*>(dst) = pack_vec<T>(in);
}

template <typename V>
__device__ __forceinline__ V warp_sum(V value) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

__device__ __forceinline__ float warp_max(float value) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) value = fmaxf(value, __shfl_xor_sync(0xffffffffu, value, offset));
  return value;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
// `scratch` holds 32 values of shared memory; the call begins with a barrier so it can be reused.
template <typename V>
__device__ __forceinline__ V block_sum(V value, V* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  value = warp_sum(value);
  __syncthreads();
  if (lane == 0) scratch[warp] = value;
  __syncthreads();
  value = lane < warps ? scratch[lane] : V(0);
  return warp_sum(value);
}

// Max over the block, as block_sum.
__device__ __forceinline__ float block_max(float value, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  value = warp_max(value);
  __syncthreads();
  if (lane == 0) scratch[warp] = value;
  __syncthreads();
  value = lane < warps ? scratch[lane] : -INFINITY;
  return warp_max(value);
}

// FasterTransformer's GELU (tanh form), in fp32.
__device__ __forceinline__ float gelu_tanh(float x) {
  const float inner = 0.7978845608028654f * (x + 0.044715f * x * x * x);
  return 0.5f * x * (1.0f + tanhf(inner));
}

// BERT's exact GELU (erf form), in fp32: what Hugging Face's hidden_act "gelu" computes.
__device__ __forceinline__ float gelu_erf(float x) { return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f)); }

// Calls body(T{}) with T the C++ type of `dtype`.
template <typename Body>
void dispatch_dtype(DType dtype, Body&& body) {
  switch (dtype) {
    case DType::F32: body(float{}); return;
    case DType::F16: body(__half{}); return;
    case DType::BF16: body(__nv_bfloat16{}); return;
  }
  throw EngineError("unknown storage type");
}

inline unsigned int blocks_for(size_t work, unsigned int threads) {
  return static_cast<unsigned int>((work + threads - 1) / threads);
}

}  // namespace ftb::cuda
