// How every CUDA model times itself, written once: Model::measure samples the model's measured unit
// (the way it runs: graph replays where it has a graph) with DeviceSampler; Model::profile traces
// eager units with CUPTI (a graph replay would tie every kernel to one launch, hiding the stages the
// models name with TraceStages) and times them with CUDA events. (The CPU models share
// HostTimedModel, cpu/models.h.)
#pragma once
#include <functional>
#include <string>

#include "cuda/context.h"
#include "cuda/timing/device_sampler.h"
#include "cuda/timing/event_timer.h"
#include "engine/backend.h"

namespace ftb::cuda {

class ModelTiming {
 public:
  explicit ModelTiming(CudaContext& context);

  // One sample of `enqueue_unit`, queued on the context's stream.
  Sample measure(const std::function<void()>& enqueue_unit, const MeasureOptions& options);
  // A trace of `iterations` calls of `enqueue_eager_unit`. `unit` names one in errors ("encoder
  // forward"); `measured_replay` says what the measured samples replay instead ("a CUDA graph"), or
  // is empty when they launch eagerly too.
  KernelProfile profile(const std::function<void()>& enqueue_eager_unit, int iterations, const std::string& unit,
                        const std::string& measured_replay);

 private:
  CudaContext& context_;
  DeviceSampler sampler_;
  EventTimer timer_;
};

}  // namespace ftb::cuda
