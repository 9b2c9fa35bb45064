#include "cuda/buffer.h"
#include "cuda/check.h"
#include "cuda/kernels/device_math.cuh"
#include "cuda/kernels/fill.h"

namespace ftb::cuda {
namespace {

// Element i of the stored layout is (row i / ld, column i % ld); columns >= cols are padding (zero).
template <typename T>
__global__ void fill_random_kernel(T* dst, size_t count, size_t cols, size_t ld, uint64_t seed, uint32_t stream_id,
                                   float scale, float offset) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const size_t row = i / ld;
    const size_t column = i % ld;
    dst[i] = column < cols ? from_float<T>(random_symmetric(seed, stream_id, row * cols + column, scale, offset))
                           : from_float<T>(0.0f);
  }
}

template <typename T>
__global__ void convert_kernel(const float* src, T* dst, size_t count) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    dst[i] = from_float<T>(src[i]);
  }
}

}  // namespace

void fill_from_host(DType dtype, void* dst, const std::vector<float>& values, cudaStream_t stream) {
  if (values.empty()) return;
  DeviceBuffer staging(values.size() * sizeof(float), "checkpoint tensor staging");
  check(cudaMemcpyAsync(staging.get(), values.data(), values.size() * sizeof(float), cudaMemcpyHostToDevice, stream),
        "uploading a checkpoint tensor");
  constexpr unsigned int kThreads = 256;
  const unsigned int blocks = blocks_for(values.size(), kThreads) < 8192u ? blocks_for(values.size(), kThreads) : 8192u;
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    convert_kernel<T><<<blocks, kThreads, 0, stream>>>(staging.as<float>(), static_cast<T*>(dst), values.size());
  });
  check_launch("convert_checkpoint_tensor");
  check(cudaStreamSynchronize(stream), "converting a checkpoint tensor");
}

void fill_tensor(DType dtype, void* dst, size_t count, const ModelConfig& config, Tensor tensor, int layer,
                 cudaStream_t stream) {
  fill_tensor_padded(dtype, dst, 1, count, count, config, tensor, layer, stream);
}

void fill_tensor_padded(DType dtype, void* dst, size_t rows, size_t cols, size_t ld, const ModelConfig& config,
                        Tensor tensor, int layer, cudaStream_t stream) {
  const size_t count = rows * ld;
  if (count == 0) return;
  const FillSpec spec = fill_spec(tensor, config);
  constexpr unsigned int kThreads = 256;
  const unsigned int blocks = blocks_for(count, kThreads) < 8192u ? blocks_for(count, kThreads) : 8192u;
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    fill_random_kernel<T><<<blocks, kThreads, 0, stream>>>(static_cast<T*>(dst), count, cols, ld, config.seed,
                                                           stream_of(tensor, layer), spec.scale, spec.offset);
  });
  check_launch("fill_random");
}

}  // namespace ftb::cuda
