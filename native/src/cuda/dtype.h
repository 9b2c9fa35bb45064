// Storage types of the CUDA backend. Host-only code sees this enum; kernels map it to real types
// in kernels/device_math.cuh. Every precision computes in fp32 (accumulation, LN/softmax statistics).
#pragma once
#include <cstddef>

#include "common/config.h"

namespace ftb::cuda {

enum class DType { F32, F16, BF16 };

// fp32 and tf32 store fp32 (tf32 only changes the GEMMs' math mode); fp16/bf16 store 16-bit values;
// fp8 stores fp16 too: only the layer GEMMs' inputs are E4M3 (GemmSpec::fp8, models/fp8_weights.h).
inline DType storage_type(Precision precision) {
  switch (precision) {
    case Precision::FP16:
    case Precision::FP8: return DType::F16;
    case Precision::BF16: return DType::BF16;
    default: return DType::F32;
  }
}

inline size_t dtype_size(DType dtype) { return dtype == DType::F32 ? 4 : 2; }

inline const char* to_string(DType dtype) {
  switch (dtype) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
  }
  return "?";
}

}  // namespace ftb::cuda
