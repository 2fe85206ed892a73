// BN254 prime fields in Montgomery form (R = 2^256), 4x64-bit limbs, CIOS multiplication.
#pragma once
#include <cstdint>
#include <cstring>
#include <x86intrin.h>

#if defined(__x86_64__) && defined(__BMI2__) && defined(__ADX__) && !defined(BN254_NO_ASM)
#define BN254_FIELD_ADX 1
#else
#define BN254_FIELD_ADX 0
#endif

namespace bn254 {

typedef uint64_t u64;
typedef unsigned __int128 u128;

struct FqParams {
  static constexpr u64 P[4] = {0x3c208c16d87cfd47ULL, 0x97816a916871ca8dULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL};
  static constexpr u64 R2[4] = {0xf32cfc5b538afa89ULL, 0xb5e71911d44501fbULL, 0x47ab1eff0a417ff6ULL, 0x06d89f71cab8351fULL};
  static constexpr u64 ONE[4] = {0xd35d438dc58f0d9dULL, 0x0a78eb28f5c70b3dULL, 0x666ea36f7879462cULL, 0x0e0a77c19a07df2fULL};
  static constexpr u64 INV = 0x87d20782e4866389ULL;  // -P^-1 mod 2^64
};

struct FrParams {
  static constexpr u64 P[4] = {0x43e1f593f0000001ULL, 0x2833e84879b97091ULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL};
  static constexpr u64 R2[4] = {0x1bb8e645ae216da7ULL, 0x53fe3ab1e35c59e3ULL, 0x8c49833d53bb8085ULL, 0x0216d0b17f4e44a5ULL};
  static constexpr u64 ONE[4] = {0xac96341c4ffffffbULL, 0x36fc76959f60cd29ULL, 0x666ea36f7879462eULL, 0x0e0a77c19a07df2fULL};
  static constexpr u64 INV = 0xc2e1f593efffffffULL;
};

// An element of F_P. The limbs hold a*R mod P (Montgomery form) unless a function says otherwise.
template <class Params>
struct Fp {
  u64 v[4];
  static constexpr u64 kInv = Params::INV;

  static inline Fp zero() { return Fp{{0, 0, 0, 0}}; }
  static inline Fp one() { return Fp{{Params::ONE[0], Params::ONE[1], Params::ONE[2], Params::ONE[3]}}; }
  inline bool isZero() const { return (v[0] | v[1] | v[2] | v[3]) == 0; }
  inline bool operator==(const Fp& o) const {
    return ((v[0] ^ o.v[0]) | (v[1] ^ o.v[1]) | (v[2] ^ o.v[2]) | (v[3] ^ o.v[3])) == 0;
  }
  inline bool operator!=(const Fp& o) const { return !(*this == o); }

  // r = t - P if t >= P, else t (t < 2P)
  static inline Fp reduceOnce(const u64 t[4]) {
    Fp r;
    unsigned char b = 0;
    unsigned long long d0, d1, d2, d3;
    b = _subborrow_u64(b, t[0], Params::P[0], &d0);
    b = _subborrow_u64(b, t[1], Params::P[1], &d1);
    b = _subborrow_u64(b, t[2], Params::P[2], &d2);
    b = _subborrow_u64(b, t[3], Params::P[3], &d3);
    // branch-free select (a branch here is taken about half the time on random sums and mispredicts)
    const u64 keep = -(u64)b;
    r.v[0] = (t[0] & keep) | (d0 & ~keep);
    r.v[1] = (t[1] & keep) | (d1 & ~keep);
    r.v[2] = (t[2] & keep) | (d2 & ~keep);
    r.v[3] = (t[3] & keep) | (d3 & ~keep);
    return r;
  }

  friend inline Fp operator+(const Fp& a, const Fp& b) {
    unsigned long long t[4];
    unsigned char c = 0;
    c = _addcarry_u64(c, a.v[0], b.v[0], &t[0]);
    c = _addcarry_u64(c, a.v[1], b.v[1], &t[1]);
    c = _addcarry_u64(c, a.v[2], b.v[2], &t[2]);
    c = _addcarry_u64(c, a.v[3], b.v[3], &t[3]);
    // P < 2^254, so a + b < 2^255 never carries out
    return reduceOnce(reinterpret_cast<const u64*>(t));
  }

