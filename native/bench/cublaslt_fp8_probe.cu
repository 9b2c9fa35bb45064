// Standalone cuBLASLt fp8 probe (issue 22; NOTES.md, "fp8 encoder: what the probe said"): which scaling
// mechanisms cublasLtMatmul accepts for an E4M3 "TN" GEMM on this GPU (none, scalar A/B scales, outer-
// vector scales, alpha on the device as a scalar or a vector), with which epilogues and output types,
// how fast (CUDA events, 100 back-to-back calls) and how exactly (relative L2 against a host fp64 product
// of the same E4M3 values, scales applied as the mechanism defines them). Runs without Node; needs cuBLASLt:
//   nvcc -std=c++17 -O2 -arch=sm_90 -o /tmp/fp8probe native/bench/cublaslt_fp8_probe.cu -lcublasLt && \
//     CUBLASLT_LOG_LEVEL=1 /tmp/fp8probe
#include <cublasLt.h>
#include <cuda_fp8.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cmath>
#include <string>
#include <array>
#include <algorithm>
#define CK(x) do { cudaError_t e = (x); if (e) { printf("cuda %s line %d\n", cudaGetErrorString(e), __LINE__); exit(1);} } while (0)

enum Scale { kNone, kScalar, kScalarExplicit, kOnlyA, kOnlyB, kOuterVec, kOuterA, kAlphaDevice, kAlphaVector };
const char* scale_name[] = {"none", "scalar", "scalar(mode set)", "A only", "B only", "outer-vec A+B", "outer-vec A, scalar B", "alpha device scalar", "alpha device vector"};
struct V { int m, n, k; Scale scale; cublasLtEpilogue_t epi; cudaDataType_t c, d; bool fp16 = false; };

static float e4m3(unsigned char v) { __nv_fp8_e4m3 x; x.__x = v; return float(x); }
static float to_f(const void* p, cudaDataType_t t, size_t i) {
  if (t == CUDA_R_16F) return __half2float(((const __half*)p)[i]);
  if (t == CUDA_R_16BF) return __bfloat162float(((const __nv_bfloat16*)p)[i]);
  if (t == CUDA_R_8F_E4M3) return e4m3(((const unsigned char*)p)[i]);
  return ((const float*)p)[i];
}
static size_t tsize(cudaDataType_t t) { return t == CUDA_R_32F ? 4 : t == CUDA_R_8F_E4M3 ? 1 : 2; }

