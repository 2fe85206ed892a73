// Poseidon over the BN254 scalar field Fr with circomlib's parameters (x^5 S-box, 8 full rounds, t = 2..17),
// computed exactly as circomlibjs's poseidon_opt.js (the optimized form: sparse partial rounds with the
// C, S, M, P constants of poseidon_constants_opt.json, generated into poseidon_constants.hpp at build time).
//
// One hash is mostly serial in its partial rounds: each round's S-box (x^5: three dependent multiplications)
// waits for the previous round's sum. hashLanes hashes up to kLanes independent inputs together:
//   - with AVX-512 IFMA (BN254_FR_IFMA), up to 16 states, one per vector lane (field_ifma.hpp) in two vectors,
//     all sums of products reduced once (hashIfma);
//   - otherwise up to 4 scalar states advanced round by round together, so the multiplication chains of
//     different states overlap in the CPU's pipelines (hashStates<L>, the same arithmetic as hash).
// Every path computes the same function (the field is exact), so results are identical.
#pragma once
#include <stdexcept>
#include <vector>
#include "field.hpp"
#include "field_ifma.hpp"
#include "poseidon_constants.hpp"

namespace bn254 {

class Poseidon {
 public:
  static constexpr int kMaxInputs = poseidon_gen::kMaxT - 1;
  // States hashed together by hashLanes.
#if BN254_FR_IFMA
  static constexpr int kLanes = 2 * ifma::kLanes;
#else
  static constexpr int kLanes = 4;
#endif

  // The process-wide instance (constants converted to Montgomery form on first use).
  static const Poseidon& instance() {
    static const Poseidon p;
    return p;
  }

  // Hash of n = 1..kMaxInputs Montgomery-form elements (circomlibjs: poseidon(inputs), initial state 0, one output).
  Fr hash(const Fr* in, int n) const {
    Fr out;
    hashStates<1>(&in, n, &out);
    return out;
  }

  // out[j] = hash(in[j], n) for j < m, m = 0..kLanes, computed together.
  void hashLanes(const Fr* const* in, int n, int m, Fr* out) const {
    if (m < 0 || m > kLanes) throw std::range_error("hashLanes takes 0 to kLanes states");
#if BN254_FR_IFMA
    if (m >= 2) return hashIfma(in, n, m, out);  // one state alone is faster on the scalar path
#endif
    hashScalarLanes(in, n, m, out);
  }

  // hashLanes on the scalar path: up to 4 states in lockstep (m = 0..4).
  void hashScalarLanes(const Fr* const* in, int n, int m, Fr* out) const {
    switch (m) {
      case 0: return;
      case 1: return hashStates<1>(in, n, out);
      case 2: return hashStates<2>(in, n, out);
      case 3: return hashStates<3>(in, n, out);
      case 4: return hashStates<4>(in, n, out);
      default: throw std::range_error("hashScalarLanes takes 0 to 4 states");
    }
  }

#if BN254_FR_IFMA
  // out[j] = hash(in[j], n) for j < m, m = 1..16: one state per lane of the IFMA registers, in one vector of 8
  // lanes (m <= 8) or two advanced together (their serial S-box chains overlap).
  void hashIfma(const Fr* const* in, int n, int m, Fr* out) const {
    if (m <= ifma::kLanes) hashIfmaVectors<1>(in, n, m, out);
    else hashIfmaVectors<2>(in, n, m, out);
  }
#endif

 private:
  std::vector<Fr> k_;
#if BN254_FR_IFMA
  static constexpr int kReduceEvery = 8;
  std::vector<ifma::Limbs52> k52_;  // the same constants in the IFMA form
#endif

