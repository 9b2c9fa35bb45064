// A forward pass captured once into a CUDA graph and replayed: one launch instead of one per kernel.
#pragma once
#include <cuda_runtime.h>

#include <functional>

namespace ftb::cuda {

class CapturedGraph {
 public:
  CapturedGraph() = default;
  ~CapturedGraph();
  CapturedGraph(const CapturedGraph&) = delete;
  CapturedGraph& operator=(const CapturedGraph&) = delete;

  // Records what `enqueue` queues on `stream` (nothing runs) and instantiates it.
  void capture(cudaStream_t stream, const std::function<void()>& enqueue);
  void launch(cudaStream_t stream) const;
  bool ready() const { return exec_ != nullptr; }

 private:
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace ftb::cuda
