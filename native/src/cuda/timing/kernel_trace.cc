#include "cuda/timing/kernel_trace.h"

#include <cuda_runtime.h>
#include <cupti.h>

#include <cxxabi.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>

#include "engine/backend.h"

namespace ftb::cuda {
namespace {

constexpr CUpti_ExternalCorrelationKind kStageKind = CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0;
constexpr size_t kBufferBytes = 8u << 20;
// External correlation records come with the API records of the launches (runtime: our kernels;
// driver: cuBLASLt's), so those are traced too, and dropped.
constexpr CUpti_ActivityKind kKinds[] = {CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, CUPTI_ACTIVITY_KIND_MEMCPY,
                                         CUPTI_ACTIVITY_KIND_MEMSET, CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION,
                                         CUPTI_ACTIVITY_KIND_RUNTIME, CUPTI_ACTIVITY_KIND_DRIVER};

// "ftb::cuda::(anonymous namespace)::fused_mha<...>(...)" rather than the mangled symbol.
std::string demangled(const char* name) {
  if (!name) return "?";
  int status = 0;
  char* readable = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string result = status == 0 && readable ? readable : name;
  std::free(readable);
  return result;
}

void check_cupti(CUptiResult result, const char* what) {
  if (result == CUPTI_SUCCESS) return;
  const char* text = "unknown CUPTI error";
  cuptiGetResultString(result, &text);
  throw EngineError(std::string("CUPTI error in ") + what + ": " + text);
}

// What the buffer callbacks collected: CUPTI calls them from its own threads.
struct Collected {
  std::mutex mutex;
  std::vector<std::pair<uint32_t, TraceRecord>> records;  // (launch correlation id, record)
  std::map<uint32_t, std::string> correlation_stage;  // launch correlation id -> stage
  std::vector<std::string> stages;                    // external id - 1 -> stage name
  std::map<std::string, uint64_t> stage_ids;
};

Collected& collected() {
  static Collected instance;
  return instance;
}

std::atomic<bool> tracing{false};

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(8, kBufferBytes));
  *size = kBufferBytes;
  *max_records = 0;
}

void CUPTIAPI buffer_completed(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid) {
  Collected& c = collected();
  std::lock_guard<std::mutex> lock(c.mutex);
  CUpti_Activity* record = nullptr;
  while (cuptiActivityGetNextRecord(buffer, valid, &record) == CUPTI_SUCCESS) {
    switch (record->kind) {
      case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL: {
        const auto& k = *reinterpret_cast<const CUpti_ActivityKernel10*>(record);
        c.records.push_back({k.correlationId, {"kernel", demangled(k.name), "", k.start, k.end,
                                               {k.gridX, k.gridY, k.gridZ}, {k.blockX, k.blockY, k.blockZ}}});
        break;
      }
      case CUPTI_ACTIVITY_KIND_MEMCPY: {
        const auto& m = *reinterpret_cast<const CUpti_ActivityMemcpy6*>(record);
        c.records.push_back({m.correlationId, {"memcpy", "memcpy " + std::to_string(m.bytes) + " B", "", m.start, m.end, {}, {}}});
        break;
      }
      case CUPTI_ACTIVITY_KIND_MEMSET: {
        const auto& m = *reinterpret_cast<const CUpti_ActivityMemset4*>(record);
        c.records.push_back({m.correlationId, {"memset", "memset " + std::to_string(m.bytes) + " B", "", m.start, m.end, {}, {}}});
        break;
      }
      case CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION: {
        const auto& e = *reinterpret_cast<const CUpti_ActivityExternalCorrelation*>(record);
        if (e.externalKind == kStageKind && e.externalId >= 1 && e.externalId <= c.stages.size()) {
          c.correlation_stage[e.correlationId] = c.stages[e.externalId - 1];
        }
        break;
      }
      default:
        break;
    }
  }
  std::free(buffer);
}

// CUPTI stays attached once initialised: with every activity disabled again, a graph launch still
// cost up to ≈ 40 µs more than before the first trace (H200, the cold encoder points measured after
// one with --profile-kernels), which would bias every point measured after a trace. cuptiFinalize
// detaches it; NVIDIA's advice is to call it at the exit site of a CUDA API call, so a one-shot
// subscriber finalises at the exit of the cudaGetDevice below. The next trace re-attaches CUPTI
// (any CUPTI call does).
void CUPTIAPI finalize_at_exit(void*, CUpti_CallbackDomain, CUpti_CallbackId, const void* data) {
  if (static_cast<const CUpti_CallbackData*>(data)->callbackSite == CUPTI_API_EXIT) cuptiFinalize();
}

void detach_cupti() {
  CUpti_SubscriberHandle subscriber;
  if (cuptiSubscribe(&subscriber, finalize_at_exit, nullptr) != CUPTI_SUCCESS) return;
  if (cuptiEnableCallback(1, subscriber, CUPTI_CB_DOMAIN_RUNTIME_API, CUPTI_RUNTIME_TRACE_CBID_cudaGetDevice_v3020) !=
      CUPTI_SUCCESS) {
    cuptiUnsubscribe(subscriber);
    return;
  }
  int device = 0;
  cudaGetDevice(&device);
}

}  // namespace

KernelTrace::KernelTrace() {
  if (tracing.exchange(true)) throw EngineError("a kernel trace is already running in this process");
  try {
    check_cupti(cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed), "registering the trace buffers");
    for (CUpti_ActivityKind kind : kKinds) check_cupti(cuptiActivityEnable(kind), "enabling the activity trace");
  } catch (...) {
    tracing = false;
    throw;
  }
}

KernelTrace::~KernelTrace() {
  for (CUpti_ActivityKind kind : kKinds) cuptiActivityDisable(kind);
  cuptiActivityFlushAll(1);
  {
    Collected& c = collected();
    std::lock_guard<std::mutex> lock(c.mutex);
    c.records.clear();
    c.correlation_stage.clear();
  }
  detach_cupti();  // outside the lock: finalising flushes, and the buffer callback takes it
  tracing = false;
}

std::vector<TraceRecord> KernelTrace::collect() {
  check_cupti(cuptiActivityFlushAll(1), "flushing the activity trace");
  Collected& c = collected();
  std::lock_guard<std::mutex> lock(c.mutex);
  // Stages are resolved only now: a launch's correlation record may come after its kernel's.
  std::vector<TraceRecord> records;
  for (auto& [correlation, record] : c.records) {
    const auto found = c.correlation_stage.find(correlation);
    if (found != c.correlation_stage.end()) record.stage = found->second;
    records.push_back(std::move(record));
  }
  c.records.clear();
  c.correlation_stage.clear();
  return records;
}

void TraceStages::operator()(const char* stage) {
  close();
  if (!tracing.load(std::memory_order_relaxed)) return;
  Collected& c = collected();
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto [it, added] = c.stage_ids.emplace(stage, c.stages.size() + 1);
    if (added) c.stages.push_back(stage);
    id = it->second;
  }
  open_ = cuptiActivityPushExternalCorrelationId(kStageKind, id) == CUPTI_SUCCESS;
}

void TraceStages::close() {
  uint64_t id = 0;
  if (open_) cuptiActivityPopExternalCorrelationId(kStageKind, &id);
  open_ = false;
}

TraceStages::~TraceStages() { close(); }

}  // namespace ftb::cuda
