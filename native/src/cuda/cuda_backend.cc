#include "cuda/cuda_backend.h"

#include "cuda/context.h"
#include "cuda/device_info.h"
#include "cuda/models/encoder.h"
#include "cuda/timing/calibration.h"

namespace ftb {
namespace {

class CudaBackend final : public Backend {
 public:
  std::string name() const override { return "cuda"; }

  DeviceInfo device_info() const override { return cuda::describe_device(context()); }

  std::map<std::string, double> calibrate() override { return cuda::calibrate(context()); }

  std::unique_ptr<Model> create_model(const ModelConfig& config) override {
    validate(config);
    if (config.variant != Variant::Fused && config.variant != Variant::Unfused) {
      throw ConfigError(std::string("variant must be fused or unfused on the cuda backend, got ") +
                        to_string(config.variant));
    }
    if (config.path != Path::Encoder) {
      throw ConfigError(std::string("path must be encoder on the cuda backend, got ") + to_string(config.path));
    }
    cuda::validate_cuda_encoder(config);  // before the device is touched
    return cuda::make_cuda_encoder(config, shared_context());
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
