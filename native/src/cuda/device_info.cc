#include "cuda/device_info.h"

#include "cuda/check.h"
#include "cuda/nvml.h"

namespace ftb::cuda {
namespace {

std::string version_text(int version) {  // CUDA's 1000 * major + 10 * minor
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

std::string megabytes(size_t bytes) { return std::to_string(bytes >> 20); }  // MiB, as nvidia-smi

int attribute(cudaDeviceAttr attr, int device, const char* what) {
  int value = 0;
  check(cudaDeviceGetAttribute(&value, attr, device), std::string("reading ") + what);
  return value;
}

}  // namespace

DeviceInfo describe_device(CudaContext& context) {
  context.activate();
  const cudaDeviceProp& props = context.properties();
  const int device = context.device();
  size_t free_bytes = 0, total_bytes = 0;
  check(cudaMemGetInfo(&free_bytes, &total_bytes), "reading free device memory");
  int driver_api = 0, runtime = 0;
  check(cudaDriverGetVersion(&driver_api), "reading the CUDA driver version");
  check(cudaRuntimeGetVersion(&runtime), "reading the CUDA runtime version");
  // The current SM clock and the driver's version come from NVML; where it is missing they say "unavailable".
  const Nvml nvml(device);
  const std::optional<unsigned> sm_clock = nvml.sm_clock_mhz();
  return {"cuda",
          {{"name", props.name},
           {"device_index", std::to_string(device)},
           {"compute_capability", std::to_string(props.major) + "." + std::to_string(props.minor)},
           {"sm_count", std::to_string(props.multiProcessorCount)},
           {"memory_mb", megabytes(props.totalGlobalMem)},
           {"memory_free_mb", megabytes(free_bytes)},
           {"l2_mb", megabytes(static_cast<size_t>(props.l2CacheSize))},
           {"sm_clock_max_mhz", std::to_string(attribute(cudaDevAttrClockRate, device, "the SM clock") / 1000)},
           {"sm_clock_mhz", sm_clock ? std::to_string(*sm_clock) : "unavailable"},
           {"driver", nvml.driver_version().value_or("unavailable")},
           {"cuda_driver_api", version_text(driver_api)},
           {"cuda_runtime", version_text(runtime)},
           {"cublas", context.gemm().library_version()}}};
}

}  // namespace ftb::cuda
