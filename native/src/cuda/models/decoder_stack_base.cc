// StackBase (decoder_stack_base.h).
#include "cuda/models/decoder_stack_base.h"

#include <algorithm>

#include "cuda/check.h"
#include "cuda/kernels/fill.h"
#include "cuda/kernels/layernorm.h"
#include "cuda/utils/gemm_specs.h"

namespace ftb::cuda {
namespace {

size_t layer_tensor_size(Tensor tensor, size_t h, size_t inter) {
  switch (tensor) {
    case Tensor::DecSelfQkvW: return h * 3 * h;
    case Tensor::DecSelfQkvB: return 3 * h;
    case Tensor::DecSelfOutW: case Tensor::DecCrossQW: case Tensor::DecCrossOutW: return h * h;
    case Tensor::DecCrossKvW: return h * 2 * h;
    case Tensor::DecCrossKvB: return 2 * h;
    case Tensor::DecFfn1W: return h * inter;
    case Tensor::DecFfn1B: return inter;
    case Tensor::DecFfn2W: return inter * h;
    default: return h;  // output biases, LN gammas and betas
  }
}

// The seven GEMM weights of a layer, [in, out] as tensors.h lays them out: E4M3 only at fp8.
std::vector<Fp8WeightSpec> decoder_fp8_weights(const ModelConfig& c) {
  const int h = c.hidden(), inter = c.inter_size;
  return {{Tensor::DecSelfQkvW, h, 3 * h, 3 * h}, {Tensor::DecSelfOutW, h, h, h}, {Tensor::DecCrossQW, h, h, h},
          {Tensor::DecCrossKvW, h, 2 * h, 2 * h}, {Tensor::DecCrossOutW, h, h, h},
          {Tensor::DecFfn1W, h, inter, inter}, {Tensor::DecFfn2W, inter, h, h}};
}

bool is_gemm_weight(Tensor tensor) {
  return tensor == Tensor::DecSelfQkvW || tensor == Tensor::DecSelfOutW || tensor == Tensor::DecCrossQW ||
         tensor == Tensor::DecCrossKvW || tensor == Tensor::DecCrossOutW || tensor == Tensor::DecFfn1W ||
         tensor == Tensor::DecFfn2W;
}

}  // namespace

StackBase::StackBase(const ModelConfig& config, CudaContext& context, bool packed_gemms)
    : config_(config),
      context_(context),
      dtype_(storage_type(config.precision)),
      tf32_(config.precision == Precision::TF32),
      fp8_(config.precision == Precision::FP8),
      rows_(config.rows()),
      h_(config.hidden()),
      heads_(config.heads),
      head_size_(config.head_size),
      inter_(config.inter_size),
      mem_len_(config.memory_len()),
      cache_len_(config.seq) {
  for (int b = 0; b < config.batch; ++b) {
    memory_lengths_.push_back(sequence_length(config, Tensor::MemoryLengths, b, mem_len_));
  }
  memory_ = buffer(static_cast<size_t>(config.batch) * mem_len_ * h_, "decoder memory");
  memory_lengths_dev_ = DeviceBuffer(memory_lengths_.size() * sizeof(int), "memory lengths");
  weights_.resize(config.layers);
  for (int layer = 0; layer < config.layers; ++layer) {
    for (int slot = 0; slot < kLayerTensors; ++slot) {
      const Tensor tensor = layer_tensor(slot);
      if (fp8_ && is_gemm_weight(tensor)) continue;  // E4M3 only (fp8_weights_)
      if (packed_gemms && is_gemm_weight(tensor) && tensor != Tensor::DecCrossKvW) continue;  // packed only
      weights_[layer][slot] = buffer(layer_tensor_size(layer_tensor(slot), h_, inter_),
                                     "decoder layer " + std::to_string(layer) + " weights");
    }
  }
  if (fp8_) fp8_weights_ = Fp8Weights(decoder_fp8_weights(config), config.layers, "decoder");
}

void StackBase::fill(cudaStream_t s) {
  for (int layer = 0; layer < config_.layers; ++layer) {
    for (int slot = 0; slot < kLayerTensors; ++slot) {
      if (weights_[layer][slot].bytes() == 0) continue;  // fp8 (quantized below) or packed (FusedStack::fill)
      fill_tensor(dtype_, weights_[layer][slot].get(), weights_[layer][slot].bytes() / dtype_size(dtype_), config_,
                  layer_tensor(slot), layer, s);
    }
  }
  if (fp8_) fp8_weights_.fill(config_, nullptr, s);
  fill_tensor(dtype_, memory_.get(), memory_.bytes() / dtype_size(dtype_), config_, Tensor::Memory, 0, s);
  check(cudaMemcpyAsync(memory_lengths_dev_.get(), memory_lengths_.data(), memory_lengths_.size() * sizeof(int),
                        cudaMemcpyHostToDevice, s),
        "uploading memory lengths");
}

void StackBase::norm(int layer, Tensor gamma, const void* x, const void* residual, const void* bias, void* out,
                     void* sum, cudaStream_t s) const {
  layernorm(dtype_, x, residual, bias, weight(layer, gamma), weight(layer, static_cast<Tensor>(static_cast<int>(gamma) + 1)),
            out, rows_, h_, s, sum);
}

GemmSpec StackBase::layer_spec(const std::string& role, int rows, int in, int out, int ldb, Epilogue epilogue,
                               size_t column, size_t y_offset) const {
  // fp8: the block starts `column` rows of `in` E4M3 bytes into the [out, in] weight.
  if (fp8_) return dense_fp8(role, rows, in, out, epilogue, alignment_of({column * in, y_offset}));
  return dense(role, dtype_, tf32_, rows, in, out, ldb, epilogue, alignment_of({column * dtype_size(dtype_), y_offset}));
}

void StackBase::layer_gemm(const Gemm& gemm, const void* x, Input input, int layer, Tensor w, int column, void* y,
                           const void* bias, cudaStream_t s) {
  if (!fp8_) {
    // [in, out] row-major: a column block starts `column` elements into the first row.
    const char* block = static_cast<const char*>(weight(layer, w)) + static_cast<size_t>(column) * dtype_size(dtype_);
    gemm.run(x, block, y, bias, 1.0f, s);
    return;
  }
  if (input == Input::New) fp8_input_.quantize(x, gemm.choice().shape.m, gemm.choice().shape.k, s);
  run_fp8(gemm, fp8_input_, fp8_weights_, layer, w, column, y, bias, s);
}

}  // namespace ftb::cuda
