// What the standalone CUDA benches (native/bench/*.cu) share: a CUDA call that fails ends the bench
// with exit 1 and the call named, so a broken run never prints a table.
#pragma once
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>

inline void cuda_ok(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    std::fprintf(stderr, "CUDA error in %s: %s\n", what, cudaGetErrorString(status));
    std::exit(1);
  }
}
