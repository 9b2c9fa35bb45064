#include "cuda/cuda_backend.h"

#include <cuda_runtime.h>

#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/device_info.h"
#include "cuda/fp8_probe.h"
#include "cuda/measured_model.h"
#include "cuda/models/decoding.h"
#include "cuda/models/encoder.h"
#include "cuda/timing/calibration.h"
#include "cuda/models/sampler.h"

namespace ftb {
namespace {

// What the CUDA backend needs beyond ftb::validate: its variants; 16-byte vectors of fp16/bf16 (8 values) over every
// row and head. (Other limits hold by ftb::validate: top_k <= 1024 is one sampling block, beam <= 32
// gives at most 1024 beam candidates per sentence, seq and mem_len <= 4096 fit an attention block.)
void validate_cuda(const ModelConfig& config) {
  if (config.variant != Variant::Fused && config.variant != Variant::Unfused) {
    throw ConfigError(std::string("variant must be fused or unfused on the cuda backend, got ") +
                      to_string(config.variant));
  }
  if (config.head_size % 8 != 0) {
    throw ConfigError("head_size must be a multiple of 8 on the cuda backend, got " +
                      std::to_string(config.head_size));
  }
  if (config.tp > 1) {
    throw ConfigError("tp must be 1 on the cuda backend, got " + std::to_string(config.tp) +
                      ": tensor parallelism over NCCL is not built (needs NCCL and several GPUs)");
  }
  if (config.inter_size % 8 != 0) {
    throw ConfigError("inter_size must be a multiple of 8 on the cuda backend, got " +
                      std::to_string(config.inter_size));
  }
  if (config.precision == Precision::FP8) {
    // cuBLASLt's fp8 matmul wants 16-byte aligned rows of its E4M3 operands (k and n multiples of 16;
    // the decoding's logits are padded to a multiple of 16 columns at fp8: ModelConfig::vocab_padded).
    if (config.hidden() % 16 != 0 || config.inter_size % 16 != 0) {
      throw ConfigError("precision fp8 needs heads·head_size and inter_size multiples of 16 on the cuda backend, got " +
                        std::to_string(config.hidden()) + " and " + std::to_string(config.inter_size));
    }
  }
}

// fp8 tensor cores (what cuBLASLt's fp8 matmul runs on) start at compute capability 8.9 (Ada, Hopper).
void require_fp8_device(int device) {
  int major = 0, minor = 0;
  cuda::check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "reading the compute capability");
  cuda::check(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device), "reading the compute capability");
  if (major * 10 + minor < 89) {
    throw ConfigError("precision fp8 needs compute capability 8.9 or newer (fp8 tensor cores), the device has " +
                      std::to_string(major) + "." + std::to_string(minor));
  }
}

class CudaBackend final : public Backend {
 public:
  std::string name() const override { return "cuda"; }

  DeviceInfo device_info() const override { return cuda::describe_device(context()); }

  std::map<std::string, double> calibrate() override { return cuda::calibrate(context()); }

  int device_count() const override { return cuda::visible_device_count(); }

  std::unique_ptr<Model> create_model(const ModelConfig& config) override {
    validate(config);
    validate_cuda(config);  // before the device is touched
    if (config.precision == Precision::FP8) require_fp8_device(context().device());
    const auto build = [&]() -> std::unique_ptr<Model> {
      switch (config.path) {
        case Path::Encoder: return cuda::make_cuda_encoder(config, shared_context());
        case Path::Decoder: return cuda::make_cuda_decoder(config, shared_context());
        case Path::Decoding: return cuda::make_cuda_decoding(config, shared_context());
      }
      throw EngineError("unknown path");
    };
    // Peak memory and energy are measured around the model (cuda/measured_model.h).
    return std::make_unique<cuda::MeasuredModel>(build, context().device());
  }

  void set_gemm_table(const std::vector<GemmTuned>& table, const GemmTuning& tuning) override {
    context().activate();
    context().gemm().set_table(table, tuning);
  }

  std::vector<GemmTuned> gemm_table() const override { return context().gemm().table(); }

  std::vector<GemmChoice> plan_gemms(const ModelConfig& config) override {
    cuda::CudaContext& planner = context();
    planner.set_planning_only(true);
    try {
      const std::vector<GemmChoice> choices = create_model(config)->gemms();
      planner.set_planning_only(false);
      return choices;
    } catch (...) {
      planner.set_planning_only(false);
      throw;
    }
  }

  E4m3Tensor quantize_e4m3(const std::vector<float>& values, int cols) override {
    return cuda::quantize_e4m3_probe(values, cols, context());
  }

  std::vector<int> sample_row(const ModelConfig& config, const std::vector<float>& logits) override {
    validate_sampling_probe(config, logits);
    validate_cuda(config);
    return cuda::sample_row(config, logits, context());
  }

 private:
  // Created on first use, so that listing backends or a config error needs no GPU.
  const std::shared_ptr<cuda::CudaContext>& shared_context() const {
    if (!context_) context_ = std::make_shared<cuda::CudaContext>();
    return context_;
  }
  cuda::CudaContext& context() const { return *shared_context(); }

  mutable std::shared_ptr<cuda::CudaContext> context_;
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend() { return std::make_unique<CudaBackend>(); }

}  // namespace ftb
