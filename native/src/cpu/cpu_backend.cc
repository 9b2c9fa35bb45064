#include "cpu/cpu_backend.h"

#include <thread>

#include "common/e4m3.h"
#include "cpu/models.h"
#include "cpu/search.h"

namespace ftb {
namespace {

// fp8 on the cpu backend is the emulated reference of the cuda fp8 points (every layer GEMM's weight
// and input rounded to E4M3, common/e4m3.h; the decoding's logits GEMM too), never a measured point
// (the harness drops those): any path, at tp 1 only.
void validate_fp8_emulation(const ModelConfig& config) {
  if (config.tp != 1) throw ConfigError("precision fp8 on the cpu backend needs tp 1, got " + std::to_string(config.tp));
}

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }

  DeviceInfo device_info() const override {
    return {"cpu", {{"name", "CPU reference (fp32 storage, fp64 accumulation)"},
                    {"threads", std::to_string(std::thread::hardware_concurrency())}}};
  }

  std::unique_ptr<Model> create_model(const ModelConfig& config) override {
    validate(config);
    if (config.precision == Precision::FP8) {
      validate_fp8_emulation(config);
    } else if (config.precision != Precision::FP32) {
      throw ConfigError(std::string("precision must be fp32 on the cpu backend, got ") + to_string(config.precision));
    }
    if (config.variant != Variant::Reference) {
      throw ConfigError(std::string("variant must be reference on the cpu backend, got ") + to_string(config.variant));
    }
    switch (config.path) {
      case Path::Encoder: return make_cpu_encoder(config);
      case Path::Decoder: return make_cpu_decoder(config);
      case Path::Decoding: return make_cpu_decoding(config);
    }
    throw EngineError("unknown path");
  }

  E4m3Tensor quantize_e4m3(const std::vector<float>& values, int cols) override {
    E4m3Tensor out{std::vector<float>(values.size()), {}};
    for (size_t row = 0; row * cols < values.size(); ++row) {
      const float* x = values.data() + row * cols;
      out.scales.push_back(e4m3_scale(abs_max(x, cols)));
      ftb::quantize_e4m3(x, cols, out.scales.back(), out.values.data() + row * cols);
    }
    return out;
  }

  std::vector<int> sample_row(const ModelConfig& config, const std::vector<float>& logits) override {
    validate_sampling_probe(config, logits);
    std::vector<float> rows;
    for (int b = 0; b < config.batch; ++b) rows.insert(rows.end(), logits.begin(), logits.end());
    cpu::SearchState state = cpu::start_search(config);
    cpu::sampling_step(config, {{rows.data(), 0, config.vocab}}, 0, state);
    return state.ids;
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace ftb
