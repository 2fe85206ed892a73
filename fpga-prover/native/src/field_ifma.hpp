// Eight elements of Fr at once with AVX-512 IFMA (VPMADD52LUQ/HUQ: the low or high 52 bits of a 52x52-bit
// product added to a 64-bit lane). On a CPU with full-width IFMA (e.g. Zen 5: two per cycle) a multiplication
// costs a fraction of the scalar MULX one per element, and independent computations (Poseidon states, one
// per record) fill the lanes. Compiled only where the compiler targets AVX-512F and IFMA (build.ts adds the
// flags when the CPU has them); BN254_FR_IFMA says whether it is.
//
// Representation: radix 2^52, five limbs (limb j of the 8 lanes in one register), Montgomery form with
// R = 2^260: a value x is held as x*R mod p, possibly not reduced (below a small multiple of p; bounds below).
// Limbs of an Fr8 are normalized (< 2^52; IFMA reads only the low 52 bits of its operands).
//
// Arithmetic is on unreduced sums of products: an Acc holds 10 columns of weight 2^(52k), each a 64-bit lane
// that receives 52-bit pieces without carrying. mulAcc adds a product, addHigh adds x*R (so that the
// reduction yields x more: additions cost nothing), and reduce is Montgomery's REDC, giving T/R mod p with
//   reduce(T) < T/R + p.
// Callers keep T below 2^63 per column (each product adds at most 10 pieces of < 2^52 to a column) and track
// the value bounds; with p < 2^254 and R = 2^260, p/R < 2^-6.
#pragma once
#include "field.hpp"

#if defined(__AVX512F__) && defined(__AVX512IFMA__) && !defined(BN254_NO_IFMA)
#define BN254_FR_IFMA 1
#include <immintrin.h>

namespace bn254 {
namespace ifma {

static constexpr int kLanes = 8;
static constexpr u64 kMask52 = (1ULL << 52) - 1;

// A constant of every lane: five 52-bit limbs (of x*R mod p for a field constant x, or of a plain integer).
struct Limbs52 {
  u64 l[5];
};

// The 52-bit limbs of a 256-bit little-endian integer (below 2^260).
inline Limbs52 toLimbs52(const u64 v[4]) {
  return Limbs52{{v[0] & kMask52, ((v[0] >> 52) | (v[1] << 12)) & kMask52, ((v[1] >> 40) | (v[2] << 24)) & kMask52,
                  ((v[2] >> 28) | (v[3] << 36)) & kMask52, v[3] >> 16}};
}

// The 256-bit integer of five 52-bit limbs whose value is below 2^256.
inline void fromLimbs52(const u64 l[5], u64 v[4]) {
  v[0] = l[0] | (l[1] << 52);
  v[1] = (l[1] >> 12) | (l[2] << 40);
  v[2] = (l[2] >> 24) | (l[3] << 28);
  v[3] = (l[3] >> 36) | (l[4] << 16);
}

// p, -p^-1 mod 2^52, and R^2 mod p = 2^520 mod p (reduce(x * R2) = x*R: into Montgomery form).
struct Params52 {
  Limbs52 p, r2, one;  // one: R mod p, the form of 1
  u64 inv;
  Fr r;                // R mod p as a scalar field element

  static const Params52& get() {
    static const Params52 k = make();
    return k;
  }

  // The limbs of x*R mod p (canonical, < p) for a scalar field element x.
  Limbs52 constant(const Fr& x) const { return toLimbs52((x * r).toNormal().v); }

