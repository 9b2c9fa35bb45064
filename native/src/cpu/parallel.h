// Splitting pure, independent work over the host's threads. Results never depend on the split:
// every output element is computed by exactly one thread in the same order as serially.
#pragma once
#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

namespace ftb::cpu {

// Calls body(begin, end) on contiguous chunks covering [0, count), at most one chunk per hardware
// thread and none smaller than `min_chunk` items (thread start-up costs tens of microseconds).
template <typename Body>
void parallel_for(size_t count, size_t min_chunk, const Body& body) {
  const size_t hardware = std::max(1u, std::thread::hardware_concurrency());
  const size_t threads = std::max<size_t>(1, std::min(hardware, count / std::max<size_t>(min_chunk, 1)));
  const size_t chunk = (count + threads - 1) / threads;
  std::vector<std::thread> workers;
  for (size_t t = 1; t < threads; ++t) {
    workers.emplace_back(body, std::min(count, t * chunk), std::min(count, (t + 1) * chunk));
  }
  body(0, std::min(count, chunk));
  for (std::thread& worker : workers) worker.join();
}

}  // namespace ftb::cpu
