#include "cuda/timing/clock_probe.h"

#include <cstdint>

#include "cuda/check.h"

namespace ftb::cuda {
namespace {

__global__ void read_clocks(unsigned long long* stamp) {
  unsigned long long ns;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(ns));
  stamp[0] = ns;
  stamp[1] = clock64();
}

}  // namespace

ClockProbe::ClockProbe() : stamps_(4 * sizeof(unsigned long long), "clock probe stamps") {}

void ClockProbe::before(cudaStream_t stream) {
  read_clocks<<<1, 1, 0, stream>>>(stamps_.as<unsigned long long>());
  check_launch("read_clocks");
}

void ClockProbe::after(cudaStream_t stream) {
  read_clocks<<<1, 1, 0, stream>>>(stamps_.as<unsigned long long>() + 2);
  check_launch("read_clocks");
}

double ClockProbe::mean_mhz() const {
  unsigned long long s[4];
  check(cudaMemcpy(s, stamps_.get(), sizeof(s), cudaMemcpyDeviceToHost), "reading the clock probe");
  const double ns = static_cast<double>(s[2] - s[0]);
  return ns > 0 ? static_cast<double>(s[3] - s[1]) / ns * 1000.0 : 0.0;
}

}  // namespace ftb::cuda
