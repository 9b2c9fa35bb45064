#include "cuda/device_info.h"

#include <dlfcn.h>

#include <cstdio>

#include "cuda/check.h"

namespace ftb::cuda {
namespace {

std::string version_text(int version) {  // CUDA's 1000 * major + 10 * minor
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

std::string megabytes(size_t bytes) { return std::to_string(bytes >> 20); }  // MiB, as nvidia-smi

// The current SM clock and the driver's version come from NVML, loaded at run time so that the
// addon does not depend on it: where it is missing those two fields say "unavailable".
struct NvmlReadings {
  std::string sm_clock_mhz = "unavailable";
  std::string driver = "unavailable";
};

NvmlReadings read_nvml(int device) {
  NvmlReadings readings;
  void* library = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) return readings;
  using Device = void*;
  using InitFn = int (*)();
  using HandleFn = int (*)(const char*, Device*);
  using ClockFn = int (*)(Device, int, unsigned int*);
  using DriverFn = int (*)(char*, unsigned int);
  auto init = reinterpret_cast<InitFn>(dlsym(library, "nvmlInit_v2"));
  auto shutdown = reinterpret_cast<InitFn>(dlsym(library, "nvmlShutdown"));
  auto handle_of = reinterpret_cast<HandleFn>(dlsym(library, "nvmlDeviceGetHandleByPciBusId_v2"));
  auto clock_of = reinterpret_cast<ClockFn>(dlsym(library, "nvmlDeviceGetClockInfo"));
  auto driver_of = reinterpret_cast<DriverFn>(dlsym(library, "nvmlSystemGetDriverVersion"));
  if (init != nullptr && shutdown != nullptr && handle_of != nullptr && clock_of != nullptr && driver_of != nullptr &&
      init() == 0) {
    char bus_id[32] = {};
    char driver[96] = {};
    Device handle = nullptr;
    unsigned int mhz = 0;
    constexpr int kClockSm = 1;  // NVML_CLOCK_SM
    if (cudaDeviceGetPCIBusId(bus_id, sizeof(bus_id), device) == cudaSuccess && handle_of(bus_id, &handle) == 0 &&
        clock_of(handle, kClockSm, &mhz) == 0) {
      readings.sm_clock_mhz = std::to_string(mhz);
    }
    if (driver_of(driver, sizeof(driver)) == 0) readings.driver = driver;
    shutdown();
  }
  dlclose(library);
  return readings;
}

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
  const NvmlReadings nvml = read_nvml(device);
  return {"cuda",
          {{"name", props.name},
           {"device_index", std::to_string(device)},
           {"compute_capability", std::to_string(props.major) + "." + std::to_string(props.minor)},
           {"sm_count", std::to_string(props.multiProcessorCount)},
           {"memory_mb", megabytes(props.totalGlobalMem)},
           {"memory_free_mb", megabytes(free_bytes)},
           {"l2_mb", megabytes(static_cast<size_t>(props.l2CacheSize))},
           {"sm_clock_max_mhz", std::to_string(attribute(cudaDevAttrClockRate, device, "the SM clock") / 1000)},
           {"sm_clock_mhz", nvml.sm_clock_mhz},
           {"driver", nvml.driver},
           {"cuda_driver_api", version_text(driver_api)},
           {"cuda_runtime", version_text(runtime)},
           {"cublas", context.gemm().library_version()}}};
}

}  // namespace ftb::cuda
