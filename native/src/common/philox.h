// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011), identical on host and device.
// Every weight, input and sampling draw of ftbench is a pure function of (seed, stream, index),
// so the CUDA backend regenerates the CPU reference's exact values in place instead of copying.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define FTB_HD __host__ __device__ __forceinline__
#else
#define FTB_HD inline
#endif

namespace ftb {

struct PhiloxWords { uint32_t w[4]; };

FTB_HD uint32_t mulhi32(uint32_t a, uint32_t b) {
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
}

// Philox4x32 with 10 rounds: counter (c0..c3), key (k0, k1).
FTB_HD PhiloxWords philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                                  uint32_t k0, uint32_t k1) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const uint32_t hi0 = mulhi32(kM0, c0), lo0 = kM0 * c0;
    const uint32_t hi1 = mulhi32(kM1, c2), lo1 = kM1 * c2;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += kW0;
    k1 += kW1;
  }
  return PhiloxWords{{c0, c1, c2, c3}};
}

// One 32-bit word for element `index` of stream `stream` (a tensor id or a draw kind).
FTB_HD uint32_t random_word(uint64_t seed, uint32_t stream, uint64_t index) {
  return philox4x32_10(static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32), stream, 0u,
                       static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32))
      .w[0];
}

// Uniform in (0, 1): an odd multiple of 2^-24 (23 random bits, centred in their bucket), exact in
// float. (Adding 0.5f to a 24-bit integer would round above 2^23 and could return exactly 1.)
FTB_HD float random_unit(uint64_t seed, uint32_t stream, uint64_t index) {
  return static_cast<float>((random_word(seed, stream, index) >> 8) | 1u) * 5.9604644775390625e-08f;
}

// offset + scale * v with v uniform in (-1, 1). v = odd integer * 2^-24 is exact and never zero;
// one rounded multiply and one rounded add (never fused into an FMA: the device uses the _rn
// intrinsics, the host is built with -ffp-contract=off) keep host and device results bit-identical.
FTB_HD float random_symmetric(uint64_t seed, uint32_t stream, uint64_t index, float scale, float offset) {
  const int32_t odd = static_cast<int32_t>((random_word(seed, stream, index) >> 8) * 2u + 1u) - (1 << 24);
  const float v = static_cast<float>(odd) * 5.9604644775390625e-08f;
#if defined(__CUDA_ARCH__)
  return __fadd_rn(__fmul_rn(v, scale), offset);
#else
  return v * scale + offset;
#endif
}

// Integer uniform in [lo, hi] (lo <= hi) for lengths: a modulo of one word (bias < 2^-20 for our ranges).
FTB_HD int random_int(uint64_t seed, uint32_t stream, uint64_t index, int lo, int hi) {
  return lo + static_cast<int>(random_word(seed, stream, index) % static_cast<uint32_t>(hi - lo + 1));
}

}  // namespace ftb
