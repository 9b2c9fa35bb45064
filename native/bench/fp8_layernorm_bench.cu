// Standalone check and timing of the LayerNorm that writes the E4M3 copy of its output (layernorm.h,
// `fp8`; NOTES.md, "Version 3 (fp8)"), runnable on a GPU machine without Node or cuBLAS. For each
// shape it runs the fp8 encoder's old path — add-bias-residual-LayerNorm, then the row-wise quantize
// pass over its output (fp8_quant.h) — and the new one, the LayerNorm writing E4M3 and scales itself,
// from the same random non-zero inputs (every third row with an outlier: a large scale, its small
// values in E4M3's subnormals), and requires the two to agree bit for bit: the T output, every E4M3
// byte and every per-row scale. The outputs are poisoned before each path with different bytes, so an unwritten
// element cannot match. The T output is also checked against a host fp64 LayerNorm on its first rows
// (relative L2 within T's rounding), which catches a LayerNorm both paths got wrong alike. The
// embedding's LayerNorm (embedding.h), which writes E4M3 the same way, gets the same bit-for-bit check.
// Widths cover each LayerNorm kernel (warp rows up to 128 vectors, block rows of 1, 2, 4 and 8
// vectors a thread) and both quantize kernels (warp rows up to 384 vectors, block rows beyond).
// Timing (fp16, the encoder's shapes): CUDA events around LN alone, LN + quantize, LN writing E4M3,
// L2 flushed before each, median of 50 (bench_check.h).
// Exits 1 on any mismatch or CUDA error.
//
// Build and run from the repository root (sm_80 works too: -arch=sm_80):
//   nvcc -std=c++17 -O3 --expt-relaxed-constexpr -arch=sm_90 -Inative/src -o /tmp/fp8_layernorm_bench \
//     native/bench/fp8_layernorm_bench.cu native/src/cuda/kernels/layernorm.cu \
//     native/src/cuda/kernels/embedding.cu native/src/cuda/kernels/fp8_quant.cu native/src/cuda/check.cc \
//     && /tmp/fp8_layernorm_bench
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "bench_check.h"
#include "cuda/kernels/embedding.h"
#include "cuda/kernels/fp8_quant.h"
#include "cuda/kernels/layernorm.h"

using ftb::cuda::DType;
using ftb::cuda::Fp8Rows;

