#include "cpu/ops.h"

#include <algorithm>
#include <cmath>

#include "common/e4m3.h"
#include "cpu/parallel.h"

namespace ftb::cpu {
namespace {

// Output columns per pass: the fp64 accumulator row (4 KiB) stays in L1 and the weight tile
// [in, kColumnTile] in L2 while every row of x streams over it.
constexpr int kColumnTile = 512;

// fp8 layers: row i's sum is multiplied by x_scales[i] · w_scales[j] before the bias (plain layers:
// both null, no scaling).
struct RowScales {
  const float* x_scales = nullptr;
  const float* w_scales = nullptr;
};

void linear_tile(const Linear& layer, const float* x, int rows, int j0, int width, RowScales scales, float* y) {
  double acc[kColumnTile];
  for (int i = 0; i < rows; ++i) {
    std::fill(acc, acc + width, 0.0);
    const float* xi = x + static_cast<size_t>(i) * layer.in;
    const float* w = layer.w.data() + j0;
    const size_t n = layer.out;
    int k = 0;
    // Four k per pass: the same additions in the same order as one k per pass, a quarter of the
    // accumulator traffic.
    for (; k + 4 <= layer.in; k += 4) {
      const double a0 = xi[k], a1 = xi[k + 1], a2 = xi[k + 2], a3 = xi[k + 3];
      const float* w0 = w + k * n;
      for (int j = 0; j < width; ++j) {
        double sum = acc[j];
        sum += a0 * w0[j];
        sum += a1 * w0[n + j];
        sum += a2 * w0[2 * n + j];
        sum += a3 * w0[3 * n + j];
        acc[j] = sum;
      }
    }
    for (; k < layer.in; ++k) {
      const double a = xi[k];
      for (int j = 0; j < width; ++j) acc[j] += a * w[k * n + j];
    }
    float* yi = y + static_cast<size_t>(i) * layer.out + j0;
    if (scales.x_scales == nullptr) {
      for (int j = 0; j < width; ++j) yi[j] = static_cast<float>(acc[j] + layer.b[j0 + j]);
    } else {
      const double sx = scales.x_scales[i];
      for (int j = 0; j < width; ++j) {
        yi[j] = static_cast<float>(acc[j] * sx * scales.w_scales[j0 + j] + layer.b[j0 + j]);
      }
    }
  }
}

}  // namespace

void quantize_fp8(Linear& layer) {
  const size_t n = layer.out;
  std::vector<float> column(layer.in);
  layer.w_scales.assign(n, 0.0f);
  for (size_t j = 0; j < n; ++j) {
    for (int k = 0; k < layer.in; ++k) column[k] = layer.w[k * n + j];
    const float scale = e4m3_scale(abs_max(column.data(), column.size()));
    quantize_e4m3(column.data(), column.size(), scale, column.data());
    for (int k = 0; k < layer.in; ++k) layer.w[k * n + j] = column[k];
    layer.w_scales[j] = scale;
  }
}

void linear(const Linear& layer, const float* x, int rows, float* y) {
  std::vector<float> quantized, x_scales;
  if (!layer.w_scales.empty()) {
    quantized.resize(static_cast<size_t>(rows) * layer.in);
    for (int i = 0; i < rows; ++i) {
      const float* xi = x + static_cast<size_t>(i) * layer.in;
      x_scales.push_back(e4m3_scale(abs_max(xi, layer.in)));
      quantize_e4m3(xi, layer.in, x_scales.back(), quantized.data() + static_cast<size_t>(i) * layer.in);
    }
    x = quantized.data();
  }
  // Rows go to threads only when a thread gets at least ~1M multiply-adds.
  const size_t row_work = std::max<size_t>(1, static_cast<size_t>(layer.in) * layer.out);
  parallel_for(rows, std::max<size_t>(1, (1 << 20) / row_work), [&](size_t begin, size_t end) {
    const float* xs = x + begin * layer.in;
    float* ys = y + begin * layer.out;
    const RowScales scales{x_scales.empty() ? nullptr : x_scales.data() + begin,
                           layer.w_scales.empty() ? nullptr : layer.w_scales.data()};
    for (int j0 = 0; j0 < layer.out; j0 += kColumnTile) {
      linear_tile(layer, xs, static_cast<int>(end - begin), j0, std::min(kColumnTile, layer.out - j0), scales, ys);
    }
  });
}

void layer_norm(const Norm& norm, float* x, int rows, int n, double eps) {
  for (int i = 0; i < rows; ++i) {
    float* xi = x + static_cast<size_t>(i) * n;
    double sum = 0.0;
    for (int j = 0; j < n; ++j) sum += xi[j];
    const double mean = sum / n;
    double squares = 0.0;
    for (int j = 0; j < n; ++j) squares += (xi[j] - mean) * (xi[j] - mean);
    const double inv_std = 1.0 / std::sqrt(squares / n + eps);
    for (int j = 0; j < n; ++j) {
      xi[j] = static_cast<float>((xi[j] - mean) * inv_std * norm.gamma[j] + norm.beta[j]);
    }
  }
}

void add(float* x, const float* y, int n) {
  for (int i = 0; i < n; ++i) x[i] += y[i];
}

void gelu(float* x, int n) {
  const double k = std::sqrt(2.0 / M_PI);
  for (int i = 0; i < n; ++i) {
    const double v = x[i];
    x[i] = static_cast<float>(0.5 * v * (1.0 + std::tanh(k * (v + 0.044715 * v * v * v))));
  }
}

void gelu_erf(float* x, int n) {
  for (int i = 0; i < n; ++i) {
    const double v = x[i];
    x[i] = static_cast<float>(0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))));
  }
}

