// Block-wide selection shared by beam search and sampling. A candidate is a 64-bit key: the score's
// bits made order-preserving in the high word and the complemented id in the low word, so a larger
// key ranks first, ties going to the lower id (native/MODEL.md) and every key being distinct.
#pragma once
#include <cmath>
#include <cstdint>

namespace ftb::cuda {

__device__ __forceinline__ uint64_t ranked_key(float score, int id) {
  const uint32_t bits = __float_as_uint(score);
  const uint32_t ordered = (bits & 0x80000000u) != 0 ? ~bits : bits | 0x80000000u;
  return (static_cast<uint64_t>(ordered) << 32) | (0xFFFFFFFFu - static_cast<uint32_t>(id));
}

__device__ __forceinline__ float key_score(uint64_t key) {
  const uint32_t ordered = static_cast<uint32_t>(key >> 32);
  return __uint_as_float((ordered & 0x80000000u) != 0 ? ordered & 0x7FFFFFFFu : ~ordered);
}

__device__ __forceinline__ int key_id(uint64_t key) {
  return static_cast<int>(0xFFFFFFFFu - static_cast<uint32_t>(key));
}

struct SelectShared {
  unsigned int histogram[256];
  uint64_t prefix;
  unsigned int remaining;
};

// The rank-th largest (0-based, rank < n) of the keys key(0..n-1): a radix select, 8 bits per pass
// from the top, counting with one shared-memory atomic per distinct digit of a warp. Every thread of
// the block must call it; all get the result.
template <typename KeyFn>
__device__ uint64_t block_select(int n, int rank, KeyFn key, SelectShared& shared) {
  const int lane = threadIdx.x & 31;
  uint64_t prefix = 0;
  unsigned int remaining = static_cast<unsigned int>(rank);
  for (int shift = 56; shift >= 0; shift -= 8) {
    for (int i = threadIdx.x; i < 256; i += blockDim.x) shared.histogram[i] = 0;
    __syncthreads();
    const uint64_t high = shift == 56 ? 0 : ~0ull << (shift + 8);
    for (int base = threadIdx.x - lane; base < n; base += blockDim.x) {
      const int i = base + lane;
      int digit = 256;  // not a candidate of this pass
      if (i < n) {
        const uint64_t k = key(i);
        if ((k & high) == prefix) digit = static_cast<int>((k >> shift) & 255);
      }
      const unsigned int peers = __match_any_sync(0xffffffffu, digit);
      if (digit < 256 && lane == __ffs(peers) - 1) atomicAdd(&shared.histogram[digit], __popc(peers));
    }
    __syncthreads();
    if (threadIdx.x < 32) {
      // Lane L owns digits 255 - 8L down to 248 - 8L: a scan in descending digit order.
      unsigned int counts[8], total = 0;
#pragma unroll
      for (int j = 0; j < 8; ++j) total += counts[j] = shared.histogram[255 - 8 * lane - j];
      unsigned int inclusive = total;
#pragma unroll
      for (int offset = 1; offset < 32; offset <<= 1) {
        const unsigned int before = __shfl_up_sync(0xffffffffu, inclusive, offset);
        if (lane >= offset) inclusive += before;
      }
      unsigned int below = inclusive - total;
      if (below <= remaining && remaining < inclusive) {
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          if (remaining < below + counts[j]) {
            shared.prefix = prefix | (static_cast<uint64_t>(255 - 8 * lane - j) << shift);
            shared.remaining = remaining - below;
            break;
          }
          below += counts[j];
        }
      }
    }
    __syncthreads();
    prefix = shared.prefix;
    remaining = shared.remaining;
  }
  return prefix;
}

// The K largest keys a thread has seen, descending, in registers (K a compile-time constant, so every
// index is static); 0 marks an empty slot: every ranked_key is above it, even a -inf score's.
template <int K>
struct TopList {
  uint64_t keys[K];

  __device__ TopList() {
#pragma unroll
    for (int k = 0; k < K; ++k) keys[k] = 0;
  }
  __device__ void insert(uint64_t key) {
    if (key <= keys[K - 1]) return;
    // Top down, each slot takes its upper neighbour (if the key passes it), the key, or stays.
#pragma unroll
    for (int k = K - 1; k > 0; --k) keys[k] = key > keys[k - 1] ? keys[k - 1] : (key > keys[k] ? key : keys[k]);
    keys[0] = key > keys[0] ? key : keys[0];
  }
  // The warp's K largest keys over all its lanes' lists, descending, to every lane; the lists are
  // consumed. K rounds: the warp max of the lists' heads, popped from the one lane holding it (keys are
  // distinct; empty slots, 0, may pop from several lanes, harmlessly).
  __device__ void warp_best(uint64_t (&best)[K]) {
#pragma unroll
    for (int round = 0; round < K; ++round) {
      uint64_t top = keys[0];
#pragma unroll
      for (int offset = 16; offset > 0; offset >>= 1) {
        const uint64_t other = __shfl_xor_sync(0xffffffffu, top, offset);
        top = other > top ? other : top;
      }
      best[round] = top;
      if (keys[0] == top) {
#pragma unroll
        for (int k = 0; k + 1 < K; ++k) keys[k] = keys[k + 1];
        keys[K - 1] = 0;
      }
    }
  }
};

