#include "cuda/check.h"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/elementwise.h"

namespace ftb::cuda {
namespace {

constexpr unsigned int kThreads = 256;

enum class Activation { None, Gelu, GeluErf, Relu };

// Each thread handles one 16-byte vector; `vecs` counts vectors.
template <typename T, Activation kActivation>
__global__ void bias_activation_kernel(T* x, const T* bias, size_t vecs, int cols) {
  const size_t v = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (v >= vecs) return;
  constexpr int N = kVec<T>;
  const size_t offset = v * N;
  float values[N];
  load_vec(x + offset, values);
  if (bias != nullptr) {
    float b[N];
    load_vec(bias + offset % cols, b);
#pragma unroll
    for (int i = 0; i < N; ++i) values[i] += b[i];
  }
  if (kActivation == Activation::Gelu) {
#pragma unroll
    for (int i = 0; i < N; ++i) values[i] = gelu_tanh(values[i]);
  } else if (kActivation == Activation::GeluErf) {
#pragma unroll
    for (int i = 0; i < N; ++i) values[i] = gelu_erf(values[i]);
  } else if (kActivation == Activation::Relu) {
#pragma unroll
    for (int i = 0; i < N; ++i) values[i] = fmaxf(values[i], 0.0f);
  }
  store_vec(x + offset, values);
}

// out = a + b (+ bias[column] when bias is given).
template <typename T>
__global__ void add_kernel(T* out, const T* a, const T* b, const T* bias, size_t vecs, int cols) {
  const size_t v = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (v >= vecs) return;
  constexpr int N = kVec<T>;
  float x[N], y[N];
  load_vec(a + v * N, x);
  load_vec(b + v * N, y);
#pragma unroll
  for (int i = 0; i < N; ++i) x[i] += y[i];
  if (bias != nullptr) {
    load_vec(bias + v * N % cols, y);
#pragma unroll
    for (int i = 0; i < N; ++i) x[i] += y[i];
  }
  store_vec(out + v * N, x);
}

template <typename T>
__global__ void to_float_kernel(const T* in, float* out, size_t count) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i < count) out[i] = to_float(in[i]);
}

template <typename T>
__global__ void scale_kernel(T* x, size_t vecs, float alpha) {
  const size_t v = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (v >= vecs) return;
  constexpr int N = kVec<T>;
  float values[N];
  load_vec(x + v * N, values);
#pragma unroll
  for (int i = 0; i < N; ++i) values[i] *= alpha;
  store_vec(x + v * N, values);
}

// One thread per vector of the [batch, heads, seq, D] side.
template <typename T>
__global__ void split_heads_kernel(const T* in, int ld_in, T* out, int batch, int seq, int heads, int head_size) {
  constexpr int N = kVec<T>;
  const int dvecs = head_size / N;
  const size_t v = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (v >= static_cast<size_t>(batch) * heads * seq * dvecs) return;
  const int dv = v % dvecs;
  const int s = v / dvecs % seq;
  const int h = v / (static_cast<size_t>(dvecs) * seq) % heads;
  const int b = v / (static_cast<size_t>(dvecs) * seq * heads);
  const T* src = in + (static_cast<size_t>(b) * seq + s) * ld_in + h * head_size + dv * N;
  *reinterpret_cast<uint4*>(out + v * N) = *reinterpret_cast<const uint4*>(src);
}

template <typename T>
__global__ void merge_heads_kernel(const T* in, T* out, const int* seq_offsets, int batch, int seq, int heads,
                                   int head_size) {
  constexpr int N = kVec<T>;
  const int dvecs = head_size / N;
  const size_t v = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (v >= static_cast<size_t>(batch) * heads * seq * dvecs) return;
  const int dv = v % dvecs;
  const int s = v / dvecs % seq;
  const int h = v / (static_cast<size_t>(dvecs) * seq) % heads;
  const int b = v / (static_cast<size_t>(dvecs) * seq * heads);
  size_t row = static_cast<size_t>(b) * seq + s;
  if (seq_offsets != nullptr) {
    if (s >= seq_offsets[b + 1] - seq_offsets[b]) return;
    row = seq_offsets[b] + s;
  }
  T* dst = out + row * heads * head_size + h * head_size + dv * N;
  *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(in + v * N);
}

