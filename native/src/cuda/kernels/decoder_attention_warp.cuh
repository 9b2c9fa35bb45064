// One (row, head) of the fused decoder attention attended by one warp: shared by the warp-per-(row,
// head) kernels (decoder_attention_wide.cu) and the block-per-(sentence, head) cross-attention
// (decoder_cross_attention_sentence.cu), whose warps take a sentence's beam rows one after another
// over K/V held in shared memory. Keys are read through an accessor (decoder_attention_internal.cuh's
// CacheKeys and MemoryKeys, or the sentence kernel's shared-memory tiles), so both compute the same
// thing in the same order: fp32 scores q·k/√D (q scaled first), softmax with the max subtracted, p·v
// summed in fp32 and divided by Σp at the end.
#pragma once
#include <cuda_runtime.h>

#include <type_traits>

#include "cuda/check.h"
#include "cuda/kernels/device_math.cuh"

namespace ftb::cuda {

// 16-byte K vectors of one key a lane issues together: a whole key at head size 64 (16-bit types).
constexpr int kKeyVecs = 8;
// Keys whose 16-byte V vectors a lane issues together in p·V: 8 in cross-attention, whose memory K/V
// mostly hit L2 (latency-bound: fewer rounds pay), 4 in self-attention, which reads the cache from DRAM
// (32 warps × 4 × 512 bytes in flight per SM cover its bandwidth) and must also hold each key's source:
// 8 spilled there under the 64-register cap.
template <typename Keys>
constexpr int kValueKeys = Keys::kIndirect ? 4 : 8;

// A warp's slice of shared memory: q [D] (fp32, scaled by 1/√D), then per key its score (p after the
// softmax) and, for self-attention, its source slot. Keys are padded to 4 so every slice stays 16-byte
// aligned for q's float4 reads.
__host__ __device__ constexpr int padded_keys(int keys) { return (keys + 3) / 4 * 4; }
__host__ __device__ constexpr int warp_floats(int head_size, int keys, bool sources) {
  return head_size + (sources ? 2 : 1) * padded_keys(keys);
}

struct WarpShared {
  float* q;
  float* scores;
  int* sources;
  // The warp's own slice, or (the sentence kernel, a slice a beam row) slice `slice`.
  __device__ WarpShared(float4* smem, int head_size, int keys, bool with_sources)
      : WarpShared(smem, static_cast<int>(threadIdx.x / 32), head_size, keys, with_sources) {}
  __device__ WarpShared(float4* smem, int slice, int head_size, int keys, bool with_sources) {
    q = reinterpret_cast<float*>(smem) + slice * warp_floats(head_size, keys, with_sources);
    scores = q + head_size;
    sources = reinterpret_cast<int*>(scores + padded_keys(keys));
  }
};

// q·k of one key at `source`, one lane per key: the key's D/X 16-byte vectors are issued kKeyVecs at
// a time (consecutive keys of a chunk are adjacent in FasterTransformer's K layout, so a warp's loads of
// one chunk are 512 contiguous bytes when the sources agree); q is read from shared memory (broadcast).
template <typename T, int D, typename Keys>
__device__ float key_dot(const Keys& keys, int source, int s, const float* q) {
  constexpr int X = kVec<T>, kChunks = D / X;
  float dot = 0.0f;
#pragma unroll
  for (int c0 = 0; c0 < kChunks; c0 += kKeyVecs) {
    uint4 raw[kKeyVecs];
#pragma unroll
    for (int u = 0; u < kKeyVecs; ++u) {
      if (c0 + u < kChunks) raw[u] = *reinterpret_cast<const uint4*>(keys.key(source, s, c0 + u));
    }
#pragma unroll
    for (int u = 0; u < kKeyVecs; ++u) {
      if (c0 + u < kChunks) {
        float k[X];
        widen_vec<T>(raw[u], k);
#pragma unroll
        for (int j = 0; j < X; j += 4) {
          const float4 q4 = *reinterpret_cast<const float4*>(q + (c0 + u) * X + j);
          dot += q4.x * k[j];  // one element at a time: the block kernels' order
          dot += q4.y * k[j + 1];
          dot += q4.z * k[j + 2];
          dot += q4.w * k[j + 3];
        }
      }
    }
  }
  return dot;
}

// out[D] = softmax(q·Kᵀ)·V over keys [0, n) for this warp's (row, head), in two passes (warp_attend
// below; the sentence kernel's one-tile form runs them apart, its V arriving in between). q is in sh.q (and, for
// self-attention, every key's source in sh.sources), published by a __syncwarp.
// Scores: lane per key, p = exp(score - max) left in sh.scores (published by a __syncwarp); returns Σp.
// Its two halves (key_dots, exp_sums) take a key range, so that a block's warps can split one pair's
// keys (the persistent kernel's cross-attention) with the same per-lane order.

// scores[s] = q·k over keys [begin, end), a lane per key; returns their max over the warp.
template <typename T, int D, typename Keys>
__device__ float key_dots(const Keys& keys, int begin, int end, const float* q, const int* sources, float* scores) {
  float local_max = -INFINITY;
  for (int s = begin + (threadIdx.x & 31); s < end; s += 32) {
    const float dot = key_dot<T, D>(keys, Keys::kIndirect ? sources[s] : 0, s, q);
    scores[s] = dot;
    local_max = fmaxf(local_max, dot);
  }
  return warp_max(local_max);
}

// scores[s] = exp(scores[s] - row_max) over keys [begin, end), a lane per key; returns their sum over the warp.
__device__ inline float exp_sums(int begin, int end, float row_max, float* scores) {
  float sum = 0.0f;
  for (int s = begin + (threadIdx.x & 31); s < end; s += 32) sum += scores[s] = expf(scores[s] - row_max);
  return warp_sum(sum);
}

template <typename T, int D, typename Keys>
__device__ float warp_scores(const Keys& keys, int n, const WarpShared& sh) {
  const float row_max = key_dots<T, D>(keys, 0, n, sh.q, sh.sources, sh.scores);
  const float sum = exp_sums(0, n, row_max, sh.scores);
  __syncwarp();  // every lane's p (and sources) visible to the whole warp
  return sum;
}

// Σ p[s]·v[s] over keys [begin, end): lane (group, chunk) sums the 16-byte column chunk of keys
// begin + group, + groups, ... (kValueKeys of them in flight), then the groups are summed by shuffles,
// so that the lanes of group 0 (lane = chunk) hold the chunk's sums. `sources`: each key's cache slot
// (self-attention), else unused.
template <typename T, int D, typename Keys>
__device__ void warp_value_sums(const Keys& keys, int begin, int end, const float* p, const int* sources,
                                float (&acc)[kVec<T>]) {
  constexpr int X = kVec<T>, kChunks = D / X, kGroups = 32 / kChunks;
  const int lane = threadIdx.x & 31;
  const int group = lane / kChunks, chunk = lane % kChunks;
  for (int base = begin + group; base < end; base += kGroups * kValueKeys<Keys>) {
    uint4 raw[kValueKeys<Keys>];
#pragma unroll
    for (int u = 0; u < kValueKeys<Keys>; ++u) {
      const int s = base + u * kGroups;
      if (s < end) {
        const int source = Keys::kIndirect ? sources[s] : 0;
        raw[u] = *reinterpret_cast<const uint4*>(keys.value(source, s) + chunk * X);
      }
    }
#pragma unroll
    for (int u = 0; u < kValueKeys<Keys>; ++u) {
      const int s = base + u * kGroups;
      if (s < end) {
        float v[X];
        widen_vec<T>(raw[u], v);
        const float weight = p[s];
#pragma unroll
        for (int j = 0; j < X; ++j) acc[j] += weight * v[j];
      }
    }
  }
#pragma unroll
  for (int offset = kChunks; offset < 32; offset <<= 1) {
#pragma unroll
    for (int j = 0; j < X; ++j) acc[j] += __shfl_xor_sync(0xffffffffu, acc[j], offset);
  }
}

// p·V over the p of warp_scores, divided by their sum.
template <typename T, int D, typename Keys>
__device__ void warp_values(const Keys& keys, int n, const WarpShared& sh, float sum, T* out) {
  constexpr int X = kVec<T>, kChunks = D / X;
  const int lane = threadIdx.x & 31;
  float acc[X] = {};
  warp_value_sums<T, D>(keys, 0, n, sh.scores, sh.sources, acc);
  if (lane < kChunks) {
    const float inv = 1.0f / sum;
#pragma unroll
    for (int j = 0; j < X; ++j) acc[j] *= inv;
    store_vec(out + lane * X, acc);
  }
}

template <typename T, int D, typename Keys>
__device__ void warp_attend(const Keys& keys, int n, const WarpShared& sh, T* out) {
  warp_values<T, D>(keys, n, sh, warp_scores<T, D>(keys, n, sh), out);
}

// sh.q = (in + bias)·scale, lane c taking the 16-byte chunk c.
template <typename T, int D>
__device__ void load_query(const T* in, const T* bias, float* q) {
  constexpr int X = kVec<T>;
  const int c = threadIdx.x & 31;
  if (c >= D / X) return;
  const float scale = rsqrtf(static_cast<float>(D));
  float x[X], b[X];
  load_vec(in + c * X, x);
  load_vec(bias + c * X, b);
#pragma unroll
  for (int j = 0; j < X; ++j) q[c * X + j] = (x[j] + b[j]) * scale;
}

// Calls body(T{}, std::integral_constant<int, D>{}) for the types and head sizes the warp kernels are
// built for (wide_attention_supported, sentence_attention_supported).
template <typename Body>
void dispatch_warp_attention(DType dtype, int head_size, Body&& body) {
  const auto sized = [&](auto zero) {
    if (head_size == 64) return body(zero, std::integral_constant<int, 64>{});
    if (head_size == 128) return body(zero, std::integral_constant<int, 128>{});
    throw EngineError("warp decoder attention: unsupported head size");
  };
  if (dtype == DType::F16) return sized(__half{});
  if (dtype == DType::BF16) return sized(__nv_bfloat16{});
  throw EngineError("warp decoder attention: unsupported type");
}

}  // namespace ftb::cuda
