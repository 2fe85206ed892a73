#pragma once
#include <atomic>
#include <functional>
#include <thread>
#include <vector>

namespace bn254 {

inline int defaultThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : (int)n;
}

// Runs fn(i) for i in [0, nTasks) on up to nThreads threads (the caller's thread included), tasks taken in order.
inline void parallelFor(size_t nTasks, int nThreads, const std::function<void(size_t)>& fn) {
  if (nThreads <= 1 || nTasks <= 1) {
    for (size_t i = 0; i < nTasks; i++) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  auto worker = [&]() {
    for (;;) {
      size_t i = next.fetch_add(1);
      if (i >= nTasks) return;
      fn(i);
    }
  };
  size_t nt = std::min<size_t>((size_t)nThreads, nTasks);
  std::vector<std::thread> ts;
  for (size_t t = 1; t < nt; t++) ts.emplace_back(worker);
  worker();
  for (auto& t : ts) t.join();
}

// Splits [0, n) into about nThreads contiguous ranges and runs fn(begin, end) on each in parallel.
inline void parallelRange(size_t n, int nThreads, const std::function<void(size_t, size_t)>& fn, size_t minChunk = 1024) {
  size_t nt = (size_t)std::max(1, nThreads);
  if (n < minChunk * 2) nt = 1;
  size_t chunk = (n + nt - 1) / nt;
  parallelFor(nt, (int)nt, [&](size_t t) {
    size_t b = t * chunk, e = std::min(n, b + chunk);
    if (b < e) fn(b, e);
  });
}

}  // namespace bn254