template <typename T>
__global__ void mask_keys_kernel(T* scores, const int* lengths, int heads, int seq, size_t count) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= count) return;
  const int key = i % seq;
  const int b = i / (static_cast<size_t>(seq) * seq * heads);
  if (key >= lengths[b]) scores[i] = from_float<T>(-INFINITY);
}

// One warp per row; the row is read three times (max, sum, write), from L1 after the first.
template <typename T>
__global__ void softmax_rows_kernel(T* scores, size_t rows, int heads, int seq, float scale, const int* lengths) {
  const size_t row = (blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (row >= rows) return;
  T* x = scores + row * seq;
  const int valid = lengths != nullptr ? lengths[row / (static_cast<size_t>(seq) * heads)] : seq;
  float row_max = -INFINITY;
  for (int j = lane; j < valid; j += 32) row_max = fmaxf(row_max, to_float(x[j]) * scale);
  row_max = warp_max(row_max);
  float sum = 0.0f;
  for (int j = lane; j < valid; j += 32) sum += expf(to_float(x[j]) * scale - row_max);
  sum = warp_sum(sum);
  const float inv = 1.0f / sum;
  for (int j = lane; j < seq; j += 32) {
    x[j] = from_float<T>(j < valid ? expf(to_float(x[j]) * scale - row_max) * inv : 0.0f);
  }
}

template <typename T>
__global__ void gather_rows_kernel(const T* padded, T* packed, const int* token_rows, int tokens, int cols) {
  constexpr int N = kVec<T>;
  const int cvecs = cols / N;
  const size_t v = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (v >= static_cast<size_t>(tokens) * cvecs) return;
  const int t = v / cvecs, c = v % cvecs;
  const T* src = padded + static_cast<size_t>(token_rows[t]) * cols + c * N;
  *reinterpret_cast<uint4*>(packed + v * N) = *reinterpret_cast<const uint4*>(src);
}

template <typename T>
__global__ void write_output_kernel(const T* hidden, float* out, const int* lengths, const int* seq_offsets,
                                    int batch, int seq, int cols) {
  constexpr int N = kVec<T>;
  const int cvecs = cols / N;
  const size_t v = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (v >= static_cast<size_t>(batch) * seq * cvecs) return;
  const int c = v % cvecs;
  const int s = v / cvecs % seq;
  const int b = v / (static_cast<size_t>(cvecs) * seq);
  float values[N];
  if (s < lengths[b]) {
    const size_t row = seq_offsets != nullptr ? static_cast<size_t>(seq_offsets[b]) + s : static_cast<size_t>(b) * seq + s;
    load_vec(hidden + row * cols + c * N, values);
  } else {
#pragma unroll
    for (int i = 0; i < N; ++i) values[i] = 0.0f;
  }
  float* dst = out + v * N;
#pragma unroll
  for (int i = 0; i < N; i += 4) {
    *reinterpret_cast<float4*>(dst + i) = make_float4(values[i], values[i + 1], values[i + 2], values[i + 3]);
  }
}

}  // namespace

void add_bias(DType dtype, void* x, const void* bias, size_t rows, int cols, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const size_t vecs = rows * cols / kVec<T>;
    bias_activation_kernel<T, Activation::None><<<blocks_for(vecs, kThreads), kThreads, 0, stream>>>(
        static_cast<T*>(x), static_cast<const T*>(bias), vecs, cols);
  });
  check_launch("add_bias");
}

void bias_gelu(DType dtype, void* x, const void* bias, size_t rows, int cols, cudaStream_t stream, bool erf_form) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const size_t vecs = rows * cols / kVec<T>;
    if (erf_form) {
      bias_activation_kernel<T, Activation::GeluErf><<<blocks_for(vecs, kThreads), kThreads, 0, stream>>>(
          static_cast<T*>(x), static_cast<const T*>(bias), vecs, cols);
    } else {
      bias_activation_kernel<T, Activation::Gelu><<<blocks_for(vecs, kThreads), kThreads, 0, stream>>>(
          static_cast<T*>(x), static_cast<const T*>(bias), vecs, cols);
    }
  });
  if (erf_form) {
    check_launch(bias != nullptr ? "add_bias_gelu_erf" : "gelu_erf");
  } else {
    check_launch(bias != nullptr ? "add_bias_gelu" : "gelu");
  }
}