// The rank-th largest (0-based) of the warp's 32 keys, to every lane: a bitonic sort across the lanes,
// descending, then lane `rank`'s key.
__device__ __forceinline__ uint64_t warp_kth_largest(uint64_t key, int rank) {
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int size = 2; size <= 32; size <<= 1) {
#pragma unroll
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      const uint64_t other = __shfl_xor_sync(0xffffffffu, key, stride);
      // Runs of `size` lanes alternate direction (the last run, all 32, descending); in a descending
      // run the lower lane of a pair keeps the larger key.
      const bool keep_larger = ((lane & stride) == 0) == ((lane & size) == 0);
      key = keep_larger == (other > key) ? other : key;
    }
  }
  return __shfl_sync(0xffffffffu, key, rank);
}

// The K largest keys a warp has been offered, descending, one a lane (lane k < K holds the k-th, the
// other lanes 0). The warp offers a key a lane at a time; only keys above `floor` go in, one insert
// (two shuffles) per such key. In random order a warp's list over n keys takes about K + K·ln(n / K)
// inserts, so a key costs a compare and a ballot, where a thread's TopList costs the whole warp an
// insert whenever any of its lanes inserts (most rounds, early on). `floor` is the list's K-th, or a
// higher key that K keys elsewhere are known to beat (raise: another warp's K-th): a key below it is in
// no top K of the union, so dropping it leaves that top K among the lists.
template <int K>
struct WarpTopList {
  static_assert(K <= 32, "a key a lane");
  uint64_t key = 0;    // this lane's slot
  uint64_t floor = 0;  // keys at or below it are dropped (0: the list is not full)
  // The floor's score (-inf while it is 0): a key above the floor has at least this score, so a warp
  // whose lanes hold no score >= it has nothing to offer and can skip forming keys (`worth_offering`).
  float floor_score = -INFINITY;

  __device__ void raise(uint64_t bound) {
    if (bound <= floor) return;
    floor = bound;
    floor_score = key_score(bound);
  }
  // Before the first offers (warp-wide, an empty list, a key > 0 a lane): the floor just below the K-th
  // largest of the lanes' keys. K keys of the warp (those lanes') reach it, so the list's K best are above
  // it; without it a warp's first vector would send every lane through an insert.
  __device__ void seed(uint64_t lane_key) { raise(warp_kth_largest(lane_key, K - 1) - 1); }
  // Whether any lane's `score` could enter the list (warp-wide).
  __device__ bool worth_offering(float score) const { return __any_sync(0xffffffffu, score >= floor_score); }

  // Every lane of the warp calls it; a lane with nothing to offer passes 0. The keys above the floor go
  // in one after another without re-reading the K-th between them (an insert of a key that an earlier
  // one pushed below the K-th changes nothing), so each insert waits on one shuffle, not three.
  __device__ void offer(uint64_t candidate) {
    const int lane = threadIdx.x & 31;
    unsigned int pending = __ballot_sync(0xffffffffu, candidate > floor);
    if (pending == 0) return;
    do {
      const uint64_t incoming = __shfl_sync(0xffffffffu, candidate, __ffs(pending) - 1);
      const uint64_t above = __shfl_up_sync(0xffffffffu, key, 1);
      // Slots holding more than `incoming` stay; the first one below takes it, the rest shift down.
      if (lane < K && incoming > key) key = lane == 0 || above > incoming ? incoming : above;
      pending &= pending - 1;
    } while (pending != 0);
    raise(__shfl_sync(0xffffffffu, key, K - 1));
  }
};

// The block's K largest keys over every thread's list (consumed), descending, in `best` of warp 0's
// lanes (the other warps' `best` hold their own warp's): each warp's K best, then warp 0's K best of
// those. `pool` is blockDim.x / 32 · K keys of shared memory; every thread calls it (one barrier, none
// after: a caller reusing `pool` must add one).
template <int K>
__device__ void block_best(TopList<K>& list, uint64_t* pool, uint64_t (&best)[K]) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  list.warp_best(best);
  if (lane == 0) {
#pragma unroll
    for (int k = 0; k < K; ++k) pool[warp * K + k] = best[k];
  }
  __syncthreads();
  if (warp != 0) return;
  TopList<K> merged;
  for (int i = lane; i < static_cast<int>(blockDim.x / 32) * K; i += 32) merged.insert(pool[i]);
  merged.warp_best(best);
}

// Sorts keys[0..n) descending in shared memory, n a power of two (bitonic network); the whole block calls it.
__device__ inline void block_sort_descending(uint64_t* keys, int n) {
  for (int size = 2; size <= n; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const int partner = i ^ stride;
        if (partner > i) {
          const bool descending = (i & size) == 0;
          const uint64_t a = keys[i], b = keys[partner];
          if ((a < b) == descending) {
            keys[i] = b;
            keys[partner] = a;
          }
        }
      }
      __syncthreads();
    }
  }
}

}  // namespace ftb::cuda
