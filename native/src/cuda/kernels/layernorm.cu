#include "cuda/check.h"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/layernorm.h"

namespace ftb::cuda {
namespace {

// One block per row; each thread keeps kVecsPerThread 16-byte vectors of the row in registers.
template <typename T, int kVecsPerThread>
__global__ void layernorm_kernel(const T* x, const T* residual, const T* bias, const T* gamma, const T* beta, T* out,
                                 T* sum_out, int cols, float eps) {
  __shared__ float scratch[32];
  constexpr int N = kVec<T>;
  const int vecs = cols / N;
  const size_t base = blockIdx.x * static_cast<size_t>(cols);
  float values[kVecsPerThread][N];
  float sum = 0.0f;
#pragma unroll
  for (int i = 0; i < kVecsPerThread; ++i) {
    const int v = threadIdx.x + i * blockDim.x;
    if (v >= vecs) continue;
    load_vec(x + base + v * N, values[i]);
    if (residual != nullptr) {
      float r[N];
      load_vec(residual + base + v * N, r);
#pragma unroll
      for (int j = 0; j < N; ++j) values[i][j] += r[j];
    }
    if (bias != nullptr) {
      float b[N];
      load_vec(bias + v * N, b);
#pragma unroll
      for (int j = 0; j < N; ++j) values[i][j] += b[j];
    }
    if (sum_out != nullptr) store_vec(sum_out + base + v * N, values[i]);
#pragma unroll
    for (int j = 0; j < N; ++j) sum += values[i][j];
  }
  const float mean = block_sum(sum, scratch) / cols;
  float squares = 0.0f;
#pragma unroll
  for (int i = 0; i < kVecsPerThread; ++i) {
    if (threadIdx.x + i * blockDim.x >= vecs) continue;
#pragma unroll
    for (int j = 0; j < N; ++j) {
      const float d = values[i][j] - mean;
      squares += d * d;
    }
  }
  const float rstd = rsqrtf(block_sum(squares, scratch) / cols + eps);
#pragma unroll
  for (int i = 0; i < kVecsPerThread; ++i) {
    const int v = threadIdx.x + i * blockDim.x;
    if (v >= vecs) continue;
    float g[N], b[N];
    load_vec(gamma + v * N, g);
    load_vec(beta + v * N, b);
#pragma unroll
    for (int j = 0; j < N; ++j) values[i][j] = (values[i][j] - mean) * rstd * g[j] + b[j];
    store_vec(out + base + v * N, values[i]);
  }
}

template <typename T, int kVecsPerThread>
void launch(const void* x, const void* residual, const void* bias, const void* gamma, const void* beta, void* out,
            void* sum_out, size_t rows, int cols, float eps, cudaStream_t stream) {
  const int vecs = cols / kVec<T>;
  const int threads = ((vecs + kVecsPerThread - 1) / kVecsPerThread + 31) / 32 * 32;
  layernorm_kernel<T, kVecsPerThread><<<static_cast<unsigned int>(rows), threads, 0, stream>>>(
      static_cast<const T*>(x), static_cast<const T*>(residual), static_cast<const T*>(bias),
      static_cast<const T*>(gamma), static_cast<const T*>(beta), static_cast<T*>(out), static_cast<T*>(sum_out), cols, eps);
}

}  // namespace

void layernorm(DType dtype, const void* x, const void* residual, const void* bias, const void* gamma,
               const void* beta, void* out, size_t rows, int cols, cudaStream_t stream, void* sum_out, float eps) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    // Fewest vectors per thread that keep the block within 1024 threads (cols <= 32768 by validation).
    const int vecs = cols / kVec<T>;
    if (vecs <= 1024) {
      launch<T, 1>(x, residual, bias, gamma, beta, out, sum_out, rows, cols, eps, stream);
    } else if (vecs <= 2048) {
      launch<T, 2>(x, residual, bias, gamma, beta, out, sum_out, rows, cols, eps, stream);
    } else if (vecs <= 4096) {
      launch<T, 4>(x, residual, bias, gamma, beta, out, sum_out, rows, cols, eps, stream);
    } else {
      launch<T, 8>(x, residual, bias, gamma, beta, out, sum_out, rows, cols, eps, stream);
    }
  });
  check_launch(residual != nullptr ? "add_bias_residual_layernorm" : "layernorm");
}

}  // namespace ftb::cuda
