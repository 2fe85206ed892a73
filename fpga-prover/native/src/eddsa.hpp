// EdDSA-Poseidon signature verification on Baby Jubjub, circomlib's scheme (circomlibjs eddsa.verifyPoseidon,
// circuit EdDSAPoseidonVerifier): a signature (R8, S) on the field element msg under key A is valid iff
//   R8 and A are on the curve, S < l, and S*Base8 == R8 + (8*hm)*A with hm = Poseidon(R8x, R8y, Ax, Ay, msg).
// Points are not required to lie in the prime subgroup (circomlibjs does not require it).
//
// Record layout (kRecordBytes each): msg, R8x, R8y, S, Ax, Ay as 32-byte little-endian normal integers.
// Field values must be canonical (< p; the caller reduces, as circomlibjs's F.e does); any non-canonical value,
// S >= l, or a point off the curve makes the record invalid.
//
// verifySingle checks each record exactly with its own equation. verifyBatch gives the same verdicts from one
// multi-scalar multiplication per batch (see verifyBatch for the argument), locating failures by bisection.
#pragma once
#include <sys/random.h>
#include <cerrno>
#include <stdexcept>
#include <vector>
#include "babyjub.hpp"
#include "babyjub_msm.hpp"
#include "parallel.hpp"
#include "poseidon.hpp"

namespace bn254 {

static constexpr size_t kRecordBytes = 6 * 32;
// Records per thread below which verifyEddsaBatch uses fewer threads than asked.
static constexpr size_t kBatchPerThread = 128;

struct EddsaItem {
  bool ok;       // passed the range and curve checks
  EdAffine r8, a;
  Scalar s;      // S, < l
  Scalar hm8;    // 8 * (hm mod l): (8*hm)*A == hm8*A because the order of A divides 8l
};

namespace eddsa_detail {

inline bool canonical(const uint8_t* p, const u64 mod[4]) {
  u64 v[4];
  memcpy(v, p, 32);
  return lessThan(v, mod);
}

inline Fr fieldAt(const uint8_t* p) { return Fr::fromNormal(Fr::fromBytes(p)); }

inline void fillRandom(uint8_t* buf, size_t len) {
  while (len > 0) {
    ssize_t got = getrandom(buf, len, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("getrandom failed");
    }
    buf += got;
    len -= (size_t)got;
  }
}

}  // namespace eddsa_detail

// Range checks, curve checks and the message hash of one record.
inline EddsaItem parseEddsaRecord(const BabyJub& bj, const uint8_t* rec) {
  using namespace eddsa_detail;
  EddsaItem it{};
  it.ok = false;
  for (int f : {0, 1, 2, 4, 5})
    if (!canonical(rec + 32 * f, FrParams::P)) return it;
  if (!canonical(rec + 96, FlParams::P)) return it;
  memcpy(it.s.v, rec + 96, 32);
  it.r8 = EdAffine{fieldAt(rec + 32), fieldAt(rec + 64)};
  it.a = EdAffine{fieldAt(rec + 128), fieldAt(rec + 160)};
  if (!bj.onCurve(it.r8) || !bj.onCurve(it.a)) return it;
  const Fr in[5] = {it.r8.x, it.r8.y, it.a.x, it.a.y, fieldAt(rec)};
  Fr hm = Poseidon::instance().hash(in, 5).toNormal();
  Scalar h = modL(hm.v);
  it.hm8.v[3] = (h.v[3] << 3) | (h.v[2] >> 61);
  it.hm8.v[2] = (h.v[2] << 3) | (h.v[1] >> 61);
  it.hm8.v[1] = (h.v[1] << 3) | (h.v[0] >> 61);
  it.hm8.v[0] = h.v[0] << 3;
  it.ok = true;
  return it;
}

// The signature equation of one parsed record, exactly: S*Base8 == R8 + hm8*A.
inline bool eddsaEquationHolds(const BabyJub& bj, const EddsaItem& it) {
  if (!it.ok) return false;
  EdExt left = bj.mulBase8(it.s);
  EdExt right = bj.add(bj.mul(it.a, it.hm8), EdExt::fromAffine(it.r8));
  return BabyJub::sameProjective(left, right);
}

// out[i] = 1 iff record i is a valid signature, each checked on its own.
inline void verifyEddsaSingle(const uint8_t* recs, size_t n, uint8_t* out, int nThreads) {
  const BabyJub& bj = BabyJub::instance();
  parallelRange(n, nThreads, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; i++) out[i] = eddsaEquationHolds(bj, parseEddsaRecord(bj, recs + kRecordBytes * i));
  }, 2);
}