void bias_relu(DType dtype, void* x, const void* bias, size_t rows, int cols, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const size_t vecs = rows * cols / kVec<T>;
    bias_activation_kernel<T, Activation::Relu><<<blocks_for(vecs, kThreads), kThreads, 0, stream>>>(
        static_cast<T*>(x), static_cast<const T*>(bias), vecs, cols);
  });
  check_launch(bias != nullptr ? "add_bias_relu" : "relu");
}

void add_tensors(DType dtype, void* out, const void* a, const void* b, size_t count, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const size_t vecs = count / kVec<T>;
    add_kernel<T><<<blocks_for(vecs, kThreads), kThreads, 0, stream>>>(
        static_cast<T*>(out), static_cast<const T*>(a), static_cast<const T*>(b), nullptr, vecs, 1);
  });
  check_launch("add_residual");
}

void add_bias_residual(DType dtype, void* x, const void* y, const void* bias, size_t rows, int cols,
                       cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const size_t vecs = rows * cols / kVec<T>;
    add_kernel<T><<<blocks_for(vecs, kThreads), kThreads, 0, stream>>>(
        static_cast<T*>(x), static_cast<const T*>(x), static_cast<const T*>(y), static_cast<const T*>(bias), vecs,
        cols);
  });
  check_launch("add_bias_residual");
}

void to_float(DType dtype, const void* in, float* out, size_t count, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    to_float_kernel<T><<<blocks_for(count, kThreads), kThreads, 0, stream>>>(static_cast<const T*>(in), out, count);
  });
  check_launch("to_float");
}

void scale_values(DType dtype, void* x, size_t count, float alpha, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const size_t vecs = count / kVec<T>;
    scale_kernel<T><<<blocks_for(vecs, kThreads), kThreads, 0, stream>>>(static_cast<T*>(x), vecs, alpha);
  });
  check_launch("scale");
}

void split_heads(DType dtype, const void* in, int ld_in, void* out, int batch, int seq, int heads, int head_size,
                 cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const size_t vecs = static_cast<size_t>(batch) * seq * heads * head_size / kVec<T>;
    split_heads_kernel<T><<<blocks_for(vecs, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(in), ld_in, static_cast<T*>(out), batch, seq, heads, head_size);
  });
  check_launch("split_heads");
}

void merge_heads(DType dtype, const void* in, void* out, const int* seq_offsets, int batch, int seq, int heads,
                 int head_size, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const size_t vecs = static_cast<size_t>(batch) * seq * heads * head_size / kVec<T>;
    merge_heads_kernel<T><<<blocks_for(vecs, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(in), static_cast<T*>(out), seq_offsets, batch, seq, heads, head_size);
  });
  check_launch("merge_heads");
}

void mask_keys(DType dtype, void* scores, const int* lengths, int batch, int heads, int seq, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const size_t count = static_cast<size_t>(batch) * heads * seq * seq;
    mask_keys_kernel<T><<<blocks_for(count, kThreads), kThreads, 0, stream>>>(static_cast<T*>(scores), lengths,
                                                                              heads, seq, count);
  });
  check_launch("mask_keys");
}

void softmax_rows(DType dtype, void* scores, int batch, int heads, int seq, float scale, const int* lengths,
                  cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const size_t rows = static_cast<size_t>(batch) * heads * seq;
    softmax_rows_kernel<T><<<blocks_for(rows * 32, kThreads), kThreads, 0, stream>>>(
        static_cast<T*>(scores), rows, heads, seq, scale, lengths);
  });
  check_launch(lengths != nullptr ? "scale_mask_softmax" : "softmax");
}

void gather_rows(DType dtype, const void* padded, void* packed, const int* token_rows, int tokens, int cols,
                 cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const size_t vecs = static_cast<size_t>(tokens) * cols / kVec<T>;
    gather_rows_kernel<T><<<blocks_for(vecs, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(padded), static_cast<T*>(packed), token_rows, tokens, cols);
  });
  check_launch("remove_padding");
}

void write_output(DType dtype, const void* hidden, float* out, const int* lengths, const int* seq_offsets, int batch,
                  int seq, int cols, cudaStream_t stream) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    const size_t vecs = static_cast<size_t>(batch) * seq * cols / kVec<T>;
    write_output_kernel<T><<<blocks_for(vecs, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(hidden), out, lengths, seq_offsets, batch, seq, cols);
  });
  check_launch("write_output");
}

}  // namespace ftb::cuda
