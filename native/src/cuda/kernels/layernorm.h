// LayerNorm over rows, optionally fused with the residual add and the preceding GEMM's bias
// (FasterTransformer's AddBiasResidualLayerNorm): out = LN(x + residual + bias) · gamma + beta,
// fp32 statistics (two-pass mean/variance), eps 1e-6 unless given (a checkpoint's layer_norm_eps). `out` may alias `x` or `residual`.
// Pre-LN stacks also keep the sum: with `sum_out`, x + residual + bias is stored there too (the
// decoder's residual stream and the next sub-layer's normalised input in one pass).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "cuda/dtype.h"

namespace ftb::cuda {

// residual, bias and sum_out may be null (plain LayerNorm of x).
void layernorm(DType dtype, const void* x, const void* residual, const void* bias, const void* gamma,
               const void* beta, void* out, size_t rows, int cols, cudaStream_t stream, void* sum_out = nullptr,
               float eps = 1e-6f);

}  // namespace ftb::cuda
