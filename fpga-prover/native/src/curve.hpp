// Short Weierstrass y^2 = x^3 + b (a = 0) points over F (Fq for G1, Fq2 for G2):
// affine (infinity encoded as x = y = 0, the snarkjs convention) and Jacobian (infinity: Z = 0).
#pragma once
#include "field.hpp"

namespace bn254 {

template <class F>
struct Affine {
  F x, y;
  inline bool isInf() const { return x.isZero() && y.isZero(); }
  static inline Affine inf() { return Affine{F::zero(), F::zero()}; }
  inline Affine neg() const { return isInf() ? *this : Affine{x, y.neg()}; }
};

template <class F>
struct Jacobian {
  F X, Y, Z;
  static inline Jacobian inf() { return Jacobian{F::one(), F::one(), F::zero()}; }
  inline bool isInf() const { return Z.isZero(); }
  static inline Jacobian fromAffine(const Affine<F>& a) {
    return a.isInf() ? inf() : Jacobian{a.x, a.y, F::one()};
  }
  inline Jacobian neg() const { return Jacobian{X, Y.neg(), Z}; }
};

// dbl-2009-l
template <class F>
inline Jacobian<F> dbl(const Jacobian<F>& p) {
  if (p.isInf()) return p;
  F A = p.X.sqr(), B = p.Y.sqr(), C = B.sqr();
  F t = p.X + B;
  F D = (t.sqr() - A - C).dbl();
  F E = A.dbl() + A;
  F Fv = E.sqr();
  Jacobian<F> r;
  r.X = Fv - D.dbl();
  F C8 = C.dbl().dbl().dbl();
  r.Y = E * (D - r.X) - C8;
  r.Z = (p.Y * p.Z).dbl();
  return r;
}

// add-2007-bl
template <class F>
inline Jacobian<F> add(const Jacobian<F>& p, const Jacobian<F>& q) {
  if (p.isInf()) return q;
  if (q.isInf()) return p;
  F Z1Z1 = p.Z.sqr(), Z2Z2 = q.Z.sqr();
  F U1 = p.X * Z2Z2, U2 = q.X * Z1Z1;
  F S1 = p.Y * q.Z * Z2Z2, S2 = q.Y * p.Z * Z1Z1;
  F H = U2 - U1;
  F rr = (S2 - S1).dbl();
  if (H.isZero()) {
    if (rr.isZero()) return dbl(p);
    return Jacobian<F>::inf();
  }
  F I = H.dbl().sqr();
  F J = H * I;
  F V = U1 * I;
  Jacobian<F> r;
  r.X = rr.sqr() - J - V.dbl();
  r.Y = rr * (V - r.X) - (S1 * J).dbl();
  r.Z = ((p.Z + q.Z).sqr() - Z1Z1 - Z2Z2) * H;
  return r;
}

// madd-2007-bl: Jacobian + affine
template <class F>
inline Jacobian<F> madd(const Jacobian<F>& p, const Affine<F>& q) {
  if (q.isInf()) return p;
  if (p.isInf()) return Jacobian<F>::fromAffine(q);
  F Z1Z1 = p.Z.sqr();
  F U2 = q.x * Z1Z1;
  F S2 = q.y * p.Z * Z1Z1;
  F H = U2 - p.X;
  F rr = (S2 - p.Y).dbl();
  if (H.isZero()) {
    if (rr.isZero()) return dbl(p);
    return Jacobian<F>::inf();
  }
  F HH = H.sqr();
  F I = HH.dbl().dbl();
  F J = H * I;
  F V = p.X * I;
  Jacobian<F> r;
  r.X = rr.sqr() - J - V.dbl();
  r.Y = rr * (V - r.X) - (p.Y * J).dbl();
  r.Z = (p.Z + H).sqr() - Z1Z1 - HH;
  return r;
}

template <class F>
inline Affine<F> toAffine(const Jacobian<F>& p) {
  if (p.isInf()) return Affine<F>::inf();
  F zi = p.Z.inv();
  F zi2 = zi.sqr();
  return Affine<F>{p.X * zi2, p.Y * zi2 * zi};
}

// k*P for a scalar k given as 4 little-endian limbs of a normal (non-Montgomery) integer
template <class F>
inline Jacobian<F> mulScalar(const Jacobian<F>& p, const u64 k[4]) {
  Jacobian<F> r = Jacobian<F>::inf();
  for (int i = 3; i >= 0; i--)
    for (int j = 63; j >= 0; j--) {
      r = dbl(r);
      if ((k[i] >> j) & 1) r = add(r, p);
    }
  return r;
}

typedef Affine<Fq> G1Affine;
typedef Jacobian<Fq> G1Jac;
typedef Affine<Fq2> G2Affine;
typedef Jacobian<Fq2> G2Jac;

}  // namespace bn254
