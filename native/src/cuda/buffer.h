// RAII device memory: allocated with cudaMalloc when built, freed when destroyed, so a model's
// buffers go when the model is released. Every buffer but the harness's own (the L2 flush buffer
// of the timing) is counted: the bytes live now and the most live since the peak was last reset,
// from which MeasuredModel (measured_model.h) reports a model's peak device memory.
#pragma once
#include <cstddef>
#include <string>

namespace ftb::cuda {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // Whether a buffer belongs to what a model needs (weights, workspace, activations) or to the
  // harness measuring it (not counted).
  enum class Owner { Model, Harness };
  // `what` names the buffer in the OutOfMemory message ("encoder ffn1 weights", ...).
  DeviceBuffer(size_t bytes, const std::string& what, Owner owner = Owner::Model);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* get() const { return data_; }
  template <typename T>
  T* as() const { return static_cast<T*>(data_); }
  size_t bytes() const { return bytes_; }

  // Counted bytes allocated now, process-wide.
  static size_t live_bytes();
  // The most counted bytes allocated at once since reset_peak() (which sets it to live_bytes()).
  static size_t peak_bytes();
  static void reset_peak();

 private:
  void release() noexcept;
  void* data_ = nullptr;
  size_t bytes_ = 0;
  bool counted_ = false;
};

}  // namespace ftb::cuda
