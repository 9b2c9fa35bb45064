#include "cuda/models/encoder.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "common/checkpoint.h"
#include "common/tensors.h"
#include "cuda/buffer.h"
#include "cuda/check.h"
#include "cuda/gemm/gemm.h"
#include "cuda/kernels/attention.h"
#include "cuda/kernels/elementwise.h"
#include "cuda/kernels/embedding.h"
#include "cuda/kernels/fill.h"
#include "cuda/kernels/layernorm.h"
#include "cuda/timing/kernel_trace.h"
#include "cuda/timing/model_timing.h"
#include "cuda/utils/gemm_specs.h"
#include "cuda/utils/graph.h"

namespace ftb::cuda {
namespace {

// The twelve per-layer tensors, EncQkvW .. EncFfnLnBeta (consecutive ids in common/tensors.h).
constexpr int kLayerTensors = 12;

int tensor_slot(Tensor tensor) { return static_cast<int>(tensor) - static_cast<int>(Tensor::EncQkvW); }

ModelConfig without_checkpoint(const ModelConfig& config) {
  ModelConfig copy = config;
  copy.checkpoint.reset();
  return copy;
}

// What both variants share: weights and inputs generated on the device (or a checkpoint's, converted
// once, with its embedding layer), lengths, the fp32 output, timing and the run/measure/outputs
// protocol. A variant provides enqueue(): one forward on the stream.
class EncoderBase : public Model {
 public:
  EncoderBase(const ModelConfig& config, std::shared_ptr<CudaContext> context)
      : config_(without_checkpoint(config)),
        checkpoint_(config.checkpoint),
        position_offset_(config.checkpoint ? config.checkpoint->position_offset : 0),
        context_(std::move(context)),
        dtype_(storage_type(config.precision)),
        tf32_(config.precision == Precision::TF32),
        batch_(config.batch),
        seq_(config.seq),
        heads_(config.heads),
        head_size_(config.head_size),
        hidden_size_(config.hidden()),
        inter_(config.inter_size),
        eps_(static_cast<float>(config.layer_norm_eps)),
        gelu_erf_(config.activation == Activation::GeluErf) {
    context_->activate();
    if (config.checkpoint) {
      lengths_ = config.checkpoint->lengths;
    } else {
      for (int b = 0; b < batch_; ++b) lengths_.push_back(sequence_length(config, Tensor::EncoderLengths, b, seq_));
    }
    seq_offsets_.push_back(0);
    for (int b = 0; b < batch_; ++b) {
      for (int s = 0; s < lengths_[b]; ++s) token_rows_.push_back(b * seq_ + s);
      seq_offsets_.push_back(seq_offsets_.back() + lengths_[b]);
    }
    tokens_ = seq_offsets_.back();

    const size_t elem = dtype_size(dtype_);
    const size_t padded = static_cast<size_t>(batch_) * seq_ * hidden_size_;
    input_ = DeviceBuffer(padded * elem, "encoder input");
    output_ = DeviceBuffer(padded * sizeof(float), "encoder output");
    weights_.resize(config.layers);
    for (int layer = 0; layer < config.layers; ++layer) {
      for (int slot = 0; slot < kLayerTensors; ++slot) {
        const Tensor tensor = static_cast<Tensor>(static_cast<int>(Tensor::EncQkvW) + slot);
        weights_[layer][slot] =
            DeviceBuffer(encoder_layer_tensor_size(tensor, hidden_size_, inter_) * elem,
                         "encoder layer " + std::to_string(layer) + " weights");
      }
    }
    lengths_dev_ = DeviceBuffer(lengths_.size() * sizeof(int), "sequence lengths");
    seq_offsets_dev_ = DeviceBuffer(seq_offsets_.size() * sizeof(int), "sequence offsets");
    token_rows_dev_ = DeviceBuffer(token_rows_.size() * sizeof(int), "token rows");
    if (config.checkpoint) allocate_embeddings(*config.checkpoint);
  }

