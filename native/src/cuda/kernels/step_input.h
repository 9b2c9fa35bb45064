// Inputs of one decoder step, and the step counter that lets one captured step serve every step: the
// kernels read t from device memory and the step's last kernel advances it.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "cuda/dtype.h"

namespace ftb::cuda {

// x[r, i] = fp32(embedding[ids[r], i] · scale + positions[t, i]) in fp64 rounded once (as the
// reference), then stored as T; positions [steps, hidden] in fp64, t = *step.
void embed_tokens(DType dtype, const void* embedding, const int* ids, const double* positions, double scale,
                  const int* step, void* x, int rows, int hidden, cudaStream_t stream);

// x = inputs[t] of the step-major inputs [steps, count], t = *step.
void select_step_input(DType dtype, const void* inputs, const int* step, void* x, size_t count, cudaStream_t stream);

// *step += 1
void advance_step(int* step, cudaStream_t stream);

}  // namespace ftb::cuda
