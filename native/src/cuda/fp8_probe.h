// CudaBackend::quantize_e4m3, the tests' hook: one fp32 tensor through the fp8 precision's device
// kernels (fp8_amax, then fp8_quantize: kernels/fp8_quant.h), the E4M3 bytes and the scale read back.
#pragma once
#include <vector>

#include "cuda/context.h"
#include "engine/backend.h"

namespace ftb::cuda {

E4m3Tensor quantize_e4m3_probe(const std::vector<float>& values, CudaContext& context);

}  // namespace ftb::cuda
