// The encoder path: a stack of post-LN BERT layers over the real tokens of each sequence only
// (padding removed: GEMMs run on the packed Σ len_b rows, attention within each sequence). A
// checkpoint's model starts from its token ids through the embedding layer; the synthetic model
// from the generated EncoderInput. At tp > 1 each layer runs split over simulated tensor-parallel
// ranks (cpu/tensor_parallel.h): every rank its heads and its slice of the FFN.
#include <algorithm>

#include "common/checkpoint.h"

#include "cpu/models.h"
#include "cpu/ops.h"
#include "cpu/tensor_parallel.h"
#include "cpu/weights.h"

namespace ftb {
namespace {

using cpu::Linear;
using cpu::Norm;
using cpu::RowParallel;

// A layer's weights per tensor-parallel rank: q | k | v and FFN1 by columns, the attention output
// and FFN2 by rows (one rank holding everything at tp 1).
struct EncoderLayer {
  std::vector<Linear> qkv, ffn1;
  RowParallel attn_out, ffn2;
  Norm attn_ln, ffn_ln;
};

EncoderLayer load_encoder_layer(const ModelConfig& c, int layer) {
  const int h = c.hidden();
  return {cpu::split_columns(cpu::load_gemm(c, Tensor::EncQkvW, Tensor::EncQkvB, layer, h, 3 * h), c.tp, 3),
          cpu::split_columns(cpu::load_gemm(c, Tensor::EncFfn1W, Tensor::EncFfn1B, layer, h, c.inter_size), c.tp, 1),
          cpu::split_rows(cpu::load_gemm(c, Tensor::EncAttnOutW, Tensor::EncAttnOutB, layer, h, h), c.tp),
          cpu::split_rows(cpu::load_gemm(c, Tensor::EncFfn2W, Tensor::EncFfn2B, layer, c.inter_size, h), c.tp),
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
    const size_t tp = config.tp;
    x_.resize(tokens_ * h);
    proj_.resize(tokens_ * h);
    qkv_ = cpu::rank_buffers(config.tp, tokens_ * 3 * h / tp);
    attn_ = cpu::rank_buffers(config.tp, tokens_ * h / tp);
    inter_ = cpu::rank_buffers(config.tp, static_cast<size_t>(tokens_) * config.inter_size / tp);
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

  // Every rank reads the whole x (replicated); the all-reduces sit inside row_parallel_linear.
  void forward(const EncoderLayer& layer) {
    const int h = config_.hidden();
    const int inter = config_.inter_size / config_.tp;
    for (int r = 0; r < config_.tp; ++r) {
      cpu::linear(layer.qkv[r], x_.data(), tokens_, qkv_[r].data());
      for (int b = 0; b < config_.batch; ++b) self_attention(r, b);
    }
    cpu::row_parallel_linear(layer.attn_out, attn_, tokens_, proj_.data());
    cpu::add(x_.data(), proj_.data(), tokens_ * h);
    cpu::layer_norm(layer.attn_ln, x_.data(), tokens_, h, config_.layer_norm_eps);
    for (int r = 0; r < config_.tp; ++r) {
      cpu::linear(layer.ffn1[r], x_.data(), tokens_, inter_[r].data());
      if (config_.activation == Activation::GeluErf) {
        cpu::gelu_erf(inter_[r].data(), tokens_ * inter);
      } else {
        cpu::gelu(inter_[r].data(), tokens_ * inter);
      }
    }
    cpu::row_parallel_linear(layer.ffn2, inter_, tokens_, proj_.data());
    cpu::add(x_.data(), proj_.data(), tokens_ * h);
    cpu::layer_norm(layer.ffn_ln, x_.data(), tokens_, h, config_.layer_norm_eps);
  }

  // Rank r's heads: attention of sequence b's tokens over its own tokens, read from the rank's
  // packed q | k | v rows (heads / tp heads each).
  void self_attention(int r, int b) {
    const int h = config_.hidden() / config_.tp;
    const float* rows = qkv_[r].data() + static_cast<size_t>(offsets_[b]) * 3 * h;
    for (int i = 0; i < lengths_[b]; ++i) {
      cpu::attention(rows + static_cast<size_t>(i) * 3 * h, {rows + h, 3 * h}, {rows + 2 * h, 3 * h}, lengths_[b],
                     config_.heads / config_.tp, config_.head_size,
                     attn_[r].data() + static_cast<size_t>(offsets_[b] + i) * h);
    }
  }

  ModelConfig config_;
  std::vector<EncoderLayer> layers_;
  Embeddings embeddings_;     // checkpoints only
  std::vector<float> input_;  // [batch, seq, h] (synthetic model; zeros, the output's shape, for checkpoints)
  std::vector<int> lengths_;
  std::vector<int> offsets_;  // first packed row of each sequence
  int tokens_ = 0;            // Σ lengths
  std::vector<float> x_, proj_;                        // packed activations
  std::vector<std::vector<float>> qkv_, attn_, inter_;  // packed activations per rank
  bool ran_ = false;
};

}  // namespace

std::unique_ptr<Model> make_cpu_encoder(const ModelConfig& config) { return std::make_unique<CpuEncoder>(config); }

}  // namespace ftb