  void run() override {
    context_->activate();
    launch_forward();
    context_->synchronize("encoder forward (" + std::string(to_string(config_.variant)) + ")");
  }

  Sample measure(const MeasureOptions& options) override {
    return timing_.measure([this] { launch_forward(); }, options);
  }

  KernelProfile profile(int iterations) override {
    return timing_.profile([this] { enqueue(); }, iterations, "encoder forward", graph_.ready() ? "a CUDA graph" : "");
  }

  Outputs outputs() override {
    context_->activate();
    context_->synchronize("encoder forward (" + std::string(to_string(config_.variant)) + ")");
    Outputs out;
    out.hidden.resize(static_cast<size_t>(batch_) * seq_ * hidden_size_);
    check(cudaMemcpy(out.hidden.data(), output_.get(), out.hidden.size() * sizeof(float), cudaMemcpyDeviceToHost),
          "copying the encoder output to the host");
    out.lengths = lengths_;
    return out;
  }

  std::map<std::string, std::string> notes() const override {
    std::map<std::string, std::string> notes = variant_notes();
    notes["graph"] = graph_.ready() ? "on" : "off";
    notes["tokens"] = std::to_string(tokens_) + " of " + std::to_string(batch_ * seq_);
    if (has_embeddings()) notes["embedding"] = "embed_layernorm kernel (both variants; unfused embeds the padded rows too)";
    return notes;
  }

  std::vector<GemmChoice> gemms() const override { return gemms_.choices(); }

 protected:
  // One forward pass queued on the stream.
  virtual void enqueue() = 0;
  virtual std::map<std::string, std::string> variant_notes() const = 0;

  // Fills weights and inputs, uploads the length tables, runs one forward eagerly (every launch checked,
  // modules loaded) and, when asked, captures the forward into a graph. Called by the variants'
  // constructors once their buffers and GEMM plans exist.
  void prepare(bool use_graph) {
    // The checkpoint's host copy is let go once its tensors are on the device.
    const std::shared_ptr<const Checkpoint> checkpoint = std::move(checkpoint_);
    if (context_->planning_only()) return;
    cudaStream_t s = stream();
    for (int layer = 0; layer < config_.layers; ++layer) {
      for (int slot = 0; slot < kLayerTensors; ++slot) {
        const Tensor tensor = static_cast<Tensor>(static_cast<int>(Tensor::EncQkvW) + slot);
        if (checkpoint) {
          fill_from_host(dtype_, weights_[layer][slot].get(), checkpoint_tensor(*checkpoint, tensor, layer), s);
        } else {
          fill_tensor(dtype_, weights_[layer][slot].get(), weights_[layer][slot].bytes() / dtype_size(dtype_),
                      config_, tensor, layer, s);
        }
      }
    }
    if (checkpoint) {
      upload_embeddings(*checkpoint);
    } else {
      fill_tensor(dtype_, input_.get(), input_.bytes() / dtype_size(dtype_), config_, Tensor::EncoderInput, 0, s);
    }
    upload(lengths_dev_, lengths_, "uploading sequence lengths");
    upload(seq_offsets_dev_, seq_offsets_, "uploading sequence offsets");
    upload(token_rows_dev_, token_rows_, "uploading token rows");
    enqueue();
    context_->synchronize("first encoder forward");
    if (use_graph) graph_.capture(s, [this] { enqueue(); });
  }

  const void* weight(int layer, Tensor tensor) const { return weights_[layer][tensor_slot(tensor)].get(); }
  bool has_embeddings() const { return word_.bytes() > 0; }
  // out[r] = the embedding of padded token token_rows[r] (r itself when token_rows is null), r < rows.
  void embed(void* out, const int* token_rows, size_t rows, cudaStream_t s) const {
    embed_layernorm(dtype_, ids_dev_.as<int>(), token_rows, word_.get(), position_.get(),
                    token_type_.bytes() > 0 ? token_type_.get() : nullptr, emb_gamma_.get(), emb_beta_.get(), out,
                    rows, seq_, position_offset_, hidden_size_, eps_, s);
  }
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
  int tokens_ = 0;
  std::vector<int> lengths_, seq_offsets_, token_rows_;
  DeviceBuffer input_, output_, lengths_dev_, seq_offsets_dev_, token_rows_dev_;

