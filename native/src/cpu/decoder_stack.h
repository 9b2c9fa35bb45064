// The pre-LN decoder layer stack with its caches, shared by the decoder and decoding paths:
// self-attention K/V per row and step, cross-attention K/V of the memory per sentence. At tp > 1 the
// layers run split over simulated tensor-parallel ranks (cpu/tensor_parallel.h), each rank holding
// its heads' caches.
#pragma once
#include <vector>

#include "common/config.h"
#include "cpu/ops.h"
#include "cpu/tensor_parallel.h"

namespace ftb::cpu {

// A layer's weights per rank: q | k | v, q, k | v and FFN1 by columns (each rank its heads, its
// slice of the FFN), the attention outputs and FFN2 by rows.
struct DecoderLayer {
  Norm self_ln;
  std::vector<Linear> self_qkv;
  RowParallel self_out;
  Norm cross_ln;
  std::vector<Linear> cross_q, cross_kv;
  RowParallel cross_out;
  Norm ffn_ln;
  std::vector<Linear> ffn1;
  RowParallel ffn2;
};

class DecoderStack {
 public:
  // Generates the layers' weights, the memory and its lengths; caches hold `config.seq` steps.
  explicit DecoderStack(const ModelConfig& config);

  // Starts a run: computes every layer's memory K/V (the cross-attention cache).
  void start();
  // Step t over rows x [batch·beam, h], in place, through every layer.
  void step(int t, float* x);
  // Beam reorder after step t: row b·beam + i continues the self-attention cache of row
  // b·beam + parents[b·beam + i] for steps 0..t.
  void reorder(const std::vector<int>& parents, int t);

  const std::vector<int>& memory_lengths() const { return memory_lengths_; }

 private:
  void self_attention(int l, int t, float* x);
  void cross_attention(int l, float* x);
  void feed_forward(int l, float* x);
  // Row r's cache of step t in a rank's [rows, seq, h/tp] cache.
  size_t cache_offset(int row, int t) const;
  // Index of layer l's rank r in the per-rank caches.
  size_t shard(int l, int r) const { return static_cast<size_t>(l) * config_.tp + r; }

  ModelConfig config_;
  int rows_;
  int hidden_;
  int rank_hidden_;  // h / tp: the features of one rank's heads
  std::vector<DecoderLayer> layers_;
  std::vector<float> memory_;  // [batch, mem_len, h]
  std::vector<int> memory_lengths_;
  std::vector<std::vector<float>> memory_kv_;      // per layer and rank [batch, mem_len, 2h/tp]: k | v
  std::vector<std::vector<float>> keys_, values_;  // per layer and rank [rows, seq, h/tp]
  std::vector<float> normed_, proj_, reordered_;   // scratch
  std::vector<std::vector<float>> qkv_, attn_, inter_;  // scratch per rank
};

}  // namespace ftb::cpu
