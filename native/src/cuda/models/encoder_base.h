// Internal to the GPU encoder (models/encoder.h is the public entry): what the fused and unfused
// variants share, and the factories of the two variants (encoder_fused.cc, encoder_unfused.cc).
// EncoderBase owns the weights and inputs generated on the device (or a checkpoint's, converted once,
// with its embedding layer), the sequence lengths and their packed-row tables, the fp32 output,
// timing, and the run/measure/profile/outputs protocol; a variant adds its activation buffers and
// GEMM plans and provides enqueue(): one forward on the stream. At fp8 the layer GEMMs' weights are
// E4M3 only (fp8_weights(); their fp16 copies are not kept), the other tensors fp16.
#pragma once
#include <cuda_runtime.h>

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/checkpoint.h"
#include "common/config.h"
#include "common/tensors.h"
#include "cuda/buffer.h"
#include "cuda/context.h"
#include "cuda/dtype.h"
#include "cuda/gemm/gemm.h"
#include "cuda/models/fp8_weights.h"
#include "cuda/timing/model_timing.h"
#include "cuda/utils/graph.h"
#include "engine/backend.h"

namespace ftb::cuda {

class EncoderBase : public Model {
 public:
  EncoderBase(const ModelConfig& config, std::shared_ptr<CudaContext> context);

  void run() override;
  Sample measure(const MeasureOptions& options) override;
  KernelProfile profile(int iterations) override;
  Outputs outputs() override;
  std::map<std::string, std::string> notes() const override;
  std::vector<GemmChoice> gemms() const override;

 protected:
  // One forward pass queued on the stream.
  virtual void enqueue() = 0;
  virtual std::map<std::string, std::string> variant_notes() const = 0;

  // Fills weights and inputs, uploads the length tables, runs one forward eagerly (every launch checked,
  // modules loaded) and, when asked, captures the forward into a graph. Called by the variants'
  // constructors once their buffers and GEMM plans exist.
  void prepare(bool use_graph);

  const void* weight(int layer, Tensor tensor) const { return weights_[layer][tensor_slot(tensor)].get(); }
  // A layer GEMM y = x · W (+ bias, in the GEMM's epilogue) of `layer`'s weight `w`, from its output
  // column `out_offset` on (the unfused variant's q, k, v blocks of the QKV weight). At fp8 it reads
  // the E4M3 input that quantize_gemm_input() or a LayerNorm writing into fp8_gemm_input() left, not x.
  void layer_gemm(const Gemm& gemm, const void* x, int layer, Tensor w, int out_offset, void* y, const void* bias);
  // fp8 only: the E4M3 copy of a layer GEMM's input x (fp16 [rows, cols]) and its per-row scales.
  void quantize_gemm_input(const void* x, int rows, int cols);
  // fp8: where a LayerNorm writing the next layer GEMM's input [rows, cols] puts its E4M3 copy and
  // scales (layernorm.h), in place of quantize_gemm_input(); not fp8: nowhere (no E4M3 output).
  Fp8Rows fp8_gemm_input(int rows, int cols) { return fp8_ ? fp8_input_.target(rows, cols) : Fp8Rows{}; }
  // fp8: room for the variant's largest GEMM input, `rows` rows of at most `max_cols` values.
  void allocate_fp8_input(size_t rows, size_t max_cols) {
    if (fp8_) fp8_input_ = Fp8Activations(rows, rows * max_cols);
  }
  bool has_embeddings() const { return word_.bytes() > 0; }
  // out[r] = the embedding of padded token token_rows[r] (r itself when token_rows is null), r < rows;
  // with fp8.data, its E4M3 copy too (embedding.h).
  void embed(void* out, const int* token_rows, size_t rows, cudaStream_t s, Fp8Rows fp8 = {}) const;
  cudaStream_t stream() const { return context_->stream(); }
  void plan(const GemmSpec& spec, Gemm& slot) { gemms_.plan(context_->gemm(), spec, slot); }
  DeviceBuffer buffer(size_t elements, const std::string& what) const {
    return DeviceBuffer(elements * dtype_size(dtype_), what);
  }

  const ModelConfig config_;  // without the checkpoint, which only prepare() reads
  std::shared_ptr<const Checkpoint> checkpoint_;
  const int position_offset_;  // a checkpoint's position offset (0 for the synthetic model)
  const std::shared_ptr<CudaContext> context_;
  const DType dtype_;
  const bool tf32_;
  const int batch_, seq_, heads_, head_size_, hidden_size_, inter_;
  const float eps_;       // LayerNorm eps (config.layer_norm_eps, 1e-6 for the synthetic model)
  const bool gelu_erf_;   // exact erf GELU (a checkpoint's "gelu"); the tanh form otherwise
  const bool fp8_;        // precision fp8: E4M3 layer GEMMs (native/MODEL.md, "fp8")
  int tokens_ = 0;
  std::vector<int> lengths_, seq_offsets_, token_rows_;
  DeviceBuffer input_, output_, lengths_dev_, seq_offsets_dev_, token_rows_dev_;

 private:
  // The twelve per-layer tensors, EncQkvW .. EncFfnLnBeta (consecutive ids in common/tensors.h).
  static constexpr int kLayerTensors = 12;
  static int tensor_slot(Tensor tensor) { return static_cast<int>(tensor) - static_cast<int>(Tensor::EncQkvW); }

  void launch_forward();
  void allocate_embeddings(const Checkpoint& c);
  void upload_embeddings(const Checkpoint& c);
  void upload(DeviceBuffer& dst, const std::vector<int>& values, const char* stage);

  // Whether `tensor` is one of the four layer GEMM weights (E4M3 only at fp8).
  static bool gemm_weight(Tensor tensor) {
    return tensor == Tensor::EncQkvW || tensor == Tensor::EncAttnOutW || tensor == Tensor::EncFfn1W ||
           tensor == Tensor::EncFfn2W;
  }

  std::vector<std::array<DeviceBuffer, kLayerTensors>> weights_;
  Fp8Weights fp8_weights_;
  Fp8Activations fp8_input_;
  DeviceBuffer word_, position_, token_type_, emb_gamma_, emb_beta_, ids_dev_;  // checkpoints only
  GemmPlans gemms_;
  CapturedGraph graph_;
  ModelTiming timing_{*context_};
};

// The two variants (models/encoder.h describes them); make_cuda_encoder picks one by config.variant.
std::unique_ptr<Model> make_fused_encoder(const ModelConfig& config, std::shared_ptr<CudaContext> context);
std::unique_ptr<Model> make_unfused_encoder(const ModelConfig& config, std::shared_ptr<CudaContext> context);

}  // namespace ftb::cuda
