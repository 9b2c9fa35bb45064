// CudaBackend::quantize_e4m3, the tests' hook: one fp32 tensor of rows of `cols` values through the
// fp8 precision's device kernel (fp8_quantize_rows: kernels/fp8_quant.h), the E4M3 values and each
// row's scale read back.
#pragma once
#include <vector>

#include "cuda/context.h"
#include "engine/backend.h"

namespace ftb::cuda {

E4m3Tensor quantize_e4m3_probe(const std::vector<float>& values, int cols, CudaContext& context);

}  // namespace ftb::cuda