namespace {

constexpr float kEps = 1e-12f;  // BERT checkpoints' layer_norm_eps
constexpr size_t kHostCheckedRows = 16;

struct Shape {
  int rows, cols;
  bool timed;
};

template <typename T>
DType dtype_of() {
  if (std::is_same<T, float>::value) return DType::F32;
  return std::is_same<T, __half>::value ? DType::F16 : DType::BF16;
}

template <typename T>
const char* name_of() {
  if (std::is_same<T, float>::value) return "fp32";
  return std::is_same<T, __half>::value ? "fp16" : "bf16";
}

// A device copy of host values, freed with the object.
template <typename T>
struct DeviceCopy {
  T* data;
  explicit DeviceCopy(const std::vector<T>& host) {
    cuda_ok(cudaMalloc(&data, sizeof(T) * host.size()), "malloc");
    cuda_ok(cudaMemcpy(data, host.data(), sizeof(T) * host.size(), cudaMemcpyHostToDevice), "upload");
  }
  ~DeviceCopy() { cudaFree(data); }
  DeviceCopy(const DeviceCopy&) = delete;
  DeviceCopy& operator=(const DeviceCopy&) = delete;
};

template <typename T>
std::vector<T> download(const void* device, size_t count) {
  std::vector<T> host(count);
  cuda_ok(cudaMemcpy(host.data(), device, sizeof(T) * count, cudaMemcpyDeviceToHost), "download");
  return host;
}

// What one path writes: the T rows, their E4M3 copy and the row scales, poisoned with `poison`
// bytes first (the two paths' poisons differ, so an element neither wrote cannot match).
template <typename T>
struct Outputs {
  size_t rows, cols;
  T* out;
  uint8_t* e4m3;
  float* scales;
  Outputs(size_t rows_, size_t cols_, int poison) : rows(rows_), cols(cols_) {
    cuda_ok(cudaMalloc(&out, sizeof(T) * rows * cols), "malloc");
    cuda_ok(cudaMalloc(&e4m3, rows * cols), "malloc");
    cuda_ok(cudaMalloc(&scales, sizeof(float) * rows), "malloc");
    cuda_ok(cudaMemset(out, poison, sizeof(T) * rows * cols), "poison");
    cuda_ok(cudaMemset(e4m3, poison, rows * cols), "poison");
    cuda_ok(cudaMemset(scales, poison, sizeof(float) * rows), "poison");
  }
  ~Outputs() {
    cudaFree(out);
    cudaFree(e4m3);
    cudaFree(scales);
  }
  Outputs(const Outputs&) = delete;
  Outputs& operator=(const Outputs&) = delete;
  Fp8Rows fp8() const { return {e4m3, scales}; }
  // The old path's E4M3: the row-wise quantize pass over `out`.
  void quantize(DType dtype) const {
    ftb::cuda::fp8_quantize_rows(dtype, out, static_cast<int>(rows), static_cast<int>(cols), scales, e4m3, nullptr);
  }
};

// Whether two paths wrote the same bits: T rows, E4M3 bytes, scales.
struct Same {
  bool out, e4m3, scales;
};

template <typename T>
Same compare(const Outputs<T>& a, const Outputs<T>& b) {
  cuda_ok(cudaDeviceSynchronize(), "kernels");
  const size_t n = a.rows * a.cols;
  const std::vector<T> out_a = download<T>(a.out, n), out_b = download<T>(b.out, n);
  const std::vector<float> scales_a = download<float>(a.scales, a.rows), scales_b = download<float>(b.scales, b.rows);
  return {std::memcmp(out_a.data(), out_b.data(), sizeof(T) * n) == 0,
          download<uint8_t>(a.e4m3, n) == download<uint8_t>(b.e4m3, n),
          std::memcmp(scales_a.data(), scales_b.data(), sizeof(float) * a.rows) == 0};
}

// Uniform in [lo, hi), never exactly zero (a zero hides an unwritten or unread element).
template <typename T>
std::vector<T> random_values(size_t count, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<T> values(count);
  for (T& v : values) {
    const float x = dist(rng);
    v = static_cast<T>(x == 0.0f ? 0.125f : x);
  }
  return values;
}

// Relative L2 of the device's T output against an fp64 LayerNorm of the same inputs, first rows.
template <typename T>
double host_relative_l2(const std::vector<T>& x, const std::vector<T>& residual, const std::vector<T>& bias,
                        const std::vector<T>& gamma, const std::vector<T>& beta, const std::vector<T>& got,
                        size_t rows, int cols) {
  double diff2 = 0.0, ref2 = 0.0;
  std::vector<double> sum(cols);
  for (size_t r = 0; r < rows; ++r) {
    double mean = 0.0, var = 0.0;
    for (int c = 0; c < cols; ++c) {
      const size_t i = r * cols + c;
      sum[c] = static_cast<double>(static_cast<float>(x[i])) + static_cast<float>(residual[i]) +
               static_cast<float>(bias[c]);
      mean += sum[c];
    }
    mean /= cols;
    for (int c = 0; c < cols; ++c) var += (sum[c] - mean) * (sum[c] - mean);
    const double rstd = 1.0 / std::sqrt(var / cols + kEps);
    for (int c = 0; c < cols; ++c) {
      const double want = (sum[c] - mean) * rstd * static_cast<float>(gamma[c]) + static_cast<float>(beta[c]);
      const double error = static_cast<float>(got[r * cols + c]) - want;
      diff2 += error * error;
      ref2 += want * want;
    }
  }
  return std::sqrt(diff2 / ref2);
}

struct Outcome {
  Same same;
  double host_rel_l2, ln_us, ln_quantize_us, fused_us;
};

template <typename T>
Outcome run_shape(const Shape& shape, std::mt19937& rng, void* flush, size_t flush_bytes) {
  const size_t rows = shape.rows, cols = shape.cols, n = rows * cols;
  std::vector<T> x = random_values<T>(n, -2.0f, 2.0f, rng);
  for (size_t r = 0; r < rows; r += 3) x[r * cols + (r * 7) % cols] = static_cast<T>(1000.0f);  // an outlier
  const std::vector<T> residual = random_values<T>(n, -2.0f, 2.0f, rng),
                       bias = random_values<T>(cols, -0.5f, 0.5f, rng), gamma = random_values<T>(cols, 0.5f, 1.5f, rng),
                       beta = random_values<T>(cols, -0.5f, 0.5f, rng);
  const DeviceCopy<T> d_x(x), d_residual(residual), d_bias(bias), d_gamma(gamma), d_beta(beta);
  const Outputs<T> old_out(rows, cols, 0xFF), new_out(rows, cols, 0xFE);  // 0xFF: NaN in T, E4M3 and fp32
  const DType dtype = dtype_of<T>();
  const auto layernorm = [&](T* out, Fp8Rows fp8) {
    ftb::cuda::layernorm(dtype, d_x.data, d_residual.data, d_bias.data, d_gamma.data, d_beta.data, out, rows,
                         shape.cols, nullptr, nullptr, kEps, fp8);
  };
  const auto old_path = [&] {
    layernorm(old_out.out, Fp8Rows{});
    old_out.quantize(dtype);
  };
  const auto new_path = [&] { layernorm(new_out.out, new_out.fp8()); };
  old_path();
  new_path();
  Outcome o{};
  o.same = compare(old_out, new_out);
  o.host_rel_l2 = host_relative_l2(x, residual, bias, gamma, beta, download<T>(new_out.out, n),
                                   std::min(rows, kHostCheckedRows), shape.cols);
  if (shape.timed) {
    o.ln_us = median_launch_us([&] { layernorm(old_out.out, Fp8Rows{}); }, flush, flush_bytes);
    o.ln_quantize_us = median_launch_us(old_path, flush, flush_bytes);
    o.fused_us = median_launch_us(new_path, flush, flush_bytes);
  }
  return o;
}

// The embedding's LayerNorm (embedding.h), the first QKV input of a checkpoint's encoder: the same
// comparison, untimed (once a forward). ids index a 50-row word table; positions cycle over seq 41.
template <typename T>
Same run_embedding(int rows, int cols, std::mt19937& rng) {
  constexpr int kVocab = 50, kSeq = 41, kPositionOffset = 2;
  std::uniform_int_distribution<int> id(0, kVocab - 1);
  std::vector<int> ids(rows);
  for (int& i : ids) i = id(rng);
  const DeviceCopy<int> d_ids(ids);
  const DeviceCopy<T> word(random_values<T>(static_cast<size_t>(kVocab) * cols, -1.0f, 1.0f, rng)),
      position(random_values<T>(static_cast<size_t>(kSeq + kPositionOffset) * cols, -1.0f, 1.0f, rng)),
      token_type(random_values<T>(cols, -0.5f, 0.5f, rng)), gamma(random_values<T>(cols, 0.5f, 1.5f, rng)),
      beta(random_values<T>(cols, -0.5f, 0.5f, rng));
  const Outputs<T> old_out(rows, cols, 0xFF), new_out(rows, cols, 0xFE);
  const auto embed = [&](const Outputs<T>& o, Fp8Rows fp8) {
    ftb::cuda::embed_layernorm(dtype_of<T>(), d_ids.data, nullptr, word.data, position.data, token_type.data,
                               gamma.data, beta.data, o.out, rows, kSeq, kPositionOffset, cols, kEps, nullptr, fp8);
  };
  embed(old_out, Fp8Rows{});
  old_out.quantize(dtype_of<T>());
  embed(new_out, new_out.fp8());
  return compare(old_out, new_out);
}

void print_row(const char* kernel, const char* dtype, int rows, int cols, const Same& same) {
  std::printf("%-5s %-5s %6d %6d %5s %5s %6s", kernel, dtype, rows, cols, same.out ? "same" : "DIFF",
              same.e4m3 ? "same" : "DIFF", same.scales ? "same" : "DIFF");
}

// T's rounding of the LayerNorm output, as a relative L2 bound with a margin (a wrong LayerNorm is off
// by O(1)).
template <typename T>
double host_limit() {
  if (std::is_same<T, float>::value) return 1e-4;
  return std::is_same<T, __half>::value ? 4e-3 : 2e-2;
}

// Widths (fp16/bf16; fp32 has half the values a vector): 64 … 1024 are the LayerNorm's warp rows
// (≤ 128 vectors), 1032 … 8192 its block rows of one vector a thread, 16384 two, 32768 four (fp32:
// eight). The quantize pass takes 3072 (384 vectors) as a warp row, 3080 and wider as a block row.
template <typename T>
bool run_dtype(std::mt19937& rng, void* flush, size_t flush_bytes) {
  std::vector<Shape> shapes;
  for (int cols : {64, 768, 1024}) {
    for (int rows : {1, 2, 3, 7, 33, 255, 1001, 4095}) shapes.push_back({rows, cols, false});
  }
  for (int cols : {1032, 3072, 3080, 8192, 16384, 32768}) {
    for (int rows : {1, 5, 130}) shapes.push_back({rows, cols, false});
  }
  if (std::is_same<T, __half>::value) {
    for (int cols : {768, 1024}) {
      for (int rows : {4096, 12288}) shapes.push_back({rows, cols, true});  // b32 s128 and s384, full length
    }
  }
  bool pass = true;
  for (const Shape& shape : shapes) {
    const Outcome o = run_shape<T>(shape, rng, flush, flush_bytes);
    const bool ok = o.same.out && o.same.e4m3 && o.same.scales && o.host_rel_l2 <= host_limit<T>();
    pass = pass && ok;
    print_row("ln", name_of<T>(), shape.rows, shape.cols, o.same);
    std::printf(" %10.2e", o.host_rel_l2);
    if (shape.timed) {
      std::printf(" %8.1f %8.1f %8.1f %7.1f", o.ln_us, o.ln_quantize_us, o.fused_us, o.ln_quantize_us - o.fused_us);
    } else {
      std::printf(" %8s %8s %8s %7s", "-", "-", "-", "-");
    }
    std::printf("  %s\n", ok ? "PASS" : "FAIL");
  }
  for (int cols : {64, 768, 1024}) {
    for (int rows : {1, 7, 300, 4095}) {
      const Same same = run_embedding<T>(rows, cols, rng);
      const bool ok = same.out && same.e4m3 && same.scales;
      pass = pass && ok;
      print_row("embed", name_of<T>(), rows, cols, same);
      std::printf(" %10s %8s %8s %8s %7s  %s\n", "-", "-", "-", "-", "-", ok ? "PASS" : "FAIL");
    }
  }
  return pass;
}

}  // namespace

