// Poseidon over the BN254 scalar field Fr with circomlib's parameters (x^5 S-box, 8 full rounds, t = 2..17),
// computed exactly as circomlibjs's poseidon_opt.js (the optimized form: sparse partial rounds with the
// C, S, M, P constants of poseidon_constants_opt.json, generated into poseidon_constants.hpp at build time).
#pragma once
#include <stdexcept>
#include <vector>
#include "field.hpp"
#include "poseidon_constants.hpp"

namespace bn254 {

class Poseidon {
 public:
  static constexpr int kMaxInputs = poseidon_gen::kMaxT - 1;

  // The process-wide instance (constants converted to Montgomery form on first use).
  static const Poseidon& instance() {
    static const Poseidon p;
    return p;
  }

  // Hash of n = 1..kMaxInputs Montgomery-form elements (circomlibjs: poseidon(inputs), initial state 0, one output).
  Fr hash(const Fr* in, int n) const {
    if (n < 1 || n > kMaxInputs) throw std::range_error("Poseidon takes 1 to 16 inputs");
    const poseidon_gen::Layout& L = poseidon_gen::kLayout[n - 1];
    const int t = L.t;
    const Fr* C = k_.data() + L.offC;
    const Fr* S = k_.data() + L.offS;
    const Fr* M = k_.data() + L.offM;
    const Fr* P = k_.data() + L.offP;
    Fr st[poseidon_gen::kMaxT], tmp[poseidon_gen::kMaxT];
    st[0] = Fr::zero();
    for (int i = 1; i < t; i++) st[i] = in[i - 1];
    for (int i = 0; i < t; i++) st[i] += C[i];
    for (int r = 0; r < 3; r++) {  // nRoundsF / 2 - 1 full rounds
      for (int i = 0; i < t; i++) st[i] = pow5(st[i]) + C[(r + 1) * t + i];
      mix(st, tmp, M, t);
    }
    for (int i = 0; i < t; i++) st[i] = pow5(st[i]) + C[4 * t + i];
    mix(st, tmp, P, t);
    for (int r = 0; r < L.nRoundsP; r++) {
      st[0] = pow5(st[0]) + C[5 * t + r];
      const Fr* s = S + (2 * t - 1) * r;
      Fr s0 = s[0] * st[0];
      for (int j = 1; j < t; j++) s0 += s[j] * st[j];
      for (int k = 1; k < t; k++) st[k] += st[0] * s[t + k - 1];
      st[0] = s0;
    }
    for (int r = 0; r < 3; r++) {
      for (int i = 0; i < t; i++) st[i] = pow5(st[i]) + C[5 * t + L.nRoundsP + r * t + i];
      mix(st, tmp, M, t);
    }
    for (int i = 0; i < t; i++) st[i] = pow5(st[i]);
    Fr out = M[0] * st[0];  // only state[0] of the last mix is the output
    for (int j = 1; j < t; j++) out += M[j * t] * st[j];
    return out;
  }

 private:
  std::vector<Fr> k_;

  Poseidon() {
    const size_t n = sizeof(poseidon_gen::kConstants) / sizeof(poseidon_gen::kConstants[0]);
    k_.resize(n);
    for (size_t i = 0; i < n; i++) k_[i] = Fr::fromNormal(Fr::fromLimbs(poseidon_gen::kConstants[i]));
  }

  static inline Fr pow5(const Fr& a) { return a * a.sqr().sqr(); }

  // st[i] <- sum_j A[j][i] * st[j]  (A stored row-major, t x t)
  static inline void mix(Fr* st, Fr* tmp, const Fr* A, int t) {
    for (int i = 0; i < t; i++) {
      Fr acc = A[i] * st[0];
      for (int j = 1; j < t; j++) acc += A[j * t + i] * st[j];
      tmp[i] = acc;
    }
    for (int i = 0; i < t; i++) st[i] = tmp[i];
  }
};

}  // namespace bn254