  friend inline Fp operator-(const Fp& a, const Fp& b) {
    Fp r;
    unsigned long long t0, t1, t2, t3;
    unsigned char bo = 0;
    bo = _subborrow_u64(bo, a.v[0], b.v[0], &t0);
    bo = _subborrow_u64(bo, a.v[1], b.v[1], &t1);
    bo = _subborrow_u64(bo, a.v[2], b.v[2], &t2);
    bo = _subborrow_u64(bo, a.v[3], b.v[3], &t3);
    u64 m = -(u64)bo;  // add P back on borrow
    unsigned char c = 0;
    unsigned long long r0, r1, r2, r3;
    c = _addcarry_u64(c, t0, Params::P[0] & m, &r0);
    c = _addcarry_u64(c, t1, Params::P[1] & m, &r1);
    c = _addcarry_u64(c, t2, Params::P[2] & m, &r2);
    c = _addcarry_u64(c, t3, Params::P[3] & m, &r3);
    r.v[0] = r0; r.v[1] = r1; r.v[2] = r2; r.v[3] = r3;
    return r;
  }

  inline Fp neg() const { return isZero() ? *this : zero() - *this; }
  inline Fp dbl() const { return *this + *this; }

  // Montgomery product a*b*R^-1 mod P, portable CIOS (the top limb of P is < 2^62, so t + a*b_i + m*P < 2^320
  // and no sixth word is needed). Reference for mulAdx and the fallback where BMI2/ADX are not compiled in.
  static inline Fp mulPortable(const Fp& a, const Fp& b) {
    u64 t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    for (int i = 0; i < 4; i++) {
      const u64 bi = b.v[i];
      u128 c = (u128)a.v[0] * bi + t0;
      t0 = (u64)c;
      c = (c >> 64) + (u128)a.v[1] * bi + t1;
      t1 = (u64)c;
      c = (c >> 64) + (u128)a.v[2] * bi + t2;
      t2 = (u64)c;
      c = (c >> 64) + (u128)a.v[3] * bi + t3;
      t3 = (u64)c;
      const u64 t4 = (u64)(c >> 64);
      const u64 m = t0 * Params::INV;
      c = (u128)m * Params::P[0] + t0;
      c = (c >> 64) + (u128)m * Params::P[1] + t1;
      t0 = (u64)c;
      c = (c >> 64) + (u128)m * Params::P[2] + t2;
      t1 = (u64)c;
      c = (c >> 64) + (u128)m * Params::P[3] + t3;
      t2 = (u64)c;
      t3 = t4 + (u64)(c >> 64);
    }
    const u64 t[4] = {t0, t1, t2, t3};
    return reduceOnce(t);
  }

#if BN254_FIELD_ADX
  // Montgomery product with MULX/ADCX/ADOX (two independent carry chains per row), same CIOS schedule as
  // mulPortable: 4 rows of (a*b_i then m*P), the five accumulator words rotate over five registers (the word
  // a reduction zeroes becomes the next row's top word), then one branch-free conditional subtraction.
  static inline Fp mulAdx(const Fp& a, const Fp& b) {
    u64 t0, t1, t2, t3, t4, lo, hi;
    __asm__(
        "movq 0(%[b]), %%rdx\n\t"
        "mulxq 0(%[a]), %[t0], %[t1]\n\t"
        "mulxq 8(%[a]), %[lo], %[t2]\n\t"
        "addq %[lo], %[t1]\n\t"
        "mulxq 16(%[a]), %[lo], %[t3]\n\t"
        "adcq %[lo], %[t2]\n\t"
        "mulxq 24(%[a]), %[lo], %[t4]\n\t"
        "adcq %[lo], %[t3]\n\t"
        "adcq $0, %[t4]\n\t"
        "movq %[t0], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %k[lo], %k[lo]\n\t"
        "mulxq %[p0], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t0]\n\t"
        "adoxq %[hi], %[t1]\n\t"
        "mulxq %[p1], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t1]\n\t"
        "adoxq %[hi], %[t2]\n\t"
        "mulxq %[p2], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t2]\n\t"
        "adoxq %[hi], %[t3]\n\t"
        "mulxq %[p3], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t3]\n\t"
        "adoxq %[hi], %[t4]\n\t"
        "adcxq %[t0], %[t4]\n\t"
        "movq 8(%[b]), %%rdx\n\t"
        "xorl %k[lo], %k[lo]\n\t"
        "mulxq 0(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t1]\n\t"
        "adcxq %[hi], %[t2]\n\t"
        "mulxq 8(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t2]\n\t"
        "adcxq %[hi], %[t3]\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "mulxq 24(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %[hi], %[t0]\n\t"
        "movl $0, %k[lo]\n\t"
        "adoxq %[lo], %[t0]\n\t"
        "movq %[t1], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %k[lo], %k[lo]\n\t"
        "mulxq %[p0], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t1]\n\t"
        "adoxq %[hi], %[t2]\n\t"
        "mulxq %[p1], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t2]\n\t"
        "adoxq %[hi], %[t3]\n\t"
        "mulxq %[p2], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t3]\n\t"
        "adoxq %[hi], %[t4]\n\t"
        "mulxq %[p3], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t4]\n\t"
        "adoxq %[hi], %[t0]\n\t"
        "adcxq %[t1], %[t0]\n\t"
        "movq 16(%[b]), %%rdx\n\t"
        "xorl %k[lo], %k[lo]\n\t"
        "mulxq 0(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t2]\n\t"
        "adcxq %[hi], %[t3]\n\t"
        "mulxq 8(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %[hi], %[t0]\n\t"
        "mulxq 24(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t0]\n\t"
        "adcxq %[hi], %[t1]\n\t"
        "movl $0, %k[lo]\n\t"
        "adoxq %[lo], %[t1]\n\t"
        "movq %[t2], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %k[lo], %k[lo]\n\t"
        "mulxq %[p0], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t2]\n\t"
        "adoxq %[hi], %[t3]\n\t"
        "mulxq %[p1], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t3]\n\t"
        "adoxq %[hi], %[t4]\n\t"
        "mulxq %[p2], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t4]\n\t"
        "adoxq %[hi], %[t0]\n\t"
        "mulxq %[p3], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t0]\n\t"
        "adoxq %[hi], %[t1]\n\t"
        "adcxq %[t2], %[t1]\n\t"
        "movq 24(%[b]), %%rdx\n\t"
        "xorl %k[lo], %k[lo]\n\t"
        "mulxq 0(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t3]\n\t"
        "adcxq %[hi], %[t4]\n\t"
        "mulxq 8(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t4]\n\t"
        "adcxq %[hi], %[t0]\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t0]\n\t"
        "adcxq %[hi], %[t1]\n\t"
        "mulxq 24(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[t1]\n\t"
        "adcxq %[hi], %[t2]\n\t"
        "movl $0, %k[lo]\n\t"
        "adoxq %[lo], %[t2]\n\t"
        "movq %[t3], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %k[lo], %k[lo]\n\t"
        "mulxq %[p0], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t3]\n\t"
        "adoxq %[hi], %[t4]\n\t"
        "mulxq %[p1], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t4]\n\t"
        "adoxq %[hi], %[t0]\n\t"
        "mulxq %[p2], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t0]\n\t"
        "adoxq %[hi], %[t1]\n\t"
        "mulxq %[p3], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[t1]\n\t"
        "adoxq %[hi], %[t2]\n\t"
        "adcxq %[t3], %[t2]\n\t"
        "movq %[t4], %[t3]\n\t"
        "movq %[t0], %[lo]\n\t"
        "movq %[t1], %[hi]\n\t"
        "movq %[t2], %%rdx\n\t"
        "subq %[p0], %[t3]\n\t"
        "sbbq %[p1], %[lo]\n\t"
        "sbbq %[p2], %[hi]\n\t"
        "sbbq %[p3], %%rdx\n\t"
        "cmovncq %[t3], %[t4]\n\t"
        "cmovncq %[lo], %[t0]\n\t"
        "cmovncq %[hi], %[t1]\n\t"
        "cmovncq %%rdx, %[t2]\n\t"
        : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4), [lo] "=&r"(lo),
          [hi] "=&r"(hi)
        : [a] "r"(a.v), [b] "r"(b.v), [inv] "m"(kInv), [p0] "m"(Params::P[0]), [p1] "m"(Params::P[1]),
          [p2] "m"(Params::P[2]), [p3] "m"(Params::P[3]), "m"(*(const u64(*)[4])a.v), "m"(*(const u64(*)[4])b.v)
        : "rdx", "cc");
    return Fp{{t4, t0, t1, t2}};
  }
#endif

