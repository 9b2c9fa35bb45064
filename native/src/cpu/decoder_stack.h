// The pre-LN decoder layer stack with its caches, shared by the decoder and decoding paths:
// self-attention K/V per row and step, cross-attention K/V of the memory per sentence.
#pragma once
#include <vector>

#include "common/config.h"
#include "cpu/ops.h"

namespace ftb::cpu {

struct DecoderLayer {
  Norm self_ln;
  Linear self_qkv, self_out;
  Norm cross_ln;
  Linear cross_q, cross_kv, cross_out;
  Norm ffn_ln;
  Linear ffn1, ffn2;
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
  // Row r's cache of step t in a [rows, seq, h] cache.
  size_t cache_offset(int r, int t) const;

  ModelConfig config_;
  int rows_;
  int hidden_;
  std::vector<DecoderLayer> layers_;
  std::vector<float> memory_;  // [batch, mem_len, h]
  std::vector<int> memory_lengths_;
  std::vector<std::vector<float>> memory_kv_;             // per layer [batch, mem_len, 2h]: k | v
  std::vector<std::vector<float>> keys_, values_;         // per layer [rows, seq, h]
  std::vector<float> normed_, qkv_, attn_, proj_, inter_, reordered_;  // scratch
};

}  // namespace ftb::cpu
