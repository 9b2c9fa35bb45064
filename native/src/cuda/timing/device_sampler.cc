#include "cuda/timing/device_sampler.h"

#include "cuda/check.h"

namespace ftb::cuda {

DeviceSampler::DeviceSampler(const cudaDeviceProp& properties)
    : l2_flush_(static_cast<size_t>(properties.l2CacheSize), "L2 flush buffer", DeviceBuffer::Owner::Harness) {}

Sample DeviceSampler::sample(const std::function<void()>& enqueue, const MeasureOptions& options, cudaStream_t stream) {
  if (options.flush_l2) check(cudaMemsetAsync(l2_flush_.get(), 0, l2_flush_.bytes(), stream), "flushing the L2");
  clock_.before(stream);
  timer_.start(stream);
  for (int i = 0; i < options.iterations; i++) enqueue();
  timer_.stop(stream);
  clock_.after(stream);
  const double ms = timer_.elapsed_ms() / options.iterations;
  check(cudaStreamSynchronize(stream), "waiting for the clock probe");
  return {ms, clock_.mean_mhz()};
}

}  // namespace ftb::cuda
