// The CUDA backend's process-wide state: the selected device, the one stream every model runs on,
// and the GEMM engine (cuBLASLt handle + 32 MiB workspace). Models hold a shared_ptr to it, so it
// outlives every model whatever the order of teardown.
#pragma once
#include <cuda_runtime.h>

#include <memory>
#include <string>

#include "cuda/gemm/gemm.h"

namespace ftb::cuda {

// The CUDA devices this process sees (CUDA_VISIBLE_DEVICES applied); throws EngineError without a driver.
int visible_device_count();

class CudaContext {
 public:
  // Selects the device named by FTBENCH_CUDA_DEVICE (default 0).
  CudaContext();
  ~CudaContext();
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  int device() const { return device_; }
  const cudaDeviceProp& properties() const { return properties_; }
  cudaStream_t stream() const { return stream_; }
  GemmEngine& gemm() { return *gemm_; }
  // Makes the device current on the calling thread (Node may call from any thread of its pool).
  void activate() const;
  // Waits for the stream; an asynchronous kernel fault is reported under `stage`.
  void synchronize(const std::string& stage) const;
  // While set, models plan their GEMMs and allocate, but neither fill nor run (Backend::plan_gemms).
  bool planning_only() const { return planning_only_; }
  void set_planning_only(bool on) { planning_only_ = on; }

 private:
  int device_ = 0;
  cudaDeviceProp properties_{};
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<GemmEngine> gemm_;
  bool planning_only_ = false;
};

}  // namespace ftb::cuda
