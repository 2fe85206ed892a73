// Multi-scalar multiplication sum_i k_i * P_i on Baby Jubjub (Pippenger with signed-digit windows, the
// digit recoding and window choice of msm.hpp; extended-coordinate buckets with mixed additions).
// Scalars are normal little-endian integers below 2^254; windows run in parallel. babyJubMsm uses the
// AVX-512 IFMA version (babyjub_msm_ifma.hpp: 8 windows at once) where it is built in, else the scalar one.
#pragma once
#include <vector>
#include "babyjub.hpp"
#include "babyjub_msm_ifma.hpp"
#include "msm.hpp"
#include "parallel.hpp"

namespace bn254 {

inline EdExt babyJubMsmScalar(const BabyJub& bj, const EdPre* pts, const Scalar* sc, size_t n, int nThreads, int c = 0) {
  if (n == 0) return EdExt::identity();
  if (c <= 0) c = chooseWindow(n);
  const int nw = (255 + c - 1) / c;
  std::vector<int32_t> digits = signedDigits(sc, n, c, nw, 1);
  std::vector<EdExt> win(nw);
  parallelFor((size_t)nw, nThreads, [&](size_t w) {
    const int32_t* dig = digits.data() + w * n;
    const size_t nb = (size_t)1 << (c - 1);
    std::vector<EdExt> buckets(nb, EdExt::identity());
    std::vector<bool> used(nb, false);
    for (size_t i = 0; i < n; i++) {
      int32_t d = dig[i];
      if (d == 0) continue;
      size_t b = (size_t)(d > 0 ? d : -d) - 1;
      buckets[b] = bj.madd(buckets[b], d > 0 ? pts[i] : pts[i].neg());
      used[b] = true;
    }
    EdExt running = EdExt::identity(), sum = EdExt::identity();
    bool any = false;
    for (size_t j = nb; j-- > 0;) {
      if (used[j]) {
        running = any ? bj.add(running, buckets[j]) : buckets[j];
        any = true;
      }
      if (any) sum = bj.add(sum, running);
    }
    win[w] = sum;
  });
  EdExt r = win[nw - 1];
  for (int w = nw - 1; w-- > 0;) {
    for (int k = 0; k < c; k++) r = bj.dbl(r);
    r = bj.add(r, win[w]);
  }
  return r;
}

// sum_i sc[i] * pts[i]: the IFMA lanes from 2 points on (faster than the scalar Pippenger there on this
// machine's Zen 5: 195 vs 473 us at 97 points, 407 vs 945 us at 273), else babyJubMsmScalar.
inline EdExt babyJubMsm(const BabyJub& bj, const EdPre* pts, const Scalar* sc, size_t n, int nThreads) {
#if BN254_FR_IFMA
  if (n >= 2) return babyJubMsmIfma(bj, pts, sc, n, nThreads);
#endif
  return babyJubMsmScalar(bj, pts, sc, n, nThreads);
}

}  // namespace bn254
