// Pippenger (G1 and G2) with batch-affine bucket accumulation: bucket additions are collected into batches
// whose slope denominators share one field inversion (Montgomery's trick). A bucket may appear once
// per batch; colliding additions wait for the next batch, and when too many wait (e.g. thousands of
// scalars equal to 1) they are folded into per-bucket Jacobian accumulators instead.
#pragma once
#include <cstdlib>
#include <vector>
#include "msm.hpp"

namespace bn254 {

template <class F>
Jacobian<F> windowSumBatchAffine(const Affine<F>* pts, const int32_t* dig, size_t n, int c) {
  const size_t nb = (size_t)1 << (c - 1);
  std::vector<Affine<F>> bk(nb);
  std::vector<uint8_t> has(nb, 0);
  std::vector<uint32_t> busy(nb, 0);
  std::vector<Jacobian<F>> overflow;  // allocated on first use
  uint32_t epoch = 1;
  const size_t B = std::max<size_t>(16, std::min<size_t>(2048, nb / 8));
  struct Item {
    uint32_t j, idx;
    bool neg;
  };
  std::vector<Item> batch, pending, pendingNext;
  batch.reserve(B);
  std::vector<F> den(B), pref(B);
  std::vector<uint8_t> kind(B);

  auto point = [&](const Item& it) { return it.neg ? Affine<F>{pts[it.idx].x, pts[it.idx].y.neg()} : pts[it.idx]; };
  // 0: placed in an empty bucket, 1: queued in the batch, 2: bucket busy in this batch
  auto tryPlace = [&](const Item& it) -> int {
    if (busy[it.j] == epoch) return 2;
    if (!has[it.j]) {
      bk[it.j] = point(it);
      has[it.j] = 1;
      return 0;
    }
    busy[it.j] = epoch;
    batch.push_back(it);
    return 1;
  };
  auto flush = [&]() {
    const size_t m = batch.size();
    if (m == 0) return;
    F acc = F::one();
    for (size_t k = 0; k < m; k++) {
      const Affine<F>& q = bk[batch[k].j];
      Affine<F> p = point(batch[k]);
      F dx = p.x - q.x;
      if (!dx.isZero()) { kind[k] = 0; den[k] = dx; }
      else if (p.y == q.y) { kind[k] = 1; den[k] = q.y.dbl(); }
      else { kind[k] = 2; den[k] = F::one(); }
      pref[k] = acc;
      acc *= den[k];
    }
    F inv = acc.inv();
    for (size_t k = m; k-- > 0;) {
      F dinv = inv * pref[k];
      inv *= den[k];
      const uint32_t j = batch[k].j;
      if (kind[k] == 2) { has[j] = 0; continue; }
      Affine<F>& q = bk[j];
      Affine<F> p = point(batch[k]);
      F lambda;
      if (kind[k] == 0) lambda = (p.y - q.y) * dinv;
      else { F xx = q.x.sqr(); lambda = (xx.dbl() + xx) * dinv; }
      F x3 = lambda.sqr() - q.x - p.x;
      q.y = lambda * (q.x - x3) - q.y;
      q.x = x3;
    }
    batch.clear();
    epoch++;
  };

  size_t i = 0;
  while (i < n || !pending.empty()) {
    if (pending.size() > B) {
      if (overflow.empty()) overflow.assign(nb, Jacobian<F>::inf());
      for (const Item& it : pending) overflow[it.j] = madd(overflow[it.j], point(it));
      pending.clear();
    }
    pendingNext.clear();
    for (const Item& it : pending)
      if (tryPlace(it) == 2) pendingNext.push_back(it);
    pending.swap(pendingNext);
    while (batch.size() < B && i < n) {
      int32_t d = dig[i];
      if (d != 0 && !pts[i].isInf()) {
        Item it{(uint32_t)(std::abs(d) - 1), (uint32_t)i, d < 0};
        if (tryPlace(it) == 2) pending.push_back(it);
      }
      i++;
    }
    flush();
  }

  Jacobian<F> running = Jacobian<F>::inf(), sum = Jacobian<F>::inf();
  for (size_t j = nb; j-- > 0;) {
    if (has[j]) running = madd(running, bk[j]);
    if (!overflow.empty()) running = add(running, overflow[j]);
    sum = add(sum, running);
  }
  return sum;
}

template <class F>
Jacobian<F> msmBatchAffine(const Affine<F>* pts, const Scalar* sc, size_t n, int nThreads, int c = 0) {
  if (c <= 0) c = chooseWindow(n);
  if (c < 6) return msmJacobian<F>(pts, sc, n, nThreads, c);
  return msmWith<F>(pts, sc, n, nThreads, c, windowSumBatchAffine<F>);
}

}  // namespace bn254
