// EdDSA-Poseidon signature verification on Baby Jubjub, circomlib's scheme (circomlibjs eddsa.verifyPoseidon,
// circuit EdDSAPoseidonVerifier): a signature (R8, S) on the field element msg under key A is valid iff
//   R8 and A are on the curve, S < l, and S*Base8 == R8 + (8*hm)*A with hm = Poseidon(R8x, R8y, Ax, Ay, msg).
// Points are not required to lie in the prime subgroup (circomlibjs does not require it).
//
// Record layout (eddsaRecordBytes(k) each), 32-byte little-endian normal integers: the message, then R8x, R8y,
// S, Ax, Ay. With k = 0 the message is msg itself; with k = 1..16 it is given as k Poseidon inputs x_1..x_k
// and msg = Poseidon(x_1, ..., x_k), hashed here (in the same pass as hm).
// Field values must be canonical (< p; the caller reduces, as circomlibjs's F.e does, both for verifyPoseidon's
// arguments and for poseidon's inputs); any non-canonical value, S >= l, or a point off the curve makes the
// record invalid.
//
// verifySingle checks each record exactly with its own equation. verifyBatch gives the same verdicts from one
// multi-scalar multiplication per batch (see verifyBatch for the argument), locating failures by bisection.
#pragma once
#include <sys/random.h>
#include <algorithm>
#include <array>
#include <cerrno>
#include <stdexcept>
#include <unordered_map>
#include <vector>
#include "babyjub.hpp"
#include "babyjub_msm.hpp"
#include "parallel.hpp"
#include "poseidon.hpp"

