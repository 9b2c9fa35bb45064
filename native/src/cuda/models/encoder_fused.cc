// The fused GPU encoder (models/encoder.h): padding removed, one QKV GEMM, the fused attention kernel
// (or the fused bias+split / scale+mask+softmax fallback), bias+residual+LayerNorm in one kernel and
// bias+GELU in the FFN1 GEMM's epilogue where the precision allows (the exact erf GELU: bias in the
// epilogue, GELU in an in-place kernel). Trace stages: embedding or
// remove_padding, then per layer qkv_gemm, attention, attn_out_gemm, layernorm, ffn1_gemm_gelu,
// ffn2_gemm, layernorm, and remove_padding for the output. At fp8 the four layer GEMMs are cuBLASLt
// fp8 matmuls (dense_fp8) reading E4M3 inputs with row-wise scales. The LayerNorms write the E4M3
// copy of their output themselves (the attention one for FFN1, the FFN one for the next layer's
// QKV, a checkpoint's embedding one for the first QKV), counted in their own stage; the attention
// context, the GELU output and a synthetic model's input (no LayerNorm before the first QKV) get a
// quantize pass of their own (one kernel), counted in the GEMM's stage (NOTES.md, "Version 3 (fp8)":
// why those stay).
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "cuda/kernels/attention.h"
#include "cuda/kernels/elementwise.h"
#include "cuda/kernels/layernorm.h"
#include "cuda/models/encoder_base.h"
#include "cuda/timing/kernel_trace.h"
#include "cuda/utils/gemm_specs.h"

namespace ftb::cuda {
namespace {

class FusedEncoder final : public EncoderBase {
 public:
  FusedEncoder(const ModelConfig& config, std::shared_ptr<CudaContext> context)
      : EncoderBase(config, std::move(context)),
        fused_attention_(fused_attention_supported(dtype_, head_size_)),
        ffn1_epilogue_(dtype_ == DType::F32 ? Epilogue::None : gelu_erf_ ? Epilogue::Bias : Epilogue::BiasGelu) {
    const size_t t = tokens_, h = hidden_size_;
    hidden_ = buffer(t * h, "encoder hidden state");
    qkv_ = buffer(t * 3 * h, "encoder qkv");
    ctx_ = buffer(t * h, "encoder attention context");
    projected_ = buffer(t * h, "encoder projection output");
    inter_buf_ = buffer(t * inter_, "encoder ffn intermediate");
    if (fp8_) {
      plan(dense_fp8("qkv", tokens_, hidden_size_, 3 * hidden_size_), qkv_gemm_);
      plan(dense_fp8("attn_out", tokens_, hidden_size_, hidden_size_), attn_out_gemm_);
      plan_fp8_ffn1();
      plan(dense_fp8("ffn2", tokens_, inter_, hidden_size_), ffn2_gemm_);
      allocate_fp8_input(t, std::max(h, static_cast<size_t>(inter_)));
    } else {
      plan(dense("qkv", dtype_, tf32_, tokens_, hidden_size_, 3 * hidden_size_, 3 * hidden_size_), qkv_gemm_);
      plan(dense("attn_out", dtype_, tf32_, tokens_, hidden_size_, hidden_size_, hidden_size_), attn_out_gemm_);
      plan(dense("ffn1", dtype_, tf32_, tokens_, hidden_size_, inter_, inter_, ffn1_epilogue_), ffn1_gemm_);
      plan(dense("ffn2", dtype_, tf32_, tokens_, inter_, hidden_size_, hidden_size_), ffn2_gemm_);
    }
    if (!fused_attention_) {
      const size_t heads_elems = static_cast<size_t>(batch_) * heads_ * seq_ * head_size_;
      q_ = buffer(heads_elems, "encoder attention q");
      k_ = buffer(heads_elems, "encoder attention k");
      v_ = buffer(heads_elems, "encoder attention v");
      ctx_heads_ = buffer(heads_elems, "encoder attention context per head");
      scores_ = buffer(static_cast<size_t>(batch_) * heads_ * seq_ * seq_, "encoder attention scores");
      plan(attention_scores("attn_scores", dtype_, tf32_, batch_ * heads_, seq_, seq_, head_size_), scores_gemm_);
      plan(attention_context("attn_context", dtype_, tf32_, batch_ * heads_, seq_, seq_, head_size_), context_gemm_);
    }
    prepare(config.graph);
  }