  friend inline Fp operator*(const Fp& a, const Fp& b) {
#if BN254_FIELD_ADX
    return mulAdx(a, b);
#else
    return mulPortable(a, b);
#endif
  }

#if BN254_FIELD_ADX
  // Montgomery square with MULX/ADCX/ADOX: the 512-bit square from 6 cross products (doubled) and 4 diagonal
  // products (10 MULX instead of 16), then 4 reduction rows on the low half only, giving u = (T_lo + M*P) / 2^256
  // <= P, and the result T_hi + u < 2P (T_hi < P^2 / 2^256 < P) after one conditional subtraction.
  static inline Fp sqrAdx(const Fp& x) {
    u64 T0, T1, T2, T3, T4, T5, T6, T7, lo, hi;
    const u64* a = x.v;
    __asm__(
        "movq 0(%[a]), %%rdx\n\t"
        "mulxq 8(%[a]), %[T1], %[T2]\n\t"
        "mulxq 16(%[a]), %[lo], %[T3]\n\t"
        "addq %[lo], %[T2]\n\t"
        "mulxq 24(%[a]), %[lo], %[T4]\n\t"
        "adcq %[lo], %[T3]\n\t"
        "adcq $0, %[T4]\n\t"
        "movq 8(%[a]), %%rdx\n\t"
        "xorl %k[T0], %k[T0]\n\t"
        "mulxq 16(%[a]), %[lo], %[hi]\n\t"
        "adoxq %[lo], %[T3]\n\t"
        "adcxq %[hi], %[T4]\n\t"
        "mulxq 24(%[a]), %[lo], %[T5]\n\t"
        "adoxq %[lo], %[T4]\n\t"
        "adcxq %[T0], %[T5]\n\t"
        "adoxq %[T0], %[T5]\n\t"
        "movq 16(%[a]), %%rdx\n\t"
        "mulxq 24(%[a]), %[lo], %[T6]\n\t"
        "addq %[lo], %[T5]\n\t"
        "adcq $0, %[T6]\n\t"
        "xorl %k[T7], %k[T7]\n\t"
        "movq 0(%[a]), %%rdx\n\t"
        "mulxq %%rdx, %[T0], %[hi]\n\t"
        "adcxq %[T1], %[T1]\n\t"
        "adoxq %[hi], %[T1]\n\t"
        "movq 8(%[a]), %%rdx\n\t"
        "mulxq %%rdx, %[lo], %[hi]\n\t"
        "adcxq %[T2], %[T2]\n\t"
        "adoxq %[lo], %[T2]\n\t"
        "adcxq %[T3], %[T3]\n\t"
        "adoxq %[hi], %[T3]\n\t"
        "movq 16(%[a]), %%rdx\n\t"
        "mulxq %%rdx, %[lo], %[hi]\n\t"
        "adcxq %[T4], %[T4]\n\t"
        "adoxq %[lo], %[T4]\n\t"
        "adcxq %[T5], %[T5]\n\t"
        "adoxq %[hi], %[T5]\n\t"
        "movq 24(%[a]), %%rdx\n\t"
        "mulxq %%rdx, %[lo], %[hi]\n\t"
        "adcxq %[T6], %[T6]\n\t"
        "adoxq %[lo], %[T6]\n\t"
        "adcxq %[T7], %[T7]\n\t"
        "adoxq %[hi], %[T7]\n\t"
        "movq %[T0], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %k[a], %k[a]\n\t"
        "mulxq %[p0], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[T0]\n\t"
        "adoxq %[hi], %[T1]\n\t"
        "mulxq %[p1], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[T1]\n\t"
        "adoxq %[hi], %[T2]\n\t"
        "mulxq %[p2], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[T2]\n\t"
        "adoxq %[hi], %[T3]\n\t"
        "mulxq %[p3], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[T3]\n\t"
        "adoxq %[hi], %[a]\n\t"
        "adcxq %[T0], %[a]\n\t"
        "movq %[T1], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %k[lo], %k[lo]\n\t"
        "mulxq %[p0], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[T1]\n\t"
        "adoxq %[hi], %[T2]\n\t"
        "mulxq %[p1], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[T2]\n\t"
        "adoxq %[hi], %[T3]\n\t"
        "mulxq %[p2], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[T3]\n\t"
        "adoxq %[hi], %[a]\n\t"
        "mulxq %[p3], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[a]\n\t"
        "adoxq %[hi], %[T0]\n\t"
        "adcxq %[T1], %[T0]\n\t"
        "movq %[T2], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %k[lo], %k[lo]\n\t"
        "mulxq %[p0], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[T2]\n\t"
        "adoxq %[hi], %[T3]\n\t"
        "mulxq %[p1], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[T3]\n\t"
        "adoxq %[hi], %[a]\n\t"
        "mulxq %[p2], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[a]\n\t"
        "adoxq %[hi], %[T0]\n\t"
        "mulxq %[p3], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[T0]\n\t"
        "adoxq %[hi], %[T1]\n\t"
        "adcxq %[T2], %[T1]\n\t"
        "movq %[T3], %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %k[lo], %k[lo]\n\t"
        "mulxq %[p0], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[T3]\n\t"
        "adoxq %[hi], %[a]\n\t"
        "mulxq %[p1], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[a]\n\t"
        "adoxq %[hi], %[T0]\n\t"
        "mulxq %[p2], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[T0]\n\t"
        "adoxq %[hi], %[T1]\n\t"
        "mulxq %[p3], %[lo], %[hi]\n\t"
        "adcxq %[lo], %[T1]\n\t"
        "adoxq %[hi], %[T2]\n\t"
        "adcxq %[T3], %[T2]\n\t"
        "addq %[a], %[T4]\n\t"
        "adcq %[T0], %[T5]\n\t"
        "adcq %[T1], %[T6]\n\t"
        "adcq %[T2], %[T7]\n\t"
        "movq %[T4], %[T3]\n\t"
        "movq %[T5], %[lo]\n\t"
        "movq %[T6], %[hi]\n\t"
        "movq %[T7], %%rdx\n\t"
        "subq %[p0], %[T3]\n\t"
        "sbbq %[p1], %[lo]\n\t"
        "sbbq %[p2], %[hi]\n\t"
        "sbbq %[p3], %%rdx\n\t"
        "cmovncq %[T3], %[T4]\n\t"
        "cmovncq %[lo], %[T5]\n\t"
        "cmovncq %[hi], %[T6]\n\t"
        "cmovncq %%rdx, %[T7]\n\t"
        : [T0] "=&r"(T0), [T1] "=&r"(T1), [T2] "=&r"(T2), [T3] "=&r"(T3), [T4] "=&r"(T4), [T5] "=&r"(T5),
          [T6] "=&r"(T6), [T7] "=&r"(T7), [lo] "=&r"(lo), [hi] "=&r"(hi), [a] "+&r"(a)
        : [inv] "m"(kInv), [p0] "m"(Params::P[0]), [p1] "m"(Params::P[1]), [p2] "m"(Params::P[2]),
          [p3] "m"(Params::P[3]), "m"(*(const u64(*)[4])x.v)
        : "rdx", "cc");
    return Fp{{T4, T5, T6, T7}};
  }
#endif