namespace bn254 {

// Bytes of R8x, R8y, S, Ax, Ay, after the message in every record.
static constexpr size_t kSignatureBytes = 5 * 32;
// Records per thread below which verifyEddsaBatch uses fewer threads than asked.
static constexpr size_t kBatchPerThread = 128;
// Groups of at most this many records are settled one record at a time by verifyEddsaBatch (bisection leaves).
static constexpr size_t kBatchLeaf = 4;

// Bytes of one record whose message is given as itself (messageInputs = 0) or as its messageInputs Poseidon inputs.
inline size_t eddsaRecordBytes(int messageInputs) { return 32 * (size_t)std::max(1, messageInputs) + kSignatureBytes; }

struct EddsaItem {
  bool ok;       // passed the range and curve checks
  EdAffine r8, a;
  Scalar s;      // S, < l
  Scalar h;      // hm mod l
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

// 8*x for x < l (l < 2^251, so 8x < 2^254: an MSM scalar)
inline Scalar times8(const Scalar& x) {
  Scalar r;
  r.v[3] = (x.v[3] << 3) | (x.v[2] >> 61);
  r.v[2] = (x.v[2] << 3) | (x.v[1] >> 61);
  r.v[1] = (x.v[1] << 3) | (x.v[0] >> 61);
  r.v[0] = x.v[0] << 3;
  return r;
}

// The range and curve checks of one record; fills it.r8, it.a, it.s and the message's values (max(1, k) of them:
// msg itself, or its Poseidon inputs) in msg. False: the record is invalid.
inline bool checkEddsaRecord(const BabyJub& bj, const uint8_t* rec, int messageInputs, EddsaItem& it, Fr* msg) {
  const int nm = std::max(1, messageInputs);
  for (int f = 0; f < nm; f++) {
    if (!canonical(rec + 32 * f, FrParams::P)) return false;
    msg[f] = fieldAt(rec + 32 * f);
  }
  const uint8_t* sig = rec + 32 * nm;  // R8x, R8y, S, Ax, Ay
  for (int f : {0, 1, 3, 4})
    if (!canonical(sig + 32 * f, FrParams::P)) return false;
  if (!canonical(sig + 64, FlParams::P)) return false;
  memcpy(it.s.v, sig + 64, 32);
  it.r8 = EdAffine{fieldAt(sig), fieldAt(sig + 32)};
  it.a = EdAffine{fieldAt(sig + 96), fieldAt(sig + 128)};
  return bj.onCurve(it.r8) && bj.onCurve(it.a);
}

}  // namespace eddsa_detail

// Parses records [b, e) into items[b, e): range and curve checks, the message (Poseidon of its inputs when the
// record carries them) and h = Poseidon(R8x, R8y, Ax, Ay, msg) mod l. Poseidon::kLanes records at a time, their
// hashes computed together (Poseidon::hashLanes).
inline void parseEddsaRecords(const BabyJub& bj, const uint8_t* recs, int messageInputs, size_t b, size_t e, EddsaItem* items) {
  constexpr int L = Poseidon::kLanes;
  const Poseidon& pos = Poseidon::instance();
  const size_t bytes = eddsaRecordBytes(messageInputs);
  for (size_t c = b; c < e; c += L) {
    Fr msgIn[L][Poseidon::kMaxInputs], msg[L], challenge[L][5], hm[L];
    const Fr* msgPtr[L];
    const Fr* challengePtr[L];
    size_t at[L];  // the records that passed the checks, in lanes 0..m-1
    int m = 0;
    for (size_t i = c; i < std::min(e, c + L); i++) {
      items[i] = EddsaItem{};
      if (eddsa_detail::checkEddsaRecord(bj, recs + bytes * i, messageInputs, items[i], msgIn[m])) at[m++] = i;
    }
    for (int j = 0; j < m; j++) msgPtr[j] = msgIn[j];
    if (messageInputs > 0) pos.hashLanes(msgPtr, messageInputs, m, msg);
    else
      for (int j = 0; j < m; j++) msg[j] = msgIn[j][0];
    for (int j = 0; j < m; j++) {
      const EddsaItem& it = items[at[j]];
      const Fr in[5] = {it.r8.x, it.r8.y, it.a.x, it.a.y, msg[j]};
      std::copy(in, in + 5, challenge[j]);
      challengePtr[j] = challenge[j];
    }
    pos.hashLanes(challengePtr, 5, m, hm);
    for (int j = 0; j < m; j++) {
      EddsaItem& it = items[at[j]];
      it.h = modL(hm[j].toNormal().v);
      it.ok = true;
    }
  }
}

// The signature equation of one parsed record, exactly: S*Base8 == R8 + (8h)*A ((8*hm)*A == (8h)*A because the
// order of A divides 8l).
inline bool eddsaEquationHolds(const BabyJub& bj, const EddsaItem& it) {
  if (!it.ok) return false;
  EdExt left = bj.mulBase8(it.s);
  EdExt right = bj.add(bj.mul(it.a, eddsa_detail::times8(it.h)), EdExt::fromAffine(it.r8));
  return BabyJub::sameProjective(left, right);
}

// out[i] = 1 iff record i is a valid signature, each checked on its own.
inline void verifyEddsaSingle(const uint8_t* recs, int messageInputs, size_t n, uint8_t* out, int nThreads) {
  const BabyJub& bj = BabyJub::instance();
  std::vector<EddsaItem> items(n);
  parallelRange(n, nThreads, [&](size_t b, size_t e) {
    parseEddsaRecords(bj, recs, messageInputs, b, e, items.data());
    for (size_t i = b; i < e; i++) out[i] = eddsaEquationHolds(bj, items[i]);
  }, 2);
}

namespace eddsa_detail {

// n fresh uniform 128-bit coefficients from the OS CSPRNG.
inline std::vector<Scalar> randomCoefficients(size_t n) {
  std::vector<uint8_t> rnd(16 * n);
  fillRandom(rnd.data(), rnd.size());
  std::vector<Scalar> z(n);
  for (size_t i = 0; i < n; i++) {
    memcpy(z[i].v, rnd.data() + 16 * i, 16);
    z[i].v[2] = z[i].v[3] = 0;
  }
  return z;
}

// Ids 0, 1, ... of the distinct public keys of the live records (keyOf[i] for record i; -A for each id in negKey).
inline void publicKeyIds(const BabyJub& bj, const std::vector<EddsaItem>& items, const std::vector<size_t>& liveIdx,
                         std::vector<uint32_t>& keyOf, std::vector<EdPre>& negKey) {
  struct KeyHash {
    size_t operator()(const std::array<u64, 8>& k) const { return (size_t)(k[0] ^ (k[4] * 0x9e3779b97f4a7c15ULL)); }
  };
  std::unordered_map<std::array<u64, 8>, uint32_t, KeyHash> ids;
  for (size_t i : liveIdx) {
    const EdAffine& a = items[i].a;
    std::array<u64, 8> key;
    memcpy(key.data(), a.x.v, 32);
    memcpy(key.data() + 4, a.y.v, 32);
    auto [it, fresh] = ids.emplace(key, (uint32_t)negKey.size());
    if (fresh) negKey.push_back(bj.pre(a).neg());
    keyOf[i] = it->second;
  }
}

}  // namespace eddsa_detail

// live[i] = 1 for the records of [b, e) that passed parsing and whose R8 lies in the prime-order subgroup,
// BabyJub::kSubgroupLanes tests at a time.
inline void markPrimeOrderNonces(const BabyJub& bj, const EddsaItem* items, size_t b, size_t e, uint8_t* live) {
  constexpr int L = BabyJub::kSubgroupLanes;
  EdAffine r8[L];
  size_t at[L];
  bool in[L];
  int m = 0;
  auto flush = [&]() {
    bj.inPrimeSubgroupLanes(r8, m, in);
    for (int j = 0; j < m; j++) live[at[j]] = in[j];
    m = 0;
  };
  for (size_t i = b; i < e; i++) {
    if (!items[i].ok) continue;
    r8[m] = items[i].r8;
    at[m++] = i;
    if (m == L) flush();
  }
  flush();
}

// Batch verification with verdicts equal to verifyEddsaSingle's (up to a 2^-128 chance per batch).
//
// With E_i = S_i*B8 - R8_i - (8 hm_i)*A_i, record i is valid iff E_i = O. The batch checks
//   sum_i z_i E_i = (sum z_i S_i mod l)*B8 + sum z_i*(-R8_i) + sum_A (8 (sum_{i: A_i = A} z_i hm_i mod l))*(-A) = O
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
// injective on [0, 2^128) since 2^128 < l).
//
// Scalars and shared keys: B8 has order l, the R8_i now too, so their coefficients count mod l. For a key A
// (any point on the curve, torsion included), 8A has order dividing l, so (8c)*A depends on c mod l only, and
// the terms of records signed by the same A add up exactly: sum_i (8 z_i hm_i)*(-A) = (8 (sum_i z_i hm_i mod l))*(-A).
// Records sharing a key (compared as canonical coordinates) therefore share one MSM point, and the batch sum
// is the same group element as with one point per record: the argument above holds unchanged. The MSM has
// one point per record, one per distinct key, and B8.
//
// When the batch equation fails, the set is bisected (an equation per half, same z_i) down to groups of
// kBatchLeaf records, which are checked one by one with eddsaEquationHolds; when both halves of a failing set fail
// too, the failures are dense and bisecting further would cost more than the records one by one (an all-bad group
// of 1,024 took about 3x as long as checking it one by one), so both halves are checked one by one. A batch that small from the start
// is checked that way directly (verifyEddsaSingle: no subgroup tests or MSM terms to waste). Threads: one
// parallel pass over the records, then the MSM's windows in parallel.
inline void verifyEddsaBatch(const uint8_t* recs, int messageInputs, size_t n, uint8_t* out, int nThreads) {
  if (n <= kBatchLeaf) return verifyEddsaSingle(recs, messageInputs, n, out, 1);
  const BabyJub& bj = BabyJub::instance();
  // each thread start costs tens of microseconds (more on a busy machine): small batches use fewer threads
  nThreads = (int)std::max<size_t>(1, std::min<size_t>((size_t)std::max(1, nThreads), (n + kBatchPerThread - 1) / kBatchPerThread));
  const std::vector<Scalar> z = eddsa_detail::randomCoefficients(n);
  // per record, in one parallel pass: range/curve checks, the message and hm, the subgroup test of R8, and
  // -R8_i (MSM point with coefficient z_i), z_i hm_i and z_i S_i mod l (Montgomery form)
  std::vector<EddsaItem> items(n);
  std::vector<uint8_t> live(n, 0);
  std::vector<EdPre> negR8(n);
  std::vector<Fl> zh(n), zs(n);
  parallelRange(n, nThreads, [&](size_t b, size_t e) {
    parseEddsaRecords(bj, recs, messageInputs, b, e, items.data());
    markPrimeOrderNonces(bj, items.data(), b, e, live.data());
    for (size_t i = b; i < e; i++) {
      if (!live[i]) continue;
      const EddsaItem& it = items[i];
      negR8[i] = bj.pre(it.r8).neg();
      Fl zm = Fl::fromNormal(Fl::fromLimbs(z[i].v));
      zh[i] = zm * Fl::fromNormal(Fl::fromLimbs(it.h.v));
      zs[i] = zm * Fl::fromNormal(Fl::fromLimbs(it.s.v));
    }
  }, 4);
  std::vector<size_t> liveIdx;
  for (size_t i = 0; i < n; i++) {
    out[i] = 0;
    if (live[i]) liveIdx.push_back(i);
  }
  if (liveIdx.empty()) return;
  std::vector<uint32_t> keyOf(n);
  std::vector<EdPre> negKey;
  eddsa_detail::publicKeyIds(bj, items, liveIdx, keyOf, negKey);

  std::vector<EdPre> pts;
  std::vector<Scalar> sc;
  std::vector<Fl> keySum(negKey.size());  // sum of z_i hm_i mod l per key, over the records of one equation
  std::vector<size_t> keyEquation(negKey.size(), 0);  // the last equation (1, 2, ...) that used the key
  size_t equation = 0;
  std::vector<uint32_t> keysUsed;
  auto normal = [](const Fl& x) {
    Scalar r;
    x.toNormal().toBytes(reinterpret_cast<uint8_t*>(r.v));
    return r;
  };
  // the batch equation over records idx[0..m)
  auto holds = [&](const size_t* idx, size_t m) {
    pts.clear();
    sc.clear();
    keysUsed.clear();
    equation++;
    Fl sumZS = Fl::zero();
    for (size_t k = 0; k < m; k++) {
      size_t i = idx[k];
      pts.push_back(negR8[i]);
      sc.push_back(z[i]);
      sumZS += zs[i];
      uint32_t key = keyOf[i];
      if (keyEquation[key] != equation) {
        keyEquation[key] = equation;
        keysUsed.push_back(key);
        keySum[key] = Fl::zero();
      }
      keySum[key] += zh[i];
    }
    for (uint32_t key : keysUsed) {
      pts.push_back(negKey[key]);
      sc.push_back(eddsa_detail::times8(normal(keySum[key])));
    }
    pts.push_back(bj.pre(bj.base8));
    sc.push_back(normal(sumZS));
    return babyJubMsm(bj, pts.data(), sc.data(), pts.size(), nThreads).isIdentity();
  };
  auto oneByOne = [&](const size_t* idx, size_t m) {
    for (size_t k = 0; k < m; k++) out[idx[k]] = eddsaEquationHolds(bj, items[idx[k]]);
  };
  auto allHold = [&](const size_t* idx, size_t m) {
    for (size_t k = 0; k < m; k++) out[idx[k]] = 1;
  };
  // a set whose equation failed: each half's equation is checked; a half that holds is valid, a failing one is
  // bisected again, unless both failed (dense failures: both halves one by one) or it is a leaf
  std::function<void(const size_t*, size_t)> failing = [&](const size_t* idx, size_t m) {
    const size_t* half[2] = {idx, idx + m / 2};
    const size_t size[2] = {m / 2, m - m / 2};
    bool held[2] = {false, false};
    bool checked[2] = {false, false};
    for (int s = 0; s < 2; s++) {
      if (size[s] <= kBatchLeaf) continue;
      checked[s] = true;
      held[s] = holds(half[s], size[s]);
      if (held[s]) allHold(half[s], size[s]);
    }
    const bool dense = checked[0] && checked[1] && !held[0] && !held[1];
    for (int s = 0; s < 2; s++) {
      if (held[s]) continue;
      if (!checked[s] || dense) oneByOne(half[s], size[s]);
      else failing(half[s], size[s]);
    }
  };
  if (liveIdx.size() <= kBatchLeaf) oneByOne(liveIdx.data(), liveIdx.size());
  else if (holds(liveIdx.data(), liveIdx.size())) allHold(liveIdx.data(), liveIdx.size());
  else failing(liveIdx.data(), liveIdx.size());
}

}  // namespace bn254
