// Baby Jubjub, the twisted Edwards curve a*x^2 + y^2 = 1 + d*x^2*y^2 (a = 168700, d = 168696) over the BN254
// scalar field Fr, with circomlib's constants (Base8, Generator, subgroup order l). Its group is cyclic of
// order 8*l; Base8 generates the subgroup of prime order l. Because a is a square and d is not, the unified
// addition law is complete: the formulas below have no exceptional cases for points on the curve.
//
// Points: affine (x, y) in Montgomery form; extended projective (X : Y : T : Z) with x = X/Z, y = Y/Z,
// x*y = T/Z (Hisil-Wong-Carter-Dawson 2008); an affine point with d*x*y precomputed for mixed additions.
// Also: scalars mod l (Montgomery field Fl), fixed-base multiples of Base8, variable-base multiplication,
// and an exact membership test for the prime-order subgroup that costs one exponentiation (see inPrimeSubgroup).
#pragma once
#include <stdexcept>
#include <vector>
#include "field.hpp"
#include "field_ifma.hpp"
#include "msm.hpp"

namespace bn254 {

// The order l of Baby Jubjub's prime subgroup, 2736030358979909402780800718157159386076813972158567259200215660948447373041.
struct FlParams {
  static constexpr u64 P[4] = {0x677297dc392126f1ULL, 0xab3eedb83920ee0aULL, 0x370a08b6d0302b0bULL, 0x060c89ce5c263405ULL};
  static constexpr u64 R2[4] = {0x35e44abee7ecb21eULL, 0x74646cacf5f84ec4ULL, 0xe472df203faa158fULL, 0x0445b524f1ba50a8ULL};
  static constexpr u64 ONE[4] = {0x073315dea08f9c76ULL, 0xe7acffc6a098f24bULL, 0xf85a9201d818f015ULL, 0x01f16424e1bb7724ULL};
  static constexpr u64 INV = 0x532ce5aebc48f5efULL;
};
typedef Fp<FlParams> Fl;

// a < b as little-endian 256-bit integers
inline bool lessThan(const u64 a[4], const u64 b[4]) {
  for (int i = 3; i >= 0; i--)
    if (a[i] != b[i]) return a[i] < b[i];
  return false;
}

// x mod l for x < 2^256 (Montgomery round trip: x*R2*R^-1 < 2l before its final subtraction).
inline Scalar modL(const u64 x[4]) {
  Scalar s;
  Fl::fromNormal(Fl::fromLimbs(x)).toNormal().toBytes(reinterpret_cast<uint8_t*>(s.v));
  return s;
}

struct EdAffine {
  Fr x, y;
};

// Affine point with dxy = d*x*y, the operand of mixed additions (bucket accumulation, fixed-base tables).
struct EdPre {
  Fr x, y, dxy;
  inline EdPre neg() const { return EdPre{x.neg(), y, dxy.neg()}; }
};

struct EdExt {
  Fr X, Y, T, Z;
  static inline EdExt identity() { return EdExt{Fr::zero(), Fr::one(), Fr::zero(), Fr::one()}; }
  static inline EdExt fromAffine(const EdAffine& p) { return EdExt{p.x, p.y, p.x * p.y, Fr::one()}; }
  inline bool isIdentity() const { return X.isZero() && Y == Z; }
  inline EdExt neg() const { return EdExt{X.neg(), Y, T.neg(), Z}; }
};

class BabyJub {
 public:
  Fr a, d, one;
  EdAffine base8, generator, torsion8;  // torsion8 = l * Generator, a point of order 8

  static const BabyJub& instance() {
    static const BabyJub c;
    return c;
  }

  static inline Fr fromDecimalLimbs(const u64 l[4]) { return Fr::fromNormal(Fr::fromLimbs(l)); }

  inline bool onCurve(const EdAffine& p) const {
    Fr x2 = p.x.sqr(), y2 = p.y.sqr();
    return a * x2 + y2 == one + d * x2 * y2;
  }

  inline EdPre pre(const EdAffine& p) const { return EdPre{p.x, p.y, d * p.x * p.y}; }

  // add-2008-hwcd (unified, complete on this curve)
  inline EdExt add(const EdExt& p, const EdExt& q) const {
    Fr A = p.X * q.X, B = p.Y * q.Y, C = d * p.T * q.T, D = p.Z * q.Z;
    Fr E = (p.X + p.Y) * (q.X + q.Y) - A - B, F = D - C, G = D + C, H = B - a * A;
    return EdExt{E * F, G * H, E * H, F * G};
  }

  // the same with q affine (Z = 1) and d*x*y precomputed: 9 multiplications
  inline EdExt madd(const EdExt& p, const EdPre& q) const {
    Fr A = p.X * q.x, B = p.Y * q.y, C = p.T * q.dxy;
    Fr E = (p.X + p.Y) * (q.x + q.y) - A - B, F = p.Z - C, G = p.Z + C, H = B - a * A;
    return EdExt{E * F, G * H, E * H, F * G};
  }

