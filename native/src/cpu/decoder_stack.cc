#include "cpu/decoder_stack.h"

#include <algorithm>

#include "cpu/weights.h"

namespace ftb::cpu {
namespace {

DecoderLayer load_decoder_layer(const ModelConfig& c, int layer) {
  const int h = c.hidden();
  const int tp = c.tp;
  return {load_norm(c, Tensor::DecSelfLnGamma, Tensor::DecSelfLnBeta, layer),
          split_columns(load_gemm(c, Tensor::DecSelfQkvW, Tensor::DecSelfQkvB, layer, h, 3 * h), tp, 3),
          split_rows(load_gemm(c, Tensor::DecSelfOutW, Tensor::DecSelfOutB, layer, h, h), tp),
          load_norm(c, Tensor::DecCrossLnGamma, Tensor::DecCrossLnBeta, layer),
          split_columns(load_gemm(c, Tensor::DecCrossQW, Tensor::DecCrossQB, layer, h, h), tp, 1),
          split_columns(load_gemm(c, Tensor::DecCrossKvW, Tensor::DecCrossKvB, layer, h, 2 * h), tp, 2),
          split_rows(load_gemm(c, Tensor::DecCrossOutW, Tensor::DecCrossOutB, layer, h, h), tp),
          load_norm(c, Tensor::DecFfnLnGamma, Tensor::DecFfnLnBeta, layer),
          split_columns(load_gemm(c, Tensor::DecFfn1W, Tensor::DecFfn1B, layer, h, c.inter_size), tp, 1),
          split_rows(load_gemm(c, Tensor::DecFfn2W, Tensor::DecFfn2B, layer, c.inter_size, h), tp)};
}

}  // namespace

DecoderStack::DecoderStack(const ModelConfig& config)
    : config_(config),
      rows_(config.rows()),
      hidden_(config.hidden()),
      rank_hidden_(config.hidden() / config.tp),
      memory_(generate(config, Tensor::Memory, 0, static_cast<size_t>(config.batch) * config.memory_len() * hidden_)),
      memory_lengths_(load_lengths(config, Tensor::MemoryLengths, config.memory_len())) {
  const size_t cache = static_cast<size_t>(rows_) * config.seq * rank_hidden_;
  for (int layer = 0; layer < config.layers; ++layer) {
    layers_.push_back(load_decoder_layer(config, layer));
    for (int r = 0; r < config.tp; ++r) {
      memory_kv_.emplace_back(memory_.size() * 2 / config.tp);
      keys_.emplace_back(cache);
      values_.emplace_back(cache);
    }
  }
  const size_t h = hidden_;
  normed_.resize(rows_ * h);
  proj_.resize(rows_ * h);
  reordered_.resize(cache);
  qkv_ = rank_buffers(config.tp, rows_ * 3 * static_cast<size_t>(rank_hidden_));
  attn_ = rank_buffers(config.tp, rows_ * static_cast<size_t>(rank_hidden_));
  inter_ = rank_buffers(config.tp, static_cast<size_t>(rows_) * config.inter_size / config.tp);
}

void DecoderStack::start() {
  const int memory_rows = config_.batch * config_.memory_len();
  for (int l = 0; l < config_.layers; ++l) {
    for (int r = 0; r < config_.tp; ++r) {
      linear(layers_[l].cross_kv[r], memory_.data(), memory_rows, memory_kv_[shard(l, r)].data());
    }
  }
}

void DecoderStack::step(int t, float* x) {
  for (int l = 0; l < config_.layers; ++l) {
    self_attention(l, t, x);
    cross_attention(l, x);
    feed_forward(l, x);
  }
}

size_t DecoderStack::cache_offset(int row, int t) const {
  return (static_cast<size_t>(row) * config_.seq + t) * rank_hidden_;
}

// Every rank normalises the whole x (replicated; computed once here) and runs its heads; the
// all-reduce sits in row_parallel_linear.
void DecoderStack::self_attention(int l, int t, float* x) {
  const DecoderLayer& layer = layers_[l];
  const int h = rank_hidden_;
  std::copy_n(x, rows_ * hidden_, normed_.begin());
  layer_norm(layer.self_ln, normed_.data(), rows_, hidden_);
  for (int r = 0; r < config_.tp; ++r) {
    std::vector<float>& keys = keys_[shard(l, r)];
    std::vector<float>& values = values_[shard(l, r)];
    linear(layer.self_qkv[r], normed_.data(), rows_, qkv_[r].data());
    for (int row = 0; row < rows_; ++row) {
      const float* q = qkv_[r].data() + static_cast<size_t>(row) * 3 * h;
      std::copy_n(q + h, h, keys.begin() + cache_offset(row, t));
      std::copy_n(q + 2 * h, h, values.begin() + cache_offset(row, t));
      attention(q, {keys.data() + cache_offset(row, 0), h}, {values.data() + cache_offset(row, 0), h}, t + 1,
                config_.heads / config_.tp, config_.head_size, attn_[r].data() + static_cast<size_t>(row) * h);
    }
  }
  row_parallel_linear(layer.self_out, attn_, rows_, proj_.data());
  add(x, proj_.data(), rows_ * hidden_);
}

void DecoderStack::cross_attention(int l, float* x) {
  const DecoderLayer& layer = layers_[l];
  const int h = rank_hidden_;
  std::copy_n(x, rows_ * hidden_, normed_.begin());
  layer_norm(layer.cross_ln, normed_.data(), rows_, hidden_);
  for (int r = 0; r < config_.tp; ++r) {
    linear(layer.cross_q[r], normed_.data(), rows_, qkv_[r].data());
    for (int row = 0; row < rows_; ++row) {
      const int sentence = row / config_.beam;
      const float* kv = memory_kv_[shard(l, r)].data() + static_cast<size_t>(sentence) * config_.memory_len() * 2 * h;
      attention(qkv_[r].data() + static_cast<size_t>(row) * h, {kv, 2 * h}, {kv + h, 2 * h}, memory_lengths_[sentence],
                config_.heads / config_.tp, config_.head_size, attn_[r].data() + static_cast<size_t>(row) * h);
    }
  }
  row_parallel_linear(layer.cross_out, attn_, rows_, proj_.data());
  add(x, proj_.data(), rows_ * hidden_);
}

void DecoderStack::feed_forward(int l, float* x) {
  const DecoderLayer& layer = layers_[l];
  std::copy_n(x, rows_ * hidden_, normed_.begin());
  layer_norm(layer.ffn_ln, normed_.data(), rows_, hidden_);
  for (int r = 0; r < config_.tp; ++r) {
    linear(layer.ffn1[r], normed_.data(), rows_, inter_[r].data());
    relu(inter_[r].data(), rows_ * config_.inter_size / config_.tp);
  }
  row_parallel_linear(layer.ffn2, inter_, rows_, proj_.data());
  add(x, proj_.data(), rows_ * hidden_);
}

void DecoderStack::reorder(const std::vector<int>& parents, int t) {
  const size_t steps = static_cast<size_t>(t + 1) * rank_hidden_;
  for (std::vector<std::vector<float>>* cache : {&keys_, &values_}) {
    for (std::vector<float>& shard_cache : *cache) {
      for (int row = 0; row < rows_; ++row) {
        const int parent = row - row % config_.beam + parents[row];
        std::copy_n(shard_cache.begin() + cache_offset(parent, 0), steps, reordered_.begin() + cache_offset(row, 0));
      }
      shard_cache.swap(reordered_);  // steps after t are written before they are read
    }
  }
}

}  // namespace ftb::cpu
