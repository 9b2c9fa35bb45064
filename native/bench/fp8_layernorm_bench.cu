// Standalone check and timing of the LayerNorm that writes the E4M3 copy of its output (layernorm.h,
// `fp8`; NOTES.md, "Version 3 (fp8)"), runnable on a GPU machine without Node or cuBLAS. For each
// shape it runs the fp8 encoder's old path — add-bias-residual-LayerNorm, then the row-wise quantize
// pass over its output (fp8_quant.h) — and the new one, the LayerNorm writing E4M3 and scales itself,
// from the same random non-zero inputs (every third row with an outlier: a large scale, its small
// values in E4M3's subnormals), and requires the two to agree bit for bit: the T output, every E4M3 byte and
// every per-row scale. The outputs are poisoned before each path with different bytes, so an unwritten
// element cannot match. The T output is also checked against a host fp64 LayerNorm on its first rows
// (relative L2 within T's rounding), which catches a LayerNorm both paths got wrong alike.
// Widths cover each LayerNorm kernel (warp rows up to 128 vectors, block rows of 1, 2, 4 and 8
// vectors a thread) and both quantize kernels (warp rows up to 384 vectors, block rows beyond).
// Timing (fp16, the encoder's shapes): CUDA events around LN alone, LN + quantize, LN writing E4M3,
// L2 flushed before each, median of 50 (bench_check.h).
// Exits 1 on any mismatch or CUDA error.
//
// Build and run from the repository root (sm_80 works too: -arch=sm_80):
//   nvcc -std=c++17 -O3 --expt-relaxed-constexpr -arch=sm_90 -Inative/src -o /tmp/fp8_layernorm_bench \
//     native/bench/fp8_layernorm_bench.cu native/src/cuda/kernels/layernorm.cu \
//     native/src/cuda/kernels/fp8_quant.cu native/src/cuda/check.cc \
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

template <typename T>
T* upload(const std::vector<T>& host) {
  T* device;
  cuda_ok(cudaMalloc(&device, sizeof(T) * host.size()), "malloc");
  cuda_ok(cudaMemcpy(device, host.data(), sizeof(T) * host.size(), cudaMemcpyHostToDevice), "upload");
  return device;
}

template <typename T>
std::vector<T> download(const void* device, size_t count) {
  std::vector<T> host(count);
  cuda_ok(cudaMemcpy(host.data(), device, sizeof(T) * count, cudaMemcpyDeviceToHost), "download");
  return host;
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
  bool same_out, same_e4m3, same_scales;
  double host_rel_l2, ln_us, ln_quantize_us, fused_us;
};

