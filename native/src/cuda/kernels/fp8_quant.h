// The fp8 precision's quantization on the device (native/MODEL.md, "fp8"): per-tensor amax, the
// scale amax / 448, and E4M3 rounding of x / scale (round to nearest even, saturating to ±448:
// __nv_cvt_float_to_fp8 with __NV_SATFINITE), exactly what common/e4m3.h emulates on the host.
// Scales live on the device (one float each), so a forward computes them per call (dynamic
// scaling) without a host round trip, and cuBLASLt reads them through its scale pointers.
// Every launcher is capturable in a CUDA graph (no allocation, no synchronisation).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "cuda/dtype.h"

namespace ftb::cuda {

// *amax = max(*amax, max |x[i]|) over `count` values of `dtype` (NaN ignored; `count` a multiple of
// 8, x 16-byte aligned: read in 16-byte vectors). *amax must hold a non-negative value first (0:
// cudaMemsetAsync, which is what a forward does before each tensor).
void fp8_amax(DType dtype, const void* x, size_t count, float* amax, cudaStream_t stream);

// fp8_amax over the real tokens of a padded [batch, seq, cols] tensor only: rows b·seq + s with
// s < lengths[b] (lengths on the device), so the unfused variant's padded rows, which it computes but
// drops, do not change the scale (the fused variant and the reference see the real tokens only).
void fp8_amax_valid_rows(DType dtype, const void* x, int batch, int seq, int cols, const int* lengths, float* amax,
                         cudaStream_t stream);

// out[i] = e4m3(x[i] / scale) for `count` values of `dtype`, with scale = amax / 448 (1 when *amax
// is 0); the scale is also written to *scale for the GEMM that reads `out`. `count` is a multiple of 8.
void fp8_quantize(DType dtype, const void* x, size_t count, const float* amax, float* scale, void* out,
                  cudaStream_t stream);

// The weight of a layer GEMM, once at model build: w is fp32 [k, n] row-major with rows `ldw`
// apart (ldw ≥ n: a column block of a wider weight); out is E4M3 [n, k] row-major (the transposed
// "TN" layout cuBLASLt's fp8 matmul needs for its A operand), out[j·k + i] = e4m3(w[i·ldw + j] / scale),
// scale = amax / 448 from *amax (fp8_amax of the same block first), written to *scale.
void fp8_quantize_transposed(const float* w, int k, int n, int ldw, const float* amax, float* scale, void* out,
                             cudaStream_t stream);

}  // namespace ftb::cuda
