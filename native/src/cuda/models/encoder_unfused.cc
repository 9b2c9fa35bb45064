// The unfused GPU encoder (models/encoder.h), run as a framework runs it: padded [batch·seq] rows,
// separate Q, K, V GEMMs and one kernel per operation. Trace stages: embedding (checkpoints), then
// per layer qkv_gemm and bias_transpose for each of q, k, v, attention, bias_transpose,
// attn_out_gemm, bias_residual, layernorm, ffn1_gemm_gelu, ffn2_gemm, bias_residual, layernorm, and
// output. At fp8 the q, k, v, attn_out, ffn1 and ffn2 GEMMs are cuBLASLt fp8 matmuls reading one
// E4M3 copy of their input each (q, k and v share the layer input's), quantized per call row by row,
// as a framework's quantize op would; a padded row gets its own scale, so the real tokens' scales
// are those of the fused variant and the reference.
#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "cuda/kernels/elementwise.h"
#include "cuda/kernels/layernorm.h"
#include "cuda/models/encoder_base.h"
#include "cuda/timing/kernel_trace.h"
#include "cuda/utils/gemm_specs.h"

namespace ftb::cuda {
namespace {

class UnfusedEncoder final : public EncoderBase {
 public:
  UnfusedEncoder(const ModelConfig& config, std::shared_ptr<CudaContext> context)
      : EncoderBase(config, std::move(context)) {
    const size_t rows = static_cast<size_t>(batch_) * seq_, h = hidden_size_;
    const size_t heads_elems = rows * h;
    hidden_ = buffer(rows * h, "encoder hidden state");
    for (int j = 0; j < 3; ++j) {
      qkv_[j] = buffer(rows * h, "encoder q/k/v");
      qkv_heads_[j] = buffer(heads_elems, "encoder q/k/v per head");
    }
    scores_ = buffer(static_cast<size_t>(batch_) * heads_ * seq_ * seq_, "encoder attention scores");
    ctx_heads_ = buffer(heads_elems, "encoder attention context per head");
    ctx_ = buffer(rows * h, "encoder attention context");
    projected_ = buffer(rows * h, "encoder projection output");
    sum_ = buffer(rows * h, "encoder residual sum");
    inter_buf_ = buffer(rows * inter_, "encoder ffn intermediate");
    const char* roles[3] = {"q", "k", "v"};
    const int m = static_cast<int>(rows);
    for (int j = 0; j < 3; ++j) {
      // Column block j of the [h, 3h] QKV weight: its own GEMM, as a framework with three Linear layers
      // (at fp8: rows block j of the E4M3 [3h, h] weight, j·h·h bytes in).
      plan(fp8_ ? dense_fp8(roles[j], m, hidden_size_, hidden_size_, Epilogue::None, alignment_of({j * h * h}))
                : dense(roles[j], dtype_, tf32_, m, hidden_size_, hidden_size_, 3 * hidden_size_, Epilogue::None,
                        alignment_of({j * h * dtype_size(dtype_)})),
           qkv_gemm_[j]);
    }
    plan(attention_scores("attn_scores", dtype_, tf32_, batch_ * heads_, seq_, seq_, head_size_), scores_gemm_);
    plan(attention_context("attn_context", dtype_, tf32_, batch_ * heads_, seq_, seq_, head_size_), context_gemm_);
    if (fp8_) {
      plan(dense_fp8("attn_out", m, hidden_size_, hidden_size_), attn_out_gemm_);
      plan(dense_fp8("ffn1", m, hidden_size_, inter_), ffn1_gemm_);
      plan(dense_fp8("ffn2", m, inter_, hidden_size_), ffn2_gemm_);
      allocate_fp8_input(rows, std::max(h, static_cast<size_t>(inter_)));
    } else {
      plan(dense("attn_out", dtype_, tf32_, m, hidden_size_, hidden_size_, hidden_size_), attn_out_gemm_);
      plan(dense("ffn1", dtype_, tf32_, m, hidden_size_, inter_, inter_), ffn1_gemm_);
      plan(dense("ffn2", dtype_, tf32_, m, inter_, hidden_size_, hidden_size_), ffn2_gemm_);
    }
    prepare(config.graph);
  }