  // dbl-2008-hwcd
  inline EdExt dbl(const EdExt& p) const {
    Fr A = p.X.sqr(), B = p.Y.sqr(), C = p.Z.sqr().dbl(), D = a * A;
    Fr E = (p.X + p.Y).sqr() - A - B, G = D + B, F = G - C, H = D - B;
    return EdExt{E * F, G * H, E * H, F * G};
  }

  static inline bool sameProjective(const EdExt& p, const EdExt& q) {
    return p.X * q.Z == q.X * p.Z && p.Y * q.Z == q.Y * p.Z;
  }

  static inline EdAffine toAffine(const EdExt& p) {
    Fr zi = p.Z.inv();
    return EdAffine{p.X * zi, p.Y * zi};
  }

  // k*P for k < 2^255 (signed 4-bit windows)
  EdExt mul(const EdAffine& p, const Scalar& k) const {
    EdExt m[9];
    m[1] = EdExt::fromAffine(p);
    for (int j = 2; j <= 8; j++) m[j] = add(m[j - 1], m[1]);
    std::vector<int32_t> dig = signedDigits(&k, 1, 4, 64, 1);
    EdExt r = EdExt::identity();
    for (int w = 63; w >= 0; w--) {
      for (int i = 0; i < 4; i++) r = dbl(r);
      int32_t dg = dig[w];
      if (dg > 0) r = add(r, m[dg]);
      else if (dg < 0) r = add(r, m[-dg].neg());
    }
    return r;
  }

  // k*Base8 for k < 2^255: one mixed addition per 4-bit window from a table of j * 16^w * Base8, j = 1..8.
  EdExt mulBase8(const Scalar& k) const {
    std::vector<int32_t> dig = signedDigits(&k, 1, 4, 64, 1);
    EdExt r = EdExt::identity();
    for (int w = 0; w < 64; w++) {
      int32_t dg = dig[w];
      if (dg > 0) r = madd(r, base8Table_[w * 8 + dg - 1]);
      else if (dg < 0) r = madd(r, base8Table_[w * 8 - dg - 1].neg());
    }
    return r;
  }

  // Whether an on-curve point lies in the subgroup of order l (circomlibjs babyJub.inSubgroup), exactly.
  //
  // The group E is cyclic of order 8l, so the prime subgroup is 8E, and p = |Fr| = 1 mod 8. The reduced Tate
  // pairing t(T, .) : E/8E -> mu_8 with T = torsion8 (a generator of E[8]) is then injective (non-degeneracy),
  // so P is in 8E iff t(T, P) = 1, where t(T, P) = f(P)^((p-1)/8) for a function f with divisor 8(T) - 8(O).
  // Miller's algorithm (on the birationally equivalent Montgomery curve, u = (1+y)/(1-y), v = u/x) gives
  // f = (l_T / v_2T)^4 (l_2T / v_4T)^2 (u - u_4T), l_Q the tangent at Q, v_Q the vertical through Q, u_4T = 0
  // (4T = (0, -1)). Clearing the denominators (1-y) and x and multiplying by 8th powers, which do not change
  // the 8th-power class, leaves g = (N1 Nv2)^4 (N2 x)^2 ((1+y)(1-y))^7 with N1 = (1+y)(1 - l1 x) - c1 (1-y) x
  // (tangent v = l1 u + c1 at T), N2 the same at 2T, Nv2 = (1+y) - u_2T (1-y). f and g differ by a constant
  // factor and 8th powers, so P is in 8E iff g(P)^((p-1)/8) equals the value at Base8 (calibrated below).
  // Points of E[8] (the only ones where a factor of g vanishes or the map is undefined) are decided directly:
  // the only one in the subgroup is the identity (0, 1).
  bool inPrimeSubgroup(const EdAffine& p) const {
    if (p.x.isZero()) return p.y == one;
    Fr g = tateValue(p);
    if (g.isZero()) return false;
    return g.pow(kTateExp) == tateRef_;
  }

  // Points inPrimeSubgroupLanes tests together.
#if BN254_FR_IFMA
  static constexpr int kSubgroupLanes = 2 * ifma::kLanes;
#else
  static constexpr int kSubgroupLanes = 1;
#endif

  // out[j] = inPrimeSubgroup(p[j]) for j < m, m = 0..kSubgroupLanes: with IFMA (and m >= 2; one point alone is
  // faster on the scalar path), the m exponentiations in the lanes of two vectors (the same decision, the same
  // power of the same g).
  void inPrimeSubgroupLanes(const EdAffine* p, int m, bool* out) const {
#if BN254_FR_IFMA
    if (m < 2) {
      for (int j = 0; j < m; j++) out[j] = inPrimeSubgroup(p[j]);
      return;
    }
    constexpr int W = ifma::kLanes;
    Fr g[2 * W], pw[2 * W];
    const Fr* gp[2 * W];
    bool decided[2 * W];
    for (int j = 0; j < 2 * W; j++) {
      g[j] = one;  // unused lanes, and the points of E[8] decided directly
      gp[j] = &g[j];
      decided[j] = j >= m;
      if (decided[j]) continue;
      if (p[j].x.isZero()) {
        out[j] = p[j].y == one;
        decided[j] = true;
        continue;
      }
      Fr v = tateValue(p[j]);
      if (v.isZero()) {
        out[j] = false;
        decided[j] = true;
      } else g[j] = v;
    }
    ifma::Fr8 x[2] = {ifma::load(gp, ifma::Limbs52{}), ifma::load(gp + W, ifma::Limbs52{})};
    ifma::pow<2>(x, kTateExp);
    ifma::store(x[0], pw, W);
    ifma::store(x[1], pw + W, W);
    for (int j = 0; j < m; j++)
      if (!decided[j]) out[j] = pw[j] == tateRef_;
#else
    for (int j = 0; j < m; j++) out[j] = inPrimeSubgroup(p[j]);
#endif
  }

