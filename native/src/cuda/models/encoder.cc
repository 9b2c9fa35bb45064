// make_cuda_encoder (models/encoder.h): picks the variant. The shared state and protocol live in
// encoder_base.{h,cc}, the two forwards in encoder_fused.cc and encoder_unfused.cc.
#include "cuda/models/encoder.h"

#include <utility>

#include "cuda/models/encoder_base.h"

namespace ftb::cuda {

std::unique_ptr<Model> make_cuda_encoder(const ModelConfig& config, std::shared_ptr<CudaContext> context) {
  if (config.variant == Variant::Fused) return make_fused_encoder(config, std::move(context));
  return make_unfused_encoder(config, std::move(context));
}

}  // namespace ftb::cuda
