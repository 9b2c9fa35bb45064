// The fused decoder attention kernels as of commit 26c01a8 (version 1: one block of 128 threads per
// (row, head), one key per thread, p·V loads one key at a time), frozen here as the timing baseline of
// native/bench/decoder_attention_bench.cu. Not part of the addon; only the namespace (v1), these
// comments and the removed unfused kernels differ from that commit's decoder_attention.cu.
#include <cmath>

#include "decoder_attention_v1.h"
#include "cuda/check.h"
#include "cuda/kernels/device_math.cuh"

namespace ftb::cuda::v1 {

namespace {

constexpr unsigned int kAttnThreads = 128;

// Keys and values of a self-attention row: its own cache entry at t, an ancestor's (through the
// indirection table) or its own before t.
template <typename T>
struct CacheKeys {
  const T* k;  // this layer's K cache
  const T* v;
  const int* indir;
  int row, first_row, head, heads, head_size, cache_len, t;

  __device__ size_t slot(int s) const {
    const int src = indir != nullptr && s < t ? first_row + indir[static_cast<size_t>(row) * cache_len + s] : row;
    return static_cast<size_t>(src) * heads + head;
  }
  __device__ const T* key(int s, int chunk) const {
    constexpr int X = kVec<T>;
    return k + ((slot(s) * (head_size / X) + chunk) * cache_len + s) * X;
  }
  __device__ const T* value(int s) const { return v + (slot(s) * cache_len + s) * head_size; }
};

// Keys and values of cross-attention: the sentence's rows of memory_kv [batch, mem_len, 2h].
template <typename T>
struct MemoryKeys {
  const T* kv;
  int sentence, head, heads, head_size, mem_len;

