// Every cuda model as the backend hands it out: the model itself, plus what the harness measures
// around it without the model's help: its peak device memory (the DeviceBuffer bytes allocated
// since just before it was built, at their peak through its runs: weights, workspace, activations
// and the GEMM workspace it grows; the timing's L2 flush buffer is not counted) and the device's
// energy per unit (NVML's counter over a window of back-to-back units, timing/energy_meter.h).
// The harness holds one model at a time; a model built while another lives would reset the peak
// the first reports from.
#pragma once
#include <functional>
#include <memory>

#include "engine/backend.h"

namespace ftb::cuda {

class MeasuredModel : public Model {
 public:
  MeasuredModel(const std::function<std::unique_ptr<Model>()>& build, int device);

  void run() override { inner_->run(); }
  Sample measure(const MeasureOptions& options) override { return inner_->measure(options); }
  KernelProfile profile(int iterations) override { return inner_->profile(iterations); }
  Outputs outputs() override { return inner_->outputs(); }
  std::map<std::string, std::string> notes() const override { return inner_->notes(); }
  std::vector<GemmChoice> gemms() const override { return inner_->gemms(); }
  MemoryUse memory() const override;
  EnergyUse measure_energy(double min_window_ms) override;

 private:
  size_t live_before_ = 0;
  int device_ = 0;
  std::unique_ptr<Model> inner_;
};

}  // namespace ftb::cuda
