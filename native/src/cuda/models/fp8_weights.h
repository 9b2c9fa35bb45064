// The fp8 precision's state in a GPU encoder (native/MODEL.md, "fp8"), shared by the fused and
// unfused variants:
// - Fp8Weights: the four layer GEMMs' weights of every layer (QKV, attention output, FFN1, FFN2) in
//   E4M3, quantized once at model build from their fp32 values (the generator's, or a checkpoint's:
//   the same values the CPU reference quantizes, so both round the same numbers) with one scale per
//   output channel (its amax / 448), stored transposed [out, in] for cuBLASLt's fp8 "TN" form. Biases
//   and LayerNorm parameters stay the model's fp16 tensors.
// - Fp8Activations: one E4M3 buffer for the GEMM input of the moment and one scale per row (token),
//   computed on the device every call (dynamic scaling): by a quantize pass over the fp16 tensor, or
//   by the LayerNorm that writes the fp16 tensor (target(); layernorm.h).
//   The GEMMs of a forward run one after another on one stream, so one buffer serves them all.
#pragma once
#include <cuda_runtime.h>

#include <vector>

#include "common/checkpoint.h"
#include "common/config.h"
#include "common/tensors.h"
#include "cuda/buffer.h"
#include "cuda/kernels/fp8_quant.h"

namespace ftb::cuda {

class Fp8Weights {
 public:
  Fp8Weights() = default;
  // Allocates the E4M3 weights and scales of `config`'s layers (filled by fill()).
  explicit Fp8Weights(const ModelConfig& config);
  // Quantizes every weight from fp32 (`checkpoint`'s when given, else the generator's) on `stream`.
  void fill(const ModelConfig& config, const Checkpoint* checkpoint, cudaStream_t stream);

  // The E4M3 weight [out, in] of `tensor` (EncQkvW, EncAttnOutW, EncFfn1W or EncFfn2W) and its
  // output channels' scales [out].
  const void* weight(int layer, Tensor tensor) const { return weights_[index(layer, tensor)].get(); }
  const float* scales(int layer, Tensor tensor) const { return scales_[index(layer, tensor)].as<float>(); }

  static constexpr int kGemms = 4;

 private:
  static int slot(Tensor tensor);
  int index(int layer, Tensor tensor) const { return layer * kGemms + slot(tensor); }

  int hidden_ = 0, inter_ = 0;
  std::vector<DeviceBuffer> weights_;  // layer-major, kGemms per layer
  std::vector<DeviceBuffer> scales_;   // per weight, one float per output channel
};

class Fp8Activations {
 public:
  Fp8Activations() = default;
  // Room for the largest GEMM input of the forward: `rows` rows of at most `max_cols` values.
  Fp8Activations(size_t rows, size_t max_cols);

  // Quantizes the fp16 x [rows, cols], one scale per row.
  void quantize(const void* x, int rows, int cols, cudaStream_t stream);
  // Where a kernel that quantizes its own fp16 output [rows, cols] writes it instead.
  Fp8Rows target(int rows, int cols);

  const void* data() const { return data_.get(); }
  const float* scales() const { return scales_.as<float>(); }

 private:
  DeviceBuffer data_;
  DeviceBuffer scales_;  // one per row
};

}  // namespace ftb::cuda
