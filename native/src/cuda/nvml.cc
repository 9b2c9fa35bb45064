#include "cuda/nvml.h"

#include <cuda_runtime.h>
#include <dlfcn.h>

namespace ftb::cuda {
namespace {

constexpr int kSuccess = 0;         // NVML_SUCCESS
constexpr int kNotSupported = 3;    // NVML_ERROR_NOT_SUPPORTED
constexpr int kClockSm = 1;         // NVML_CLOCK_SM

}  // namespace

template <typename Fn>
Fn Nvml::symbol(const char* name) const {
  return library_ == nullptr ? nullptr : reinterpret_cast<Fn>(dlsym(library_, name));
}

Nvml::Nvml(int device) {
  library_ = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (library_ == nullptr) {
    why_absent_ = "NVML (libnvidia-ml.so.1) not found";
    return;
  }
  auto init = symbol<int (*)()>("nvmlInit_v2");
  auto handle_of = symbol<int (*)(const char*, void**)>("nvmlDeviceGetHandleByPciBusId_v2");
  if (init == nullptr || handle_of == nullptr || init() != kSuccess) {
    why_absent_ = "NVML failed to initialise";
    return;
  }
  initialized_ = true;
  char bus_id[32] = {};
  if (cudaDeviceGetPCIBusId(bus_id, sizeof(bus_id), device) != cudaSuccess || handle_of(bus_id, &device_) != kSuccess) {
    device_ = nullptr;
    why_absent_ = "NVML does not know the device's PCI bus id";
  }
}

Nvml::~Nvml() {
  if (initialized_) {
    if (auto shutdown = symbol<int (*)()>("nvmlShutdown")) shutdown();
  }
  if (library_ != nullptr) dlclose(library_);
}

std::optional<unsigned> Nvml::sm_clock_mhz() const {
  auto clock_of = symbol<int (*)(void*, int, unsigned*)>("nvmlDeviceGetClockInfo");
  unsigned mhz = 0;
  if (device_ == nullptr || clock_of == nullptr || clock_of(device_, kClockSm, &mhz) != kSuccess) return std::nullopt;
  return mhz;
}

std::optional<std::string> Nvml::driver_version() const {
  auto driver_of = symbol<int (*)(char*, unsigned)>("nvmlSystemGetDriverVersion");
  char driver[96] = {};
  if (!initialized_ || driver_of == nullptr || driver_of(driver, sizeof(driver)) != kSuccess) return std::nullopt;
  return std::string(driver);
}

std::optional<uint64_t> Nvml::total_energy_mj() const {
  if (device_ == nullptr) return std::nullopt;  // why_absent_ says why already
  auto energy_of = symbol<int (*)(void*, unsigned long long*)>("nvmlDeviceGetTotalEnergyConsumption");
  if (energy_of == nullptr) {
    why_absent_ = "this NVML has no nvmlDeviceGetTotalEnergyConsumption";
    return std::nullopt;
  }
  unsigned long long mj = 0;
  const int status = energy_of(device_, &mj);
  if (status != kSuccess) {
    why_absent_ = status == kNotSupported ? "the device's energy counter is not supported (NVML)"
                                          : "reading the energy counter failed (NVML error " + std::to_string(status) + ")";
    return std::nullopt;
  }
  return static_cast<uint64_t>(mj);
}

}  // namespace ftb::cuda
