#include "common/tensors.h"

#include <cmath>

namespace ftb {

size_t encoder_layer_tensor_size(Tensor tensor, size_t h, size_t inter) {
  switch (tensor) {
    case Tensor::EncQkvW: return h * 3 * h;
    case Tensor::EncQkvB: return 3 * h;
    case Tensor::EncAttnOutW: return h * h;
    case Tensor::EncFfn1W: return h * inter;
    case Tensor::EncFfn1B: return inter;
    case Tensor::EncFfn2W: return inter * h;
    default: return h;  // output biases, LN gammas and betas
  }
}

FillSpec fill_spec(Tensor tensor, const ModelConfig& config) {
  const float h = static_cast<float>(config.hidden());
  const float inter = static_cast<float>(config.inter_size);
  switch (tensor) {
    case Tensor::EncQkvW: case Tensor::EncAttnOutW: case Tensor::EncFfn1W:
    case Tensor::DecSelfQkvW: case Tensor::DecSelfOutW: case Tensor::DecCrossQW:
    case Tensor::DecCrossKvW: case Tensor::DecCrossOutW: case Tensor::DecFfn1W:
      return {1.0f / std::sqrt(h), 0.0f};
    case Tensor::EncFfn2W: case Tensor::DecFfn2W:
      return {1.0f / std::sqrt(inter), 0.0f};
    case Tensor::EncAttnLnGamma: case Tensor::EncFfnLnGamma: case Tensor::DecSelfLnGamma:
    case Tensor::DecCrossLnGamma: case Tensor::DecFfnLnGamma: case Tensor::FinalLnGamma:
      return {0.1f, 1.0f};
    case Tensor::EncoderInput: case Tensor::DecoderInput: case Tensor::Memory:
      return {1.0f, 0.0f};
    case Tensor::Embedding:
      return {1.0f / std::sqrt(h), 0.0f};
    case Tensor::LogitsW:
      return {4.0f / std::sqrt(h), 0.0f};
    default:  // biases and LN betas
      return {0.1f, 0.0f};
  }
}

}  // namespace ftb
