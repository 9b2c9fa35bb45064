#include "cuda/timing/event_timer.h"

#include "cuda/check.h"

namespace ftb::cuda {

EventTimer::EventTimer() {
  check(cudaEventCreate(&start_), "creating timing events");
  check(cudaEventCreate(&stop_), "creating timing events");
}

EventTimer::~EventTimer() {
  cudaEventDestroy(start_);
  cudaEventDestroy(stop_);
}

void EventTimer::start(cudaStream_t stream) { check(cudaEventRecord(start_, stream), "recording the start event"); }

void EventTimer::stop(cudaStream_t stream) { check(cudaEventRecord(stop_, stream), "recording the stop event"); }

float EventTimer::elapsed_ms() {
  check(cudaEventSynchronize(stop_), "waiting for the timed work");
  float ms = 0.0f;
  check(cudaEventElapsedTime(&ms, start_, stop_), "reading the event timer");
  return ms;
}

}  // namespace ftb::cuda
