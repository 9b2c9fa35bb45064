// The encoder path: a stack of post-LN BERT layers over the real tokens of each sequence only
// (padding removed: GEMMs run on the packed Σ len_b rows, attention within each sequence). A
// checkpoint's model starts from its token ids through the embedding layer; the synthetic model
// from the generated EncoderInput.
#include <algorithm>

#include "common/checkpoint.h"

#include "cpu/models.h"
#include "cpu/ops.h"
#include "cpu/weights.h"

namespace ftb {
namespace {

using cpu::Linear;
using cpu::Norm;

struct EncoderLayer {
  Linear qkv, attn_out, ffn1, ffn2;
  Norm attn_ln, ffn_ln;
};

EncoderLayer load_encoder_layer(const ModelConfig& c, int layer) {
  const int h = c.hidden();
  return {cpu::load_linear(c, Tensor::EncQkvW, Tensor::EncQkvB, layer, h, 3 * h),
          cpu::load_linear(c, Tensor::EncAttnOutW, Tensor::EncAttnOutB, layer, h, h),
          cpu::load_linear(c, Tensor::EncFfn1W, Tensor::EncFfn1B, layer, h, c.inter_size),
          cpu::load_linear(c, Tensor::EncFfn2W, Tensor::EncFfn2B, layer, c.inter_size, h),
          cpu::load_norm(c, Tensor::EncAttnLnGamma, Tensor::EncAttnLnBeta, layer),
          cpu::load_norm(c, Tensor::EncFfnLnGamma, Tensor::EncFfnLnBeta, layer)};
}

// The embedding layer's tables (checkpoints only).
struct Embeddings {
  const std::vector<float>* word = nullptr;
  const std::vector<float>* position = nullptr;
  const std::vector<float>* token_type = nullptr;  // optional
  Norm norm;
};

Embeddings load_embeddings(const Checkpoint& c) {
  Embeddings e;
  e.word = &checkpoint_tensor(c, "embeddings.word");
  e.position = &checkpoint_tensor(c, "embeddings.position");
  if (c.tensors.count("embeddings.token_type") > 0) e.token_type = &checkpoint_tensor(c, "embeddings.token_type");
  e.norm = {checkpoint_tensor(c, "embeddings.ln_gamma"), checkpoint_tensor(c, "embeddings.ln_beta")};
  return e;
}

class CpuEncoder final : public HostTimedModel {
 public:
  explicit CpuEncoder(const ModelConfig& config)
      : config_(config),
        input_(config.checkpoint ? std::vector<float>(static_cast<size_t>(config.batch) * config.seq * config.hidden())
                                 : cpu::generate(config, Tensor::EncoderInput, 0,
                                                 static_cast<size_t>(config.batch) * config.seq * config.hidden())),
        lengths_(config.checkpoint ? config.checkpoint->lengths
                                   : cpu::load_lengths(config, Tensor::EncoderLengths, config.seq)) {
    if (config.checkpoint) embeddings_ = load_embeddings(*config.checkpoint);
    for (int layer = 0; layer < config.layers; ++layer) layers_.push_back(load_encoder_layer(config, layer));
    for (int length : lengths_) {
      offsets_.push_back(tokens_);
      tokens_ += length;
    }
    const size_t h = config.hidden();
    x_.resize(tokens_ * h);
    qkv_.resize(tokens_ * 3 * h);
    attn_.resize(tokens_ * h);
    proj_.resize(tokens_ * h);
    inter_.resize(static_cast<size_t>(tokens_) * config.inter_size);
  }

  void run() override {
    for (int b = 0; b < config_.batch; ++b) {
      if (config_.checkpoint) {
        embed_sequence(b);
      } else {
        std::copy_n(input_.begin() + sequence_offset(b), lengths_[b] * config_.hidden(), x_.begin() + packed_offset(b));
      }
    }
    for (const EncoderLayer& layer : layers_) forward(layer);
    ran_ = true;
  }

