#include "cuda/check.h"

#include "engine/backend.h"

namespace ftb::cuda {

void check(cudaError_t status, const std::string& stage) {
  if (status == cudaSuccess) return;
  // Clear a non-sticky error so that the next call does not report it again.
  cudaGetLastError();
  const std::string detail = std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
  if (status == cudaErrorMemoryAllocation) throw OutOfMemory("CUDA out of memory in " + stage + ": " + detail);
  throw EngineError("CUDA error in " + stage + ": " + detail);
}

void check_launch(const char* kernel) { check(cudaGetLastError(), std::string("kernel ") + kernel); }

}  // namespace ftb::cuda