 private:
  static constexpr u64 kTateExp[4] = {0x287c3eb27e000000ULL, 0xa5067d090f372e12ULL, 0x370a08b6d0302b0bULL, 0x060c89ce5c263405ULL};  // (p-1)/8
  std::vector<EdPre> base8Table_;
  Fr lam1_, c1_, lam2_, c2_, u2_, tateRef_;

  Fr tateValue(const EdAffine& p) const {
    Fr opy = one + p.y, omy = one - p.y, omyx = omy * p.x;
    Fr n1 = opy * (one - lam1_ * p.x) - c1_ * omyx;
    Fr n2 = opy * (one - lam2_ * p.x) - c2_ * omyx;
    Fr nv2 = opy - u2_ * omy;
    Fr q = (n1 * nv2).sqr().sqr();
    Fr h = opy * omy, h2 = h.sqr();
    return q * (n2 * p.x).sqr() * h2.sqr() * h2 * h;
  }

  BabyJub() {
    static const u64 kA[4] = {168700, 0, 0, 0}, kD[4] = {168696, 0, 0, 0};
    // circomlib babyjub.js Base8 and Generator
    static const u64 kB8x[4] = {0x2893f3f6bb957051ULL, 0x2ab8d8010534e0b6ULL, 0x4eacb2e09d6277c1ULL, 0x0bb77a6ad63e739bULL};
    static const u64 kB8y[4] = {0x4b3c257a872d7d8bULL, 0xfce0051fb9e13377ULL, 0x25572e1cd16bf9edULL, 0x25797203f7a0b249ULL};
    static const u64 kGx[4] = {0x40f41a59f4d4b45eULL, 0xb494b1255b1162bbULL, 0x38bcba38f25645adULL, 0x023343e3445b673dULL};
    static const u64 kGy[4] = {0x50f87d64fc000001ULL, 0x4a0cfa121e6e5c24ULL, 0x6e14116da0605617ULL, 0x0c19139cb84c680aULL};
    a = fromDecimalLimbs(kA);
    d = fromDecimalLimbs(kD);
    one = Fr::one();
    base8 = EdAffine{fromDecimalLimbs(kB8x), fromDecimalLimbs(kB8y)};
    generator = EdAffine{fromDecimalLimbs(kGx), fromDecimalLimbs(kGy)};
    if (!onCurve(base8) || !onCurve(generator)) throw std::logic_error("Baby Jubjub constants are off the curve");

    base8Table_.resize(64 * 8);
    EdExt bw = EdExt::fromAffine(base8);
    for (int w = 0; w < 64; w++) {
      EdExt m = bw;
      for (int j = 0; j < 8; j++) {
        base8Table_[w * 8 + j] = pre(toAffine(m));
        m = add(m, bw);
      }
      for (int i = 0; i < 4; i++) bw = dbl(bw);
    }

    Scalar lS;
    memcpy(lS.v, FlParams::P, 32);
    EdExt t = mul(generator, lS);
    EdExt t2 = dbl(t), t4 = dbl(t2);
    if (t.isIdentity() || t2.isIdentity() || t4.isIdentity() || !dbl(t4).isIdentity() || !t4.X.isZero())
      throw std::logic_error("l * Generator is not of order 8");
    torsion8 = toAffine(t);
    EdAffine t2a = toAffine(t2);
    // Montgomery form B v^2 = u^3 + A u^2 + u: A = 2(a+d)/(a-d), B = 4/(a-d)
    Fr amdInv = (a - d).inv();
    Fr mA = (a + d).dbl() * amdInv, mB = one.dbl().dbl() * amdInv;
    auto tangent = [&](const EdAffine& e, Fr& lam, Fr& c, Fr& u) {
      u = (one + e.y) * (one - e.y).inv();
      Fr v = u * e.x.inv();
      lam = (u.sqr() * (one + one + one) + mA.dbl() * u + one) * (mB.dbl() * v).inv();
      c = v - lam * u;
    };
    Fr u1;
    tangent(torsion8, lam1_, c1_, u1);
    tangent(t2a, lam2_, c2_, u2_);
    tateRef_ = tateValue(base8).pow(kTateExp);
    // self-check: Base8 + torsion8 is outside the subgroup, so its pairing value must differ
    EdAffine shifted = toAffine(add(EdExt::fromAffine(base8), EdExt::fromAffine(torsion8)));
    if (tateValue(shifted).pow(kTateExp) == tateRef_) throw std::logic_error("degenerate subgroup test");
  }
};

}  // namespace bn254