 private:
  void launch_forward() {
    if (graph_.ready()) {
      graph_.launch(stream());
    } else {
      enqueue();
    }
  }

  void allocate_embeddings(const Checkpoint& c) {
    const auto table = [&](const char* name) {
      const auto found = c.tensors.find(name);
      return found == c.tensors.end() ? DeviceBuffer() : buffer(found->second.size(), std::string("checkpoint ") + name);
    };
    word_ = table("embeddings.word");
    position_ = table("embeddings.position");
    token_type_ = table("embeddings.token_type");
    emb_gamma_ = table("embeddings.ln_gamma");
    emb_beta_ = table("embeddings.ln_beta");
    ids_dev_ = DeviceBuffer(c.ids.size() * sizeof(int), "token ids");
  }

  void upload_embeddings(const Checkpoint& c) {
    cudaStream_t s = stream();
    fill_from_host(dtype_, word_.get(), checkpoint_tensor(c, "embeddings.word"), s);
    fill_from_host(dtype_, position_.get(), checkpoint_tensor(c, "embeddings.position"), s);
    if (token_type_.bytes() > 0) fill_from_host(dtype_, token_type_.get(), checkpoint_tensor(c, "embeddings.token_type"), s);
    fill_from_host(dtype_, emb_gamma_.get(), checkpoint_tensor(c, "embeddings.ln_gamma"), s);
    fill_from_host(dtype_, emb_beta_.get(), checkpoint_tensor(c, "embeddings.ln_beta"), s);
    upload(ids_dev_, c.ids, "uploading token ids");
  }

  void upload(DeviceBuffer& dst, const std::vector<int>& values, const char* stage) {
    check(cudaMemcpyAsync(dst.get(), values.data(), values.size() * sizeof(int), cudaMemcpyHostToDevice, stream()),
          stage);
  }

