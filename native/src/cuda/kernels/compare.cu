#include <cmath>

#include "cuda/buffer.h"
#include "cuda/check.h"
#include "cuda/kernels/compare.h"
#include "cuda/kernels/device_math.cuh"

namespace ftb::cuda {
namespace {

constexpr unsigned int kThreads = 256;
constexpr unsigned int kMaxBlocks = 1024;

// sums[0] += Σ (actual − expected)², sums[1] += Σ expected²: a grid-stride loop, one atomic per block.
template <typename T>
__global__ void squared_sums_kernel(const T* actual, const T* expected, size_t count, double* sums) {
  double diff = 0, norm = 0;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const double e = to_float(expected[i]);
    const double d = to_float(actual[i]) - e;
    diff += d * d;
    norm += e * e;
  }
  __shared__ double partial[2][kThreads / 32];
  for (int offset = 16; offset > 0; offset /= 2) {
    diff += __shfl_down_sync(0xffffffffu, diff, offset);
    norm += __shfl_down_sync(0xffffffffu, norm, offset);
  }
  const unsigned int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) {
    partial[0][warp] = diff;
    partial[1][warp] = norm;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (unsigned int w = 1; w < blockDim.x / 32; ++w) {
      diff += partial[0][w];
      norm += partial[1][w];
    }
    atomicAdd(&sums[0], diff);
    atomicAdd(&sums[1], norm);
  }
}

}  // namespace

double relative_l2(DType dtype, const void* actual, const void* expected, size_t count, cudaStream_t stream) {
  DeviceBuffer sums(2 * sizeof(double), "comparison sums");
  check(cudaMemsetAsync(sums.get(), 0, sums.bytes(), stream), "clearing the comparison sums");
  const unsigned int blocks = std::min<unsigned int>(kMaxBlocks, blocks_for(count, kThreads));
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    squared_sums_kernel<T><<<std::max(blocks, 1u), kThreads, 0, stream>>>(
        static_cast<const T*>(actual), static_cast<const T*>(expected), count, sums.as<double>());
  });
  check_launch("squared_sums");
  double host[2] = {0, 0};
  check(cudaMemcpyAsync(host, sums.get(), sizeof(host), cudaMemcpyDeviceToHost, stream), "copying the comparison sums");
  check(cudaStreamSynchronize(stream), "comparing tensors");
  if (host[1] == 0) return host[0] == 0 ? 0 : INFINITY;
  return std::sqrt(host[0] / host[1]);
}

}  // namespace ftb::cuda
