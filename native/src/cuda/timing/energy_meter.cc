#include "cuda/timing/energy_meter.h"

#include <chrono>
#include <thread>

namespace ftb::cuda {
namespace {

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Longest wait for the counter to change: far beyond any update period seen (tens of ms).
constexpr double kTickTimeoutMs = 1000;

}  // namespace

EnergyMeter::EnergyMeter(int device) : nvml_(device) {
  if (!nvml_.total_energy_mj()) unavailable_ = nvml_.why_absent();
}

std::optional<std::string> EnergyMeter::unavailable() const { return unavailable_; }

// Polls until the counter's value changes: the moment of a tick and the energy it reports.
std::optional<EnergyMeter::Tick> EnergyMeter::next_tick() {
  const std::optional<uint64_t> first = nvml_.total_energy_mj();
  const double start = now_ms();
  while (first) {
    const std::optional<uint64_t> reading = nvml_.total_energy_mj();
    if (!reading) break;
    if (*reading != *first) return Tick{*reading, now_ms()};
    if (now_ms() - start > kTickTimeoutMs) {
      unavailable_ = "the energy counter did not change within 1 s";
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  if (!unavailable_) unavailable_ = nvml_.why_absent();
  return std::nullopt;
}

std::optional<EnergyWindow> EnergyMeter::measure(const std::function<void()>& work) {
  if (unavailable_) return std::nullopt;
  const std::optional<Tick> before = next_tick();
  if (!before) return std::nullopt;
  work();
  const std::optional<Tick> after = next_tick();
  if (!after) return std::nullopt;
  return EnergyWindow{static_cast<double>(after->mj - before->mj) / 1000.0, after->ms - before->ms};
}

}  // namespace ftb::cuda
