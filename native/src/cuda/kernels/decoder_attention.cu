#include <cmath>

#include "cuda/check.h"
#include "cuda/kernels/decoder_attention.h"
#include "cuda/kernels/device_math.cuh"

namespace ftb::cuda {
namespace {

constexpr unsigned int kAttnThreads = 128;
constexpr unsigned int kThreads = 256;

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

// One thread per 16-byte vector of k (blockIdx.y 0) or v (1).
template <typename T>
__global__ void write_kv_cache_kernel(const T* k, const T* v, T* k_cache, T* v_cache, int t, int rows, int heads,
                                      int head_size, int cache_len) {
  constexpr int N = kVec<T>;
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  const int hidden = heads * head_size;
  if (i >= static_cast<size_t>(rows) * hidden / N) return;
  const size_t element = i * N;
  const size_t row = element / hidden;
  const int column = static_cast<int>(element % hidden);
  const size_t slot = row * heads + column / head_size;
  const T* src = blockIdx.y == 0 ? k : v;
  T* dst = blockIdx.y == 0 ? k_cache : v_cache;
  *reinterpret_cast<uint4*>(dst + (slot * cache_len + t) * head_size + column % head_size) =
      *reinterpret_cast<const uint4*>(src + element);
}

// One warp per row of scores.
template <typename T>
__global__ void masked_softmax_kernel(T* scores, int rows, int heads, int beam, int n, float scale, int valid,
                                      const int* memory_lengths) {
  const size_t row = (blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (row >= static_cast<size_t>(rows) * heads) return;
  T* x = scores + row * n;
  const int count = memory_lengths != nullptr ? memory_lengths[row / heads / beam] : valid;
  float row_max = -INFINITY;
  for (int j = lane; j < count; j += 32) row_max = fmaxf(row_max, to_float(x[j]) * scale);
  row_max = warp_max(row_max);
  float sum = 0.0f;
  for (int j = lane; j < count; j += 32) sum += expf(to_float(x[j]) * scale - row_max);
  const float inv = 1.0f / warp_sum(sum);
  for (int j = lane; j < n; j += 32) x[j] = from_float<T>(j < count ? expf(to_float(x[j]) * scale - row_max) * inv : 0.0f);
}

// One thread per 16-byte vector of the copied positions [planes, rows, heads, t + 1, D].
template <typename T>
__global__ void reorder_cache_kernel(const T* src, T* dst, const int* parents, int planes, int rows, int beam,
                                     int heads, int head_size, int cache_len, int positions) {
  constexpr int N = kVec<T>;
  const int dvecs = head_size / N;
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= static_cast<size_t>(planes) * rows * heads * positions * dvecs) return;
  const int dv = i % dvecs;
  const int s = i / dvecs % positions;
  const int head = i / (static_cast<size_t>(dvecs) * positions) % heads;
  const size_t plane_row = i / (static_cast<size_t>(dvecs) * positions * heads);
  const int row = plane_row % rows;
  const size_t plane = plane_row / rows;
  const int parent = row - row % beam + parents[row];
  const size_t to = (((plane * rows + row) * heads + head) * cache_len + s) * head_size + dv * N;
  const size_t from = (((plane * rows + parent) * heads + head) * cache_len + s) * head_size + dv * N;
  *reinterpret_cast<uint4*>(dst + to) = *reinterpret_cast<const uint4*>(src + from);
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

void write_kv_cache(DType dtype, const void* k, const void* v, void* k_cache, void* v_cache, int t, int rows,
                    int heads, int head_size, int cache_len, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const size_t vecs = static_cast<size_t>(rows) * heads * head_size / kVec<T>;
    write_kv_cache_kernel<T><<<dim3(blocks_for(vecs, kThreads), 2), kThreads, 0, stream>>>(
        static_cast<const T*>(k), static_cast<const T*>(v), static_cast<T*>(k_cache), static_cast<T*>(v_cache), t,
        rows, heads, head_size, cache_len);
  });
  check_launch("write_kv_cache");
}

void masked_softmax(DType dtype, void* scores, int rows, int heads, int beam, int n, float scale, int valid,
                    const int* memory_lengths, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    masked_softmax_kernel<T><<<blocks_for(static_cast<size_t>(rows) * heads * 32, kThreads), kThreads, 0, stream>>>(
        static_cast<T*>(scores), rows, heads, beam, n, scale, valid, memory_lengths);
  });
  check_launch("masked_softmax");
}

void reorder_cache(DType dtype, const void* src, void* dst, const int* parents, int planes, int rows, int beam,
                   int heads, int head_size, int cache_len, int t, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const size_t vecs = static_cast<size_t>(planes) * rows * heads * (t + 1) * head_size / kVec<T>;
    reorder_cache_kernel<T><<<blocks_for(vecs, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(src), static_cast<T*>(dst), parents, planes, rows, beam, heads, head_size, cache_len,
        t + 1);
  });
  check_launch("reorder_kv_cache");
}

}  // namespace ftb::cuda
