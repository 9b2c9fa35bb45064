// Energy of GPU work from NVML's total-energy counter (millijoules). The counter updates at a
// coarse, device-dependent period (tens of milliseconds on some GPUs), so a reading says little
// about a short stretch of work. The meter therefore measures a window: it waits for the counter
// to tick, runs the work (at least ~200 ms of back-to-back units, chosen by the caller), waits for
// the next tick after the work ends, and reports the difference of the two ticks' readings and the
// wall time between them. The window's ends carry at most one counter period of idle device on
// top of the work (a few percent of a 250 ms window at a 10 ms period), which the reported watts
// and joules include.
#pragma once
#include <functional>
#include <optional>
#include <string>

#include "cuda/nvml.h"

namespace ftb::cuda {

struct EnergyWindow {
  double joules = 0;
  double window_ms = 0;
};

class EnergyMeter {
 public:
  explicit EnergyMeter(int device);
  // Why the meter cannot measure (NVML missing, counter unsupported), or nullopt when it can.
  std::optional<std::string> unavailable() const;
  // Runs `work` (which must return after the device finished it) between two counter ticks; nullopt
  // with unavailable() set when the counter cannot be read or does not tick within a second.
  std::optional<EnergyWindow> measure(const std::function<void()>& work);

 private:
  struct Tick {
    uint64_t mj;
    double ms;
  };
  std::optional<Tick> next_tick();

  Nvml nvml_;
  std::optional<std::string> unavailable_;
};

}  // namespace ftb::cuda
