// NVML, loaded at run time (dlopen of libnvidia-ml.so.1) so that the addon does not depend on it:
// the device's current SM clock, the driver's version and the energy counter. Each reading is
// absent (std::nullopt) where NVML is missing, the call fails or the device does not support it,
// and `why_absent` says which.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace ftb::cuda {

class Nvml {
 public:
  // Loads NVML and finds the CUDA device `device` (by PCI bus id); never throws.
  explicit Nvml(int device);
  ~Nvml();
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  std::optional<unsigned> sm_clock_mhz() const;
  std::optional<std::string> driver_version() const;
  // nvmlDeviceGetTotalEnergyConsumption: millijoules since the driver was loaded (Volta and later).
  std::optional<uint64_t> total_energy_mj() const;
  // Why the last absent reading is absent ("NVML not found", "... not supported on this device").
  const std::string& why_absent() const { return why_absent_; }

 private:
  template <typename Fn>
  Fn symbol(const char* name) const;

  void* library_ = nullptr;
  void* device_ = nullptr;  // nvmlDevice_t
  bool initialized_ = false;
  mutable std::string why_absent_;
};

}  // namespace ftb::cuda