int main() {
  cudaDeviceProp props;
  cuda_ok(cudaGetDeviceProperties(&props, 0), "device properties");
  std::printf("device: %s, %d SMs, L2 %d MB\n", props.name, props.multiProcessorCount, props.l2CacheSize >> 20);
  const size_t flush_bytes = std::max<size_t>(256u << 20, 4 * static_cast<size_t>(props.l2CacheSize));
  void* flush;
  cuda_ok(cudaMalloc(&flush, flush_bytes), "malloc flush");
  std::printf("%-5s %-5s %6s %6s %5s %5s %6s %10s %8s %8s %8s %7s\n", "kern", "dtype", "rows", "cols", "out", "e4m3",
              "scales", "host_rl2", "ln_us", "ln+q_us", "fused_us", "saved");
  std::mt19937 rng(20261202);
  bool pass = true;
  try {
    pass = run_dtype<__half>(rng, flush, flush_bytes) && pass;
    pass = run_dtype<__nv_bfloat16>(rng, flush, flush_bytes) && pass;
    pass = run_dtype<float>(rng, flush, flush_bytes) && pass;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s\n", error.what());
    pass = false;
  }
  cuda_ok(cudaFree(flush), "free flush");
  std::printf("%s\n", pass ? "all PASS" : "FAILED");
  return pass ? 0 : 1;
}