template <typename T>
Outcome run_shape(const Shape& shape, std::mt19937& rng, void* flush, size_t flush_bytes) {
  const size_t rows = shape.rows, cols = shape.cols, n = rows * cols;
  std::vector<T> x = random_values<T>(n, -2.0f, 2.0f, rng), residual = random_values<T>(n, -2.0f, 2.0f, rng);
  for (size_t r = 0; r < rows; r += 3) x[r * cols + (r * 7) % cols] = static_cast<T>(1000.0f);  // an outlier
  const std::vector<T> bias = random_values<T>(cols, -0.5f, 0.5f, rng),
                       gamma = random_values<T>(cols, 0.5f, 1.5f, rng),
                       beta = random_values<T>(cols, -0.5f, 0.5f, rng);
  T *d_x = upload(x), *d_residual = upload(residual), *d_bias = upload(bias), *d_gamma = upload(gamma),
    *d_beta = upload(beta);
  T *out_old, *out_new;
  uint8_t *e4m3_old, *e4m3_new;
  float *scales_old, *scales_new;
  cuda_ok(cudaMalloc(&out_old, sizeof(T) * n), "malloc");
  cuda_ok(cudaMalloc(&out_new, sizeof(T) * n), "malloc");
  cuda_ok(cudaMalloc(&e4m3_old, n), "malloc");
  cuda_ok(cudaMalloc(&e4m3_new, n), "malloc");
  cuda_ok(cudaMalloc(&scales_old, sizeof(float) * rows), "malloc");
  cuda_ok(cudaMalloc(&scales_new, sizeof(float) * rows), "malloc");

  const DType dtype = dtype_of<T>();
  const auto layernorm = [&](T* out, Fp8Rows fp8) {
    ftb::cuda::layernorm(dtype, d_x, d_residual, d_bias, d_gamma, d_beta, out, rows, shape.cols, nullptr, nullptr,
                         kEps, fp8);
  };
  const auto old_path = [&] {
    layernorm(out_old, Fp8Rows{});
    ftb::cuda::fp8_quantize_rows(dtype, out_old, shape.rows, shape.cols, scales_old, e4m3_old, nullptr);
  };
  const auto new_path = [&] { layernorm(out_new, Fp8Rows{e4m3_new, scales_new}); };
  // Different poison on each side: 0xFF (NaN in every T, E4M3 and fp32) and 0xFE.
  cuda_ok(cudaMemset(out_old, 0xFF, sizeof(T) * n), "poison");
  cuda_ok(cudaMemset(e4m3_old, 0xFF, n), "poison");
  cuda_ok(cudaMemset(scales_old, 0xFF, sizeof(float) * rows), "poison");
  cuda_ok(cudaMemset(out_new, 0xFE, sizeof(T) * n), "poison");
  cuda_ok(cudaMemset(e4m3_new, 0xFE, n), "poison");
  cuda_ok(cudaMemset(scales_new, 0xFE, sizeof(float) * rows), "poison");
  old_path();
  new_path();
  cuda_ok(cudaDeviceSynchronize(), "layernorm");

  Outcome o{};
  const std::vector<T> got_old = download<T>(out_old, n), got_new = download<T>(out_new, n);
  o.same_out = std::memcmp(got_old.data(), got_new.data(), sizeof(T) * n) == 0;
  o.same_e4m3 = download<uint8_t>(e4m3_old, n) == download<uint8_t>(e4m3_new, n);
  const std::vector<float> s_old = download<float>(scales_old, rows), s_new = download<float>(scales_new, rows);
  o.same_scales = std::memcmp(s_old.data(), s_new.data(), sizeof(float) * rows) == 0;
  o.host_rel_l2 = host_relative_l2(x, residual, bias, gamma, beta, got_new, std::min(rows, kHostCheckedRows), shape.cols);
  if (shape.timed) {
    o.ln_us = median_launch_us([&] { layernorm(out_old, Fp8Rows{}); }, flush, flush_bytes);
    o.ln_quantize_us = median_launch_us(old_path, flush, flush_bytes);
    o.fused_us = median_launch_us(new_path, flush, flush_bytes);
  }
  for (void* p : {static_cast<void*>(d_x), static_cast<void*>(d_residual), static_cast<void*>(d_bias),
                  static_cast<void*>(d_gamma), static_cast<void*>(d_beta), static_cast<void*>(out_old),
                  static_cast<void*>(out_new), static_cast<void*>(e4m3_old), static_cast<void*>(e4m3_new),
                  static_cast<void*>(scales_old), static_cast<void*>(scales_new)}) {
    cuda_ok(cudaFree(p), "free");
  }
  return o;
}

// T's rounding of the LayerNorm output, as a relative L2 bound (a few units of T's last place).
template <typename T>
double host_limit() {
  if (std::is_same<T, float>::value) return 1e-5;
  return std::is_same<T, __half>::value ? 2e-3 : 1e-2;
}

// Widths: 64 … 1024 fp16 values are warp rows (≤ 128 vectors), 1032 … 8192 block rows of one vector
// a thread, then two (16384), four (32768); fp32 (half the values a vector) reaches eight (32768). 3072 and 4096 take the
// quantize's warp-row kernel at fp16, 3080 and wider its block-row kernel.
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
    const bool ok = o.same_out && o.same_e4m3 && o.same_scales && o.host_rel_l2 <= host_limit<T>();
    pass = pass && ok;
    std::printf("%-5s %6d %6d %5s %5s %6s %10.2e", name_of<T>(), shape.rows, shape.cols, o.same_out ? "same" : "DIFF",
                o.same_e4m3 ? "same" : "DIFF", o.same_scales ? "same" : "DIFF", o.host_rel_l2);
    if (shape.timed) {
      std::printf(" %8.1f %8.1f %8.1f %7.1f", o.ln_us, o.ln_quantize_us, o.fused_us, o.ln_quantize_us - o.fused_us);
    } else {
      std::printf(" %8s %8s %8s %7s", "-", "-", "-", "-");
    }
    std::printf("  %s\n", ok ? "PASS" : "FAIL");
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
  std::printf("%-5s %6s %6s %5s %5s %6s %10s %8s %8s %8s %7s\n", "dtype", "rows", "cols", "out", "e4m3", "scales",
              "host_rl2", "ln_us", "ln+q_us", "fused_us", "saved");
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
