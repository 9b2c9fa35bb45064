// Model tensors generated from their specs (common/tensors.h), once, at model creation.
#pragma once
#include <vector>

#include "common/tensors.h"
#include "cpu/ops.h"

namespace ftb::cpu {

// The first `count` values of a tensor of `layer`.
std::vector<float> generate(const ModelConfig& config, Tensor tensor, int layer, size_t count);

// A dense layer [in, out] from its weight and bias tensors (the checkpoint's when config has one).
Linear load_linear(const ModelConfig& config, Tensor weight, Tensor bias, int layer, int in, int out);

// A LayerNorm over the hidden size from its gamma and beta tensors.
Norm load_norm(const ModelConfig& config, Tensor gamma, Tensor beta, int layer);

// Generated lengths of the batch's sequences (EncoderLengths or MemoryLengths), each of at most `len`.
std::vector<int> load_lengths(const ModelConfig& config, Tensor lengths, int len);

}  // namespace ftb::cpu
