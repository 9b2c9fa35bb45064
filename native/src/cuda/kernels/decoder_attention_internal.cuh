// What the implementations of the fused decoder attention share (decoder_attention.h): the
// block-per-(row, head) kernels of decoder_attention.cu, latency-bound and built for small batch, the
// warp-per-(row, head) kernels of decoder_attention_wide.cu, built for many (row, head) pairs, and,
// for cross-attention with beams, the block-per-(sentence, head) kernel of
// decoder_cross_attention_sentence.cu. The first two read keys and values through the accessors here
// (the third from its shared-memory tiles), and the public functions pick one of them.
#pragma once
#include <cuda_runtime.h>

#include "cuda/dtype.h"
#include "cuda/kernels/decoder_attention.h"
#include "cuda/kernels/device_math.cuh"

namespace ftb::cuda {

// Keys and values of a self-attention row: its own cache entry at t, an ancestor's (through the
// indirection table) or its own before t. A key's source is the (row, head) slot of the cache holding it.
template <typename T>
struct CacheKeys {
  static constexpr bool kIndirect = true;  // sources differ by key: resolve them once, keep them
  const T* k;                              // this layer's K cache
  const T* v;
  const int* indir;
  int row, first_row, head, heads, head_size, cache_len, t;

  // Whether key s is in the cache before this step's kernel writes (all but t).
  __device__ bool stored(int s) const { return s < t; }
  __device__ int source(int s) const {
    const int src = indir != nullptr && s < t ? first_row + indir[static_cast<size_t>(row) * cache_len + s] : row;
    return src * heads + head;
  }
  __device__ const T* key(int source, int s, int chunk) const {
    constexpr int X = kVec<T>;
    return k + ((static_cast<size_t>(source) * (head_size / X) + chunk) * cache_len + s) * X;
  }
  __device__ const T* value(int source, int s) const {
    return v + (static_cast<size_t>(source) * cache_len + s) * head_size;
  }
};

// The step's q, k and v (qkv + bias): q, scaled by 1/√D, into shared memory, k and v rounded to T into
// the caches at t. Their 3·D/X 16-byte chunks are spread over the lanes (at head size 64, 16-bit: one
// each for 24 lanes), so each lane holds two 16-byte loads, not six.
template <typename T, int D>
__device__ void load_new_entry(const T* in, const T* bias, int hidden, T* k_cache, T* v_cache,
                               const CacheKeys<T>& keys, float* q) {
  constexpr int X = kVec<T>, kChunks = D / X;
  const float scale = rsqrtf(static_cast<float>(D));
  const int slot = keys.row * keys.heads + keys.head;
  for (int job = threadIdx.x & 31; job < 3 * kChunks; job += 32) {
    const int part = job / kChunks, c = job % kChunks;  // part 0: q, 1: k, 2: v
    float x[X], b[X];
    load_vec(in + part * hidden + c * X, x);
    load_vec(bias + part * hidden + c * X, b);
#pragma unroll
    for (int j = 0; j < X; ++j) x[j] += b[j];
    if (part == 0) {
#pragma unroll
      for (int j = 0; j < X; ++j) q[c * X + j] = x[j] * scale;
    } else if (part == 1) {
      store_vec(k_cache + (keys.key(slot, keys.t, c) - keys.k), x);  // where keys.key reads it back
    } else {
      store_vec(v_cache + (keys.value(slot, keys.t) - keys.v) + c * X, x);
    }
  }
}

// Keys and values of cross-attention: the sentence's rows of memory_kv [batch, mem_len, 2h].
template <typename T>
struct MemoryKeys {
  static constexpr bool kIndirect = false;  // every key of the sentence is at a fixed place
  const T* kv;
  int sentence, head, heads, head_size, mem_len;

  __device__ bool stored(int) const { return true; }
  __device__ int source(int) const { return 0; }
  __device__ const T* entry(int s) const {
    return kv + (static_cast<size_t>(sentence) * mem_len + s) * 2 * heads * head_size + head * head_size;
  }
  __device__ const T* key(int, int s, int chunk) const { return entry(s) + chunk * kVec<T>; }
  __device__ const T* value(int, int s) const { return entry(s) + heads * head_size; }
};

// The memory entries sentence b attends over: memory_lengths[b] clamped to [1, mem_len]. The lengths
// are the caller's (in range by construction in the decoder stack); the clamp keeps a bad one from
// reading past the sentence's memory K/V or leaving a softmax without keys.
__device__ __forceinline__ int memory_length(const int* memory_lengths, int sentence, int mem_len) {
  return min(max(memory_lengths[sentence], 1), mem_len);
}

// The warp-per-(row, head) kernels (decoder_attention_wide.cu): whether they take this type, head size
// and number of keys (max_keys: cache_len or mem_len), and their launchers, with the arguments of
// masked_self_attention and cross_attention less the multi-block workspace (they never split).
bool wide_attention_supported(DType dtype, int head_size, int max_keys);
void wide_masked_self_attention(DType dtype, const void* qkv, const void* qkv_bias, void* k_cache, void* v_cache,
                                const int* cache_indir, const int* step, void* ctx, int rows, int beam, int heads,
                                int head_size, int cache_len, cudaStream_t stream);
void wide_cross_attention(DType dtype, const void* q, const void* q_bias, const void* memory_kv,
                          const int* memory_lengths, void* ctx, int rows, int beam, int heads, int head_size,
                          int mem_len, cudaStream_t stream);

// Whether masked_self_attention / cross_attention take the wide kernels for this launch
// (decoder_attention.cu says when).
bool use_wide_attention(DType dtype, int rows, int heads, int head_size, int max_keys);

// The block-per-(sentence, head) cross-attention (decoder_cross_attention_sentence.cu): whether it takes
// this type, head size, memory length and beam; the one-time shared-memory opt-in of its kernels; its
// launcher (cross_attention's arguments less the workspace, batch = rows / beam).
bool sentence_attention_supported(DType dtype, int head_size, int mem_len, int beam);
void prepare_sentence_cross_attention();
void sentence_cross_attention(DType dtype, const void* q, const void* q_bias, const void* memory_kv,
                              const int* memory_lengths, void* ctx, int batch, int beam, int heads, int head_size,
                              int mem_len, cudaStream_t stream);

// The kernels cross_attention may run, the one its rule (or FTBENCH_CROSS_ATTENTION) picks for a launch
// (decoder_attention.cu says when), and cross_attention on a given path (one the shape supports: the
// bench times each).
enum class CrossAttentionPath { Block, Wide, Sentence };
CrossAttentionPath cross_attention_path(DType dtype, int rows, int beam, int heads, int head_size, int mem_len);
void cross_attention_on(CrossAttentionPath path, DType dtype, const void* q, const void* q_bias,
                        const void* memory_kv, const int* memory_lengths, void* ctx, int rows, int beam, int heads,
                        int head_size, int mem_len, const AttentionSplits& splits, cudaStream_t stream);

}  // namespace ftb::cuda