 protected:
  // fp8's FFN1 with bias+GELU in the epilogue where cuBLASLt has an fp8 kernel for it; else (no
  // algorithm: an EngineError from planning) the bias epilogue and the GELU kernel in place, as for
  // the erf GELU, with the note saying so. Out of memory is not a missing kernel: it propagates.
  void plan_fp8_ffn1() {
    try {
      plan(dense_fp8("ffn1", tokens_, hidden_size_, inter_, ffn1_epilogue_), ffn1_gemm_);
    } catch (const OutOfMemory&) {
      throw;
    } catch (const EngineError& error) {
      if (ffn1_epilogue_ != Epilogue::BiasGelu) throw;
      ffn1_epilogue_ = Epilogue::Bias;
      fp8_gelu_fallback_ = error.what();
      plan(dense_fp8("ffn1", tokens_, hidden_size_, inter_, ffn1_epilogue_), ffn1_gemm_);
    }
  }

  void enqueue() override {
    cudaStream_t s = stream();
    const int* offsets = seq_offsets_dev_.as<int>();
    TraceStages stage;
    if (has_embeddings()) {
      stage("embedding");
      embed(hidden_.get(), token_rows_dev_.as<int>(), tokens_, s, fp8_gemm_input(tokens_, hidden_size_));
    } else {
      stage("remove_padding");
      gather_rows(dtype_, input_.get(), hidden_.get(), token_rows_dev_.as<int>(), tokens_, hidden_size_, s);
    }
    for (int layer = 0; layer < config_.layers; ++layer) {
      stage("qkv_gemm");
      // The embedding's LayerNorm and each layer's last one quantized their output already.
      if (layer == 0 && !has_embeddings()) quantize_gemm_input(hidden_.get(), tokens_, hidden_size_);
      layer_gemm(qkv_gemm_, hidden_.get(), layer, Tensor::EncQkvW, 0, qkv_.get(), nullptr);
      stage("attention");
      if (fused_attention_) {
        fused_attention(dtype_, qkv_.get(), weight(layer, Tensor::EncQkvB), ctx_.get(), offsets, batch_, seq_, heads_,
                        head_size_, s);
      } else {
        split_qkv_with_bias(dtype_, qkv_.get(), weight(layer, Tensor::EncQkvB), q_.get(), k_.get(), v_.get(), offsets,
                            batch_, seq_, heads_, head_size_, s);
        scores_gemm_.run(q_.get(), k_.get(), scores_.get(), nullptr, 1.0f, s);
        softmax_rows(dtype_, scores_.get(), batch_, heads_, seq_, 1.0f / std::sqrt(static_cast<float>(head_size_)),
                     lengths_dev_.as<int>(), s);
        context_gemm_.run(scores_.get(), v_.get(), ctx_heads_.get(), nullptr, 1.0f, s);
        merge_heads(dtype_, ctx_heads_.get(), ctx_.get(), offsets, batch_, seq_, heads_, head_size_, s);
      }
      stage("attn_out_gemm");
      quantize_gemm_input(ctx_.get(), tokens_, hidden_size_);
      layer_gemm(attn_out_gemm_, ctx_.get(), layer, Tensor::EncAttnOutW, 0, projected_.get(), nullptr);
      stage("layernorm");
      layernorm(dtype_, projected_.get(), hidden_.get(), weight(layer, Tensor::EncAttnOutB),
                weight(layer, Tensor::EncAttnLnGamma), weight(layer, Tensor::EncAttnLnBeta), hidden_.get(), tokens_,
                hidden_size_, s, nullptr, eps_, fp8_gemm_input(tokens_, hidden_size_));
      stage("ffn1_gemm_gelu");
      const bool bias_in_gemm = ffn1_epilogue_ != Epilogue::None;
      layer_gemm(ffn1_gemm_, hidden_.get(), layer, Tensor::EncFfn1W, 0, inter_buf_.get(),
                 bias_in_gemm ? weight(layer, Tensor::EncFfn1B) : nullptr);
      if (ffn1_epilogue_ != Epilogue::BiasGelu) {
        bias_gelu(dtype_, inter_buf_.get(), bias_in_gemm ? nullptr : weight(layer, Tensor::EncFfn1B), tokens_, inter_,
                  s, gelu_erf_);
      }
      stage("ffn2_gemm");
      quantize_gemm_input(inter_buf_.get(), tokens_, inter_);
      layer_gemm(ffn2_gemm_, inter_buf_.get(), layer, Tensor::EncFfn2W, 0, projected_.get(), nullptr);
      stage("layernorm");
      layernorm(dtype_, projected_.get(), hidden_.get(), weight(layer, Tensor::EncFfn2B),
                weight(layer, Tensor::EncFfnLnGamma), weight(layer, Tensor::EncFfnLnBeta), hidden_.get(), tokens_,
                hidden_size_, s, nullptr, eps_,
                layer + 1 < config_.layers ? fp8_gemm_input(tokens_, hidden_size_) : Fp8Rows{});
    }
    stage("remove_padding");
    write_output(dtype_, hidden_.get(), output_.as<float>(), lengths_dev_.as<int>(), offsets, batch_, seq_,
                 hidden_size_, s);
  }

