// The fp8 precision's quantization on the device (native/MODEL.md, "fp8"): row-wise scales. A row
// (an activation's token, or a weight's output channel) gets the scale amax(|row|) / 448 (1 for an
// all-zero row) and its values the E4M3 rounding of x / scale (round to nearest even, saturating to
// ±448: __nv_cvt_float_to_fp8 with __NV_SATFINITE), exactly what common/e4m3.h emulates on the
// host. The scales stay on the device, one float per row, where cuBLASLt's outer-vector scaling
// reads them (gemm.h, run_scaled), so a forward computes them per call (dynamic scaling) without a
// host round trip. Every launcher is capturable in a CUDA graph (no allocation, no synchronisation).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "cuda/dtype.h"

namespace ftb::cuda {

// Where a kernel writes an E4M3 GEMM input: `data` [rows, cols] bytes and `scales` [rows], the values
// fp8_quantize_rows gives (the LayerNorm's E4M3 output, layernorm.h). Null data: no E4M3 output.
struct Fp8Rows {
  void* data = nullptr;
  float* scales = nullptr;
};

// out[r, :] = e4m3(x[r, :] / scales[r]) for `rows` rows of `cols` values of `dtype` (cols a multiple
// of the 16-byte vector width, x 16-byte aligned), scales[r] = amax(|x[r, :]|) / 448 (1 when 0).
void fp8_quantize_rows(DType dtype, const void* x, int rows, int cols, float* scales, void* out, cudaStream_t stream);

// out [n, k] = the transpose of fp32 w [k, n] (rows `ldw` apart, ldw ≥ n: a column block of a wider
// weight): a weight in the "TN" layout cuBLASLt's fp8 matmul needs, before fp8_quantize_rows gives
// each output channel its own scale. Once, at model build.
void transpose_f32(const float* w, int k, int n, int ldw, float* out, cudaStream_t stream);

}  // namespace ftb::cuda
