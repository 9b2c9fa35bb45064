#include "cpu/weights.h"

#include "common/checkpoint.h"
#include "cpu/parallel.h"

namespace ftb::cpu {

std::vector<float> generate(const ModelConfig& config, Tensor tensor, int layer, size_t count) {
  std::vector<float> values(count);
  // Generation is pure, so BERT-base-sized tensors are split over the host's threads.
  parallel_for(count, 1 << 16, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) values[i] = tensor_value(config, tensor, layer, i);
  });
  return values;
}

namespace {

// A layer tensor: the checkpoint's (validated sizes) when the model has one, else generated.
std::vector<float> layer_tensor(const ModelConfig& config, Tensor tensor, int layer, size_t count) {
  if (config.checkpoint) return checkpoint_tensor(*config.checkpoint, tensor, layer);
  return generate(config, tensor, layer, count);
}

}  // namespace

Linear load_linear(const ModelConfig& config, Tensor weight, Tensor bias, int layer, int in, int out) {
  return {in, out, layer_tensor(config, weight, layer, static_cast<size_t>(in) * out),
          layer_tensor(config, bias, layer, out)};
}

Linear load_gemm(const ModelConfig& config, Tensor weight, Tensor bias, int layer, int in, int out) {
  Linear linear = load_linear(config, weight, bias, layer, in, out);
  if (config.precision == Precision::FP8) quantize_fp8(linear);
  return linear;
}

Norm load_norm(const ModelConfig& config, Tensor gamma, Tensor beta, int layer) {
  return {layer_tensor(config, gamma, layer, config.hidden()), layer_tensor(config, beta, layer, config.hidden())};
}

std::vector<int> load_lengths(const ModelConfig& config, Tensor lengths, int len) {
  std::vector<int> result(config.batch);
  for (int b = 0; b < config.batch; ++b) result[b] = sequence_length(config, lengths, b, len);
  return result;
}

}  // namespace ftb::cpu