  std::vector<std::array<DeviceBuffer, kLayerTensors>> weights_;
  DeviceBuffer word_, position_, token_type_, emb_gamma_, emb_beta_, ids_dev_;  // checkpoints only
  GemmPlans gemms_;
  CapturedGraph graph_;
  ModelTiming timing_{*context_};
};

class FusedEncoder final : public EncoderBase {
 public:
  FusedEncoder(const ModelConfig& config, std::shared_ptr<CudaContext> context)
      : EncoderBase(config, std::move(context)),
        fused_attention_(fused_attention_supported(dtype_, head_size_)),
        gelu_epilogue_(dtype_ != DType::F32 && !gelu_erf_) {
    const size_t t = tokens_, h = hidden_size_;
    hidden_ = buffer(t * h, "encoder hidden state");
    qkv_ = buffer(t * 3 * h, "encoder qkv");
    ctx_ = buffer(t * h, "encoder attention context");
    projected_ = buffer(t * h, "encoder projection output");
    inter_buf_ = buffer(t * inter_, "encoder ffn intermediate");
    plan(dense("qkv", dtype_, tf32_, tokens_, hidden_size_, 3 * hidden_size_, 3 * hidden_size_), qkv_gemm_);
    plan(dense("attn_out", dtype_, tf32_, tokens_, hidden_size_, hidden_size_, hidden_size_), attn_out_gemm_);
    plan(dense("ffn1", dtype_, tf32_, tokens_, hidden_size_, inter_, inter_,
               gelu_epilogue_ ? Epilogue::BiasGelu : Epilogue::None),
         ffn1_gemm_);
    plan(dense("ffn2", dtype_, tf32_, tokens_, inter_, hidden_size_, hidden_size_), ffn2_gemm_);
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
  void enqueue() override {
    cudaStream_t s = stream();
    const int* offsets = seq_offsets_dev_.as<int>();
    TraceStages stage;
    if (has_embeddings()) {
      stage("embedding");
      embed(hidden_.get(), token_rows_dev_.as<int>(), tokens_, s);
    } else {
      stage("remove_padding");
      gather_rows(dtype_, input_.get(), hidden_.get(), token_rows_dev_.as<int>(), tokens_, hidden_size_, s);
    }
    for (int layer = 0; layer < config_.layers; ++layer) {
      stage("qkv_gemm");
      qkv_gemm_.run(hidden_.get(), weight(layer, Tensor::EncQkvW), qkv_.get(), nullptr, 1.0f, s);
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
      attn_out_gemm_.run(ctx_.get(), weight(layer, Tensor::EncAttnOutW), projected_.get(), nullptr, 1.0f, s);
      stage("layernorm");
      layernorm(dtype_, projected_.get(), hidden_.get(), weight(layer, Tensor::EncAttnOutB),
                weight(layer, Tensor::EncAttnLnGamma), weight(layer, Tensor::EncAttnLnBeta), hidden_.get(), tokens_,
                hidden_size_, s, nullptr, eps_);
      stage("ffn1_gemm_gelu");
      ffn1_gemm_.run(hidden_.get(), weight(layer, Tensor::EncFfn1W), inter_buf_.get(),
                     gelu_epilogue_ ? weight(layer, Tensor::EncFfn1B) : nullptr, 1.0f, s);
      if (!gelu_epilogue_) {
        bias_gelu(dtype_, inter_buf_.get(), weight(layer, Tensor::EncFfn1B), tokens_, inter_, s, gelu_erf_);
      }
      stage("ffn2_gemm");
      ffn2_gemm_.run(inter_buf_.get(), weight(layer, Tensor::EncFfn2W), projected_.get(), nullptr, 1.0f, s);
      stage("layernorm");
      layernorm(dtype_, projected_.get(), hidden_.get(), weight(layer, Tensor::EncFfn2B),
                weight(layer, Tensor::EncFfnLnGamma), weight(layer, Tensor::EncFfnLnBeta), hidden_.get(), tokens_,
                hidden_size_, s, nullptr, eps_);
    }
    stage("remove_padding");
    write_output(dtype_, hidden_.get(), output_.as<float>(), lengths_dev_.as<int>(), offsets, batch_, seq_,
                 hidden_size_, s);
  }

  std::map<std::string, std::string> variant_notes() const override {
    return {{"attention", fused_attention_ ? "fused_mha (mma.sync, S×S kept in registers)"
                                           : "add_qkv_bias_split_heads + batched GEMMs + scale_mask_softmax"},
            {"remove_padding", "on"},
            {"ffn1_bias_gelu", gelu_epilogue_ ? "cuBLASLt epilogue"
                               : gelu_erf_    ? "add_bias_gelu_erf kernel"
                                              : "add_bias_gelu kernel"}};
  }

 private:
  const bool fused_attention_;
  // fp16/bf16 take bias+GELU in the GEMM epilogue; fp32/tf32 keep the add_bias_gelu kernel, whose
  // fp32 tanh matches the reference to fp32 rounding. cuBLASLt's GELU epilogue is the tanh form, so
  // the exact erf GELU always takes the kernel.
  const bool gelu_epilogue_;
  DeviceBuffer hidden_, qkv_, ctx_, projected_, inter_buf_, q_, k_, v_, ctx_heads_, scores_;
  Gemm qkv_gemm_, attn_out_gemm_, ffn1_gemm_, ffn2_gemm_, scores_gemm_, context_gemm_;
};

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
      // Column block j of the [h, 3h] QKV weight: its own GEMM, as a framework with three Linear layers.
      plan(dense(roles[j], dtype_, tf32_, m, hidden_size_, hidden_size_, 3 * hidden_size_, Epilogue::None,
                 alignment_of({j * h * dtype_size(dtype_)})),
           qkv_gemm_[j]);
    }
    plan(attention_scores("attn_scores", dtype_, tf32_, batch_ * heads_, seq_, seq_, head_size_), scores_gemm_);
    plan(attention_context("attn_context", dtype_, tf32_, batch_ * heads_, seq_, seq_, head_size_), context_gemm_);
    plan(dense("attn_out", dtype_, tf32_, m, hidden_size_, hidden_size_, hidden_size_), attn_out_gemm_);
    plan(dense("ffn1", dtype_, tf32_, m, hidden_size_, inter_, inter_), ffn1_gemm_);
    plan(dense("ffn2", dtype_, tf32_, m, inter_, hidden_size_, hidden_size_), ffn2_gemm_);
    prepare(config.graph);
  }

