// The decoding path: embedding and positions, the decoder layer stack, final LN and logits, then
// beam search or sampling per step; gather-tree at the end.
#include <algorithm>
#include <cmath>

#include "common/position.h"
#include "cpu/decoder_stack.h"
#include "cpu/models.h"
#include "cpu/search.h"
#include "cpu/weights.h"

namespace ftb {
namespace {

class CpuDecoding final : public HostTimedModel {
 public:
  explicit CpuDecoding(const ModelConfig& config)
      : config_(config),
        stack_(config),
        embedding_(cpu::generate(config, Tensor::Embedding, 0, static_cast<size_t>(config.vocab) * config.hidden())),
        final_ln_(cpu::load_norm(config, Tensor::FinalLnGamma, Tensor::FinalLnBeta, 0)),
        logits_layer_(cpu::load_linear(config, Tensor::LogitsW, Tensor::LogitsB, 0, config.hidden(), config.vocab)),
        x_(static_cast<size_t>(config.rows()) * config.hidden()),
        logits_(static_cast<size_t>(config.rows()) * config.vocab) {}

  void run() override {
    stack_.start();
    cpu::SearchState state = cpu::start_search(config_);
    for (int t = 0; t < config_.seq; ++t) {
      step(t, state);
      if (config_.stop_at_end && state.all_finished()) break;
    }
    outputs_ = cpu::finish_search(config_, state);
    ran_ = true;
  }

  Outputs outputs() override {
    if (!ran_) throw EngineError("decoding outputs requested before run()");
    return outputs_;
  }

 private:
  void step(int t, cpu::SearchState& state) {
    embed(state.ids, t);
    stack_.step(t, x_.data());
    cpu::layer_norm(final_ln_, x_.data(), config_.rows(), config_.hidden());
    cpu::linear(logits_layer_, x_.data(), config_.rows(), logits_.data());
    if (config_.sampling()) {
      cpu::sampling_step(config_, logits_.data(), t, state);
    } else {
      cpu::beam_search_step(config_, logits_.data(), state);
      if (config_.beam > 1) stack_.reorder(state.parents, t);
    }
  }

  // x[r] = Embedding[ids[r]] · √h + PE(t).
  void embed(const std::vector<int>& ids, int t) {
    const int h = config_.hidden();
    const double scale = std::sqrt(static_cast<double>(h));
    for (int r = 0; r < config_.rows(); ++r) {
      const float* row = embedding_.data() + static_cast<size_t>(ids[r]) * h;
      for (int i = 0; i < h; ++i) {
        x_[static_cast<size_t>(r) * h + i] = static_cast<float>(row[i] * scale + position_encoding(t, i, h));
      }
    }
  }

  ModelConfig config_;
  cpu::DecoderStack stack_;
  std::vector<float> embedding_;  // [vocab, h]
  cpu::Norm final_ln_;
  cpu::Linear logits_layer_;
  std::vector<float> x_;       // [batch·beam, h]
  std::vector<float> logits_;  // [batch·beam, vocab]
  Outputs outputs_;
  bool ran_ = false;
};

}  // namespace

std::unique_ptr<Model> make_cpu_decoding(const ModelConfig& config) { return std::make_unique<CpuDecoding>(config); }

}  // namespace ftb
