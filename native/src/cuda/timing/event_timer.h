// CUDA-event timing of work queued on one stream: the CUDA backend's clock for Model::measure.
#pragma once
#include <cuda_runtime.h>

namespace ftb::cuda {

class EventTimer {
 public:
  EventTimer();
  ~EventTimer();
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;

  void start(cudaStream_t stream);
  void stop(cudaStream_t stream);
  // Waits for the stop event; milliseconds between the two events.
  float elapsed_ms();

 private:
  cudaEvent_t start_ = nullptr;
  cudaEvent_t stop_ = nullptr;
};

}  // namespace ftb::cuda