  std::map<std::string, std::string> variant_notes() const override {
    std::map<std::string, std::string> notes = {{"attention", fused_attention_ ? "fused_mha (mma.sync, S×S kept in registers)"
                                           : "add_qkv_bias_split_heads + batched GEMMs + scale_mask_softmax"},
            {"remove_padding", "on"},
            {"ffn1_bias_gelu", ffn1_epilogue_ == Epilogue::BiasGelu ? "cuBLASLt epilogue"
                               : ffn1_epilogue_ == Epilogue::Bias   ? (gelu_erf_ ? "cuBLASLt bias epilogue + gelu_erf kernel"
                                                                                 : "cuBLASLt bias epilogue + gelu kernel")
                               : gelu_erf_                          ? "add_bias_gelu_erf kernel"
                                                                    : "add_bias_gelu kernel"}};
    if (fp8_) {
      notes["fp8_gemms"] = "qkv, attn_out, ffn1, ffn2: cuBLASLt E4M3 x E4M3, fp32 accumulation, fp16 output";
      notes["fp8_quantize"] =
          "row-wise: the LayerNorms (and a checkpoint's embedding) write the QKV and FFN1 inputs' E4M3; a quantize "
          "pass for the attention context, the GELU output and a synthetic model's first QKV input";
      if (!fp8_gelu_fallback_.empty()) notes["fp8_ffn1_gelu"] = "no fp8 GELU_BIAS epilogue here (" + fp8_gelu_fallback_ + ")";
    }
    return notes;
  }

 private:
  const bool fused_attention_;
  // fp16/bf16 take bias+GELU in the GEMM epilogue (BiasGelu); fp32/tf32 keep the add_bias_gelu kernel
  // (None), whose fp32 tanh matches the reference to fp32 rounding. cuBLASLt's GELU epilogue is the
  // tanh form, so the exact erf GELU at fp16/bf16 takes the bias in the epilogue (Bias: added in fp32
  // before the rounding, no bias read in the kernel) and the GELU in an in-place kernel (NOTES.md,
  // "Checkpoints: the erf GELU").
  Epilogue ffn1_epilogue_;  // fp8 may fall back from BiasGelu to Bias when planned (plan_fp8_ffn1)
  std::string fp8_gelu_fallback_;  // why it did
  DeviceBuffer hidden_, qkv_, ctx_, projected_, inter_buf_, q_, k_, v_, ctx_heads_, scores_;
  Gemm qkv_gemm_, attn_out_gemm_, ffn1_gemm_, ffn2_gemm_, scores_gemm_, context_gemm_;
};

}  // namespace

std::unique_ptr<Model> make_fused_encoder(const ModelConfig& config, std::shared_ptr<CudaContext> context) {
  return std::make_unique<FusedEncoder>(config, std::move(context));
}

}  // namespace ftb::cuda
