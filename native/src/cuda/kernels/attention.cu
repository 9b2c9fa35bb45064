// The unfused encoder attention's first step (split_qkv_with_bias in attention.h); the fused kernel
// is in fused_mha.cu.
#include "cuda/check.h"
#include "cuda/kernels/attention.h"
#include "cuda/kernels/device_math.cuh"

namespace ftb::cuda {
namespace {

constexpr unsigned int kThreads = 256;

template <typename T>
__global__ void split_qkv_kernel(const T* qkv, const T* bias, T* q, T* k, T* v_out, const int* seq_offsets,
                                 int batch, int seq, int heads, int head_size) {
  constexpr int N = kVec<T>;
  const int dvecs = head_size / N;
  const size_t per_tensor = static_cast<size_t>(batch) * heads * seq * dvecs;
  const size_t v = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (v >= 3 * per_tensor) return;
  const int which = v / per_tensor;
  const size_t rest = v % per_tensor;
  const int dv = rest % dvecs;
  const int s = rest / dvecs % seq;
  const int h = rest / (static_cast<size_t>(dvecs) * seq) % heads;
  const int b = rest / (static_cast<size_t>(dvecs) * seq * heads);
  const int hidden = heads * head_size;
  const int column = which * hidden + h * head_size + dv * N;
  float values[N];
  if (s < seq_offsets[b + 1] - seq_offsets[b]) {
    float b_values[N];
    load_vec(qkv + (static_cast<size_t>(seq_offsets[b]) + s) * 3 * hidden + column, values);
    load_vec(bias + column, b_values);
#pragma unroll
    for (int i = 0; i < N; ++i) values[i] += b_values[i];
  } else {
#pragma unroll
    for (int i = 0; i < N; ++i) values[i] = 0.0f;
  }
  T* out = which == 0 ? q : which == 1 ? k : v_out;
  store_vec(out + rest * N, values);
}

}  // namespace

void split_qkv_with_bias(DType dtype, const void* qkv, const void* qkv_bias, void* q, void* k, void* v,
                         const int* seq_offsets, int batch, int seq, int heads, int head_size, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const size_t vecs = 3 * static_cast<size_t>(batch) * heads * seq * head_size / kVec<T>;
    split_qkv_kernel<T><<<blocks_for(vecs, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(qkv), static_cast<const T*>(qkv_bias), static_cast<T*>(q), static_cast<T*>(k),
        static_cast<T*>(v), seq_offsets, batch, seq, heads, head_size);
  });
  check_launch("add_qkv_bias_split_heads");
}

}  // namespace ftb::cuda
