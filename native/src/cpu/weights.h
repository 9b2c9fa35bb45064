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

// A layer GEMM's dense layer (load_linear); at precision fp8 (the emulated reference of the cuda fp8
// GEMMs, tp 1 only) its weight quantized to E4M3 per output channel (quantize_fp8), as the cuda
// backend stores it, so linear() also rounds each input row to E4M3 (native/MODEL.md, "fp8").
Linear load_gemm(const ModelConfig& config, Tensor weight, Tensor bias, int layer, int in, int out);

// A LayerNorm over the hidden size from its gamma and beta tensors.
Norm load_norm(const ModelConfig& config, Tensor gamma, Tensor beta, int layer);

// Generated lengths of the batch's sequences (EncoderLengths or MemoryLengths), each of at most `len`.
std::vector<int> load_lengths(const ModelConfig& config, Tensor lengths, int len);

}  // namespace ftb::cpu
