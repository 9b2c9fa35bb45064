// The decoding path: embedding and positions, the decoder layer stack, final LN and logits, then
// beam search or sampling per step; gather-tree at the end. At tp > 1 the logits GEMM is split by
// vocabulary over the simulated ranks and the search runs distributed over their shards.
#include <algorithm>
#include <cmath>

#include "common/position.h"
#include "cpu/decoder_stack.h"
#include "cpu/models.h"
#include "cpu/search.h"
#include "cpu/tensor_parallel.h"
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
        logits_layers_(cpu::split_columns(
            cpu::load_gemm(config, Tensor::LogitsW, Tensor::LogitsB, 0, config.hidden(), config.vocab), config.tp, 1)),
        x_(static_cast<size_t>(config.rows()) * config.hidden()),
        logits_(cpu::rank_buffers(config.tp, static_cast<size_t>(config.rows()) * config.vocab / config.tp)) {
    const int slice = config.vocab / config.tp;
    for (int r = 0; r < config.tp; ++r) shards_.push_back({logits_[r].data(), r * slice, slice});
  }

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
    for (int r = 0; r < config_.tp; ++r) cpu::linear(logits_layers_[r], x_.data(), config_.rows(), logits_[r].data());
    if (config_.sampling()) {
      cpu::sampling_step(config_, shards_, t, state);
    } else {
      cpu::beam_search_step(config_, shards_, state);
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
  std::vector<cpu::Linear> logits_layers_;  // per rank: its slice of the vocabulary
  std::vector<float> x_;                     // [batch·beam, h]
  std::vector<std::vector<float>> logits_;   // per rank [batch·beam, vocab / tp]
  std::vector<cpu::VocabShard> shards_;      // the ranks' logits
  Outputs outputs_;
  bool ran_ = false;
};

}  // namespace

std::unique_ptr<Model> make_cpu_decoding(const ModelConfig& config) { return std::make_unique<CpuDecoding>(config); }

}  // namespace ftb
