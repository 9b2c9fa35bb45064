#include "cuda/context.h"

#include <cstdlib>

#include "common/config.h"
#include "cuda/check.h"
#include "engine/backend.h"

namespace ftb::cuda {
int visible_device_count() {
  int count = 0;
  check(cudaGetDeviceCount(&count), "counting CUDA devices");
  return count;
}

namespace {

int selected_device() {
  const int count = visible_device_count();
  if (count == 0) throw EngineError("no CUDA device is visible");
  const char* text = std::getenv("FTBENCH_CUDA_DEVICE");
  if (text == nullptr || *text == '\0') return 0;
  char* end = nullptr;
  const long device = std::strtol(text, &end, 10);
  if (*end != '\0' || device < 0 || device >= count) {
    throw ConfigError("FTBENCH_CUDA_DEVICE must be 0.." + std::to_string(count - 1) + ", got " + text);
  }
  return static_cast<int>(device);
}

}  // namespace

CudaContext::CudaContext() : device_(selected_device()) {
  activate();
  check(cudaGetDeviceProperties(&properties_, device_), "reading device properties");
  check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "creating the stream");
  gemm_ = std::make_unique<GemmEngine>();
}

CudaContext::~CudaContext() {
  gemm_.reset();
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

void CudaContext::activate() const { check(cudaSetDevice(device_), "selecting device " + std::to_string(device_)); }

void CudaContext::synchronize(const std::string& stage) const { check(cudaStreamSynchronize(stream_), stage); }

}  // namespace ftb::cuda
