// The fp8 precision's state in a GPU model (native/MODEL.md, "fp8"), shared by the encoder (fused and
// unfused), the decoder layer stack (both variants) and the decoding's logits GEMM:
// - Fp8Weights: a model's layer GEMM weights in E4M3, quantized once at model build from their fp32
//   values (the generator's, or a checkpoint's: the same values the CPU reference quantizes, so both
//   round the same numbers) with one scale per output channel (its amax / 448), stored transposed
//   [out, in] for cuBLASLt's fp8 "TN" form. Which tensors, and their shapes, the model says
//   (Fp8WeightSpec). Biases and LayerNorm parameters stay the model's fp16 tensors.
// - Fp8Activations: one E4M3 buffer for the GEMM input of the moment and one scale per row (token),
//   computed on the device every call (dynamic scaling): by a quantize pass over the fp16 tensor, or
//   by the LayerNorm that writes the fp16 tensor (target(); layernorm.h). The GEMMs of a forward (or
//   a decoding step) run one after another on one stream, so one buffer serves them all.
// - run_fp8: one layer GEMM from the two.
#pragma once
#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "common/checkpoint.h"
#include "common/config.h"
#include "common/tensors.h"
#include "cuda/buffer.h"
#include "cuda/gemm/gemm.h"
#include "cuda/kernels/fp8_quant.h"

namespace ftb::cuda {

// One GEMM weight of every layer: `tensor`, [in, out] in its tensors.h layout, of which the tensor
// fills the first `columns` (< out: the logits' vocabulary padded for cuBLASLt, the rest zero).
struct Fp8WeightSpec {
  Tensor tensor;
  int in, out, columns;
};

class Fp8Weights {
 public:
  Fp8Weights() = default;
  // Allocates the E4M3 weights and scales of `specs` for `layers` layers (filled by fill()); `what`
  // names them in allocation errors.
  Fp8Weights(std::vector<Fp8WeightSpec> specs, int layers, const std::string& what);
  // Quantizes every weight from fp32 (`checkpoint`'s when given, else the generator's) on `stream`.
  void fill(const ModelConfig& config, const Checkpoint* checkpoint, cudaStream_t stream);

  // The E4M3 weight [out, in] of `tensor` (one of the specs') and its output channels' scales [out].
  const void* weight(int layer, Tensor tensor) const { return weights_[index(layer, tensor)].get(); }
  const float* scales(int layer, Tensor tensor) const { return scales_[index(layer, tensor)].as<float>(); }

 private:
  int index(int layer, Tensor tensor) const;

  std::vector<Fp8WeightSpec> specs_;
  int layers_ = 0;
  std::vector<DeviceBuffer> weights_;  // layer-major, one per spec
  std::vector<DeviceBuffer> scales_;   // per weight, one float per output channel
};

class Fp8Activations {
 public:
  Fp8Activations() = default;
  // Room for the GEMM inputs it quantizes: at most `max_rows` rows and `max_values` values.
  Fp8Activations(size_t max_rows, size_t max_values);

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

// y = the input `x` last quantized · the E4M3 weight `tensor` of `layer` from its output channel
// `out_offset` on (a column block of a wider weight: q, k, v of a fused QKV weight), bias in the
// epilogue `gemm` was planned with (dense_fp8).
void run_fp8(const Gemm& gemm, const Fp8Activations& x, const Fp8Weights& weights, int layer, Tensor tensor,
             int out_offset, void* y, const void* bias, cudaStream_t stream);

}  // namespace ftb::cuda
