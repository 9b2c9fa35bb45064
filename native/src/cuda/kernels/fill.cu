#include "cuda/check.h"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/fill.h"

namespace ftb::cuda {
namespace {

template <typename T>
__global__ void fill_random_kernel(T* dst, size_t count, uint64_t seed, uint32_t stream_id, float scale,
                                   float offset) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    dst[i] = from_float<T>(random_symmetric(seed, stream_id, i, scale, offset));
  }
}

}  // namespace

void fill_tensor(DType dtype, void* dst, size_t count, const ModelConfig& config, Tensor tensor, int layer,
                 cudaStream_t stream) {
  if (count == 0) return;
  const FillSpec spec = fill_spec(tensor, config);
  constexpr unsigned int kThreads = 256;
  const unsigned int blocks = blocks_for(count, kThreads) < 8192u ? blocks_for(count, kThreads) : 8192u;
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    fill_random_kernel<T><<<blocks, kThreads, 0, stream>>>(static_cast<T*>(dst), count, config.seed,
                                                           stream_of(tensor, layer), spec.scale, spec.offset);
  });
  check_launch("fill_random");
}

}  // namespace ftb::cuda