 private:
  static Params52 make() {
    Params52 k;
    k.p = toLimbs52(FrParams::P);
    k.inv = FrParams::INV & kMask52;  // -p^-1 mod 2^64, so mod 2^52 too
    // 2^260 = 16 * 2^256, and Fr::one()'s limbs are the integer 2^256 mod p
    k.r = Fr::fromNormal(Fr::one()) * Fr::fromNormal(Fr{{16, 0, 0, 0}});
    k.one = k.constant(Fr::one());
    k.r2 = k.constant(k.r);
    return k;
  }
};

// Eight field elements (Montgomery form, R = 2^260), limbs normalized.
struct Fr8 {
  __m512i l[5];
};

// An unreduced sum of products: column k has weight 2^(52k).
struct Acc {
  __m512i c[10];
  static inline Acc zero() {
    Acc t;
    for (auto& c : t.c) c = _mm512_setzero_si512();
    return t;
  }
};

inline __m512i lo52(__m512i acc, __m512i a, __m512i b) { return _mm512_madd52lo_epu64(acc, a, b); }
inline __m512i hi52(__m512i acc, __m512i a, __m512i b) { return _mm512_madd52hi_epu64(acc, a, b); }

// t += a * b
inline void mulAcc(Acc& t, const Fr8& a, const Fr8& b) {
  for (int i = 0; i < 5; i++)
    for (int j = 0; j < 5; j++) {
      t.c[i + j] = lo52(t.c[i + j], a.l[j], b.l[i]);
      t.c[i + j + 1] = hi52(t.c[i + j + 1], a.l[j], b.l[i]);
    }
}

// t += a * c for a constant c (limbs < 2^52)
inline void mulAcc(Acc& t, const Fr8& a, const Limbs52& c) {
  for (int i = 0; i < 5; i++) {
    const __m512i ci = _mm512_set1_epi64((long long)c.l[i]);
    for (int j = 0; j < 5; j++) {
      t.c[i + j] = lo52(t.c[i + j], a.l[j], ci);
      t.c[i + j + 1] = hi52(t.c[i + j + 1], a.l[j], ci);
    }
  }
}

// t += x * R: reduce(t) gains x
inline void addHigh(Acc& t, const Fr8& x) {
  for (int j = 0; j < 5; j++) t.c[5 + j] = _mm512_add_epi64(t.c[5 + j], x.l[j]);
}

inline void addHigh(Acc& t, const Limbs52& c) {
  for (int j = 0; j < 5; j++) t.c[5 + j] = _mm512_add_epi64(t.c[5 + j], _mm512_set1_epi64((long long)c.l[j]));
}

// Montgomery reduction: T * 2^-260 mod p, below T/2^260 + p, limbs normalized (the value must stay below 2^260).
// Row i adds m*p with m = -T_i/p mod 2^52, which clears column i's low 52 bits; its carry moves to column i+1.
inline Fr8 reduce(Acc& t) {
  const Params52& k = Params52::get();
  const __m512i inv = _mm512_set1_epi64((long long)k.inv);
  const __m512i zero = _mm512_setzero_si512();
  __m512i p[5];
  for (int j = 0; j < 5; j++) p[j] = _mm512_set1_epi64((long long)k.p.l[j]);
  for (int i = 0; i < 5; i++) {
    const __m512i m = lo52(zero, t.c[i], inv);
    for (int j = 0; j < 5; j++) {
      t.c[i + j] = lo52(t.c[i + j], m, p[j]);
      t.c[i + j + 1] = hi52(t.c[i + j + 1], m, p[j]);
    }
    t.c[i + 1] = _mm512_add_epi64(t.c[i + 1], _mm512_srli_epi64(t.c[i], 52));
  }
  Fr8 r;
  const __m512i mask = _mm512_set1_epi64((long long)kMask52);
  __m512i carry = zero;
  for (int j = 0; j < 5; j++) {
    const __m512i v = _mm512_add_epi64(t.c[5 + j], carry);
    carry = _mm512_srli_epi64(v, 52);
    r.l[j] = j < 4 ? _mm512_and_si512(v, mask) : v;
  }
  return r;
}

// The broadcast constant c in every lane.
inline Fr8 broadcast(const Limbs52& c) {
  Fr8 a;
  for (int j = 0; j < 5; j++) a.l[j] = _mm512_set1_epi64((long long)c.l[j]);
  return a;
}

// a * b, below a*b/R + p (< 1.1p for a, b < 2.1p)
inline Fr8 mul(const Fr8& a, const Fr8& b) {
  Acc t = Acc::zero();
  mulAcc(t, a, b);
  return reduce(t);
}

// x[v] <- x[v]^e in every lane of K vectors (every step across the K vectors before the next, so their serial
// chains overlap), e given as 4 little-endian limbs: fixed 4-bit windows (251 squarings and at most 63 + 14
// multiplications for a 255-bit e). For x < 2.1p every value stays below 1.1p.
template <int K>
inline void pow(Fr8* x, const u64 e[4]) {
  Fr8 table[16][K];  // x^0 .. x^15
  for (int v = 0; v < K; v++) {
    table[0][v] = broadcast(Params52::get().one);
    table[1][v] = x[v];
  }
  for (int i = 2; i < 16; i++)
    for (int v = 0; v < K; v++) table[i][v] = mul(table[i - 1][v], x[v]);
  auto nibble = [&](int w) { return (int)((e[w / 16] >> (4 * (w % 16))) & 15); };
  for (int v = 0; v < K; v++) x[v] = table[nibble(63)][v];
  for (int w = 62; w >= 0; w--) {
    for (int k = 0; k < 4; k++)
      for (int v = 0; v < K; v++) x[v] = mul(x[v], x[v]);
    if (int d = nibble(w))
      for (int v = 0; v < K; v++) x[v] = mul(x[v], table[d][v]);
  }
}

// Lane j = x[j] + c for scalar field elements x[j] (scalar Montgomery form, R = 2^256) and a constant c (limbs
// of c*R mod p, < p): reduce(x * R2 + c*R) < p * p/R + c + p < 2.1p.
inline Fr8 load(const Fr* const* x, const Limbs52& c) {
  alignas(64) u64 limbs[5][kLanes];
  for (int lane = 0; lane < kLanes; lane++) {
    Limbs52 v = toLimbs52(x[lane]->toNormal().v);
    for (int j = 0; j < 5; j++) limbs[j][lane] = v.l[j];
  }
  Fr8 a;
  for (int j = 0; j < 5; j++) a.l[j] = _mm512_load_si512(limbs[j]);
  Acc t = Acc::zero();
  mulAcc(t, a, Params52::get().r2);
  addHigh(t, c);
  return reduce(t);
}

// The lanes as scalar field elements (scalar Montgomery form), for a value below 2^260.
inline void store(const Fr8& x, Fr* out, int m) {
  Acc t = Acc::zero();  // reduce(x) = x / R: the normal value, below p + 1
  for (int j = 0; j < 5; j++) t.c[j] = x.l[j];
  Fr8 n = reduce(t);
  alignas(64) u64 limbs[5][kLanes];
  for (int j = 0; j < 5; j++) _mm512_store_si512(limbs[j], n.l[j]);
  for (int lane = 0; lane < m; lane++) {
    u64 l[5], v[4];
    for (int j = 0; j < 5; j++) l[j] = limbs[j][lane];
    fromLimbs52(l, v);
    out[lane] = Fr::fromNormal(Fr::reduceOnce(v));
  }
}

}  // namespace ifma
}  // namespace bn254

#else
#define BN254_FR_IFMA 0
#endif
