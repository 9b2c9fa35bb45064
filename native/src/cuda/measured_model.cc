#include "cuda/measured_model.h"

#include <algorithm>
#include <cmath>

#include "cuda/buffer.h"
#include "cuda/timing/energy_meter.h"

namespace ftb::cuda {

MeasuredModel::MeasuredModel(const std::function<std::unique_ptr<Model>()>& build, int device)
    : live_before_(DeviceBuffer::live_bytes()), device_(device) {
  DeviceBuffer::reset_peak();
  inner_ = build();
}

MemoryUse MeasuredModel::memory() const {
  return {true, static_cast<uint64_t>(DeviceBuffer::peak_bytes() - live_before_), ""};
}

EnergyUse MeasuredModel::measure_energy(double min_window_ms) {
  EnergyMeter meter(device_);
  if (const auto why = meter.unavailable()) return {false, 0, 0, 0, *why};
  // The window's length in units, from one hot unit (the model is warm: its samples ran before).
  const Sample one = inner_->measure({1, false});
  const double units = std::ceil(min_window_ms / std::max(one.ms, 1e-3));
  const int count = static_cast<int>(std::clamp(units, 1.0, 1e7));
  const auto window = meter.measure([&] { inner_->measure({count, false}); });
  if (!window) return {false, 0, 0, 0, meter.unavailable().value_or("the energy counter could not be read")};
  return {true, window->joules, count, window->window_ms, ""};
}

}  // namespace ftb::cuda
