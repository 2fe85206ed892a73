// Baby Jubjub multi-scalar multiplication with AVX-512 IFMA (field_ifma.hpp): Pippenger with the signed
// digits of msm.hpp, eight windows at once, one per vector lane. Every lane runs through the same points; lane l
// adds point i (negated for a negative digit) into bucket |d_l(i)| of its own window's bucket array, so lanes
// never share a bucket. Buckets are gathered and scattered per lane; a zero digit goes to a trash bucket (0)
// that is never summed. Each window's buckets are then summed in the lanes (running sums), and the windows are
// combined on the scalar path (doublings), as babyJubMsm does.
//
// Points are extended coordinates (X : Y : T : Z) in the IFMA form; the formulas are babyjub.hpp's (complete on
// this curve, so trash and identity buckets need no care). Value bounds (p/R < 0.0119, reduce(T) < T/R + p):
// coordinates stay below 1.2p. In madd8 with a bucket < 1.2p and a canonical point: A, B, C, aA < 1.02p and
// E < 1.03p; F = Z - C and H = B - aA are formed as x + (4p - y) (below 5.2p), G = Z + C < 2.3p; so X3, T3 <
// 5.2*1.03*0.0119p + p < 1.07p and Y3, Z3 < 5.2*2.3*0.0119p + p < 1.15p. In add8 with both inputs < 1.2p the
// same bounds hold (products of two coordinates < 1.44*0.0119p + p < 1.02p).
#pragma once
#include "babyjub.hpp"
#include "field_ifma.hpp"
#include "msm.hpp"
#include "parallel.hpp"

#if BN254_FR_IFMA
namespace bn254 {
namespace ifma {

struct EdExt8 {
  Fr8 X, Y, T, Z;
};

// Curve constants in the IFMA form, and 4p with borrowed limbs (limb 0 plus 2^52, limbs 1-3 plus 2^52 - 1,
// limb 4 minus 1: the same integer, every limb of 4p - y non-negative for normalized y < 4p - 2^208).
struct Curve52 {
  Limbs52 a, d, one;
  __m512i fourP[5];
  static const Curve52& get() {
    static const Curve52 k = make();
    return k;
  }

