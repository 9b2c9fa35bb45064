// Fills device tensors with the generator's values (common/tensors.h): the same Philox words and
// the same two rounded float operations as the CPU reference, then one rounding to the storage type.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <vector>

#include "common/tensors.h"
#include "cuda/dtype.h"

namespace ftb::cuda {

// dst[i] = tensor_value(config, tensor, layer, i) for i < count, rounded to `dtype`.
void fill_tensor(DType dtype, void* dst, size_t count, const ModelConfig& config, Tensor tensor, int layer,
                 cudaStream_t stream);

// A [rows, cols] tensor stored with rows `ld` >= cols apart: dst[r·ld + c] = value (r·cols + c); the
// padding columns are zero (the logits weight and bias, padded to ModelConfig::vocab_padded columns).
void fill_tensor_padded(DType dtype, void* dst, size_t rows, size_t cols, size_t ld, const ModelConfig& config,
                        Tensor tensor, int layer, cudaStream_t stream);

// dst[i] = values[i] rounded to `dtype` (a checkpoint's tensor, converted once on the device).
// Synchronises the stream: the fp32 staging buffer is freed on return.
void fill_from_host(DType dtype, void* dst, const std::vector<float>& values, cudaStream_t stream);

}  // namespace ftb::cuda