 protected:
  void enqueue() override {
    cudaStream_t s = stream();
    const size_t rows = static_cast<size_t>(batch_) * seq_, h = hidden_size_;
    const size_t elem = dtype_size(dtype_);
    const size_t scores = static_cast<size_t>(batch_) * heads_ * seq_ * seq_;
    TraceStages stage;
    if (has_embeddings()) {
      stage("embedding");
      embed(input_.get(), nullptr, rows, s);
    }
    for (int layer = 0; layer < config_.layers; ++layer) {
      const void* x = layer == 0 ? input_.get() : hidden_.get();
      const char* qkv_w = static_cast<const char*>(weight(layer, Tensor::EncQkvW));
      const char* qkv_b = static_cast<const char*>(weight(layer, Tensor::EncQkvB));
      for (int j = 0; j < 3; ++j) {
        stage("qkv_gemm");
        qkv_gemm_[j].run(x, qkv_w + j * h * elem, qkv_[j].get(), nullptr, 1.0f, s);
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
      attn_out_gemm_.run(ctx_.get(), weight(layer, Tensor::EncAttnOutW), projected_.get(), nullptr, 1.0f, s);
      stage("bias_residual");
      add_bias(dtype_, projected_.get(), weight(layer, Tensor::EncAttnOutB), rows, hidden_size_, s);
      add_tensors(dtype_, sum_.get(), x, projected_.get(), rows * h, s);
      stage("layernorm");
      layernorm(dtype_, sum_.get(), nullptr, nullptr, weight(layer, Tensor::EncAttnLnGamma),
                weight(layer, Tensor::EncAttnLnBeta), hidden_.get(), rows, hidden_size_, s, nullptr, eps_);
      stage("ffn1_gemm_gelu");
      ffn1_gemm_.run(hidden_.get(), weight(layer, Tensor::EncFfn1W), inter_buf_.get(), nullptr, 1.0f, s);
      add_bias(dtype_, inter_buf_.get(), weight(layer, Tensor::EncFfn1B), rows, inter_, s);
      bias_gelu(dtype_, inter_buf_.get(), nullptr, rows, inter_, s, gelu_erf_);
      stage("ffn2_gemm");
      ffn2_gemm_.run(inter_buf_.get(), weight(layer, Tensor::EncFfn2W), projected_.get(), nullptr, 1.0f, s);
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
    return {{"attention", "unfused (split_heads, batched GEMMs, scale, mask_keys, softmax, merge_heads)"},
            {"remove_padding", "off"},
            {"ffn1_bias_gelu", gelu_erf_ ? "add_bias and gelu_erf kernels" : "add_bias and gelu kernels"}};
  }

 private:
  DeviceBuffer hidden_, scores_, ctx_heads_, ctx_, projected_, sum_, inter_buf_;
  std::array<DeviceBuffer, 3> qkv_, qkv_heads_;
  std::array<Gemm, 3> qkv_gemm_;
  Gemm scores_gemm_, context_gemm_, attn_out_gemm_, ffn1_gemm_, ffn2_gemm_;
};

}  // namespace

std::unique_ptr<Model> make_cuda_encoder(const ModelConfig& config, std::shared_ptr<CudaContext> context) {
  if (config.variant == Variant::Fused) return std::make_unique<FusedEncoder>(config, std::move(context));
  return std::make_unique<UnfusedEncoder>(config, std::move(context));
}

}  // namespace ftb::cuda