 protected:
  void enqueue() override {
    cudaStream_t s = stream();
    const size_t rows = static_cast<size_t>(batch_) * seq_, h = hidden_size_;
    const int m = static_cast<int>(rows);
    const size_t elem = dtype_size(dtype_);
    const size_t scores = static_cast<size_t>(batch_) * heads_ * seq_ * seq_;
    TraceStages stage;
    if (has_embeddings()) {
      stage("embedding");
      embed(input_.get(), nullptr, rows, s);
    }
    for (int layer = 0; layer < config_.layers; ++layer) {
      const void* x = layer == 0 ? input_.get() : hidden_.get();
      const char* qkv_b = static_cast<const char*>(weight(layer, Tensor::EncQkvB));
      for (int j = 0; j < 3; ++j) {
        stage("qkv_gemm");
        if (j == 0) quantize_gemm_input(x, m, hidden_size_);
        layer_gemm(qkv_gemm_[j], x, layer, Tensor::EncQkvW, j * hidden_size_, qkv_[j].get(), nullptr);
        stage("bias_transpose");
        add_bias(dtype_, qkv_[j].get(), qkv_b + j * h * elem, rows, hidden_size_, s);
        split_heads(dtype_, qkv_[j].get(), hidden_size_, qkv_heads_[j].get(), batch_, seq_, heads_, head_size_, s);
      }
      stage("attention");
      scores_gemm_.run(qkv_heads_[0].get(), qkv_heads_[1].get(), scores_.get(), nullptr, 1.0f, s);
      scale_values(dtype_, scores_.get(), scores, 1.0f / std::sqrt(static_cast<float>(head_size_)), s);
      mask_keys(dtype_, scores_.get(), lengths_dev_.as<int>(), batch_, heads_, seq_, s);
      softmax_rows(dtype_, scores_.get(), batch_, heads_, seq_, 1.0f, nullptr, s);
      context_gemm_.run(scores_.get(), qkv_heads_[2].get(), ctx_heads_.get(), nullptr, 1.0f, s);
      stage("bias_transpose");
      merge_heads(dtype_, ctx_heads_.get(), ctx_.get(), nullptr, batch_, seq_, heads_, head_size_, s);
      stage("attn_out_gemm");
      quantize_gemm_input(ctx_.get(), m, hidden_size_);
      layer_gemm(attn_out_gemm_, ctx_.get(), layer, Tensor::EncAttnOutW, 0, projected_.get(), nullptr);
      stage("bias_residual");
      add_bias(dtype_, projected_.get(), weight(layer, Tensor::EncAttnOutB), rows, hidden_size_, s);
      add_tensors(dtype_, sum_.get(), x, projected_.get(), rows * h, s);
      stage("layernorm");
      layernorm(dtype_, sum_.get(), nullptr, nullptr, weight(layer, Tensor::EncAttnLnGamma),
                weight(layer, Tensor::EncAttnLnBeta), hidden_.get(), rows, hidden_size_, s, nullptr, eps_);
      stage("ffn1_gemm_gelu");
      quantize_gemm_input(hidden_.get(), m, hidden_size_);
      layer_gemm(ffn1_gemm_, hidden_.get(), layer, Tensor::EncFfn1W, 0, inter_buf_.get(), nullptr);
      add_bias(dtype_, inter_buf_.get(), weight(layer, Tensor::EncFfn1B), rows, inter_, s);
      bias_gelu(dtype_, inter_buf_.get(), nullptr, rows, inter_, s, gelu_erf_);
      stage("ffn2_gemm");
      quantize_gemm_input(inter_buf_.get(), m, inter_);
      layer_gemm(ffn2_gemm_, inter_buf_.get(), layer, Tensor::EncFfn2W, 0, projected_.get(), nullptr);
      stage("bias_residual");
      add_bias(dtype_, projected_.get(), weight(layer, Tensor::EncFfn2B), rows, hidden_size_, s);
      add_tensors(dtype_, sum_.get(), hidden_.get(), projected_.get(), rows * h, s);
      stage("layernorm");
      layernorm(dtype_, sum_.get(), nullptr, nullptr, weight(layer, Tensor::EncFfnLnGamma),
                weight(layer, Tensor::EncFfnLnBeta), hidden_.get(), rows, hidden_size_, s, nullptr, eps_);
    }
    stage("output");
    write_output(dtype_, hidden_.get(), output_.as<float>(), lengths_dev_.as<int>(), nullptr, batch_, seq_,
                 hidden_size_, s);
  }

  std::map<std::string, std::string> variant_notes() const override {
    std::map<std::string, std::string> notes = {
        {"attention", "unfused (split_heads, batched GEMMs, scale, mask_keys, softmax, merge_heads)"},
        {"remove_padding", "off"},
        {"ffn1_bias_gelu", gelu_erf_ ? "add_bias and gelu_erf kernels" : "add_bias and gelu kernels"}};
    if (fp8_) {
      notes["fp8_gemms"] = "q, k, v, attn_out, ffn1, ffn2: cuBLASLt E4M3 x E4M3, fp32 accumulation, fp16 output";
      notes["fp8_quantize"] = "a row-wise quantize pass per GEMM input (q, k, v share one)";
    }
    return notes;
  }

 private:
  DeviceBuffer hidden_, scores_, ctx_heads_, ctx_, projected_, sum_, inter_buf_;
  std::array<DeviceBuffer, 3> qkv_, qkv_heads_;
  std::array<Gemm, 3> qkv_gemm_;
  Gemm scores_gemm_, context_gemm_, attn_out_gemm_, ffn1_gemm_, ffn2_gemm_;
};

}  // namespace

std::unique_ptr<Model> make_unfused_encoder(const ModelConfig& config, std::shared_ptr<CudaContext> context) {
  return std::make_unique<UnfusedEncoder>(config, std::move(context));
}

}  // namespace ftb::cuda
