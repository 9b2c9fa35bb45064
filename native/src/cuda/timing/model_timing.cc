#include "cuda/timing/model_timing.h"

#include "cuda/timing/kernel_trace.h"

namespace ftb::cuda {

ModelTiming::ModelTiming(CudaContext& context) : context_(context), sampler_(context.properties()) {}

Sample ModelTiming::measure(const std::function<void()>& enqueue_unit, const MeasureOptions& options) {
  context_.activate();
  return sampler_.sample(enqueue_unit, options, context_.stream());
}

KernelProfile ModelTiming::profile(const std::function<void()>& enqueue_eager_unit, int iterations,
                                   const std::string& unit, const std::string& measured_replay) {
  context_.activate();
  context_.synchronize(unit + " before the trace");
  KernelTrace trace;
  timer_.start(context_.stream());
  for (int i = 0; i < iterations; ++i) enqueue_eager_unit();
  timer_.stop(context_.stream());
  const double ms = timer_.elapsed_ms() / iterations;
  context_.synchronize("traced " + unit + "s");
  const std::string note =
      measured_replay.empty() ? "eager launches" : "eager launches (the measured samples replay " + measured_replay + ")";
  return {iterations, ms, note, trace.collect()};
}

}  // namespace ftb::cuda