 private:
  static Curve52 make() {
    const BabyJub& bj = BabyJub::instance();
    const Params52& f = Params52::get();
    Curve52 k;
    k.a = f.constant(bj.a);
    k.d = f.constant(bj.d);
    k.one = f.one;
    const u64* P = FrParams::P;  // 4p < 2^256: the limbs shifted by 2
    const u64 p4[4] = {P[0] << 2, (P[1] << 2) | (P[0] >> 62), (P[2] << 2) | (P[1] >> 62), (P[3] << 2) | (P[2] >> 62)};
    const Limbs52 q = toLimbs52(p4);
    const u64 borrowed[5] = {q.l[0] + (1ULL << 52), q.l[1] + kMask52, q.l[2] + kMask52, q.l[3] + kMask52, q.l[4] - 1};
    for (int j = 0; j < 5; j++) k.fourP[j] = _mm512_set1_epi64((long long)borrowed[j]);
    return k;
  }
};

// Limbs below 2^54 carried into normalized limbs (the value below 2^260).
inline Fr8 normalize(const __m512i* l) {
  const __m512i mask = _mm512_set1_epi64((long long)kMask52);
  Fr8 r;
  __m512i carry = _mm512_setzero_si512();
  for (int j = 0; j < 5; j++) {
    const __m512i v = _mm512_add_epi64(l[j], carry);
    carry = _mm512_srli_epi64(v, 52);
    r.l[j] = j < 4 ? _mm512_and_si512(v, mask) : v;
  }
  return r;
}

inline Fr8 add(const Fr8& x, const Fr8& y) {
  __m512i s[5];
  for (int j = 0; j < 5; j++) s[j] = _mm512_add_epi64(x.l[j], y.l[j]);
  return normalize(s);
}

// x - y + 4p (y < 1.1p)
inline Fr8 sub(const Fr8& x, const Fr8& y) {
  const Curve52& k = Curve52::get();
  __m512i s[5];
  for (int j = 0; j < 5; j++) s[j] = _mm512_sub_epi64(_mm512_add_epi64(x.l[j], k.fourP[j]), y.l[j]);
  return normalize(s);
}

inline Fr8 mulConst(const Fr8& x, const Limbs52& c) {
  Acc t = Acc::zero();
  mulAcc(t, x, c);
  return reduce(t);
}

// x*y' + y*x' (E of the addition formulas, one reduction)
inline Fr8 cross(const Fr8& x, const Fr8& y2, const Fr8& y, const Fr8& x2) {
  Acc t = Acc::zero();
  mulAcc(t, x, y2);
  mulAcc(t, y, x2);
  return reduce(t);
}

// The end of both additions: (E*F : G*H : E*H : F*G) from A, B, C, D, E.
inline EdExt8 finishAdd(const Fr8& A, const Fr8& B, const Fr8& C, const Fr8& D, const Fr8& E) {
  const Fr8 F = sub(D, C), G = add(D, C), H = sub(B, mulConst(A, Curve52::get().a));
  return EdExt8{mul(E, F), mul(G, H), mul(E, H), mul(F, G)};
}

// p + (x, y) for an affine (x, y) with dxy = d*x*y: babyjub.hpp's madd
inline EdExt8 madd8(const EdExt8& p, const Fr8& x, const Fr8& y, const Fr8& dxy) {
  return finishAdd(mul(p.X, x), mul(p.Y, y), mul(p.T, dxy), p.Z, cross(p.X, y, p.Y, x));
}

// p + q: babyjub.hpp's add
inline EdExt8 add8(const EdExt8& p, const EdExt8& q) {
  return finishAdd(mul(p.X, q.X), mul(p.Y, q.Y), mulConst(mul(p.T, q.T), Curve52::get().d), mul(p.Z, q.Z), cross(p.X, q.Y, p.Y, q.X));
}

inline EdExt8 identity8() {
  const Fr8 zero = broadcast(Limbs52{}), one = broadcast(Curve52::get().one);
  return EdExt8{zero, one, zero, one};
}

// A scalar field element (scalar Montgomery form, R = 2^256) in the IFMA form: its representation times 16 mod p.
inline Limbs52 formOf(const Fr& x) { return toLimbs52(x.dbl().dbl().dbl().dbl().v); }

// The lanes of p as scalar extended points.
inline void storeExt(const EdExt8& p, EdExt* out) {
  Fr X[kLanes], Y[kLanes], T[kLanes], Z[kLanes];
  store(p.X, X, kLanes);
  store(p.Y, Y, kLanes);
  store(p.T, T, kLanes);
  store(p.Z, Z, kLanes);
  for (int l = 0; l < kLanes; l++) out[l] = EdExt{X[l], Y[l], T[l], Z[l]};
}

// A point of the MSM in the IFMA form, and its negation's x and dxy.
struct Pre52 {
  Limbs52 x, y, dxy, nx, ndxy;
};

// Bucket storage of one group of 8 windows: bucket b, word k (X, Y, T, Z limbs 0-4), lane l at (b*20 + k)*8 + l.
static constexpr int kBucketWords = 20;

// The window sums of windows 8g .. 8g+7 (lanes past nw: digits 0).
inline void windowGroup(const Pre52* pts, const int32_t* digits, size_t n, int c, int nw, int g, EdExt* win) {
  const size_t nb = (size_t)1 << (c - 1);
  std::vector<u64> buf((nb + 1) * kBucketWords * kLanes);
  const EdExt8 id = identity8();
  for (size_t b = 0; b <= nb; b++) {
    u64* w = buf.data() + b * kBucketWords * kLanes;
    const Fr8* coords[4] = {&id.X, &id.Y, &id.T, &id.Z};
    for (int k = 0; k < kBucketWords; k++) _mm512_storeu_si512(w + k * kLanes, coords[k / 5]->l[k % 5]);
  }
  alignas(64) int64_t idx[kLanes];
  for (size_t i = 0; i < n; i++) {
    __mmask8 neg = 0, any = 0;
    for (int l = 0; l < kLanes; l++) {
      const int w = g * kLanes + l;
      const int32_t d = w < nw ? digits[(size_t)w * n + i] : 0;
      idx[l] = (int64_t)(d < 0 ? -d : d) * kBucketWords * kLanes + l;
      if (d < 0) neg |= (__mmask8)(1 << l);
      if (d != 0) any |= (__mmask8)(1 << l);
    }
    if (!any) continue;
    const __m512i vi = _mm512_load_si512(idx);
    __m512i words[kBucketWords];
    for (int k = 0; k < kBucketWords; k++) words[k] = _mm512_i64gather_epi64(vi, (const long long*)(buf.data() + k * kLanes), 8);
    EdExt8 bucket;
    Fr8* coords[4] = {&bucket.X, &bucket.Y, &bucket.T, &bucket.Z};
    for (int k = 0; k < kBucketWords; k++) coords[k / 5]->l[k % 5] = words[k];
    const Pre52& q = pts[i];
    Fr8 x, dxy;
    for (int j = 0; j < 5; j++) {
      x.l[j] = _mm512_mask_blend_epi64(neg, _mm512_set1_epi64((long long)q.x.l[j]), _mm512_set1_epi64((long long)q.nx.l[j]));
      dxy.l[j] = _mm512_mask_blend_epi64(neg, _mm512_set1_epi64((long long)q.dxy.l[j]), _mm512_set1_epi64((long long)q.ndxy.l[j]));
    }
    const EdExt8 r = madd8(bucket, x, broadcast(q.y), dxy);
    const Fr8* out[4] = {&r.X, &r.Y, &r.T, &r.Z};
    for (int k = 0; k < kBucketWords; k++) _mm512_i64scatter_epi64((long long*)(buf.data() + k * kLanes), vi, out[k / 5]->l[k % 5], 8);
  }
  // sum_b b * bucket[b] per lane: running sums from the top bucket down
  EdExt8 running = id, sum = id;
  for (size_t b = nb; b >= 1; b--) {
    const u64* w = buf.data() + b * kBucketWords * kLanes;
    EdExt8 bucket;
    Fr8* coords[4] = {&bucket.X, &bucket.Y, &bucket.T, &bucket.Z};
    for (int k = 0; k < kBucketWords; k++) coords[k / 5]->l[k % 5] = _mm512_loadu_si512(w + k * kLanes);
    running = add8(running, bucket);
    sum = add8(sum, running);
  }
  storeExt(sum, win);
}

// Window size minimising the lanes' work: points with a nonzero digit in a group of 8 windows (a scalar of b bits
// has digits in its first ceil(b / c) windows) cost about 1.6 bucket-sum steps each, and each group sums 2^(c-1)
// buckets twice.
inline int chooseWindowIfma(const Scalar* sc, size_t n) {
  std::vector<int> bits(n);
  for (size_t i = 0; i < n; i++) {
    int b = 0;
    for (int k = 3; k >= 0 && !b; k--)
      if (sc[i].v[k]) b = 64 * k + 64 - __builtin_clzll(sc[i].v[k]);
    bits[i] = b;
  }
  int best = 4;
  double bestCost = 1e300;
  for (int c = 4; c <= 12; c++) {
    const int groups = ((255 + c - 1) / c + kLanes - 1) / kLanes;
    double cost = (double)groups * std::ldexp(1.0, c);
    for (int b : bits) cost += 1.6 * (double)(((b + c) / c + kLanes - 1) / kLanes);
    if (cost < bestCost) {
      bestCost = cost;
      best = c;
    }
  }
  return best;
}

}  // namespace ifma

// sum_i sc[i] * pts[i] with the IFMA lanes (same contract as babyJubMsm: scalars below 2^254).
inline EdExt babyJubMsmIfma(const BabyJub& bj, const EdPre* pts, const Scalar* sc, size_t n, int nThreads) {
  using namespace ifma;
  if (n == 0) return EdExt::identity();
  const int c = chooseWindowIfma(sc, n);
  const int nw = (255 + c - 1) / c;
  const int groups = (nw + kLanes - 1) / kLanes;
  std::vector<int32_t> digits = signedDigits(sc, n, c, nw, 1);
  std::vector<Pre52> pre(n);
  for (size_t i = 0; i < n; i++)
    pre[i] = Pre52{formOf(pts[i].x), formOf(pts[i].y), formOf(pts[i].dxy), formOf(pts[i].x.neg()), formOf(pts[i].dxy.neg())};
  std::vector<EdExt> win((size_t)groups * kLanes);
  parallelFor((size_t)groups, nThreads, [&](size_t g) { windowGroup(pre.data(), digits.data(), n, c, nw, (int)g, win.data() + g * kLanes); });
  EdExt r = win[nw - 1];
  for (int w = nw - 1; w-- > 0;) {
    for (int k = 0; k < c; k++) r = bj.dbl(r);
    r = bj.add(r, win[w]);
  }
  return r;
}

}  // namespace bn254
#endif
