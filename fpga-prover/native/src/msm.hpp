// Multi-scalar multiplication sum_i k_i * P_i (Pippenger, signed-digit windows).
// Scalars are normal (non-Montgomery) little-endian 256-bit integers below 2^254; points are affine.
#pragma once
#include <cmath>
#include <vector>
#include "curve.hpp"
#include "parallel.hpp"

namespace bn254 {

struct Scalar {
  u64 v[4];
};

// Window size minimising (windows) * (n bucket additions + 2^c bucket-reduction additions).
inline int chooseWindow(size_t n) {
  if (n < 32) return 3;
  int best = 2;
  double bestCost = 1e300;
  for (int c = 2; c <= 20; c++) {
    int nw = (255 + c - 1) / c;
    double cost = (double)nw * ((double)n + 2.0 * std::ldexp(1.0, c - 1) * 1.3);
    if (cost < bestCost) { bestCost = cost; best = c; }
  }
  return best;
}

// Signed digits of all scalars, window-major: digits[w * n + i] in [-2^(c-1), 2^(c-1)].
inline std::vector<int32_t> signedDigits(const Scalar* sc, size_t n, int c, int nw, int nThreads) {
  std::vector<int32_t> d((size_t)nw * n);
  const u64 mask = (1ULL << c) - 1;
  const int64_t half = 1LL << (c - 1);
  parallelRange(n, nThreads, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; i++) {
      const u64* k = sc[i].v;
      int64_t carry = 0;
      for (int w = 0; w < nw; w++) {
        int bit = w * c;
        int limb = bit >> 6, off = bit & 63;
        u64 bits = 0;
        if (limb < 4) {
          bits = k[limb] >> off;
          if (off + c > 64 && limb + 1 < 4) bits |= k[limb + 1] << (64 - off);
        }
        int64_t dig = (int64_t)(bits & mask) + carry;
        if (dig > half) { dig -= (int64_t)1 << c; carry = 1; } else carry = 0;
        d[(size_t)w * n + i] = (int32_t)dig;
      }
    }
  });
  return d;
}

// One window with Jacobian buckets and mixed additions.
template <class F>
Jacobian<F> windowSumJacobian(const Affine<F>* pts, const int32_t* dig, size_t n, int c) {
  const size_t nb = (size_t)1 << (c - 1);
  std::vector<Jacobian<F>> buckets(nb, Jacobian<F>::inf());
  for (size_t i = 0; i < n; i++) {
    int32_t d = dig[i];
    if (d > 0) buckets[d - 1] = madd(buckets[d - 1], pts[i]);
    else if (d < 0) buckets[-d - 1] = madd(buckets[-d - 1], pts[i].neg());
  }
  Jacobian<F> running = Jacobian<F>::inf(), sum = Jacobian<F>::inf();
  for (size_t j = nb; j-- > 0;) {
    running = add(running, buckets[j]);
    sum = add(sum, running);
  }
  return sum;
}

template <class F>
Jacobian<F> combineWindows(const std::vector<Jacobian<F>>& win, int c) {
  Jacobian<F> r = Jacobian<F>::inf();
  for (size_t w = win.size(); w-- > 0;) {
    for (int k = 0; k < c; k++) r = dbl(r);
    r = add(r, win[w]);
  }
  return r;
}

template <class F, class WindowFn>
Jacobian<F> msmWith(const Affine<F>* pts, const Scalar* sc, size_t n, int nThreads, int c, WindowFn windowFn) {
  if (n == 0) return Jacobian<F>::inf();
  if (c <= 0) c = chooseWindow(n);
  int nw = (255 + c - 1) / c;
  std::vector<int32_t> digits = signedDigits(sc, n, c, nw, nThreads);
  std::vector<Jacobian<F>> win(nw);
  // the top windows are the sparsest: schedule them last
  parallelFor((size_t)nw, nThreads, [&](size_t w) { win[w] = windowFn(pts, digits.data() + w * n, n, c); });
  return combineWindows(win, c);
}

template <class F>
Jacobian<F> msmJacobian(const Affine<F>* pts, const Scalar* sc, size_t n, int nThreads, int c = 0) {
  return msmWith<F>(pts, sc, n, nThreads, c, windowSumJacobian<F>);
}

}  // namespace bn254