  inline Fp sqr() const {
#if BN254_FIELD_ADX
    return sqrAdx(*this);
#else
    return *this * *this;
#endif
  }

  inline Fp& operator+=(const Fp& o) { return *this = *this + o; }
  inline Fp& operator-=(const Fp& o) { return *this = *this - o; }
  inline Fp& operator*=(const Fp& o) { return *this = *this * o; }

  // raw limbs (no Montgomery conversion)
  static inline Fp fromLimbs(const u64 l[4]) { return Fp{{l[0], l[1], l[2], l[3]}}; }
  static inline Fp fromBytes(const uint8_t* p) { Fp r; memcpy(r.v, p, 32); return r; }
  inline void toBytes(uint8_t* p) const { memcpy(p, v, 32); }

  // normal integer a (< P) -> Montgomery form
  static inline Fp fromNormal(const Fp& a) { return a * Fp{{Params::R2[0], Params::R2[1], Params::R2[2], Params::R2[3]}}; }
  // Montgomery form -> normal integer limbs
  inline Fp toNormal() const { return *this * Fp{{1, 0, 0, 0}}; }

  // this^e for e given as 4 little-endian limbs
  inline Fp pow(const u64 e[4]) const {
    Fp r = one();
    for (int i = 3; i >= 0; i--)
      for (int j = 63; j >= 0; j--) {
        r = r.sqr();
        if ((e[i] >> j) & 1) r = r * *this;
      }
    return r;
  }

