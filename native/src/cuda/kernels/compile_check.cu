// Keeps the CUDA object library non-empty and checks that the shared host/device generator
// compiles for every target architecture.
#include "common/philox.h"

namespace ftb {

__global__ void philox_compile_check(float* out, uint64_t seed) {
  out[threadIdx.x] = random_symmetric(seed, 0u, threadIdx.x, 1.0f, 0.0f);
}

}  // namespace ftb
