// LayerNorm over rows, optionally fused with the residual add and the preceding GEMM's bias
// (FasterTransformer's AddBiasResidualLayerNorm): out = LN(x + residual + bias) · gamma + beta,
// fp32 statistics (two-pass mean/variance), eps 1e-6 unless given (a checkpoint's layer_norm_eps). `out` may alias `x` or `residual`.
// Pre-LN stacks also keep the sum: with `sum_out`, x + residual + bias is stored there too (the
// decoder's residual stream and the next sub-layer's normalised input in one pass).
// At fp8, a LayerNorm whose output feeds a layer GEMM also writes that GEMM's E4M3 input (`fp8`): the
// row-wise quantization of `out` (fp8_quant.h), bit for bit, without a pass of its own; `out` is
// still written (the residual and the next LayerNorm read it).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "cuda/dtype.h"
#include "cuda/kernels/fp8_quant.h"

namespace ftb::cuda {

// residual, bias and sum_out may be null (plain LayerNorm of x); fp8.data null: no E4M3 output.
void layernorm(DType dtype, const void* x, const void* residual, const void* bias, const void* gamma,
               const void* beta, void* out, size_t rows, int cols, cudaStream_t stream, void* sum_out = nullptr,
               float eps = 1e-6f, Fp8Rows fp8 = {});

}  // namespace ftb::cuda