  Poseidon() {
    const size_t n = sizeof(poseidon_gen::kConstants) / sizeof(poseidon_gen::kConstants[0]);
    k_.resize(n);
    for (size_t i = 0; i < n; i++) k_[i] = Fr::fromNormal(Fr::fromLimbs(poseidon_gen::kConstants[i]));
#if BN254_FR_IFMA
    k52_.resize(n);
    for (size_t i = 0; i < n; i++) k52_[i] = ifma::Params52::get().constant(k_[i]);
#endif
  }

#if BN254_FR_IFMA
  // hashIfma with K vectors (8K lanes), every step across the K vectors before the next.
  //
  // Value bounds (p/R < 0.012 with R = 2^260; reduce(T) < T/R + p; constants canonical, < p). Loaded inputs plus
  // a constant are < 2.1p. An S-box on x < 12p: x^2 < 144*0.012p + p < 2.8p, x^4 < 1.1p, x^5 + c < 2.2p. A mix or
  // a partial round's sum of t <= 17 products of a state element (< 12p) and a constant: < 17*12*0.012p + p < 3.5p.
  // A partial round's update st[k] += st[0]*s adds st[k] above the reduction (addHigh), so st[k] grows by less
  // than 2.2*0.012p + p < 1.03p per round; every kReduceEvery = 8 rounds they are reduced (times the form of 1,
  // below 12*0.012p + p < 1.2p), so they stay below 3.5p + 8*1.03p < 12p < 2^258 (the limbs hold values < 2^260).
  // Columns: a sum of at most 17 products plus one addHigh and the reduction's own pieces is far below 2^63.
  template <int K>
  void hashIfmaVectors(const Fr* const* in, int n, int m, Fr* out) const {
    using namespace ifma;
    constexpr int W = ifma::kLanes;  // lanes per vector
    if (n < 1 || n > kMaxInputs) throw std::range_error("Poseidon takes 1 to 16 inputs");
    const poseidon_gen::Layout& lay = poseidon_gen::kLayout[n - 1];
    const int t = lay.t;
    const Limbs52* C = k52_.data() + lay.offC;
    const Limbs52* S = k52_.data() + lay.offS;
    const Limbs52* M = k52_.data() + lay.offM;
    const Limbs52* P = k52_.data() + lay.offP;
    typedef Fr8 Row[K];  // element i of every vector
    Row st[poseidon_gen::kMaxT], tmp[poseidon_gen::kMaxT];
    for (int v = 0; v < K; v++) {
      st[0][v] = broadcast(C[0]);  // initial state 0, plus the first round constants
      for (int i = 1; i < t; i++) {
        const Fr* x[W];
        for (int l = 0; l < W; l++) {
          const int j = v * W + l;
          x[l] = in[j < m ? j : 0] + (i - 1);  // unused lanes repeat lane 0
        }
        st[i][v] = load(x, C[i]);
      }
    }
    for (int r = 0; r < 3; r++) {
      for (int i = 0; i < t; i++) sbox8<K>(st[i], &C[(r + 1) * t + i]);
      mix8<K>(st, tmp, M, t);
    }
    for (int i = 0; i < t; i++) sbox8<K>(st[i], &C[4 * t + i]);
    mix8<K>(st, tmp, P, t);
    for (int r = 0; r < lay.nRoundsP; r++) {
      sbox8<K>(st[0], &C[5 * t + r]);
      const Limbs52* s = S + (2 * t - 1) * r;
      Acc s0[K];
      for (int v = 0; v < K; v++) {
        s0[v] = Acc::zero();
        for (int j = 0; j < t; j++) mulAcc(s0[v], st[j][v], s[j]);
      }
      for (int k = 1; k < t; k++)
        for (int v = 0; v < K; v++) {
          Acc u = Acc::zero();
          mulAcc(u, st[0][v], s[t + k - 1]);
          addHigh(u, st[k][v]);
          st[k][v] = reduce(u);
        }
      for (int v = 0; v < K; v++) st[0][v] = reduce(s0[v]);
      if (r % kReduceEvery == kReduceEvery - 1)
        for (int k = 1; k < t; k++)
          for (int v = 0; v < K; v++) {
            Acc u = Acc::zero();
            mulAcc(u, st[k][v], Params52::get().one);
            st[k][v] = reduce(u);
          }
    }
    for (int r = 0; r < 3; r++) {
      for (int i = 0; i < t; i++) sbox8<K>(st[i], &C[5 * t + lay.nRoundsP + r * t + i]);
      mix8<K>(st, tmp, M, t);
    }
    for (int i = 0; i < t; i++) sbox8<K>(st[i], nullptr);
    for (int v = 0; v < K && v * W < m; v++) {
      Acc o = Acc::zero();  // only state[0] of the last mix is the output
      for (int j = 0; j < t; j++) mulAcc(o, st[j][v], M[j * t]);
      store(reduce(o), out + v * W, std::min(W, m - v * W));
    }
  }

  // x[v] <- x[v]^5 + c in each of K vectors (c null: x^5)
  template <int K>
  static inline void sbox8(ifma::Fr8* x, const ifma::Limbs52* c) {
    using namespace ifma;
    Fr8 x2[K], x4[K];
    for (int v = 0; v < K; v++) x2[v] = mul(x[v], x[v]);
    for (int v = 0; v < K; v++) x4[v] = mul(x2[v], x2[v]);
    for (int v = 0; v < K; v++) {
      Acc a = Acc::zero();
      mulAcc(a, x[v], x4[v]);
      if (c) addHigh(a, *c);
      x[v] = reduce(a);
    }
  }

