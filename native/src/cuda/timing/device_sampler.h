// One sample of GPU work the way nvbench takes it (../shared/REFERENCE.md §4):
//   cold: the L2 flushed first (a memset of a buffer the L2's size, on the stream, outside the
//         timed events), then events around one run of the work;
//   hot:  events around `iterations` back-to-back runs, time / iterations.
// Clock probes around the timed work give the sample's mean SM clock (throttle detection).
#pragma once
#include <cuda_runtime.h>

#include <functional>

#include "cuda/buffer.h"
#include "cuda/timing/clock_probe.h"
#include "cuda/timing/event_timer.h"
#include "engine/backend.h"

namespace ftb::cuda {

class DeviceSampler {
 public:
  explicit DeviceSampler(const cudaDeviceProp& properties);
  // Queues the flush (when asked), the probes and `options.iterations` calls of `enqueue` on
  // `stream`, waits, and returns the mean time per call and the SM clock.
  Sample sample(const std::function<void()>& enqueue, const MeasureOptions& options, cudaStream_t stream);

 private:
  DeviceBuffer l2_flush_;
  ClockProbe clock_;
  EventTimer timer_;
};

}  // namespace ftb::cuda
