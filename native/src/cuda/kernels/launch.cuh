// Programmatic dependent launch (PDL, sm_90+) for the latency-bound kernels of the small-batch step
// (decoder attention, LayerNorm). A kernel launched with launch_dependent may be scheduled while the
// kernel before it in the stream (a cuBLASLt GEMM, mostly) is still finishing; it must call
// wait_for_previous_kernel() before it reads anything that kernel writes and before it writes anything
// at all. What it reads before the wait must come from earlier kernels (those are complete: the
// previous kernel itself started only after them) or be constant: weights, the step counter, the
// cache indirection table and the K/V cache entries of earlier steps. Inside a captured graph the
// dependency becomes a programmatic edge. Off unless FTBENCH_PDL=1: measured on the H200 (NOTES.md,
// version 4) it made every decoding point slower, so kernels launch plainly by default; devices
// before sm_90 always do, and there the wait compiles to nothing.
#pragma once
#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "cuda/check.h"

namespace ftb::cuda {

__device__ __forceinline__ void wait_for_previous_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// Whether FTBENCH_PDL=1 asks for programmatic dependent launches and the current device takes them
// (compute capability >= 9.0).
inline bool dependent_launch_enabled() {
  static const bool requested = [] {
    const char* setting = std::getenv("FTBENCH_PDL");
    return setting != nullptr && std::strcmp(setting, "1") == 0;
  }();
  if (!requested) return false;
  int device = 0, major = 0;
  check(cudaGetDevice(&device), "querying the device");
  check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "querying the device");
  return major >= 9;
}

// kernel<<<grid, block, smem, stream>>>(args...), allowed to overlap the previous kernel's tail.
template <typename... Params, typename... Args>
void launch_dependent(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem,
                      cudaStream_t stream, Args... args) {
  cudaLaunchAttribute attribute{};
  attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute.val.programmaticStreamSerializationAllowed = dependent_launch_enabled() ? 1 : 0;
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  config.attrs = &attribute;
  config.numAttrs = 1;
  check(cudaLaunchKernelEx(&config, kernel, static_cast<Params>(args)...), std::string("kernel ") + name);
}

}  // namespace ftb::cuda
