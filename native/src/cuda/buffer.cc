#include "cuda/buffer.h"

#include <cuda_runtime.h>

#include <atomic>
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

}  // namespace

DeviceBuffer::DeviceBuffer(size_t bytes, const std::string& what, Owner owner) : bytes_(bytes) {
  if (bytes == 0) return;
  check(cudaMalloc(&data_, bytes), "allocating " + what + " (" + std::to_string(bytes) + " bytes)");
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
  if (data_ != nullptr) cudaFree(data_);
  if (counted_) g_live.fetch_sub(bytes_);
  data_ = nullptr;
  bytes_ = 0;
  counted_ = false;
}

}  // namespace ftb::cuda
