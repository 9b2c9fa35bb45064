// The CPU reference's simulation of Megatron-style tensor parallelism (native/MODEL.md, "Tensor
// parallelism"): tp ranks, each holding its share of a layer's weights and its own activations,
// computed one after another in this process. A column-parallel GEMM gives each rank a slice of the
// output columns (its heads of q | k | v, its slice of FFN1 or of the vocabulary) and needs no
// communication; a row-parallel GEMM gives each rank the matching rows, each rank computes a partial
// product, and an explicit all-reduce sums the partials before the bias is added once. At tp 1 every
// helper is the unsplit reference op itself.
#pragma once
#include <cstddef>
#include <vector>

#include "cpu/ops.h"

namespace ftb::cpu {

// One Linear per rank: rank r's output columns of each of `blocks` equal column blocks of the full
// layer (blocks 3 for q | k | v, 2 for k | v), with their bias; rank r's output is [block 0 slice |
// block 1 slice | ...]. At tp 1 the one rank is the full layer.
std::vector<Linear> split_columns(const Linear& full, int tp, int blocks);

// A row-parallel layer: rank r multiplies its slice of the input features by its rows of the weight;
// the bias belongs to no rank and is added once after the all-reduce.
struct RowParallel {
  std::vector<Linear> ranks;  // tp > 1: each [in/tp, out] with no bias; tp 1: the full layer
  std::vector<float> bias;    // tp > 1 only
};

RowParallel split_rows(const Linear& full, int tp);

// y[rows, out] = fp32(all_reduce(partial_r) + b), partial_r = x_r · W_r in fp64 where x_r [rows, in/tp]
// is rank r's input; the all-reduce sums the ranks' partials in rank order (fp64). At tp 1, linear().
void row_parallel_linear(const RowParallel& layer, const std::vector<std::vector<float>>& rank_inputs, int rows,
                         float* y);

// Per-rank activation buffers of `values` floats each.
std::vector<std::vector<float>> rank_buffers(int tp, size_t values);

}  // namespace ftb::cpu
