// Internal to the GPU decoder layer stack (models/decoder_stack.h is the public entry): what its fused
// and unfused variants (decoder_stack.cc) share. StackBase owns the layers' weights, the memory and
// its lengths, and runs the layer GEMMs at the model's precision: the storage type's GEMM, or at fp8
// (native/MODEL.md, "fp8") a cuBLASLt E4M3 matmul of the weight quantized once at build (per output
// channel) and the input quantized on every call (per row), the quantize pass queued just before the
// GEMM, so a captured step reads each call's values. At fp8 the seven GEMM weights of a layer exist
// in E4M3 only; biases, LayerNorm parameters, memory, caches and activations stay fp16.
#pragma once
#include <cuda_runtime.h>

#include <array>
#include <string>
#include <vector>

#include "common/tensors.h"
#include "cuda/buffer.h"
#include "cuda/context.h"
#include "cuda/dtype.h"
#include "cuda/gemm/gemm.h"
#include "cuda/models/decoder_stack.h"
#include "cuda/models/fp8_weights.h"

namespace ftb::cuda {

// Weights, memory, sizes and the layer GEMMs shared by both variants.
class StackBase : public DecoderStack {
 public:
  // packed_gemms: the persistent kernel holds the layer GEMM weights it runs packed (FusedStack), so
  // their plain copies are neither allocated nor filled here (the memory K/V weight stays: its GEMM is
  // cuBLASLt's in both stacks).
  StackBase(const ModelConfig& config, CudaContext& context, bool packed_gemms = false);
  void fill(cudaStream_t s) override;

 protected:
  // The twenty per-layer tensors, DecSelfLnGamma .. DecFfn2B (consecutive ids in common/tensors.h).
  static constexpr int kLayerTensors = 20;
  static Tensor layer_tensor(int slot) {
    return static_cast<Tensor>(static_cast<int>(Tensor::DecSelfLnGamma) + slot);
  }
  // A bias, LayerNorm parameter or (not at fp8, nor packed) GEMM weight of `layer`.
  const void* weight(int layer, Tensor tensor) const {
    return weights_[layer][static_cast<int>(tensor) - static_cast<int>(Tensor::DecSelfLnGamma)].get();
  }
  // Column block `block` (of `width` columns) of a bias.
  const void* columns(int layer, Tensor tensor, int block, int width) const {
    return static_cast<const char*>(weight(layer, tensor)) + static_cast<size_t>(block) * width * dtype_size(dtype_);
  }
  DeviceBuffer buffer(size_t elements, const std::string& what) const {
    return DeviceBuffer(elements * dtype_size(dtype_), what);
  }
  void plan(const GemmSpec& spec, Gemm& slot) { gemms_.plan(context_.gemm(), spec, slot); }
  void norm(int layer, Tensor gamma, const void* x, const void* residual, const void* bias, void* out, void* sum,
            cudaStream_t s) const;

  // The plan of a layer GEMM y[rows, out] = x[rows, in] · W, W's rows `ldb` apart (storage type) or
  // stored [out, in] (fp8): the GEMM reads W from its output column `column` on and writes y at
  // `y_offset` bytes into a buffer (the pointers' alignment the plan may assume).
  GemmSpec layer_spec(const std::string& role, int rows, int in, int out, int ldb, Epilogue epilogue = Epilogue::None,
                      size_t column = 0, size_t y_offset = 0) const;
  // fp8: room for the GEMM inputs, at most `rows` rows and `values` values.
  void allocate_fp8_input(size_t rows, size_t values) {
    if (fp8_) fp8_input_ = Fp8Activations(rows, values);
  }
  // Whether the GEMM's input is new (fp8: quantized first, its rows and k from the plan) or the one
  // the previous layer_gemm call read (q, k and v of one normed input; the memory's K and V).
  enum class Input { New, Same };
  // y = x · W (+ bias, in the GEMM's epilogue) of `layer`'s weight `w`, from its output column
  // `column` on (the unfused variant's blocks of the QKV and memory K/V weights).
  void layer_gemm(const Gemm& gemm, const void* x, Input input, int layer, Tensor w, int column, void* y,
                  const void* bias, cudaStream_t s);

  const ModelConfig config_;
  CudaContext& context_;
  const DType dtype_;
  const bool tf32_;
  const bool fp8_;  // precision fp8: E4M3 layer GEMMs
  const int rows_, h_, heads_, head_size_, inter_, mem_len_, cache_len_;
  DeviceBuffer memory_, memory_lengths_dev_;

 private:
  // At fp8 the GEMM weights' are empty, and with packed_gemms those of the packed GEMMs.
  std::vector<std::array<DeviceBuffer, kLayerTensors>> weights_;
  Fp8Weights fp8_weights_;
  Fp8Activations fp8_input_;
};

}  // namespace ftb::cuda
