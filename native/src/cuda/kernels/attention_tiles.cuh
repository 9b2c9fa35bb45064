// Shared-memory staging used by both fused attention kernels (attention.cu, attention_flash.cu):
// a block's q tile with its bias, and one k/v tile queued as a cp.async group. Tiles are row-major
// with a padded row stride kLd (elements), rows past the sequence's length zero, so the kernels'
// ldmatrix reads never see stale or uninitialised shared memory.
#pragma once
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/mma_sm80.cuh"

namespace ftb::cuda {

// Calls f(r, col) for every 16-byte chunk (row r, first column col) of a kRows x D tile of T, the
// chunks spread over the block's threads so that a warp's accesses are contiguous.
template <typename T, int D, int kRows, int kThreads, typename F>
__device__ __forceinline__ void for_each_chunk(int tid, F&& f) {
  constexpr int kChunks = D / kVec<T>;
#pragma unroll
  for (int c = tid; c < kRows * kChunks; c += kThreads) f(c / kChunks, c % kChunks * kVec<T>);
}

// kVec<T> values of src plus their bias (fp32), or zeros where !valid (rows past a length).
template <typename T>
__device__ __forceinline__ void load_biased(const T* src, const T* bias, bool valid, float (&values)[kVec<T>]) {
  if (valid) {
    float b_values[kVec<T>];
    load_vec(src, values);
    load_vec(bias, b_values);
#pragma unroll
    for (int i = 0; i < kVec<T>; ++i) values[i] += b_values[i];
  } else {
#pragma unroll
    for (int i = 0; i < kVec<T>; ++i) values[i] = 0.0f;
  }
}

// q rows [row0, row0 + kRows) of one head plus its bias (fp32 add, rounded once) into s_q.
template <typename T, int D, int kRows, int kThreads, int kLd>
__device__ __forceinline__ void stage_q_tile(T* s_q, const T* q_base, const T* q_bias, int ld, int row0, int len,
                                             int tid) {
  for_each_chunk<T, D, kRows, kThreads>(tid, [&](int r, int col) {
    float values[kVec<T>];
    load_biased(q_base + static_cast<size_t>(row0 + r) * ld + col, q_bias + col, row0 + r < len, values);
    store_vec(s_q + r * kLd + col, values);
  });
}

// Queues k and v rows [k0, k0 + kKeys) of one head into s_k and s_v as one cp.async group (the k
// and v biases are not added: the kernels account for them exactly, see their comments).
template <typename T, int D, int kKeys, int kThreads, int kLd>
__device__ __forceinline__ void copy_kv_tile(T* s_k, T* s_v, const T* k_base, const T* v_base, int ld, int k0, int len,
                                             int tid) {
  for_each_chunk<T, D, kKeys, kThreads>(tid, [&](int r, int col) {
    const bool valid = k0 + r < len;
    const size_t row = static_cast<size_t>(valid ? k0 + r : 0) * ld + col;
    cp_async_16(s_k + r * kLd + col, k_base + row, valid);
    cp_async_16(s_v + r * kLd + col, v_base + row, valid);
  });
  cp_async_commit();
}

}  // namespace ftb::cuda
