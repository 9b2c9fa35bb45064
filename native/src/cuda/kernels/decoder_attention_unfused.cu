// The unfused variant's decoder attention kernels (decoder_attention.h): the K/V cache write at step
// t, the masked softmax between the strided-batched q·Kᵀ and p·V GEMMs, and the cache reorder by
// parents. The cache is [rows, heads, cache_len, D] for K and V alike.
#include "cuda/check.h"
#include "cuda/kernels/decoder_attention.h"
#include "cuda/kernels/device_math.cuh"

namespace ftb::cuda {
namespace {

constexpr unsigned int kThreads = 256;

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
