// Grid barrier cost on this GPU (issue 20's persistent step kernel; NOTES.md, decoder version 6):
// cooperative groups' grid.sync against a hand-rolled atomic barrier, one and two blocks per SM of 128
// to 512 threads, launched cooperatively (1 and 1001 barriers a launch: the difference over 1000 is one
// barrier), and whether a cooperative kernel can be captured in a CUDA graph (10 nodes, replayed).
//   nvcc -std=c++17 -O3 -arch=sm_90 -o /tmp/grid_barrier native/bench/grid_barrier_bench.cu && /tmp/grid_barrier
#include <cooperative_groups.h>
#include <cstdio>
namespace cg = cooperative_groups;
__global__ void cg_sync(int n, float* sink) {
  cg::grid_group g = cg::this_grid();
  float acc = threadIdx.x;
  for (int i = 0; i < n; ++i) { acc = acc * 1.0001f + 1.0f; g.sync(); }
  if (acc == 12345.f) sink[0] = acc;
}
__device__ unsigned int g_count, g_gen;
__global__ void atomic_sync(int n, float* sink) {
  float acc = threadIdx.x;
  for (int i = 0; i < n; ++i) {
    acc = acc * 1.0001f + 1.0f;
    __syncthreads();
    if (threadIdx.x == 0) {
      volatile unsigned int* gen = &g_gen;
      const unsigned int my = *gen;
      __threadfence();
      if (atomicAdd(&g_count, 1) == gridDim.x - 1) { g_count = 0; __threadfence(); atomicAdd(&g_gen, 1); }
      else { while (*gen == my) { } }
      __threadfence();
    }
    __syncthreads();
  }
  if (acc == 12345.f) sink[0] = acc;
}
int main() {
  int sms; cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0);
  float* sink; cudaMalloc(&sink, 4);
  cudaStream_t s; cudaStreamCreate(&s);
  cudaEvent_t e0, e1; cudaEventCreate(&e0); cudaEventCreate(&e1);
  for (int per_sm : {1, 2}) for (int threads : {128, 256, 512}) for (int kind = 0; kind < 2; ++kind) {
    const int blocks = sms * per_sm;
    float ms[2];
    for (int n_idx = 0; n_idx < 2; ++n_idx) {
      int n = n_idx == 0 ? 1 : 1001;
      void* args[] = {&n, &sink};
      auto launch = [&] {
        if (kind == 0) cudaLaunchCooperativeKernel((void*)cg_sync, blocks, threads, args, 0, s);
        else cudaLaunchCooperativeKernel((void*)atomic_sync, blocks, threads, args, 0, s);
      };
      for (int w = 0; w < 3; ++w) launch();
      cudaEventRecord(e0, s); for (int r = 0; r < 20; ++r) launch(); cudaEventRecord(e1, s); cudaEventSynchronize(e1);
      cudaEventElapsedTime(&ms[n_idx], e0, e1); ms[n_idx] /= 20;
    }
    cudaError_t err = cudaGetLastError();
    printf("%-11s %3d blocks x %3d threads: launch+1 barrier %.2f us, per barrier %.3f us %s\n", kind ? "atomic" : "cg grid", blocks, threads,
           ms[0] * 1e3, (ms[1] - ms[0]) * 1e3 / 1000, cudaGetErrorString(err));
  }
  // inside a graph: 10 cooperative launches of 1 barrier each, captured
  {
    int n = 1; void* args[] = {&n, &sink};
    cudaGraph_t g; cudaGraphExec_t ge;
    cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal);
    for (int i = 0; i < 10; ++i) cudaLaunchCooperativeKernel((void*)cg_sync, sms, 256, args, 0, s);
    cudaError_t ce = cudaStreamEndCapture(s, &g);
    printf("capture cooperative: %s\n", cudaGetErrorString(ce));
    if (ce == cudaSuccess && cudaGraphInstantiate(&ge, g, 0) == cudaSuccess) {
      for (int w = 0; w < 3; ++w) cudaGraphLaunch(ge, s);
      float ms; cudaEventRecord(e0, s); for (int r = 0; r < 50; ++r) cudaGraphLaunch(ge, s); cudaEventRecord(e1, s); cudaEventSynchronize(e1);
      cudaEventElapsedTime(&ms, e0, e1); printf("graph of 10 cooperative kernels: %.2f us per kernel %s\n", ms * 1e3 / 500, cudaGetErrorString(cudaGetLastError()));
    }
  }
  return 0;
}
