// Radix-2 number-theoretic transform over Fr (Montgomery form), natural order in and out.
#pragma once
#include <vector>
#include "field.hpp"
#include "parallel.hpp"

namespace bn254 {

constexpr int FR_TWO_ADICITY = 28;

// Primitive 2^log-th root of unity: 5^((r-1)/2^log), the same roots ffjavascript/snarkjs use (Fr.w[log]).
inline Fr rootOfUnity(int log) {
  // 5^((r-1)/2^28) in Montgomery form
  Fr w = Fr{{0x636e735580d13d9cULL, 0xa22bf3742445ffd6ULL, 0x56452ac01eb203d8ULL, 0x1860ef942963f9e7ULL}};
  for (int i = FR_TWO_ADICITY; i > log; i--) w = w.sqr();
  return w;
}

inline Fr frFromU64(u64 x) {
  Fr t{{x, 0, 0, 0}};
  return Fr::fromNormal(t);
}

inline Fr powU64(const Fr& b, u64 e) {
  Fr r = Fr::one(), x = b;
  while (e) {
    if (e & 1) r *= x;
    x = x.sqr();
    e >>= 1;
  }
  return r;
}

inline void bitReverse(Fr* a, size_t n) {
  int log = 0;
  while (((size_t)1 << log) < n) log++;
  for (size_t i = 0; i < n; i++) {
    size_t j = 0;
    for (int b = 0; b < log; b++) j |= ((i >> b) & 1) << (log - 1 - b);
    if (i < j) std::swap(a[i], a[j]);
  }
}

// Powers w^0 .. w^(m-1)
inline std::vector<Fr> powers(const Fr& w, size_t m, int nThreads) {
  std::vector<Fr> p(m);
  parallelRange(m, nThreads, [&](size_t b, size_t e) {
    Fr x = powU64(w, b);
    for (size_t i = b; i < e; i++) { p[i] = x; x *= w; }
  });
  return p;
}

// In place: a[k] <- sum_j a[j] w^(jk), w a primitive n-th root of unity, n a power of two.
inline void ntt(Fr* a, size_t n, const Fr& w, int nThreads) {
  if (n <= 1) return;
  bitReverse(a, n);
  std::vector<Fr> tw = powers(w, n / 2, nThreads);
  // small stages: blocks are small, parallelise over blocks; large stages: over butterflies
  for (size_t len = 2; len <= n; len <<= 1) {
    const size_t half = len >> 1, step = n / len;
    parallelRange(n / 2, nThreads, [&](size_t b, size_t e) {
      for (size_t k = b; k < e; k++) {
        size_t blk = k / half, j = k - blk * half;
        size_t i0 = blk * len + j, i1 = i0 + half;
        Fr v = a[i1] * tw[j * step];
        Fr u = a[i0];
        a[i0] = u + v;
        a[i1] = u - v;
      }
    }, 1 << 14);
  }
}

// Inverse transform without the 1/n factor.
inline void inttUnscaled(Fr* a, size_t n, const Fr& w, int nThreads) { ntt(a, n, w.inv(), nThreads); }

inline void intt(Fr* a, size_t n, const Fr& w, int nThreads) {
  inttUnscaled(a, n, w, nThreads);
  Fr ninv = frFromU64(n).inv();
  parallelRange(n, nThreads, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; i++) a[i] *= ninv;
  });
}

}  // namespace bn254