  // st[i] <- sum_j A[j][i] * st[j] in each of K vectors, one reduction per element
  template <int K>
  static inline void mix8(ifma::Fr8 (*st)[K], ifma::Fr8 (*tmp)[K], const ifma::Limbs52* A, int t) {
    using namespace ifma;
    for (int i = 0; i < t; i++)
      for (int v = 0; v < K; v++) {
        Acc a = Acc::zero();
        for (int j = 0; j < t; j++) mulAcc(a, st[j][v], A[j * t + i]);
        tmp[i][v] = reduce(a);
      }
    for (int i = 0; i < t; i++)
      for (int v = 0; v < K; v++) st[i][v] = tmp[i][v];
  }
#endif

  // A row of L values, one per state (element [i][l] of a state array is element i of state l).
  template <int L>
  using Row = Fr[L];

  // x[l] <- x[l]^5 + c for every state, each step across all states before the next
  template <int L>
  static inline void sbox(Fr* x, const Fr& c) {
    Fr x2[L], x4[L];
    for (int l = 0; l < L; l++) x2[l] = x[l].sqr();
    for (int l = 0; l < L; l++) x4[l] = x2[l].sqr();
    for (int l = 0; l < L; l++) x[l] = x[l] * x4[l] + c;
  }

  // st[i] <- sum_j A[j][i] * st[j] in every state (A stored row-major, t x t)
  template <int L>
  static inline void mix(Row<L>* st, Row<L>* tmp, const Fr* A, int t) {
    for (int i = 0; i < t; i++) {
      Fr acc[L];
      for (int l = 0; l < L; l++) acc[l] = A[i] * st[0][l];
      for (int j = 1; j < t; j++)
        for (int l = 0; l < L; l++) acc[l] += A[j * t + i] * st[j][l];
      for (int l = 0; l < L; l++) tmp[i][l] = acc[l];
    }
    for (int i = 0; i < t; i++)
      for (int l = 0; l < L; l++) st[i][l] = tmp[i][l];
  }

  // out[l] = hash(in[l], n) for l < L, all L states advanced together
  template <int L>
  void hashStates(const Fr* const* in, int n, Fr* out) const {
    if (n < 1 || n > kMaxInputs) throw std::range_error("Poseidon takes 1 to 16 inputs");
    const poseidon_gen::Layout& lay = poseidon_gen::kLayout[n - 1];
    const int t = lay.t;
    const Fr* C = k_.data() + lay.offC;
    const Fr* S = k_.data() + lay.offS;
    const Fr* M = k_.data() + lay.offM;
    const Fr* P = k_.data() + lay.offP;
    Row<L> st[poseidon_gen::kMaxT], tmp[poseidon_gen::kMaxT];
    for (int l = 0; l < L; l++) st[0][l] = C[0];  // initial state 0, plus the first round constants
    for (int i = 1; i < t; i++)
      for (int l = 0; l < L; l++) st[i][l] = in[l][i - 1] + C[i];
    for (int r = 0; r < 3; r++) {  // nRoundsF / 2 - 1 full rounds
      for (int i = 0; i < t; i++) sbox<L>(st[i], C[(r + 1) * t + i]);
      mix<L>(st, tmp, M, t);
    }
    for (int i = 0; i < t; i++) sbox<L>(st[i], C[4 * t + i]);
    mix<L>(st, tmp, P, t);
    for (int r = 0; r < lay.nRoundsP; r++) {  // sparse partial rounds: S-box on element 0 only
      sbox<L>(st[0], C[5 * t + r]);
      const Fr* s = S + (2 * t - 1) * r;
      Fr s0[L];
      for (int l = 0; l < L; l++) s0[l] = s[0] * st[0][l];
      for (int j = 1; j < t; j++)
        for (int l = 0; l < L; l++) s0[l] += s[j] * st[j][l];
      for (int k = 1; k < t; k++)
        for (int l = 0; l < L; l++) st[k][l] += st[0][l] * s[t + k - 1];
      for (int l = 0; l < L; l++) st[0][l] = s0[l];
    }
    for (int r = 0; r < 3; r++) {
      for (int i = 0; i < t; i++) sbox<L>(st[i], C[5 * t + lay.nRoundsP + r * t + i]);
      mix<L>(st, tmp, M, t);
    }
    for (int i = 0; i < t; i++) sbox<L>(st[i], Fr::zero());  // last S-box, no round constant
    for (int l = 0; l < L; l++) {  // only state[0] of the last mix is the output
      Fr acc = M[0] * st[0][l];
      for (int j = 1; j < t; j++) acc += M[j * t] * st[j][l];
      out[l] = acc;
    }
  }
};

}  // namespace bn254
