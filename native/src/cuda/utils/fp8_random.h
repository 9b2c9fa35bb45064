// Random E4M3 operands for the fp8 GEMMs that time themselves on synthetic data (the tuner,
// gemm/gemm_tuner.cc, and the calibration's 8192³ GEMM, timing/calibration.cc): random fp16 values
// (the generator's, never zeros: a GEMM of zeros runs faster than real data, METHOD.md) quantized
// as the engine quantizes activations, so the data covers E4M3's range and the scale brings the
// products back to fp16's (no inf or NaN in the outputs).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

namespace ftb::cuda {

// dst [rows, cols] (E4M3, one byte each) = random values (generator layer `layer`) quantized row by
// row; scales[r] (rows floats) the scale of row r, the GEMM's scale vector. Synchronises the stream
// (staging buffers are freed on return).
void fill_random_e4m3(void* dst, int rows, int cols, int layer, float* scales, cudaStream_t stream);

}  // namespace ftb::cuda
