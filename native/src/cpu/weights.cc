#include "cpu/weights.h"

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

Linear load_linear(const ModelConfig& config, Tensor weight, Tensor bias, int layer, int in, int out) {
  return {in, out, generate(config, weight, layer, static_cast<size_t>(in) * out), generate(config, bias, layer, out)};
}

Norm load_norm(const ModelConfig& config, Tensor gamma, Tensor beta, int layer) {
  return {generate(config, gamma, layer, config.hidden()), generate(config, beta, layer, config.hidden())};
}

std::vector<int> load_lengths(const ModelConfig& config, Tensor lengths, int len) {
  std::vector<int> result(config.batch);
  for (int b = 0; b < config.batch; ++b) result[b] = sequence_length(config, lengths, b, len);
  return result;
}

}  // namespace ftb::cpu
