#include "cuda/utils/graph.h"

#include "cuda/check.h"

namespace ftb::cuda {

CapturedGraph::~CapturedGraph() {
  if (exec_ != nullptr) cudaGraphExecDestroy(exec_);
  if (graph_ != nullptr) cudaGraphDestroy(graph_);
}

void CapturedGraph::capture(cudaStream_t stream, const std::function<void()>& enqueue) {
  check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "beginning graph capture");
  try {
    enqueue();
  } catch (...) {
    // End the capture so the stream stays usable, then report the original error.
    cudaGraph_t partial = nullptr;
    cudaStreamEndCapture(stream, &partial);
    if (partial != nullptr) cudaGraphDestroy(partial);
    throw;
  }
  check(cudaStreamEndCapture(stream, &graph_), "ending graph capture");
  check(cudaGraphInstantiate(&exec_, graph_, 0), "instantiating the graph");
}

void CapturedGraph::launch(cudaStream_t stream) const { check(cudaGraphLaunch(exec_, stream), "launching the graph"); }

}  // namespace ftb::cuda
