// Reference ops shared by the CPU models: fp32 storage, fp64 accumulation and statistics
// (native/MODEL.md, "Common pieces"). Matrices are row-major; a row stride lets ops read q/k/v
// straight out of a fused [rows, 3h] buffer.
#pragma once
#include <vector>

namespace ftb::cpu {

// A dense layer y = x · w + b with w [in, out] (tensors.h layout).
// fp8 emulation (precision fp8, common/e4m3.h): non-empty w_scales means w holds the E4M3 values of
// the weight quantized with one scale per output column (quantize_fp8); linear() then quantizes x too.
struct Linear {
  int in = 0;
  int out = 0;
  std::vector<float> w;
  std::vector<float> b;
  std::vector<float> w_scales;
};

// Replaces layer.w by its E4M3 values, column j (output channel j) with the scale amax(w[:, j]) / 448
// (the cuda backend quantizes its fp32 weights the same way once, at model build).
void quantize_fp8(Linear& layer);

// LayerNorm parameters, one gamma and beta per feature.
struct Norm {
  std::vector<float> gamma;
  std::vector<float> beta;
};

// Keys or values of one attention: `count` rows of `stride` floats, the features at `data`.
struct KeyRows {
  const float* data;
  int stride;
};

// y[rows, out] = x[rows, in] · w + b (fp64 accumulator per output element). A quantized layer
// (w_scales set) first rounds each row i of x to E4M3 with its own scale sx_i = amax(x[i, :]) / 448
// (dynamic, as the cuda backend does per call) and computes y[i, j] = sx_i · sw_j · Σ qx · qw + b[j],
// the scaling and the bias added in fp64 to the exact sum, rounded once.
void linear(const Linear& layer, const float* x, int rows, float* y);

// x[rows, n] = LayerNorm(x) in place (mean and biased variance in fp64; eps 1e-6 unless a
// checkpoint's config sets another).
void layer_norm(const Norm& norm, float* x, int rows, int n, double eps = 1e-6);

// x += y, elementwise over n values.
void add(float* x, const float* y, int n);

// GELU, tanh form, in place.
void gelu(float* x, int n);

// GELU, exact erf form 0.5·x·(1 + erf(x/√2)), in place.
void gelu_erf(float* x, int n);

// One embedded token: out[h] = LayerNorm(word + position + token_type) with the sum, mean and
// variance in fp64 and one rounding (token_type may be null).
void embed(const float* word, const float* position, const float* token_type, const Norm& norm, int n, double eps,
           float* out);

// ReLU in place.
void relu(float* x, int n);

// Multi-head attention of one query row q [heads·head_size] over `count` keys/values:
// out = softmax(q·kᵀ / √head_size)·v per head, heads merged in order (softmax in fp64).
void attention(const float* q, KeyRows keys, KeyRows values, int count, int heads, int head_size, float* out);

}  // namespace ftb::cpu
