// Sinusoidal position encoding of the decoding path, shared by every backend so that they add
// exactly the same fp64 values (native/MODEL.md, "Decoding").
#pragma once
#include <algorithm>
#include <cmath>

namespace ftb {

// PE(t)[i] for hidden size h: first half sin, second half cos.
inline double position_encoding(int t, int i, int h) {
  const int half = h / 2;
  const double denominator = std::max(half, 1);
  if (i < half) return std::sin(t / std::pow(10000.0, i / denominator));
  return std::cos(t / std::pow(10000.0, (i - half) / denominator));
}

}  // namespace ftb
