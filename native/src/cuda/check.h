// Checked CUDA calls: every failure becomes an ftb::EngineError whose message names the stage (or
// kernel) and CUDA's own error name and string; a failed allocation becomes ftb::OutOfMemory.
#pragma once
#include <cuda_runtime.h>

#include <string>

namespace ftb::cuda {

// Throws when `status` is not cudaSuccess: "CUDA error in <stage>: <name>: <description>".
void check(cudaError_t status, const std::string& stage);

// Call right after a kernel launch: reports a bad launch configuration, or an asynchronous fault of
// earlier work, under the kernel's name.
void check_launch(const char* kernel);

}  // namespace ftb::cuda