  // inverse by Fermat (0 maps to 0)
  inline Fp inv() const {
    u64 e[4] = {Params::P[0] - 2, Params::P[1], Params::P[2], Params::P[3]};
    return pow(e);
  }
};

typedef Fp<FqParams> Fq;
typedef Fp<FrParams> Fr;

// F_q^2 = F_q[u] / (u^2 + 1)
struct Fq2 {
  Fq c0, c1;
  static inline Fq2 zero() { return Fq2{Fq::zero(), Fq::zero()}; }
  static inline Fq2 one() { return Fq2{Fq::one(), Fq::zero()}; }
  inline bool isZero() const { return c0.isZero() && c1.isZero(); }
  inline bool operator==(const Fq2& o) const { return c0 == o.c0 && c1 == o.c1; }
  inline bool operator!=(const Fq2& o) const { return !(*this == o); }
  friend inline Fq2 operator+(const Fq2& a, const Fq2& b) { return Fq2{a.c0 + b.c0, a.c1 + b.c1}; }
  friend inline Fq2 operator-(const Fq2& a, const Fq2& b) { return Fq2{a.c0 - b.c0, a.c1 - b.c1}; }
  friend inline Fq2 operator*(const Fq2& a, const Fq2& b) {
    Fq v0 = a.c0 * b.c0, v1 = a.c1 * b.c1;
    Fq m = (a.c0 + a.c1) * (b.c0 + b.c1);
    return Fq2{v0 - v1, m - v0 - v1};
  }
  inline Fq2 sqr() const {
    Fq m = c0 * c1;
    return Fq2{(c0 + c1) * (c0 - c1), m + m};
  }
  inline Fq2 neg() const { return Fq2{c0.neg(), c1.neg()}; }
  inline Fq2 dbl() const { return *this + *this; }
  inline Fq2 inv() const {
    Fq t = (c0.sqr() + c1.sqr()).inv();
    return Fq2{c0 * t, (c1 * t).neg()};
  }
  inline Fq2& operator+=(const Fq2& o) { return *this = *this + o; }
  inline Fq2& operator-=(const Fq2& o) { return *this = *this - o; }
  inline Fq2& operator*=(const Fq2& o) { return *this = *this * o; }
};

}  // namespace bn254
