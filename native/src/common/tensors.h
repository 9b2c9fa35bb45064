// The model's tensors: which random stream fills each one, its shape, and its value range.
// Backends allocate and lay out tensors as they like but must fill them through these specs,
// so every backend runs on bit-identical fp32 values (rounded once for fp16/bf16 storage).
//
// Layouts (row-major; GEMM weights are [in, out] so y = x · W):
//   encoder layer: qkv_w [h, 3h] (columns q | k | v, head-major inside each), qkv_b [3h],
//     attn_out_w [h, h], attn_out_b [h], attn_ln_gamma/beta [h], ffn1_w [h, inter], ffn1_b [inter],
//     ffn2_w [inter, h], ffn2_b [h], ffn_ln_gamma/beta [h]
//   decoder layer: self_ln_gamma/beta [h], self_qkv_w [h, 3h], self_qkv_b [3h], self_out_w [h, h],
//     self_out_b [h], cross_ln_gamma/beta [h], cross_q_w [h, h], cross_q_b [h], cross_kv_w [h, 2h]
//     (columns k | v), cross_kv_b [2h], cross_out_w [h, h], cross_out_b [h], ffn_ln_gamma/beta [h],
//     ffn1_w [h, inter], ffn1_b [inter], ffn2_w [inter, h], ffn2_b [h]
//   decoding: embedding [vocab, h], final_ln_gamma/beta [h], logits_w [h, vocab], logits_b [vocab]
//   inputs: encoder_input [batch, seq, h]; decoder_input [steps, batch·beam, h];
//     memory [batch, mem_len, h] (shared by the beams of a sentence)
#pragma once
#include <cstddef>
#include <cstdint>

#include "common/config.h"
#include "common/philox.h"

namespace ftb {

enum class Tensor : uint32_t {
  // encoder layer
  EncQkvW = 1, EncQkvB, EncAttnOutW, EncAttnOutB, EncAttnLnGamma, EncAttnLnBeta,
  EncFfn1W, EncFfn1B, EncFfn2W, EncFfn2B, EncFfnLnGamma, EncFfnLnBeta,
  // decoder layer
  DecSelfLnGamma = 32, DecSelfLnBeta, DecSelfQkvW, DecSelfQkvB, DecSelfOutW, DecSelfOutB,
  DecCrossLnGamma, DecCrossLnBeta, DecCrossQW, DecCrossQB, DecCrossKvW, DecCrossKvB,
  DecCrossOutW, DecCrossOutB, DecFfnLnGamma, DecFfnLnBeta, DecFfn1W, DecFfn1B, DecFfn2W, DecFfn2B,
  // decoding (global, layer 0)
  Embedding = 96, FinalLnGamma, FinalLnBeta, LogitsW, LogitsB,
  // inputs (global, layer 0)
  EncoderInput = 128, EncoderLengths, DecoderInput, Memory, MemoryLengths,
  // random draws (global, layer 0): index = step * batch + sentence
  SamplingDraw = 160,
};

// Stream id of a tensor: per-layer tensors get a distinct stream for every layer.
constexpr uint32_t stream_of(Tensor tensor, int layer = 0) {
  return (static_cast<uint32_t>(layer) << 8) | static_cast<uint32_t>(tensor);
}

// Values of an encoder layer tensor (EncQkvW .. EncFfnLnBeta) for hidden size h and FFN size inter.
size_t encoder_layer_tensor_size(Tensor tensor, size_t h, size_t inter);

// value(i) = offset + scale * U(-1, 1)
struct FillSpec {
  float scale;
  float offset;
};

// Value ranges: GEMM weights scale 1/sqrt(fan_in) (activations stay O(1) through deep stacks),
// biases and LN betas ±0.1, LN gammas 1 ± 0.1, inputs and memory ±1, embedding ±1/sqrt(h)
// (×√h at lookup gives ±1), logits weights 4/sqrt(h) so token scores are well separated.
FillSpec fill_spec(Tensor tensor, const ModelConfig& config);

inline float tensor_value(const ModelConfig& config, Tensor tensor, int layer, uint64_t index) {
  const FillSpec spec = fill_spec(tensor, config);
  return random_symmetric(config.seed, stream_of(tensor, layer), index, spec.scale, spec.offset);
}

// Per-sequence length in [ceil(len/2), len] (or len when full_length), for encoder sequences
// (EncoderLengths, len = seq) and memory (MemoryLengths, len = memory_len()).
inline int sequence_length(const ModelConfig& config, Tensor lengths, int sentence, int len) {
  if (config.full_length) return len;
  return random_int(config.seed, stream_of(lengths), static_cast<uint64_t>(sentence), (len + 1) / 2, len);
}

}  // namespace ftb