  __device__ const T* entry(int s) const {
    return kv + (static_cast<size_t>(sentence) * mem_len + s) * 2 * heads * head_size + head * head_size;
  }
  __device__ const T* key(int s, int chunk) const { return entry(s) + chunk * kVec<T>; }
  __device__ const T* value(int s) const { return entry(s) + heads * head_size; }
};

// out[D] = softmax(q·kᵀ)·v over `count` keys, q (fp32, already scaled) in shared memory. Scores are
// one thread per key; p·v is one 16-byte column chunk per thread, key groups reduced in shared memory.
template <typename T, typename Keys>
__device__ void attend(const float* q, const Keys& keys, int count, int head_size, float* scores, float* reduce,
                       float* scratch, T* out) {
  constexpr int X = kVec<T>;
  const int chunks = head_size / X;
  float row_max = -INFINITY;
  for (int s = threadIdx.x; s < count; s += blockDim.x) {
    float dot = 0.0f;
    for (int c = 0; c < chunks; ++c) {
      float k[X];
      load_vec(keys.key(s, c), k);
#pragma unroll
      for (int j = 0; j < X; ++j) dot += q[c * X + j] * k[j];
    }
    scores[s] = dot;
    row_max = fmaxf(row_max, dot);
  }
  row_max = block_max(row_max, scratch);
  float sum = 0.0f;
  for (int s = threadIdx.x; s < count; s += blockDim.x) sum += scores[s] = expf(scores[s] - row_max);
  const float inv = 1.0f / block_sum(sum, scratch);  // its barriers also publish the scores

  const int groups = blockDim.x / chunks, group = threadIdx.x / chunks, chunk = threadIdx.x % chunks;
  float acc[X] = {};
  if (group < groups) {
    for (int s = group; s < count; s += groups) {
      float v[X];
      load_vec(keys.value(s) + chunk * X, v);
      const float p = scores[s];
#pragma unroll
      for (int j = 0; j < X; ++j) acc[j] += p * v[j];
    }
#pragma unroll
    for (int j = 0; j < X; ++j) reduce[group * head_size + chunk * X + j] = acc[j];
  }
  __syncthreads();
  for (int d = threadIdx.x; d < head_size; d += blockDim.x) {
    float total = 0.0f;
    for (int g = 0; g < groups; ++g) total += reduce[g * head_size + d];
    out[d] = from_float<T>(total * inv);
  }
}

// Shared memory of attend(): q [D], scores [count], reduce [threads / (D/x) groups × D].
template <typename T>
size_t attend_smem_bytes(int head_size, int count) {
  return (head_size + count + kAttnThreads * kVec<T>) * sizeof(float);
}

template <typename T>
__global__ void __launch_bounds__(kAttnThreads)
    masked_self_attention_kernel(const T* qkv, const T* bias, T* k_cache, T* v_cache, const int* indir,
                                 const int* step, T* ctx, int beam, int heads, int head_size, int cache_len) {
  extern __shared__ float smem[];
  __shared__ float scratch[32];
  constexpr int X = kVec<T>;
  const int row = blockIdx.x, head = blockIdx.y, t = *step;
  const int hidden = heads * head_size;
  float* q = smem;
  float* scores = q + head_size;
  float* reduce = scores + cache_len;
  const int* table = indir != nullptr ? indir + static_cast<size_t>(t & 1) * gridDim.x * cache_len : nullptr;
  const CacheKeys<T> keys{k_cache, v_cache, table, row, row - row % beam, head, heads, head_size, cache_len, t};
  const float scale = rsqrtf(static_cast<float>(head_size));
  const T* in = qkv + static_cast<size_t>(row) * 3 * hidden + head * head_size;
  const T* b = bias + head * head_size;
  const size_t slot = static_cast<size_t>(row) * heads + head;
  for (int d = threadIdx.x; d < head_size; d += blockDim.x) {
    q[d] = (to_float(in[d]) + to_float(b[d])) * scale;
    k_cache[((slot * (head_size / X) + d / X) * cache_len + t) * X + d % X] =
        from_float<T>(to_float(in[hidden + d]) + to_float(b[hidden + d]));
    v_cache[(slot * cache_len + t) * head_size + d] =
        from_float<T>(to_float(in[2 * hidden + d]) + to_float(b[2 * hidden + d]));
  }
  __syncthreads();  // the new k/v (global) and q (shared) are visible to the whole block
  attend(q, keys, t + 1, head_size, scores, reduce, scratch, ctx + static_cast<size_t>(row) * hidden + head * head_size);
}

template <typename T>
__global__ void __launch_bounds__(kAttnThreads)
    cross_attention_kernel(const T* q_in, const T* q_bias, const T* memory_kv, const int* memory_lengths, T* ctx,
                           int beam, int heads, int head_size, int mem_len) {
  extern __shared__ float smem[];
  __shared__ float scratch[32];
  const int row = blockIdx.x, head = blockIdx.y, sentence = row / beam;
  const int hidden = heads * head_size;
  float* q = smem;
  float* scores = q + head_size;
  float* reduce = scores + mem_len;
  const float scale = rsqrtf(static_cast<float>(head_size));
  const T* in = q_in + static_cast<size_t>(row) * hidden + head * head_size;
  for (int d = threadIdx.x; d < head_size; d += blockDim.x) {
    q[d] = (to_float(in[d]) + to_float(q_bias[head * head_size + d])) * scale;
  }
  __syncthreads();
  const MemoryKeys<T> keys{memory_kv, sentence, head, heads, head_size, mem_len};
  attend(q, keys, memory_lengths[sentence], head_size, scores, reduce, scratch,
         ctx + static_cast<size_t>(row) * hidden + head * head_size);
}

}  // namespace

void masked_self_attention(DType dtype, const void* qkv, const void* qkv_bias, void* k_cache, void* v_cache,
                           const int* cache_indir, const int* step, void* ctx, int rows, int beam, int heads,
                           int head_size, int cache_len, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    masked_self_attention_kernel<T><<<dim3(rows, heads), kAttnThreads, attend_smem_bytes<T>(head_size, cache_len),
                                      stream>>>(
        static_cast<const T*>(qkv), static_cast<const T*>(qkv_bias), static_cast<T*>(k_cache),
        static_cast<T*>(v_cache), cache_indir, step, static_cast<T*>(ctx), beam, heads, head_size, cache_len);
  });
  check_launch("masked_multihead_attention");
}

void cross_attention(DType dtype, const void* q, const void* q_bias, const void* memory_kv, const int* memory_lengths,
                     void* ctx, int rows, int beam, int heads, int head_size, int mem_len, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    cross_attention_kernel<T><<<dim3(rows, heads), kAttnThreads, attend_smem_bytes<T>(head_size, mem_len), stream>>>(
        static_cast<const T*>(q), static_cast<const T*>(q_bias), static_cast<const T*>(memory_kv), memory_lengths,
        static_cast<T*>(ctx), beam, heads, head_size, mem_len);
  });
  check_launch("cross_attention");
}

}  // namespace ftb::cuda::v1
