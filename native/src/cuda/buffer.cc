#include "cuda/buffer.h"

#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "cuda/check.h"

namespace ftb::cuda {
namespace {

std::atomic<size_t> g_live{0};
std::atomic<size_t> g_peak{0};

void count_allocation(size_t bytes) {
  const size_t live = g_live.fetch_add(bytes) + bytes;
  size_t peak = g_peak.load();
  while (live > peak && !g_peak.compare_exchange_weak(peak, live)) {
  }
}

// FTBENCH_ALLOC=pool: buffers come from the device's stream-ordered pool, which keeps what is freed
// mapped and hands it out again, instead of cudaMalloc / cudaFree each time (NOTES.md, version 13: where
// a model's buffers land).
bool pooled() {
  static const bool pool = [] {
    const char* setting = std::getenv("FTBENCH_ALLOC");
    return setting != nullptr && std::strcmp(setting, "pool") == 0;
  }();
  return pool;
}

cudaError_t allocate_pooled(void** data, size_t bytes) {
  static const cudaError_t configured = [] {
    int device = 0;
    cudaMemPool_t pool = nullptr;
    cudaError_t status = cudaGetDevice(&device);
    if (status == cudaSuccess) status = cudaDeviceGetDefaultMemPool(&pool, device);
    uint64_t keep_all = UINT64_MAX;
    if (status == cudaSuccess) status = cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_all);
    return status;
  }();
  if (configured != cudaSuccess) return configured;
  cudaError_t status = cudaMallocAsync(data, bytes, nullptr);
  if (status == cudaSuccess) status = cudaStreamSynchronize(nullptr);  // usable on every stream from here
  return status;
}

}  // namespace

DeviceBuffer::DeviceBuffer(size_t bytes, const std::string& what, Owner owner) : bytes_(bytes) {
  if (bytes == 0) return;
  check(pooled() ? allocate_pooled(&data_, bytes) : cudaMalloc(&data_, bytes), "allocating " + what + " (" + std::to_string(bytes) + " bytes)");
  counted_ = owner == Owner::Model;
  if (counted_) count_allocation(bytes);
}

size_t DeviceBuffer::live_bytes() { return g_live.load(); }
size_t DeviceBuffer::peak_bytes() { return g_peak.load(); }
void DeviceBuffer::reset_peak() { g_peak.store(g_live.load()); }

DeviceBuffer::~DeviceBuffer() { release(); }

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      counted_(std::exchange(other.counted_, false)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    counted_ = std::exchange(other.counted_, false);
  }
  return *this;
}

// Errors are ignored here: a destructor cannot throw, and at process exit the runtime may be gone.
void DeviceBuffer::release() noexcept {
  if (data_ != nullptr && pooled()) {
    cudaDeviceSynchronize();  // every stream done with it: the pool may hand it out on any stream next
    cudaFreeAsync(data_, nullptr);
  } else if (data_ != nullptr) {
    cudaFree(data_);
  }
  if (counted_) g_live.fetch_sub(bytes_);
  data_ = nullptr;
  bytes_ = 0;
  counted_ = false;
}

}  // namespace ftb::cuda
