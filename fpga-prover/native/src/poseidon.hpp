// Poseidon over the BN254 scalar field Fr with circomlib's parameters (x^5 S-box, 8 full rounds, t = 2..17),
// computed exactly as circomlibjs's poseidon_opt.js (the optimized form: sparse partial rounds with the
// C, S, M, P constants of poseidon_constants_opt.json, generated into poseidon_constants.hpp at build time).
//
// One hash is mostly serial in its partial rounds: each round's S-box (x^5: three dependent multiplications)
// waits for the previous round's sum. hashLanes advances up to kLanes independent states round by round
// together, so the chains of different states overlap in the CPU's pipelines; the arithmetic per state is
// the same as hash's, so the results are identical.
#pragma once
#include <stdexcept>
#include <vector>
#include "field.hpp"
#include "poseidon_constants.hpp"

namespace bn254 {

class Poseidon {
 public:
  static constexpr int kMaxInputs = poseidon_gen::kMaxT - 1;
  // States hashed in lockstep by hashLanes.
  static constexpr int kLanes = 4;

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

  // out[j] = hash(in[j], n) for j < m, m = 0..kLanes: the m states computed in lockstep.
  void hashLanes(const Fr* const* in, int n, int m, Fr* out) const {
    static_assert(kLanes == 4, "hashLanes dispatches on 1..4 lanes");
    switch (m) {
      case 0: return;
      case 1: return hashStates<1>(in, n, out);
      case 2: return hashStates<2>(in, n, out);
      case 3: return hashStates<3>(in, n, out);
      case 4: return hashStates<4>(in, n, out);
      default: throw std::range_error("hashLanes takes 0 to kLanes states");
    }
  }

 private:
  std::vector<Fr> k_;

  Poseidon() {
    const size_t n = sizeof(poseidon_gen::kConstants) / sizeof(poseidon_gen::kConstants[0]);
    k_.resize(n);
    for (size_t i = 0; i < n; i++) k_[i] = Fr::fromNormal(Fr::fromLimbs(poseidon_gen::kConstants[i]));
  }

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
