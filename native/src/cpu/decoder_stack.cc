#include "cpu/decoder_stack.h"

#include <algorithm>

#include "cpu/weights.h"

namespace ftb::cpu {
namespace {

DecoderLayer load_decoder_layer(const ModelConfig& c, int layer) {
  const int h = c.hidden();
  return {load_norm(c, Tensor::DecSelfLnGamma, Tensor::DecSelfLnBeta, layer),
          load_linear(c, Tensor::DecSelfQkvW, Tensor::DecSelfQkvB, layer, h, 3 * h),
          load_linear(c, Tensor::DecSelfOutW, Tensor::DecSelfOutB, layer, h, h),
          load_norm(c, Tensor::DecCrossLnGamma, Tensor::DecCrossLnBeta, layer),
          load_linear(c, Tensor::DecCrossQW, Tensor::DecCrossQB, layer, h, h),
          load_linear(c, Tensor::DecCrossKvW, Tensor::DecCrossKvB, layer, h, 2 * h),
          load_linear(c, Tensor::DecCrossOutW, Tensor::DecCrossOutB, layer, h, h),
          load_norm(c, Tensor::DecFfnLnGamma, Tensor::DecFfnLnBeta, layer),
          load_linear(c, Tensor::DecFfn1W, Tensor::DecFfn1B, layer, h, c.inter_size),
          load_linear(c, Tensor::DecFfn2W, Tensor::DecFfn2B, layer, c.inter_size, h)};
}

}  // namespace

DecoderStack::DecoderStack(const ModelConfig& config)
    : config_(config),
      rows_(config.rows()),
      hidden_(config.hidden()),
      memory_(generate(config, Tensor::Memory, 0, static_cast<size_t>(config.batch) * config.memory_len() * hidden_)),
      memory_lengths_(load_lengths(config, Tensor::MemoryLengths, config.memory_len())) {
  const size_t cache = static_cast<size_t>(rows_) * config.seq * hidden_;
  for (int layer = 0; layer < config.layers; ++layer) {
    layers_.push_back(load_decoder_layer(config, layer));
    memory_kv_.emplace_back(memory_.size() * 2);
    keys_.emplace_back(cache);
    values_.emplace_back(cache);
  }
  const size_t h = hidden_;
  normed_.resize(rows_ * h);
  qkv_.resize(rows_ * 3 * h);
  attn_.resize(rows_ * h);
  proj_.resize(rows_ * h);
  inter_.resize(static_cast<size_t>(rows_) * config.inter_size);
  reordered_.resize(cache);
}

void DecoderStack::start() {
  const int memory_rows = config_.batch * config_.memory_len();
  for (int l = 0; l < config_.layers; ++l) {
    linear(layers_[l].cross_kv, memory_.data(), memory_rows, memory_kv_[l].data());
  }
}

void DecoderStack::step(int t, float* x) {
  for (int l = 0; l < config_.layers; ++l) {
    self_attention(l, t, x);
    cross_attention(l, x);
    feed_forward(l, x);
  }
}

size_t DecoderStack::cache_offset(int r, int t) const {
  return (static_cast<size_t>(r) * config_.seq + t) * hidden_;
}

void DecoderStack::self_attention(int l, int t, float* x) {
  const DecoderLayer& layer = layers_[l];
  const int h = hidden_;
  std::copy_n(x, rows_ * h, normed_.begin());
  layer_norm(layer.self_ln, normed_.data(), rows_, h);
  linear(layer.self_qkv, normed_.data(), rows_, qkv_.data());
  for (int r = 0; r < rows_; ++r) {
    const float* q = qkv_.data() + static_cast<size_t>(r) * 3 * h;
    std::copy_n(q + h, h, keys_[l].begin() + cache_offset(r, t));
    std::copy_n(q + 2 * h, h, values_[l].begin() + cache_offset(r, t));
    attention(q, {keys_[l].data() + cache_offset(r, 0), h}, {values_[l].data() + cache_offset(r, 0), h}, t + 1,
              config_.heads, config_.head_size, attn_.data() + static_cast<size_t>(r) * h);
  }
  linear(layer.self_out, attn_.data(), rows_, proj_.data());
  add(x, proj_.data(), rows_ * h);
}

void DecoderStack::cross_attention(int l, float* x) {
  const DecoderLayer& layer = layers_[l];
  const int h = hidden_;
  std::copy_n(x, rows_ * h, normed_.begin());
  layer_norm(layer.cross_ln, normed_.data(), rows_, h);
  linear(layer.cross_q, normed_.data(), rows_, qkv_.data());
  for (int r = 0; r < rows_; ++r) {
    const int sentence = r / config_.beam;
    const float* kv = memory_kv_[l].data() + static_cast<size_t>(sentence) * config_.memory_len() * 2 * h;
    attention(qkv_.data() + static_cast<size_t>(r) * h, {kv, 2 * h}, {kv + h, 2 * h}, memory_lengths_[sentence],
              config_.heads, config_.head_size, attn_.data() + static_cast<size_t>(r) * h);
  }
  linear(layer.cross_out, attn_.data(), rows_, proj_.data());
  add(x, proj_.data(), rows_ * h);
}

void DecoderStack::feed_forward(int l, float* x) {
  const DecoderLayer& layer = layers_[l];
  std::copy_n(x, rows_ * hidden_, normed_.begin());
  layer_norm(layer.ffn_ln, normed_.data(), rows_, hidden_);
  linear(layer.ffn1, normed_.data(), rows_, inter_.data());
  relu(inter_.data(), rows_ * config_.inter_size);
  linear(layer.ffn2, inter_.data(), rows_, proj_.data());
  add(x, proj_.data(), rows_ * hidden_);
}

void DecoderStack::reorder(const std::vector<int>& parents, int t) {
  const size_t steps = static_cast<size_t>(t + 1) * hidden_;
  for (int l = 0; l < config_.layers; ++l) {
    for (std::vector<float>* cache : {&keys_[l], &values_[l]}) {
      for (int r = 0; r < rows_; ++r) {
        const int parent = r - r % config_.beam + parents[r];
        std::copy_n(cache->begin() + cache_offset(parent, 0), steps, reordered_.begin() + cache_offset(r, 0));
      }
      cache->swap(reordered_);  // steps after t are written before they are read
    }
  }
}

}  // namespace ftb::cpu