void embed(const float* word, const float* position, const float* token_type, const Norm& norm, int n, double eps,
           float* out) {
  std::vector<double> sum(n);
  double total = 0.0;
  for (int j = 0; j < n; ++j) {
    sum[j] = static_cast<double>(word[j]) + position[j] + (token_type != nullptr ? token_type[j] : 0.0);
    total += sum[j];
  }
  const double mean = total / n;
  double squares = 0.0;
  for (int j = 0; j < n; ++j) squares += (sum[j] - mean) * (sum[j] - mean);
  const double inv_std = 1.0 / std::sqrt(squares / n + eps);
  for (int j = 0; j < n; ++j) out[j] = static_cast<float>((sum[j] - mean) * inv_std * norm.gamma[j] + norm.beta[j]);
}

void relu(float* x, int n) {
  for (int i = 0; i < n; ++i) x[i] = std::max(x[i], 0.0f);
}

namespace {

// One head: out[head_size] = softmax(q·kᵀ · scale)·v over `count` keys.
void attend_head(const float* q, KeyRows keys, KeyRows values, int count, int head_size, double scale,
                 std::vector<double>& weights, float* out) {
  double max_score = -INFINITY;
  for (int j = 0; j < count; ++j) {
    const float* k = keys.data + static_cast<size_t>(j) * keys.stride;
    double dot = 0.0;
    for (int d = 0; d < head_size; ++d) dot += static_cast<double>(q[d]) * k[d];
    weights[j] = dot * scale;
    max_score = std::max(max_score, weights[j]);
  }
  double total = 0.0;
  for (int j = 0; j < count; ++j) total += weights[j] = std::exp(weights[j] - max_score);
  for (int d = 0; d < head_size; ++d) {
    double acc = 0.0;
    for (int j = 0; j < count; ++j) acc += weights[j] * values.data[static_cast<size_t>(j) * values.stride + d];
    out[d] = static_cast<float>(acc / total);
  }
}

}  // namespace

void attention(const float* q, KeyRows keys, KeyRows values, int count, int heads, int head_size, float* out) {
  std::vector<double> weights(count);
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_size));
  for (int head = 0; head < heads; ++head) {
    const int offset = head * head_size;
    attend_head(q + offset, {keys.data + offset, keys.stride}, {values.data + offset, values.stride}, count,
                head_size, scale, weights, out + offset);
  }
}

}  // namespace ftb::cpu
