// What the standalone CUDA benches (native/bench/*.cu) share: a CUDA call that fails ends the bench
// with exit 1 and the call named, so a broken run never prints a table; the median time of a launch
// with the L2 flushed before each, or of back-to-back launches (a kernel in a step's stream).
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

inline void cuda_ok(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    std::fprintf(stderr, "CUDA error in %s: %s\n", what, cudaGetErrorString(status));
    std::exit(1);
  }
}

inline float median_kernel_us(const std::vector<float>& samples_ms) {
  std::vector<float> sorted = samples_ms;
  std::sort(sorted.begin(), sorted.end());
  return 1000.0f * sorted[sorted.size() / 2];
}

// Median of 50 launches of `launch`, each timed alone with CUDA events after an L2 flush.
template <typename Launch>
double median_launch_us(const Launch& launch, void* flush, size_t flush_bytes) {
  cudaEvent_t begin, end;
  cuda_ok(cudaEventCreate(&begin), "event");
  cuda_ok(cudaEventCreate(&end), "event");
  for (int i = 0; i < 3; ++i) launch();  // warm-up
  std::vector<float> samples;
  for (int i = 0; i < 50; ++i) {
    cuda_ok(cudaMemsetAsync(flush, i & 0xFF, flush_bytes), "L2 flush");
    cuda_ok(cudaEventRecord(begin), "record");
    launch();
    cuda_ok(cudaEventRecord(end), "record");
    cuda_ok(cudaEventSynchronize(end), "sync");
    float ms = 0.0f;
    cuda_ok(cudaEventElapsedTime(&ms, begin, end), "elapsed");
    samples.push_back(ms);
  }
  cudaEventDestroy(begin);
  cudaEventDestroy(end);
  return median_kernel_us(samples);
}

// Median µs per call of `launch`, 20 back-to-back calls per sample, 30 samples, after 5 warm-up calls.
template <typename Launch>
double back_to_back_us(const Launch& launch) {
  cudaEvent_t start, stop;
  cuda_ok(cudaEventCreate(&start), "event");
  cuda_ok(cudaEventCreate(&stop), "event");
  for (int i = 0; i < 5; ++i) launch();
  std::vector<float> samples;
  for (int sample = 0; sample < 30; ++sample) {
    cuda_ok(cudaEventRecord(start), "record");
    for (int i = 0; i < 20; ++i) launch();
    cuda_ok(cudaEventRecord(stop), "record");
    cuda_ok(cudaEventSynchronize(stop), "sync");
    float ms = 0.0f;
    cuda_ok(cudaEventElapsedTime(&ms, start, stop), "elapsed");
    samples.push_back(ms / 20.0f);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return median_kernel_us(samples);
}
