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

inline void bitReverse(Fr* a, size_t n, int nThreads) {
  int log = 0;
  while (((size_t)1 << log) < n) log++;
  std::vector<uint32_t> rev(n, 0);
  for (size_t i = 1; i < n; i++) rev[i] = (uint32_t)((rev[i >> 1] >> 1) | ((i & 1) << (log - 1)));
  parallelRange(n, nThreads, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; i++)
      if (i < rev[i]) std::swap(a[i], a[rev[i]]);
  }, 1 << 14);
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

// Twiddles of every stage, contiguous per stage: t[half + j] = (w^(n/len))^j for len = 2*half = 2..n.
inline std::vector<Fr> stageTwiddles(const Fr& w, size_t n, int nThreads) {
  std::vector<Fr> t(n);
  std::vector<Fr> top = powers(w, n / 2, nThreads);
  std::copy(top.begin(), top.end(), t.begin() + n / 2);
  for (size_t half = n / 4; half >= 1; half >>= 1)
    for (size_t j = 0; j < half; j++) t[half + j] = t[2 * half + 2 * j];
  return t;
}

// Butterflies of a decimation-in-time transform whose input is already in bit-reversed order (natural
// order out); tw: stageTwiddles of the root.
inline void nttDitFromBitReversed(Fr* a, size_t n, const Fr* tw, int nThreads) {
  if (n <= 1) return;
  const size_t blk = std::min<size_t>(n, (size_t)1 << 12);
  parallelRange(n / blk, nThreads, [&](size_t b0, size_t b1) {
    for (size_t b = b0; b < b1; b++) {
      Fr* x = a + b * blk;
      for (size_t half = 1; half < blk; half <<= 1)
        for (size_t i = 0; i < blk; i += 2 * half)
          for (size_t j = 0; j < half; j++) {
            Fr v = x[i + j + half] * tw[half + j];
            Fr u = x[i + j];
            x[i + j] = u + v;
            x[i + j + half] = u - v;
          }
    }
  }, 1);
  for (size_t half = blk; half < n; half <<= 1) {
    parallelRange(n / 2, nThreads, [&](size_t b, size_t e) {
      for (size_t k = b; k < e; k++) {
        size_t blkIdx = k / half, j = k - blkIdx * half;
        size_t i0 = blkIdx * 2 * half + j, i1 = i0 + half;
        Fr v = a[i1] * tw[half + j];
        Fr u = a[i0];
        a[i0] = u + v;
        a[i1] = u - v;
      }
    }, 1 << 14);
  }
}

// In place: a[k] <- sum_j a[j] w^(jk), w a primitive n-th root of unity, n a power of two.
// Iterative radix-2 (bit reversal, then butterflies); the stages up to 2^12 points run block by block
// so that a block stays in cache, the larger stages split their butterflies over the threads.
inline void ntt(Fr* a, size_t n, const Fr& w, int nThreads) {
  if (n <= 1) return;
  bitReverse(a, n, nThreads);
  const std::vector<Fr> t = stageTwiddles(w, n, nThreads);
  const Fr* tw = t.data();
  nttDitFromBitReversed(a, n, tw, nThreads);
}

// Decimation-in-frequency transform: natural order in, bit-reversed order out (no permutation pass);
// tw: stageTwiddles of the root. The large stages split their butterflies over the threads, the stages
// below 2^12 points run block by block in cache.
inline void nttDifToBitReversed(Fr* a, size_t n, const Fr* tw, int nThreads) {
  if (n <= 1) return;
  const size_t blk = std::min<size_t>(n, (size_t)1 << 12);
  for (size_t half = n / 2; half >= blk; half >>= 1) {
    parallelRange(n / 2, nThreads, [&](size_t b, size_t e) {
      for (size_t k = b; k < e; k++) {
        size_t blkIdx = k / half, j = k - blkIdx * half;
        size_t i0 = blkIdx * 2 * half + j, i1 = i0 + half;
        Fr u = a[i0], v = a[i1];
        a[i0] = u + v;
        a[i1] = (u - v) * tw[half + j];
      }
    }, 1 << 14);
  }
  parallelRange(n / blk, nThreads, [&](size_t b0, size_t b1) {
    for (size_t b = b0; b < b1; b++) {
      Fr* x = a + b * blk;
      for (size_t half = blk / 2; half >= 1; half >>= 1)
        for (size_t i = 0; i < blk; i += 2 * half)
          for (size_t j = 0; j < half; j++) {
            Fr u = x[i + j], v = x[i + j + half];
            x[i + j] = u + v;
            x[i + j + half] = (u - v) * tw[half + j];
          }
    }
  }, 1);
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
