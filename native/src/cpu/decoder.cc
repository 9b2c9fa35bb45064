// The decoder path: `seq` steps of the decoder layer stack, step t fed DecoderInput[t].
#include <algorithm>

#include "cpu/decoder_stack.h"
#include "cpu/models.h"
#include "cpu/weights.h"

namespace ftb {
namespace {

class CpuDecoder final : public HostTimedModel {
 public:
  explicit CpuDecoder(const ModelConfig& config)
      : config_(config),
        stack_(config),
        input_(cpu::generate(config, Tensor::DecoderInput, 0,
                             static_cast<size_t>(config.seq) * config.rows() * config.hidden())),
        x_(static_cast<size_t>(config.rows()) * config.hidden()) {}

  void run() override {
    stack_.start();
    for (int t = 0; t < config_.seq; ++t) {
      std::copy_n(input_.begin() + t * x_.size(), x_.size(), x_.begin());
      stack_.step(t, x_.data());
    }
    ran_ = true;
  }

  Outputs outputs() override {
    if (!ran_) throw EngineError("decoder outputs requested before run()");
    Outputs out;
    out.hidden = x_;
    out.lengths = stack_.memory_lengths();
    return out;
  }

 private:
  ModelConfig config_;
  cpu::DecoderStack stack_;
  std::vector<float> input_;  // [seq, batch·beam, h]
  std::vector<float> x_;      // [batch·beam, h]
  bool ran_ = false;
};

}  // namespace

std::unique_ptr<Model> make_cpu_decoder(const ModelConfig& config) { return std::make_unique<CpuDecoder>(config); }

}  // namespace ftb
