// CPU reference models, one per path (encoder.cc, decoder.cc, decoding.cc).
#pragma once
#include <chrono>
#include <memory>

#include "engine/backend.h"

namespace ftb {

// Times run() with the host's steady clock (the CPU backend's "device" clock; no L2 to flush, no SM clock).
class HostTimedModel : public Model {
 public:
  Sample measure(const MeasureOptions& options) override {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < options.iterations; ++i) run();
    const std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start;
    return {elapsed.count() / options.iterations, 0.0};
  }
};

std::unique_ptr<Model> make_cpu_encoder(const ModelConfig& config);
std::unique_ptr<Model> make_cpu_decoder(const ModelConfig& config);
std::unique_ptr<Model> make_cpu_decoding(const ModelConfig& config);

}  // namespace ftb
