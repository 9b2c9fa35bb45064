// A CUPTI activity trace (kernels, memcpys, memsets) of work the engine launches, each record
// attributed to the engine stage (qkv_gemm, attention, layernorm, ffn, topk, ...) that launched it.
// Stages are named by TraceStages at the launch sites; CUPTI ties each launch to the innermost open
// stage through an external correlation id. Launches replayed from a CUDA graph share the graph
// launch's correlation, so a trace is taken of eager launches (the model's graph off).
#pragma once
#include <vector>

#include "engine/backend.h"

namespace ftb::cuda {

// Records while it lives: one trace at a time in the process (CUPTI is process-wide). Throws
// EngineError when CUPTI cannot trace (e.g. another profiler holds it).
class KernelTrace {
 public:
  KernelTrace();
  ~KernelTrace();
  KernelTrace(const KernelTrace&) = delete;
  KernelTrace& operator=(const KernelTrace&) = delete;

  // The records of the work traced so far; the caller has synchronised the device first.
  std::vector<TraceRecord> collect();
};

// Names the stages of the launches that follow on this thread, in launch order: stage("qkv_gemm")
// closes the stage before it and opens this one; close() (or the destructor) closes the last. Code
// that names its own stages (a decoder stack's step) is called with no stage open, so that a launch
// it left unnamed shows as such rather than under the caller's stage. Costs a flag test when no
// trace is running.
class TraceStages {
 public:
  TraceStages() = default;
  ~TraceStages();
  TraceStages(const TraceStages&) = delete;
  TraceStages& operator=(const TraceStages&) = delete;

  void operator()(const char* stage);
  void close();

 private:
  bool open_ = false;
};

}  // namespace ftb::cuda
