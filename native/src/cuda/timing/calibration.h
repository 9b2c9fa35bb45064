// The device's measured ceilings, taken once per run so every point can say how close it comes
// (METHOD.md: measure the two ceilings, don't trust datasheets): device-to-device copy bandwidth
// (bytes read + written) and the TFLOP/s of a large square GEMM in each precision.
#pragma once
#include <map>
#include <string>

#include "cuda/context.h"

namespace ftb::cuda {

// {"peak_gbps": copy GB/s, "peak_tflops_<precision>": GEMM TFLOP/s for fp32, tf32, fp16, bf16, and fp8
// (E4M3 inputs, fp16 output) on devices of compute capability 8.9 or newer}:
// medians of timed repetitions after warm-up, on random data.
std::map<std::string, double> calibrate(CudaContext& context);

}  // namespace ftb::cuda
