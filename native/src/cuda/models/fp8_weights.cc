// Fp8Weights and Fp8Activations (fp8_weights.h).
#include "cuda/models/fp8_weights.h"

#include <algorithm>
#include <string>

#include "cuda/check.h"
#include "cuda/kernels/fill.h"
#include "cuda/kernels/fp8_quant.h"
#include "engine/backend.h"

namespace ftb::cuda {
namespace {

constexpr Tensor kGemmWeights[Fp8Weights::kGemms] = {Tensor::EncQkvW, Tensor::EncAttnOutW, Tensor::EncFfn1W,
                                                     Tensor::EncFfn2W};

// A weight's [in, out] (its tensors.h layout, row-major).
std::pair<int, int> dims_of(Tensor tensor, int hidden, int inter) {
  switch (tensor) {
    case Tensor::EncQkvW: return {hidden, 3 * hidden};
    case Tensor::EncAttnOutW: return {hidden, hidden};
    case Tensor::EncFfn1W: return {hidden, inter};
    case Tensor::EncFfn2W: return {inter, hidden};
    default: throw EngineError("fp8 weights: not a layer GEMM weight");
  }
}

}  // namespace

int Fp8Weights::slot(Tensor tensor) {
  const Tensor* found = std::find(std::begin(kGemmWeights), std::end(kGemmWeights), tensor);
  if (found == std::end(kGemmWeights)) throw EngineError("fp8 weights: not a layer GEMM weight");
  return static_cast<int>(found - std::begin(kGemmWeights));
}

Fp8Weights::Fp8Weights(const ModelConfig& config) : hidden_(config.hidden()), inter_(config.inter_size) {
  for (int layer = 0; layer < config.layers; ++layer) {
    for (Tensor tensor : kGemmWeights) {
      const auto [in, out] = dims_of(tensor, hidden_, inter_);
      weights_.emplace_back(static_cast<size_t>(in) * out, "encoder layer " + std::to_string(layer) + " fp8 weights");
      scales_.emplace_back(static_cast<size_t>(out) * sizeof(float), "encoder fp8 weight scales");
    }
  }
}

void Fp8Weights::fill(const ModelConfig& config, const Checkpoint* checkpoint, cudaStream_t stream) {
  const size_t largest = static_cast<size_t>(std::max(hidden_, inter_)) * std::max(3 * hidden_, inter_);
  // fp32 staging of one weight at a time, [in, out] then transposed: the values quantized are the
  // fp32 ones, as the CPU's.
  DeviceBuffer staging(largest * sizeof(float), "encoder fp8 weight staging (fp32)");
  DeviceBuffer transposed(largest * sizeof(float), "encoder fp8 weight staging (fp32, transposed)");
  for (int layer = 0; layer < config.layers; ++layer) {
    for (Tensor tensor : kGemmWeights) {
      const auto [in, out] = dims_of(tensor, hidden_, inter_);
      const size_t count = static_cast<size_t>(in) * out;
      if (checkpoint != nullptr) {
        fill_from_host(DType::F32, staging.get(), checkpoint_tensor(*checkpoint, tensor, layer), stream);
      } else {
        fill_tensor(DType::F32, staging.get(), count, config, tensor, layer, stream);
      }
      transpose_f32(staging.as<float>(), in, out, out, transposed.as<float>(), stream);
      fp8_quantize_rows(DType::F32, transposed.get(), out, in, scales_[index(layer, tensor)].as<float>(),
                        weights_[index(layer, tensor)].get(), stream);
    }
  }
  // The staging buffer is freed on return: the quantize kernels must be done with it.
  check(cudaStreamSynchronize(stream), "quantizing the fp8 weights");
}

Fp8Activations::Fp8Activations(size_t rows, size_t max_cols)
    : data_(rows * max_cols, "encoder fp8 GEMM input"), scales_(rows * sizeof(float), "encoder fp8 activation scales") {}

void Fp8Activations::quantize(const void* x, int rows, int cols, cudaStream_t stream) {
  const Fp8Rows out = target(rows, cols);
  fp8_quantize_rows(DType::F16, x, rows, cols, out.scales, out.data, stream);
}

Fp8Rows Fp8Activations::target(int rows, int cols) {
  if (static_cast<size_t>(rows) * cols > data_.bytes() || rows * sizeof(float) > scales_.bytes()) {
    throw EngineError("fp8 activations: the GEMM input outgrows its buffer");
  }
  return {data_.get(), scales_.as<float>()};
}

}  // namespace ftb::cuda
