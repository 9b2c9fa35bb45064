// Fp8Weights, Fp8Activations and run_fp8 (fp8_weights.h).
#include "cuda/models/fp8_weights.h"

#include <algorithm>
#include <string>

#include "cuda/check.h"
#include "cuda/kernels/fill.h"
#include "cuda/kernels/fp8_quant.h"
#include "engine/backend.h"

namespace ftb::cuda {

Fp8Weights::Fp8Weights(std::vector<Fp8WeightSpec> specs, int layers, const std::string& what)
    : specs_(std::move(specs)), layers_(layers) {
  for (int layer = 0; layer < layers; ++layer) {
    for (const Fp8WeightSpec& spec : specs_) {
      weights_.emplace_back(static_cast<size_t>(spec.in) * spec.out, what + " layer " + std::to_string(layer) + " fp8 weights");
      scales_.emplace_back(static_cast<size_t>(spec.out) * sizeof(float), what + " fp8 weight scales");
    }
  }
}

int Fp8Weights::index(int layer, Tensor tensor) const {
  const auto found = std::find_if(specs_.begin(), specs_.end(), [&](const Fp8WeightSpec& s) { return s.tensor == tensor; });
  if (found == specs_.end() || layer < 0 || layer >= layers_) throw EngineError("fp8 weights: not a layer GEMM weight");
  return layer * static_cast<int>(specs_.size()) + static_cast<int>(found - specs_.begin());
}

void Fp8Weights::fill(const ModelConfig& config, const Checkpoint* checkpoint, cudaStream_t stream) {
  size_t largest = 0;
  for (const Fp8WeightSpec& spec : specs_) largest = std::max(largest, static_cast<size_t>(spec.in) * spec.out);
  // fp32 staging of one weight at a time, [in, out] then transposed: the values quantized are the
  // fp32 ones, as the CPU's.
  DeviceBuffer staging(largest * sizeof(float), "fp8 weight staging (fp32)");
  DeviceBuffer transposed(largest * sizeof(float), "fp8 weight staging (fp32, transposed)");
  for (int layer = 0; layer < layers_; ++layer) {
    for (const Fp8WeightSpec& spec : specs_) {
      if (checkpoint != nullptr) {
        fill_from_host(DType::F32, staging.get(), checkpoint_tensor(*checkpoint, spec.tensor, layer), stream);
      } else {
        fill_tensor_padded(DType::F32, staging.get(), spec.in, spec.columns, spec.out, config, spec.tensor, layer, stream);
      }
      transpose_f32(staging.as<float>(), spec.in, spec.out, spec.out, transposed.as<float>(), stream);
      // A zero padding channel gets the scale 1 and zero values: its logit is its (zero) bias.
      fp8_quantize_rows(DType::F32, transposed.get(), spec.out, spec.in, scales_[index(layer, spec.tensor)].as<float>(),
                        weights_[index(layer, spec.tensor)].get(), stream);
    }
  }
  // The staging buffer is freed on return: the quantize kernels must be done with it.
  check(cudaStreamSynchronize(stream), "quantizing the fp8 weights");
}

Fp8Activations::Fp8Activations(size_t max_rows, size_t max_values)
    : data_(max_values, "fp8 GEMM input"), scales_(max_rows * sizeof(float), "fp8 activation scales") {}

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

void run_fp8(const Gemm& gemm, const Fp8Activations& x, const Fp8Weights& weights, int layer, Tensor tensor,
             int out_offset, void* y, const void* bias, cudaStream_t stream) {
  // E4M3 [out, in] row-major: the block starts out_offset rows (of `in` bytes, the GEMM's k) in.
  const char* block = static_cast<const char*>(weights.weight(layer, tensor)) +
                      static_cast<size_t>(out_offset) * static_cast<size_t>(gemm.choice().shape.k);
  gemm.run_scaled(x.data(), x.scales(), block, weights.scales(layer, tensor) + out_offset, y, bias, stream);
}

}  // namespace ftb::cuda
