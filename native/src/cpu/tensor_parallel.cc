#include "cpu/tensor_parallel.h"

#include <algorithm>

#include "cpu/parallel.h"

namespace ftb::cpu {
namespace {

// partial[rows, out] = x[rows, in] · w in fp64, the products added in k order (as linear() does).
void partial_product(const Linear& layer, const float* x, int rows, std::vector<double>& partial) {
  partial.assign(static_cast<size_t>(rows) * layer.out, 0.0);
  const size_t row_work = std::max<size_t>(1, static_cast<size_t>(layer.in) * layer.out);
  parallel_for(rows, std::max<size_t>(1, (1 << 20) / row_work), [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      double* acc = partial.data() + i * layer.out;
      const float* xi = x + i * layer.in;
      for (int k = 0; k < layer.in; ++k) {
        const double a = xi[k];
        const float* wk = layer.w.data() + static_cast<size_t>(k) * layer.out;
        for (int j = 0; j < layer.out; ++j) acc[j] += a * wk[j];
      }
    }
  });
}

}  // namespace

std::vector<Linear> split_columns(const Linear& full, int tp, int blocks) {
  if (tp == 1) return {full};
  const int block = full.out / blocks;
  const int slice = block / tp;
  std::vector<Linear> ranks(tp);
  for (int r = 0; r < tp; ++r) {
    Linear& rank = ranks[r];
    rank.in = full.in;
    rank.out = slice * blocks;
    rank.w.resize(static_cast<size_t>(rank.in) * rank.out);
    for (int k = 0; k < full.in; ++k) {
      for (int b = 0; b < blocks; ++b) {
        const float* from = full.w.data() + static_cast<size_t>(k) * full.out + b * block + r * slice;
        std::copy_n(from, slice, rank.w.begin() + static_cast<size_t>(k) * rank.out + b * slice);
      }
    }
    for (int b = 0; b < blocks; ++b) {
      const auto first = full.b.begin() + b * block + r * slice;
      rank.b.insert(rank.b.end(), first, first + slice);
    }
  }
  return ranks;
}

RowParallel split_rows(const Linear& full, int tp) {
  if (tp == 1) return {{full}, {}};
  const int slice = full.in / tp;
  RowParallel split{std::vector<Linear>(tp), full.b};
  for (int r = 0; r < tp; ++r) {
    const auto first = full.w.begin() + static_cast<size_t>(r) * slice * full.out;
    split.ranks[r] = {slice, full.out, std::vector<float>(first, first + static_cast<size_t>(slice) * full.out), {}};
  }
  return split;
}

void row_parallel_linear(const RowParallel& layer, const std::vector<std::vector<float>>& rank_inputs, int rows,
                         float* y) {
  if (layer.ranks.size() == 1) {
    linear(layer.ranks[0], rank_inputs[0].data(), rows, y);
    return;
  }
  const int out = layer.ranks[0].out;
  std::vector<double> reduced(static_cast<size_t>(rows) * out, 0.0);
  std::vector<double> partial;
  for (size_t r = 0; r < layer.ranks.size(); ++r) {
    partial_product(layer.ranks[r], rank_inputs[r].data(), rows, partial);
    // The all-reduce: rank r's partial joins the sum of ranks 0..r-1 (a fixed order on every rank).
    for (size_t i = 0; i < reduced.size(); ++i) reduced[i] += partial[i];
  }
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < out; ++j) {
      const size_t at = static_cast<size_t>(i) * out + j;
      y[at] = static_cast<float>(reduced[at] + layer.bias[j]);
    }
  }
}

std::vector<std::vector<float>> rank_buffers(int tp, size_t values) {
  return std::vector<std::vector<float>>(tp, std::vector<float>(values));
}

}  // namespace ftb::cpu
