// Host tensors of the standalone decoder attention bench (decoder_attention_bench.cu): a storage type
// (fp32, fp16 or bf16, 16-bit types kept as their bits), rounding to it and reading it back as a double,
// and a tensor held on the host and the device.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "bench_check.h"
#include "cuda/dtype.h"

using ftb::cuda::DType;

// Host storage of one element type: 16-bit types are kept as their bits.
struct Storage {
  DType dtype;
  size_t size;
  const char* name;
  float tolerance;
};

inline uint16_t f32_to_bf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  bits += 0x7FFFu + ((bits >> 16) & 1u);  // round to nearest even (no NaN inputs here)
  return static_cast<uint16_t>(bits >> 16);
}

// Rounds x to the storage type and writes it at dst; returns the stored value as a double.
inline double store(const Storage& st, void* dst, float x) {
  if (st.dtype == DType::F32) {
    std::memcpy(dst, &x, 4);
    return x;
  }
  if (st.dtype == DType::F16) {
    const __half h = __float2half_rn(x);
    std::memcpy(dst, &h, 2);
    return __half2float(h);
  }
  const uint16_t b = f32_to_bf16(x);
  std::memcpy(dst, &b, 2);
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline double load(const Storage& st, const void* src) {
  if (st.dtype == DType::F32) {
    float f;
    std::memcpy(&f, src, 4);
    return f;
  }
  uint16_t raw;
  std::memcpy(&raw, src, 2);
  if (st.dtype == DType::F16) {
    __half h;
    std::memcpy(&h, &raw, 2);
    return __half2float(h);
  }
  const uint32_t bits = static_cast<uint32_t>(raw) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// A tensor of the storage type on the host and the device.
struct Tensor {
  const Storage& st;
  std::vector<char> host;
  void* dev = nullptr;
  Tensor(const Storage& s, size_t n) : st(s), host(n * s.size) { cuda_ok(cudaMalloc(&dev, host.size()), "cudaMalloc"); }
  ~Tensor() { cudaFree(dev); }
  size_t count() const { return host.size() / st.size; }
  double at(size_t i) const { return load(st, host.data() + i * st.size); }
  void fill(std::mt19937& rng, float lo, float hi) {
    std::uniform_real_distribution<float> dist(lo, hi);
    for (size_t i = 0; i < count(); ++i) {
      float x = dist(rng);
      if (x == 0.0f) x = 0.125f;  // exact zeros hide unwritten reads
      store(st, host.data() + i * st.size, x);
    }
    cuda_ok(cudaMemcpy(dev, host.data(), host.size(), cudaMemcpyHostToDevice), "upload");
  }
  void download() { cuda_ok(cudaMemcpy(host.data(), dev, host.size(), cudaMemcpyDeviceToHost), "download"); }
  void poison() { cuda_ok(cudaMemset(dev, 0xFF, host.size()), "poison"); }  // NaN in every type
};