  Outputs outputs() override {
    if (!ran_) throw EngineError("encoder outputs requested before run()");
    Outputs out;
    out.hidden.assign(input_.size(), 0.0f);
    for (int b = 0; b < config_.batch; ++b) {
      const int values = lengths_[b] * config_.hidden();
      std::copy_n(x_.begin() + packed_offset(b), values, out.hidden.begin() + sequence_offset(b));
    }
    out.lengths = lengths_;
    return out;
  }

 private:
  // First value of sequence b in [batch, seq, h] and in the packed rows.
  size_t sequence_offset(int b) const { return static_cast<size_t>(b) * config_.seq * config_.hidden(); }
  size_t packed_offset(int b) const { return static_cast<size_t>(offsets_[b]) * config_.hidden(); }

  // x rows of sequence b's tokens = LN(word[id] + position[s + offset] + token_type[0]).
  void embed_sequence(int b) {
    const size_t h = config_.hidden();
    const Checkpoint& c = *config_.checkpoint;
    for (int s = 0; s < lengths_[b]; ++s) {
      const size_t id = c.ids[static_cast<size_t>(b) * config_.seq + s];
      const size_t position = s + c.position_offset;
      cpu::embed(embeddings_.word->data() + id * h, embeddings_.position->data() + position * h,
                 embeddings_.token_type != nullptr ? embeddings_.token_type->data() : nullptr, embeddings_.norm,
                 static_cast<int>(h), config_.layer_norm_eps, x_.data() + packed_offset(b) + s * h);
    }
  }

  void forward(const EncoderLayer& layer) {
    const int h = config_.hidden();
    cpu::linear(layer.qkv, x_.data(), tokens_, qkv_.data());
    for (int b = 0; b < config_.batch; ++b) self_attention(b);
    cpu::linear(layer.attn_out, attn_.data(), tokens_, proj_.data());
    cpu::add(x_.data(), proj_.data(), tokens_ * h);
    cpu::layer_norm(layer.attn_ln, x_.data(), tokens_, h, config_.layer_norm_eps);
    cpu::linear(layer.ffn1, x_.data(), tokens_, inter_.data());
    if (config_.activation == Activation::GeluErf) {
      cpu::gelu_erf(inter_.data(), tokens_ * config_.inter_size);
    } else {
      cpu::gelu(inter_.data(), tokens_ * config_.inter_size);
    }
    cpu::linear(layer.ffn2, inter_.data(), tokens_, proj_.data());
    cpu::add(x_.data(), proj_.data(), tokens_ * h);
    cpu::layer_norm(layer.ffn_ln, x_.data(), tokens_, h, config_.layer_norm_eps);
  }

  // Attention of sequence b's tokens over its own tokens, read from the packed q | k | v rows.
  void self_attention(int b) {
    const int h = config_.hidden();
    const float* rows = qkv_.data() + static_cast<size_t>(offsets_[b]) * 3 * h;
    for (int i = 0; i < lengths_[b]; ++i) {
      cpu::attention(rows + static_cast<size_t>(i) * 3 * h, {rows + h, 3 * h}, {rows + 2 * h, 3 * h}, lengths_[b],
                     config_.heads, config_.head_size, attn_.data() + static_cast<size_t>(offsets_[b] + i) * h);
    }
  }

  ModelConfig config_;
  std::vector<EncoderLayer> layers_;
  Embeddings embeddings_;     // checkpoints only
  std::vector<float> input_;  // [batch, seq, h] (synthetic model; zeros, the output's shape, for checkpoints)
  std::vector<int> lengths_;
  std::vector<int> offsets_;  // first packed row of each sequence
  int tokens_ = 0;            // Σ lengths
  std::vector<float> x_, qkv_, attn_, proj_, inter_;  // packed activations
  bool ran_ = false;
};

}  // namespace

std::unique_ptr<Model> make_cpu_encoder(const ModelConfig& config) { return std::make_unique<CpuEncoder>(config); }

}  // namespace ftb
