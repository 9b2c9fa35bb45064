#include "cuda/timing/calibration.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "cuda/buffer.h"
#include "cuda/check.h"
#include "cuda/kernels/fill.h"
#include "cuda/timing/event_timer.h"
#include "cuda/utils/fp8_random.h"
#include "cuda/utils/gemm_specs.h"
#include "engine/backend.h"

namespace ftb::cuda {
namespace {

constexpr size_t kCopyBytes = 512u << 20;  // far past the 50 MB L2
constexpr int kGemmSize = 8192;            // the square GEMM of REFERENCE.md §3
constexpr int kWarmups = 2, kRepeats = 10;

// Median per-call time of `work` in ms, after warm-up.
template <typename Work>
double median_ms(cudaStream_t stream, Work work) {
  EventTimer timer;
  for (int i = 0; i < kWarmups; ++i) work();
  std::vector<double> times;
  for (int i = 0; i < kRepeats; ++i) {
    timer.start(stream);
    work();
    timer.stop(stream);
    times.push_back(timer.elapsed_ms());
  }
  std::nth_element(times.begin(), times.begin() + kRepeats / 2, times.end());
  return times[kRepeats / 2];
}

double gemm_tflops(CudaContext& context, Precision precision) {
  const DType dtype = storage_type(precision);
  const size_t n = kGemmSize, count = n * n;
  DeviceBuffer a(count * dtype_size(dtype), "calibration GEMM A"), b(count * dtype_size(dtype), "calibration GEMM B"),
      c(count * dtype_size(dtype), "calibration GEMM C");
  // Random data, never zeros: a GEMM of zeros runs faster than real data (METHOD.md).
  ModelConfig config;
  fill_tensor(dtype, a.get(), count, config, Tensor::EncoderInput, 0, context.stream());
  fill_tensor(dtype, b.get(), count, config, Tensor::EncoderInput, 1, context.stream());
  const Gemm gemm = context.gemm().plan(
      dense("calibration", dtype, precision == Precision::TF32, kGemmSize, kGemmSize, kGemmSize, kGemmSize));
  const double ms = median_ms(context.stream(), [&] { gemm.run(a.get(), b.get(), c.get(), nullptr, 1.0f, context.stream()); });
  return 2.0 * n * n * n / (ms * 1e-3) / 1e12;
}

// The same square GEMM in fp8 (E4M3 A and B quantized row by row from random fp16, fp16 C: the
// engine's fp8 GEMM with its per-row scales, gemm.h), on devices with fp8 tensor cores (compute
// capability 8.9+).
double gemm_tflops_fp8(CudaContext& context) {
  const size_t n = kGemmSize, count = n * n;
  cudaStream_t stream = context.stream();
  DeviceBuffer a(count, "calibration fp8 GEMM A"), b(count, "calibration fp8 GEMM B"),
      c(count * dtype_size(DType::F16), "calibration fp8 GEMM C"), scales(2 * n * sizeof(float), "calibration fp8 scales");
  fill_random_e4m3(a.get(), kGemmSize, kGemmSize, 0, scales.as<float>(), stream);
  fill_random_e4m3(b.get(), kGemmSize, kGemmSize, 1, scales.as<float>() + n, stream);
  const Gemm gemm = context.gemm().plan(dense_fp8("calibration", kGemmSize, kGemmSize, kGemmSize));
  const double ms = median_ms(stream, [&] {
    gemm.run_scaled(a.get(), scales.as<float>(), b.get(), scales.as<float>() + n, c.get(), nullptr, stream);
  });
  return 2.0 * n * n * n / (ms * 1e-3) / 1e12;
}

bool has_fp8_tensor_cores(int device) {
  int major = 0, minor = 0;
  check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "reading the compute capability");
  check(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device), "reading the compute capability");
  return major * 10 + minor >= 89;
}

}  // namespace

std::map<std::string, double> calibrate(CudaContext& context) {
  context.activate();
  cudaStream_t stream = context.stream();
  std::map<std::string, double> peaks;
  {
    DeviceBuffer src(kCopyBytes, "calibration copy source"), dst(kCopyBytes, "calibration copy target");
    check(cudaMemsetAsync(src.get(), 1, kCopyBytes, stream), "filling the calibration copy source");
    const double ms = median_ms(stream, [&] {
      check(cudaMemcpyAsync(dst.get(), src.get(), kCopyBytes, cudaMemcpyDeviceToDevice, stream), "calibration copy");
    });
    peaks["peak_gbps"] = 2.0 * kCopyBytes / (ms * 1e-3) / 1e9;
  }
  for (Precision precision : {Precision::FP32, Precision::TF32, Precision::FP16, Precision::BF16}) {
    peaks[std::string("peak_tflops_") + to_string(precision)] = gemm_tflops(context, precision);
  }
  if (has_fp8_tensor_cores(context.device())) {
    // A library that refuses the fp8 GEMM costs the run its fp8 peak only (the fp8 points then fail
    // with the same error, each recorded), not every point's calibration.
    try {
      peaks["peak_tflops_fp8"] = gemm_tflops_fp8(context);
    } catch (const EngineError& error) {
      std::fprintf(stderr, "ftbench: calibration: the fp8 GEMM failed, peak_tflops_fp8 not measured: %s\n", error.what());
    }
  }
  context.synchronize("calibration");
  return peaks;
}

}  // namespace ftb::cuda