// Batch verification with verdicts equal to verifyEddsaSingle's (up to a 2^-128 chance per batch).
//
// With E_i = S_i*B8 - R8_i - (8 hm_i)*A_i, record i is valid iff E_i = O. The batch checks
//   sum_i z_i E_i = (sum z_i S_i mod l)*B8 + sum z_i*(-R8_i) + sum (8 (z_i hm_i mod l))*(-A_i) = O
// for fresh uniform 128-bit z_i from the OS CSPRNG (getrandom), in one MSM.
//
// Torsion: E is Z/l x Z/8, and circomlibjs accepts points of any order. S_i*B8 and (8 hm_i)*A_i always lie
// in the prime subgroup (8 kills A_i's torsion, so a torsion component in A_i never changes a verdict and
// needs nothing here). A torsion component T_i != O in R8_i makes E_i's torsion part -T_i, so record i fails
// on its own; but in a sum, z_i T_i + z_j T_j can cancel (e.g. order-2 components with z_i + z_j even, half
// the time), so the plain batch equation could accept a set with failing members. Hence every R8_i is first
// tested for membership in the prime subgroup (BabyJub::inPrimeSubgroup, exact) and records that fail it are
// invalid without further work. The remaining E_i all lie in the prime-order subgroup, where a nonzero E_i
// survives the random combination except with probability < 2^-128 (for fixed other terms, z -> z E_i is
// injective on [0, 2^128) since 2^128 < l). Scalars: B8 has order l, the R8_i now too, and the order of
// A_i divides 8l, so (8 z_i hm_i)*A_i = (8 (z_i hm_i mod l))*A_i.
//
// When the batch equation fails, the set is bisected (an equation per half, same z_i) down to groups of
// kLeaf records, which are checked one by one with eddsaEquationHolds. Threads: one parallel pass over the
// records, then the MSM's windows in parallel.
inline void verifyEddsaBatch(const uint8_t* recs, size_t n, uint8_t* out, int nThreads) {
  const BabyJub& bj = BabyJub::instance();
  // each thread start costs tens of microseconds (more on a busy machine): small batches use fewer threads
  nThreads = (int)std::max<size_t>(1, std::min<size_t>((size_t)std::max(1, nThreads), (n + kBatchPerThread - 1) / kBatchPerThread));
  std::vector<Scalar> z(n);
  {
    std::vector<uint8_t> rnd(16 * n);
    eddsa_detail::fillRandom(rnd.data(), rnd.size());
    for (size_t i = 0; i < n; i++) {
      memcpy(z[i].v, rnd.data() + 16 * i, 16);
      z[i].v[2] = z[i].v[3] = 0;
    }
  }
  // per record, in one parallel pass: range/curve checks and hm, the subgroup test of R8, and the MSM terms
  // -R8_i with z_i, -A_i with 8 (z_i hm_i mod l), and z_i S_i mod l (Montgomery form) for the B8 term
  std::vector<EddsaItem> items(n);
  std::vector<uint8_t> live(n, 0);
  std::vector<EdPre> negR8(n), negA(n);
  std::vector<Scalar> aCoef(n);
  std::vector<Fl> zs(n);
  parallelRange(n, nThreads, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; i++) {
      const EddsaItem& it = items[i] = parseEddsaRecord(bj, recs + kRecordBytes * i);
      if (!it.ok || !bj.inPrimeSubgroup(it.r8)) continue;
      live[i] = 1;
      negR8[i] = bj.pre(it.r8).neg();
      negA[i] = bj.pre(it.a).neg();
      Fl zm = Fl::fromNormal(Fl::fromLimbs(z[i].v));
      Scalar hmodl;  // hm8 / 8 = hm mod l
      hmodl.v[0] = (it.hm8.v[0] >> 3) | (it.hm8.v[1] << 61);
      hmodl.v[1] = (it.hm8.v[1] >> 3) | (it.hm8.v[2] << 61);
      hmodl.v[2] = (it.hm8.v[2] >> 3) | (it.hm8.v[3] << 61);
      hmodl.v[3] = it.hm8.v[3] >> 3;
      Fl zh = (zm * Fl::fromNormal(Fl::fromLimbs(hmodl.v))).toNormal();
      Scalar& c = aCoef[i];
      c.v[3] = (zh.v[3] << 3) | (zh.v[2] >> 61);
      c.v[2] = (zh.v[2] << 3) | (zh.v[1] >> 61);
      c.v[1] = (zh.v[1] << 3) | (zh.v[0] >> 61);
      c.v[0] = zh.v[0] << 3;
      zs[i] = zm * Fl::fromNormal(Fl::fromLimbs(it.s.v));
    }
  }, 4);
  std::vector<size_t> liveIdx;
  for (size_t i = 0; i < n; i++) {
    out[i] = 0;
    if (live[i]) liveIdx.push_back(i);
  }
  if (liveIdx.empty()) return;

  const size_t kLeaf = 4;
  std::vector<EdPre> pts;
  std::vector<Scalar> sc;
  auto holds = [&](const size_t* idx, size_t m) {
    pts.clear();
    sc.clear();
    Fl sumZS = Fl::zero();
    for (size_t k = 0; k < m; k++) {
      size_t i = idx[k];
      pts.push_back(negR8[i]);
      sc.push_back(z[i]);
      pts.push_back(negA[i]);
      sc.push_back(aCoef[i]);
      sumZS += zs[i];
    }
    pts.push_back(bj.pre(bj.base8));
    Scalar s;
    sumZS.toNormal().toBytes(reinterpret_cast<uint8_t*>(s.v));
    sc.push_back(s);
    return babyJubMsm(bj, pts.data(), sc.data(), pts.size(), nThreads).isIdentity();
  };
  std::function<void(const size_t*, size_t)> settle = [&](const size_t* idx, size_t m) {
    if (m <= kLeaf) {
      for (size_t k = 0; k < m; k++) out[idx[k]] = eddsaEquationHolds(bj, items[idx[k]]);
      return;
    }
    if (holds(idx, m)) {
      for (size_t k = 0; k < m; k++) out[idx[k]] = 1;
      return;
    }
    settle(idx, m / 2);
    settle(idx + m / 2, m - m / 2);
  };
  settle(liveIdx.data(), liveIdx.size());
}

}  // namespace bn254
