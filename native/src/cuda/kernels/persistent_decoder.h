// The decoder layer stack of one step as one cooperative kernel (issue 20: the step at small batch is
// a chain of ≈ 60 kernels whose fixed costs, not their work, set its time). One block per SM runs
// every stage of every layer, a grid barrier between stages:
//   per layer: LN + QKV | self-attention | self-out | residual + LN + cross-q | cross-attention |
//              cross-out | residual + LN + FFN1 (bias, ReLU) | FFN2; then residual + final LN (or +x).
// The GEMMs (rows ≤ 32, so [rows, k] x [k, n] is a weight stream) run on mma.sync m16n8k16 with the
// weight as the A operand, pre-packed so that each lane's fragment of a 16 x 16 tile is one 16-byte
// load; a block owns 16 output columns and all of k (its warps split k, summed in shared memory in a
// fixed order), and copies the next GEMM's weight tile into its other buffer (cp.async) while the
// current stage runs, so the weight latency overlaps a stage and a barrier. The LayerNorms ride in the
// GEMM prologues: every block normalises the few rows itself (a warp a row, the layernorm kernel's
// lane assignment and order), and block 0 stores the residual sum (into the other of two x buffers:
// the others still read the old one). Self-attention is the warp-per-(row, head) routine of the wide
// kernels (decoder_attention_warp.cuh); cross-attention takes a block per (row, head), its warps
// splitting the memory keys. What is computed is the fused stack's (native/MODEL.md, "Decoder"); only
// the order of the GEMMs' fp32 sums over k and of cross-attention's Σp and p·V over the keys differs.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>

#include "cuda/dtype.h"

namespace ftb::cuda {

constexpr int kPersistentMaxLayers = 16;
constexpr int kPersistentMaxRows = 32;

// One layer's tensors. GEMM weights are in the packed layout of pack_persistent_weight; the others as
// the fused stack keeps them (storage type T).
struct PersistentLayer {
  const void* qkv_w;
  const void* self_out_w;
  const void* cross_q_w;
  const void* cross_out_w;
  const void* ffn1_w;
  const void* ffn2_w;
  const void* qkv_b;
  const void* self_out_b;
  const void* cross_q_b;
  const void* cross_out_b;
  const void* ffn1_b;
  const void* ffn2_b;
  const void* ln_gamma[3];  // self, cross, ffn
  const void* ln_beta[3];
  void* k_cache;  // this layer's, FasterTransformer's layouts (decoder_attention.h)
  void* v_cache;
  const void* memory_kv;  // [batch, mem_len, 2h]
};

struct PersistentDecoderArgs {
  int layers, rows, beam, heads, head_size, hidden, inter, cache_len, mem_len;
  float eps;
  const int* step;            // the device step counter
  const int* cache_indir;     // null: rows never reorder
  const int* memory_lengths;  // [batch]
  void* x;                    // [rows, h], the residual stream, in place
  void* x_alt;                // [rows, h], the other residual buffer
  void* qkv;                  // [rows, 3h]
  void* ctx;                  // [rows, h]
  void* query;                // [rows, h]
  void* projected;            // [rows, h]
  void* inter_buf;            // [rows, inter]
  // The final LayerNorm into final_out (x is then left holding an earlier residual sum, which of them
  // depending on the layer count: the decoding re-embeds x before reading it), or, with final_out null,
  // x = x + FFN2 + bias.
  const void* final_gamma;
  const void* final_beta;
  void* final_out;
  // Profiling (native/bench/persistent_decoder_bench.cu), null otherwise: block 0's clock64 at the
  // start, after each grid barrier and at the end (8·layers + 2 values), and in each GEMM stage (6 a
  // layer) once its input and weights have landed, after the LayerNorm and after the GEMM (3 each).
  long long* stage_clocks;
  long long* gemm_clocks;
  PersistentLayer layer[kPersistentMaxLayers];
};

// Whether the persistent kernel takes this shape on the current device (type, rows, sizes, shared
// memory, cooperative launch) — not whether it pays: decoder_stack.cc decides that.
bool persistent_decoder_supported(DType dtype, int layers, int rows, int heads, int head_size, int hidden, int inter,
                                  int cache_len, int mem_len);
// Bytes of a packed [k, n] weight (the same as the plain one).
size_t persistent_weight_bytes(DType dtype, int k, int n);
// Packs w [k, n] (row-major, storage type) into `packed`: for each 16-column tile, for each 16-deep k
// tile, the 32 lanes' A fragments of mma.m16n8k16 (W transposed), 16 bytes a lane.
void pack_persistent_weight(DType dtype, const void* w, int k, int n, void* packed, cudaStream_t stream);
// One step of the stack (cooperative launch; capturable in a graph).
void persistent_decoder_step(DType dtype, const PersistentDecoderArgs& args, cudaStream_t stream);

}  // namespace ftb::cuda
