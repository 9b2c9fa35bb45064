// The engine's one interface: a Backend builds Models from a ModelConfig; a Model runs its path
// and times itself with the backend's own clock (host clock on the CPU, CUDA events on the GPU).
// Nothing here knows about Node: the addon (src/addon) is a thin layer over these types.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/config.h"
#include "engine/gemm_choice.h"

namespace ftb {

// A failure while running (CUDA error, ...): the message names the stage/kernel and the cause.
struct EngineError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Device memory could not be allocated; recorded as status "oom" by the harness.
struct OutOfMemory : EngineError {
  using EngineError::EngineError;
};

// Results of the last run, copied to the host.
//   encoder:  hidden [batch, seq, h] (rows past a sequence's length are zero), lengths [batch]
//   decoder:  hidden [batch·beam, h] (features after the last step), lengths = memory lengths [batch]
//   decoding: output_ids [batch·beam, steps] (after gather-tree; beams of a sentence sorted by
//             score, best first; positions after a sentence's end are end_id), step_ids and
//             parent_ids [steps, batch·beam] (raw per-step choices, before sorting),
//             lengths [batch·beam], cum_log_probs [batch·beam], scores [batch·beam]
//             (cum_log_probs after the length penalty), steps_run (< seq only with stop_at_end)
struct Outputs {
  std::vector<float> hidden;
  std::vector<int> lengths;
  std::vector<int> output_ids;
  std::vector<int> step_ids;
  std::vector<int> parent_ids;
  std::vector<float> cum_log_probs;
  std::vector<float> scores;
  int steps_run = 0;
};

struct MeasureOptions {
  int iterations = 1;     // runs timed together (hot batch): the sample is their mean
  bool flush_l2 = false;  // cold sample: the device's L2 flushed before the timed runs (GPU backends)
};

// One sample: the mean duration of its runs by the backend's clock, and the mean SM clock over
// them (MHz; 0 on a backend without one).
struct Sample {
  double ms = 0;
  double sm_clock_mhz = 0;
};

// One activity of a kernel trace (Model::profile): a kernel, memcpy or memset on the device.
struct TraceRecord {
  std::string kind;   // "kernel", "memcpy", "memset"
  std::string name;   // kernel name, or "memcpy <bytes> B" / "memset <bytes> B"
  std::string stage;  // the engine stage that launched it (qkv_gemm, attention, ...); "" if none
  uint64_t start_ns = 0, end_ns = 0;
  int grid[3] = {0, 0, 0}, block[3] = {0, 0, 0};
};

// A model's peak device memory: the most bytes its device buffers (weights, workspace,
// activations) held at once since it was built, through its runs; or why there is none.
struct MemoryUse {
  bool measured = false;
  uint64_t peak_bytes = 0;
  std::string reason;  // why not measured (e.g. the cpu backend)
};

// The device's energy over a window of back-to-back units (Model::measure_energy); or why there is none.
struct EnergyUse {
  bool measured = false;
  double joules = 0;     // energy counter difference over the window
  int units = 0;         // units run in the window
  double window_ms = 0;  // wall time between the two counter readings
  std::string reason;    // why not measured (the cpu backend, NVML missing, counter unsupported)
};

struct KernelProfile {
  int iterations = 0;
  double event_ms = 0;  // CUDA-event time of the traced iterations, per iteration
  std::string note;     // how the trace was taken (e.g. eager launches of a graphed model)
  std::vector<TraceRecord> records;
};

class Model {
 public:
  virtual ~Model() = default;
  // One unit of work: an encoder forward, `seq` decoder steps, or a whole decoding.
  virtual void run() = 0;
  // Runs `options.iterations` units: their mean duration in ms by the backend's clock, and the clock.
  virtual Sample measure(const MeasureOptions& options) = 0;
  // A kernel trace of `iterations` units, each activity attributed to its engine stage.
  virtual KernelProfile profile(int /*iterations*/) { throw EngineError("kernel profiles need the cuda backend"); }
  virtual Outputs outputs() = 0;
  // Extra facts for the results file (graph on/off, kernels chosen, ...), as string pairs.
  virtual std::map<std::string, std::string> notes() const { return {}; }
  // The GEMMs the model runs, with the algorithm of each (none on the CPU).
  virtual std::vector<GemmChoice> gemms() const { return {}; }
  // Peak device memory since the model was built (cuda: MeasuredModel, cuda/measured_model.h).
  virtual MemoryUse memory() const { return {false, 0, "the cpu backend has no device memory"}; }
  // The device's energy over back-to-back units lasting at least `min_window_ms` (cuda: NVML's
  // energy counter, cuda/timing/energy_meter.h).
  virtual EnergyUse measure_energy(double /*min_window_ms*/) {
    return {false, 0, 0, 0, "the cpu backend has no energy counter"};
  }
};

struct DeviceInfo {
  std::string backend;  // "cpu" or "cuda"
  std::map<std::string, std::string> fields;  // name, sm_count, memory_mb, clocks, versions, ...
};

// Backend::quantize_e4m3's answer: a tensor's values as E4M3 (x / scale rounded, common/e4m3.h) and
// its per-tensor scale.
struct E4m3Tensor {
  std::vector<float> values;
  std::vector<float> scales;  // one per row
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual DeviceInfo device_info() const = 0;
  // Validates the config (ConfigError) and what this backend supports, then builds the model.
  virtual std::unique_ptr<Model> create_model(const ModelConfig& config) = 0;
  // The device's measured ceilings (copy GB/s, GEMM TFLOP/s per precision); none on the CPU.
  virtual std::map<std::string, double> calibrate() { return {}; }
  // Devices a tensor-parallel point can spread over. The cpu backend simulates any tp's ranks in
  // one process, so it has no such limit (kAnyTp); cuda counts its visible GPUs.
  static constexpr int kAnyTp = 1 << 30;
  virtual int device_count() const { return kAnyTp; }
  // The GEMM tuning table models look their shapes up in, and whether to tune the shapes it lacks.
  virtual void set_gemm_table(const std::vector<GemmTuned>& /*table*/, const GemmTuning& /*tuning*/) {}
  // The table, with the shapes tuned since set_gemm_table.
  virtual std::vector<GemmTuned> gemm_table() const { return {}; }
  // The GEMMs `config`'s model would run (tuning the missing ones when tuning is on), without
  // filling or running it.
  virtual std::vector<GemmChoice> plan_gemms(const ModelConfig& /*config*/) { return {}; }
  // Test hook of the sampling step: draws config.batch tokens, row b from the same logits row
  // (config.vocab values) with draw b of step 0, under config's top_k / top_p / temperature / seed
  // and variant. Lets tests check sampling frequencies against a crafted distribution.
  virtual std::vector<int> sample_row(const ModelConfig& config, const std::vector<float>& logits) = 0;
  // Test hook of the fp8 precision's dynamic quantization: the per-row scales and E4M3 values of one
  // fp32 tensor of rows of `cols` values, as this backend computes them (cpu: the reference's
  // emulation; cuda: the device's quantize kernel), so tests can check the two agree bit for bit.
  virtual E4m3Tensor quantize_e4m3(const std::vector<float>& values, int cols) = 0;
};

// Backends compiled into this build, "cpu" first.
std::vector<std::string> backend_names();
// The process-wide instance of a backend; throws EngineError for one not built.
Backend& backend(const std::string& name);

}  // namespace ftb