int main() {
  cublasLtHandle_t lt; cublasLtCreate(&lt);
  printf("cublasLt %zu\n", cublasLtGetVersion());
  const size_t ws_bytes = 32u << 20; void* ws; CK(cudaMalloc(&ws, ws_bytes));
  const cublasLtEpilogue_t N0 = CUBLASLT_EPILOGUE_DEFAULT, B = CUBLASLT_EPILOGUE_BIAS, G = CUBLASLT_EPILOGUE_GELU_BIAS, R = CUBLASLT_EPILOGUE_RELU_BIAS;
  const cudaDataType_t H = CUDA_R_16F, BF = CUDA_R_16BF, F8 = CUDA_R_8F_E4M3;
  std::vector<V> vs;
  for (Scale s : {kNone, kScalar, kScalarExplicit, kOnlyA, kOnlyB, kOuterVec, kOuterA, kAlphaDevice, kAlphaVector}) vs.push_back({1024, 768, 768, s, N0, H, H});
  vs.push_back({1024, 768, 768, kScalar, N0, BF, F8});
  vs.push_back({1024, 768, 768, kScalar, N0, BF, BF});
  for (auto e : {B, G, R}) { vs.push_back({1024, 768, 768, kNone, e, H, H}); vs.push_back({1024, 768, 768, kOuterVec, e, H, H}); vs.push_back({1024, 768, 768, kAlphaDevice, e, H, H}); }
  vs.push_back({1024, 768, 768, kOuterVec, B, BF, BF});
  // speed at the encoder's shapes (b32 s128: 4096 tokens; b32 s384: 12288) and the calibration square
  for (auto sh : std::vector<std::array<int, 3>>{{4096, 2304, 768}, {4096, 3072, 768}, {4096, 768, 3072}, {12288, 2304, 768}, {12288, 3072, 768}, {12288, 768, 3072}, {8192, 8192, 8192}, {32, 2048, 512}, {512, 31544, 512}}) {
    vs.push_back({sh[0], sh[1], sh[2], kNone, N0, H, H, true});
    vs.push_back({sh[0], sh[1], sh[2], kNone, N0, H, H});
    vs.push_back({sh[0], sh[1], sh[2], kOuterVec, N0, H, H});
    vs.push_back({sh[0], sh[1], sh[2], kAlphaDevice, N0, H, H});
  }
  float* sc; CK(cudaMalloc(&sc, 65536 * 4));
  std::vector<float> hsc(65536); for (int i = 0; i < 65536; ++i) hsc[i] = 0.25f + (i % 7) / 16.0f;
  CK(cudaMemcpy(sc, hsc.data(), 65536 * 4, cudaMemcpyHostToDevice));
  float* va; CK(cudaMalloc(&va, 65536 * 4)); float* vb; CK(cudaMalloc(&vb, 65536 * 4));
  std::vector<float> hva(65536), hvb(65536);
  for (int i = 0; i < 65536; ++i) { hva[i] = 0.5f + (i % 5) / 8.0f; hvb[i] = 0.75f + (i % 3) / 8.0f; }
  CK(cudaMemcpy(va, hva.data(), 65536 * 4, cudaMemcpyHostToDevice)); CK(cudaMemcpy(vb, hvb.data(), 65536 * 4, cudaMemcpyHostToDevice));
  for (const V& v : vs) {
    const size_t M = v.m, N = v.n, K = v.k;
    const cudaDataType_t in = v.fp16 ? H : F8; const size_t isz = tsize(in);
    std::vector<unsigned char> ha(M * K * isz), hw(N * K * isz);
    srand(1);
    auto gen = [&](std::vector<unsigned char>& h) {
      if (v.fp16) { auto* p = (__half*)h.data(); for (size_t i = 0; i < h.size() / 2; ++i) p[i] = __float2half((rand() % 2001 - 1000) / 500.0f); }
      else for (auto& x : h) { do { x = rand() & 0xff; } while ((x & 0x7f) == 0x7f || (x & 0x78) > 0x40); }
    };
    gen(ha); gen(hw);
    void *a, *w, *c, *d, *bias; float* amax;
    CK(cudaMalloc(&a, ha.size())); CK(cudaMalloc(&w, hw.size())); CK(cudaMalloc(&c, M * N * tsize(v.c))); CK(cudaMalloc(&d, M * N * tsize(v.d)));
    CK(cudaMalloc(&bias, N * 4)); CK(cudaMemset(bias, 0, N * 4)); CK(cudaMalloc(&amax, 4));
    CK(cudaMemcpy(a, ha.data(), ha.size(), cudaMemcpyHostToDevice)); CK(cudaMemcpy(w, hw.data(), hw.size(), cudaMemcpyHostToDevice));
    cublasLtMatmulDesc_t desc; cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F);
    cublasOperation_t t = CUBLAS_OP_T, nn = CUBLAS_OP_N;
    cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof(t));
    cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &nn, sizeof(nn));
    cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &v.epi, sizeof(v.epi));
    if (v.epi != N0) cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias));
    const float *sa = sc, *sb = sc + 2;
    auto setp = [&](cublasLtMatmulDescAttributes_t at, const void* p) { return cublasLtMatmulDescSetAttribute(desc, at, &p, sizeof(p)); };
    cublasStatus_t set_status = CUBLAS_STATUS_SUCCESS;
    const void* alpha_ptr = nullptr; float alpha_host = 1.0f, beta_host = 0.0f; const void* beta_ptr = &beta_host;
    auto mode = [&](cublasLtMatmulDescAttributes_t at, cublasLtMatmulMatrixScale_t m) { return cublasLtMatmulDescSetAttribute(desc, at, &m, sizeof(m)); };
    switch (v.scale) {
      case kScalar: setp(CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, sa); setp(CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, sb); break;
      case kScalarExplicit: mode(CUBLASLT_MATMUL_DESC_A_SCALE_MODE, CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F); mode(CUBLASLT_MATMUL_DESC_B_SCALE_MODE, CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F);
        setp(CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, sa); setp(CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, sb); break;
      case kOnlyA: setp(CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, sa); break;
      case kOnlyB: setp(CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, sb); break;
      case kOuterVec: set_status = mode(CUBLASLT_MATMUL_DESC_A_SCALE_MODE, CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F);
        mode(CUBLASLT_MATMUL_DESC_B_SCALE_MODE, CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F);
        setp(CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, va); setp(CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, vb); break;
      case kOuterA: set_status = mode(CUBLASLT_MATMUL_DESC_A_SCALE_MODE, CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F);
        setp(CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, va); setp(CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, sb); break;
      case kAlphaDevice: { cublasLtPointerMode_t pm = CUBLASLT_POINTER_MODE_DEVICE; set_status = cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_POINTER_MODE, &pm, sizeof(pm));
        alpha_ptr = sc + 1; beta_ptr = sc + 8; CK(cudaMemset(sc + 8, 0, 4)); break; }
      case kAlphaVector: { cublasLtPointerMode_t pm = CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_ZERO; set_status = cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_POINTER_MODE, &pm, sizeof(pm));
        alpha_ptr = va; beta_ptr = nullptr; break; }
      default: break;
    }
    if (v.d == F8) { setp(CUBLASLT_MATMUL_DESC_C_SCALE_POINTER, sc); setp(CUBLASLT_MATMUL_DESC_D_SCALE_POINTER, sc); setp(CUBLASLT_MATMUL_DESC_AMAX_D_POINTER, amax); }
    cublasLtMatrixLayout_t la, lb, lc, ld;
    cublasLtMatrixLayoutCreate(&la, in, K, N, K); cublasLtMatrixLayoutCreate(&lb, in, K, M, K);
    cublasLtMatrixLayoutCreate(&lc, v.c, N, M, N); cublasLtMatrixLayoutCreate(&ld, v.d, N, M, N);
    cublasLtMatmulPreference_t pref; cublasLtMatmulPreferenceCreate(&pref);
    uint64_t wsz = ws_bytes; cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsz, sizeof(wsz));
    cublasLtMatmulHeuristicResult_t res[4] = {}; int got = 0;
    cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(lt, desc, la, lb, lc, ld, pref, 4, res, &got);
    char label[160];
    snprintf(label, sizeof label, "%s m%zu n%zu k%zu scale=%s epi=%d C=%d D=%d", v.fp16 ? "FP16" : "e4m3", M, N, K, scale_name[v.scale], (int)v.epi, (int)v.c, (int)v.d);
    if (set_status || hs || got == 0) { printf("[%s] set %s heuristic %s got %d\n", label, cublasLtGetStatusName(set_status), cublasLtGetStatusName(hs), got); }
    const void* alpha = alpha_ptr ? alpha_ptr : &alpha_host;
    bool done = false;
    for (int i = 0; i < got && !done; ++i) {
      cublasStatus_t st = cublasLtMatmul(lt, desc, alpha, w, la, a, lb, beta_ptr, c, lc, d, ld, &res[i].algo, ws, ws_bytes, 0);
      cudaError_t ce = cudaDeviceSynchronize();
      if (ce) { printf("[%s] cuda error %s\n", label, cudaGetErrorString(ce)); return 1; }
      if (st) { if (i == got - 1) printf("[%s] matmul %s on all %d algos\n", label, cublasLtGetStatusName(st), got); continue; }
      done = true;
      std::vector<unsigned char> hd(M * N * tsize(v.d)); CK(cudaMemcpy(hd.data(), d, hd.size(), cudaMemcpyDeviceToHost));
      double num = 0, den = 0;
      for (size_t r = 0; r < M; r += std::max<size_t>(1, M / 61)) for (size_t col = 0; col < N; col += std::max<size_t>(1, N / 53)) {
        double ref = 0; for (size_t kk = 0; kk < K; ++kk) ref += (double)to_f(ha.data(), in, r * K + kk) * to_f(hw.data(), in, col * K + kk);
        switch (v.scale) {
          case kScalar: case kScalarExplicit: ref *= hsc[0] * hsc[2]; break;
          case kOnlyA: ref *= hsc[0]; break; case kOnlyB: ref *= hsc[2]; break;
          case kOuterVec: ref *= hva[col] * hvb[r]; break; case kOuterA: ref *= hva[col] * hsc[2]; break;
          case kAlphaDevice: ref *= hsc[1]; break; case kAlphaVector: ref *= hva[col]; break; default: break;
        }
        if (v.epi == G) ref = 0.5 * ref * (1 + std::tanh(0.7978845608 * (ref + 0.044715 * ref * ref * ref)));
        if (v.epi == R) ref = std::max(ref, 0.0);
        if (v.d == F8) ref *= hsc[0];
        double g = to_f(hd.data(), v.d, r * N + col); num += (g - ref) * (g - ref); den += ref * ref;
      }
      cudaEvent_t e0, e1; cudaEventCreate(&e0); cudaEventCreate(&e1);
      for (int r = 0; r < 5; ++r) cublasLtMatmul(lt, desc, alpha, w, la, a, lb, beta_ptr, c, lc, d, ld, &res[i].algo, ws, ws_bytes, 0);
      const int reps = M * N * K > (1ull << 36) ? 20 : 100;
      cudaEventRecord(e0); for (int r = 0; r < reps; ++r) cublasLtMatmul(lt, desc, alpha, w, la, a, lb, beta_ptr, c, lc, d, ld, &res[i].algo, ws, ws_bytes, 0);
      cudaEventRecord(e1); cudaEventSynchronize(e1); float ms; cudaEventElapsedTime(&ms, e0, e1); ms /= reps;
      printf("[%s] OK algo#%d relL2 %.2e  %.2f us  %.0f TFLOP/s\n", label, i, std::sqrt(num / std::max(den, 1e-30)), ms * 1e3, 2.0 * M * N * K / ms / 1e9);
    }
    cublasLtMatmulPreferenceDestroy(pref); for (auto l : {la, lb, lc, ld}) cublasLtMatrixLayoutDestroy(l); cublasLtMatmulDescDestroy(desc);
    for (void* p : {a, w, c, d, bias, (void*)amax}) cudaFree(p);
  }
  return 0;
}
