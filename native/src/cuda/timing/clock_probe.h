// The SM clock over a stretch of stream work, as nvbench checks for throttling: a one-thread kernel
// reads %globaltimer (ns) and clock64() (SM cycles) before the work and again after it; cycles over
// nanoseconds is the mean clock. (clock64 counters of different SMs run in one clock domain from
// the same reset, so the two probes may land on different SMs.)
#pragma once
#include <cuda_runtime.h>

#include "cuda/buffer.h"

namespace ftb::cuda {

class ClockProbe {
 public:
  ClockProbe();
  // Queue the probes around the work on `stream`.
  void before(cudaStream_t stream);
  void after(cudaStream_t stream);
  // The mean SM clock between the two probes, MHz; the caller has synchronised the stream.
  double mean_mhz() const;

 private:
  DeviceBuffer stamps_;  // before: {ns, cycles}, after: {ns, cycles}
};

}  // namespace ftb::cuda
