// Groth16 prover over BN254 reading snarkjs .zkey (groth16) and .wtns files.
#pragma once
#include <chrono>
#include <cstdio>
#include <algorithm>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>
#include "curve.hpp"
#include "msm.hpp"
#include "msm_affine.hpp"
#include "ntt.hpp"

namespace bn254 {

// A binary file in the iden3 "binfile" layout: 4-byte magic, u32 version, u32 nSections, then
// sections of (u32 id, u64 size, bytes).
struct BinFile {
  std::vector<uint8_t> data;
  std::map<uint32_t, std::pair<size_t, size_t>> sections;  // id -> (offset, size) of the first section with that id

  static uint32_t u32(const uint8_t* p) { uint32_t v; memcpy(&v, p, 4); return v; }
  static uint64_t u64le(const uint8_t* p) { uint64_t v; memcpy(&v, p, 8); return v; }

  void parse(const char* magic) {
    if (data.size() < 12 || memcmp(data.data(), magic, 4) != 0) throw std::runtime_error(std::string("not a ") + magic + " file");
    uint32_t nSections = u32(data.data() + 8);
    size_t p = 12;
    for (uint32_t i = 0; i < nSections; i++) {
      if (p + 12 > data.size()) throw std::runtime_error("truncated binfile header");
      uint32_t id = u32(data.data() + p);
      uint64_t size = u64le(data.data() + p + 4);
      p += 12;
      if (p + size > data.size()) throw std::runtime_error("truncated binfile section");
      if (!sections.count(id)) sections[id] = {p, (size_t)size};
      p += size;
    }
  }
  const uint8_t* section(uint32_t id, size_t expectSize = (size_t)-1) const {
    auto it = sections.find(id);
    if (it == sections.end()) throw std::runtime_error("missing section " + std::to_string(id));
    if (expectSize != (size_t)-1 && it->second.second != expectSize)
      throw std::runtime_error("section " + std::to_string(id) + " has size " + std::to_string(it->second.second) +
                               ", expected " + std::to_string(expectSize));
    return data.data() + it->second.first;
  }
  size_t sectionSize(uint32_t id) const { section(id); return sections.at(id).second; }
};

inline std::vector<uint8_t> readFile(const std::string& path) {
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + path);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  std::vector<uint8_t> d((size_t)size);
  if (size > 0 && fread(d.data(), 1, (size_t)size, f) != (size_t)size) { fclose(f); throw std::runtime_error("cannot read " + path); }
  fclose(f);
  return d;
}

struct Coef {
  uint32_t m, c, s;
  Fr v;  // as stored (the coefficient times R^2, so that a Montgomery product with a normal witness gives Montgomery form)
};

struct ZKey {
  uint32_t nVars = 0, nPublic = 0, domainSize = 0;
  int power = 0;
  G1Affine alpha1, beta1, delta1;
  G2Affine beta2, gamma2, delta2;
  std::vector<Coef> coefs;
  std::vector<G1Affine> A, B1, C, H;
  std::vector<G2Affine> B2;
};

template <class T>
inline void copyPoints(std::vector<T>& out, const uint8_t* p, size_t n) {
  out.resize(n);
  memcpy((void*)out.data(), p, n * sizeof(T));
}

inline ZKey loadZKey(const std::string& path) {
  static_assert(sizeof(G1Affine) == 64 && sizeof(G2Affine) == 128 && sizeof(Fr) == 32, "layout");
  BinFile f;
  f.data = readFile(path);
  f.parse("zkey");
  if (BinFile::u32(f.section(1, 4)) != 1) throw std::runtime_error("zkey is not groth16");
  const uint8_t* h = f.section(2);
  size_t hs = f.sectionSize(2);
  if (hs < 4 + 32 + 4 + 32 + 12 + 64 * 3 + 128 * 3) throw std::runtime_error("short groth16 header");
  if (BinFile::u32(h) != 32 || memcmp(h + 4, FqParams::P, 32) != 0) throw std::runtime_error("zkey base field is not BN254");
  if (BinFile::u32(h + 36) != 32 || memcmp(h + 40, FrParams::P, 32) != 0) throw std::runtime_error("zkey scalar field is not BN254");
  ZKey z;
  const uint8_t* p = h + 72;
  z.nVars = BinFile::u32(p);
  z.nPublic = BinFile::u32(p + 4);
  z.domainSize = BinFile::u32(p + 8);
  p += 12;
  memcpy((void*)&z.alpha1, p, 64); p += 64;
  memcpy((void*)&z.beta1, p, 64); p += 64;
  memcpy((void*)&z.beta2, p, 128); p += 128;
  memcpy((void*)&z.gamma2, p, 128); p += 128;
  memcpy((void*)&z.delta1, p, 64); p += 64;
  memcpy((void*)&z.delta2, p, 128); p += 128;
  while (((uint32_t)1 << z.power) < z.domainSize) z.power++;
  if (((uint32_t)1 << z.power) != z.domainSize) throw std::runtime_error("domain size is not a power of two");
  if (z.power >= FR_TWO_ADICITY) throw std::runtime_error("domain too large");

  const uint8_t* cs = f.section(4);
  uint32_t nCoef = BinFile::u32(cs);
  if (f.sectionSize(4) != 4 + (size_t)nCoef * 44) throw std::runtime_error("bad coefficient section size");
  z.coefs.resize(nCoef);
  for (uint32_t i = 0; i < nCoef; i++) {
    const uint8_t* q = cs + 4 + (size_t)i * 44;
    Coef& c = z.coefs[i];
    c.m = BinFile::u32(q);
    c.c = BinFile::u32(q + 4);
    c.s = BinFile::u32(q + 8);
    memcpy(c.v.v, q + 12, 32);
    if (c.m > 1 || c.c >= z.domainSize || c.s >= z.nVars) throw std::runtime_error("bad coefficient entry");
  }
  if (z.nVars < z.nPublic + 1) throw std::runtime_error("bad nPublic");
  size_t nPriv = z.nVars - z.nPublic - 1;
  copyPoints(z.A, f.section(5, (size_t)z.nVars * 64), z.nVars);
  copyPoints(z.B1, f.section(6, (size_t)z.nVars * 64), z.nVars);
  copyPoints(z.B2, f.section(7, (size_t)z.nVars * 128), z.nVars);
  copyPoints(z.C, f.section(8, nPriv * 64), nPriv);
  copyPoints(z.H, f.section(9, (size_t)z.domainSize * 64), z.domainSize);
  return z;
}

// Witness values (normal form) from a .wtns file image.
inline std::vector<Scalar> parseWtns(const uint8_t* data, size_t size) {
  BinFile f;
  f.data.assign(data, data + size);
  f.parse("wtns");
  const uint8_t* h = f.section(1);
  if (BinFile::u32(h) != 32 || memcmp(h + 4, FrParams::P, 32) != 0) throw std::runtime_error("witness field is not BN254 Fr");
  uint32_t n = BinFile::u32(h + 36);
  const uint8_t* w = f.section(2, (size_t)n * 32);
  std::vector<Scalar> out(n);
  memcpy((void*)out.data(), w, (size_t)n * 32);
  return out;
}

struct Proof {
  G1Affine a;   // normal (non-Montgomery) coordinates
  G2Affine b;
  G1Affine c;
  std::vector<Scalar> publicSignals;
  double qapMs = 0, nttMs = 0, msmMs = 0, assemblyMs = 0;
  // thread time (ms, summed over the threads) of each MSM, and the witness's 0 / 1 / other scalar counts
  double msmCpuA = 0, msmCpuB1 = 0, msmCpuB2 = 0, msmCpuC = 0, msmCpuH = 0;
  size_t wZeros = 0, wOnes = 0, wOther = 0;
};

inline double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

template <class F>
inline Affine<F> affineNormal(const Jacobian<F>& p);
template <>
inline Affine<Fq> affineNormal(const Jacobian<Fq>& p) {
  Affine<Fq> a = toAffine(p);
  return Affine<Fq>{a.x.toNormal(), a.y.toNormal()};
}
template <>
inline Affine<Fq2> affineNormal(const Jacobian<Fq2>& p) {
  Affine<Fq2> a = toAffine(p);
  return Affine<Fq2>{Fq2{a.x.c0.toNormal(), a.x.c1.toNormal()}, Fq2{a.y.c0.toNormal(), a.y.c1.toNormal()}};
}

inline G1Jac msmG1(const G1Affine* pts, const Scalar* sc, size_t n, int nThreads) {
  return msmBatchAffine<Fq>(pts, sc, n, nThreads);
}

// The five MSMs of a proof as one pool of tasks on all threads (largest first, so that no thread idles
// at the end of one MSM while another has work): each task is one Pippenger window of one MSM, or a chunk
// of the plain sum of the points whose scalar is 1.
//   - Witness values 0 are skipped and values 1 handled by plain additions (in circom circuits most
//     witness values are bits): only the other ("big") values go through Pippenger.
//   - The big values' signed digits are computed once and shared by A, B1, B2 and C (C's scalars are a
//     suffix of the same list: the private part of the witness).
struct MsmResults {
  G1Jac a, b1, c, h;
  G2Jac b2;
};

inline MsmResults proofMsms(const ZKey& z, const std::vector<Scalar>& wit, const std::vector<Scalar>& hs, int nThreads, Proof& out) {
  const size_t nPub1 = (size_t)z.nPublic + 1;
  std::vector<uint32_t> big, ones;
  for (uint32_t i = 0; i < z.nVars; i++) {
    const u64* v = wit[i].v;
    if ((v[1] | v[2] | v[3]) == 0 && v[0] <= 1) {
      if (v[0] == 1) ones.push_back(i);
      else out.wZeros++;
    } else big.push_back(i);
  }
  out.wOnes = ones.size();
  out.wOther = big.size();
  const size_t m = big.size();
  const size_t cStart = (size_t)(std::lower_bound(big.begin(), big.end(), (uint32_t)nPub1) - big.begin());
  const size_t onesCStart = (size_t)(std::lower_bound(ones.begin(), ones.end(), (uint32_t)nPub1) - ones.begin());

  // gathered points and scalars of the big values
  std::vector<Scalar> sc(m);
  std::vector<G1Affine> gA(m), gB1(m), gC(m - cStart);
  std::vector<G2Affine> gB2(m);
  parallelRange(m, nThreads, [&](size_t lo, size_t hi) {
    for (size_t k = lo; k < hi; k++) {
      uint32_t i = big[k];
      sc[k] = wit[i];
      gA[k] = z.A[i];
      gB1[k] = z.B1[i];
      gB2[k] = z.B2[i];
      if (k >= cStart) gC[k - cStart] = z.C[i - nPub1];
    }
  });
  const int cW = chooseWindow(std::max<size_t>(m, 1)), nwW = (255 + cW - 1) / cW;
  const size_t nH = hs.size();
  const int cH = chooseWindow(std::max<size_t>(nH, 1)), nwH = (255 + cH - 1) / cH;
  std::vector<int32_t> digW = m ? signedDigits(sc.data(), m, cW, nwW, nThreads) : std::vector<int32_t>();
  std::vector<int32_t> digH = nH ? signedDigits(hs.data(), nH, cH, nwH, nThreads) : std::vector<int32_t>();

  // windows: 0 A, 1 B1, 2 C, 3 H (G1), 4 B2 (G2)
  std::vector<G1Jac> win[4];
  std::vector<G2Jac> winB2(m ? nwW : 0);
  for (int j = 0; j < 3; j++) win[j].assign(m ? nwW : 0, G1Jac::inf());
  win[3].assign(nH ? nwH : 0, G1Jac::inf());
  const size_t onesChunk = 4096;
  const size_t nOnesChunks = (ones.size() + onesChunk - 1) / onesChunk;
  std::vector<G1Jac> oneA(nOnesChunks, G1Jac::inf()), oneB1(nOnesChunks, G1Jac::inf()), oneC(nOnesChunks, G1Jac::inf());
  std::vector<G2Jac> oneB2(nOnesChunks, G2Jac::inf());

  struct Task {
    int kind, idx;  // kind 0..4: a window of A, B1, C, H, B2; 5: a chunk of the ones
    double cost;
  };
  std::vector<Task> tasks;
  const double g2 = 3.0;  // an Fq2 multiplication is about three Fq ones
  if (m)
    for (int w = 0; w < nwW; w++) {
      tasks.push_back({0, w, (double)m});
      tasks.push_back({1, w, (double)m});
      tasks.push_back({2, w, (double)(m - cStart)});
      tasks.push_back({4, w, g2 * m});
    }
  if (nH)
    for (int w = 0; w < nwH; w++) tasks.push_back({3, w, (double)nH});
  for (size_t k = 0; k < nOnesChunks; k++) tasks.push_back({5, (int)k, 0.2 * onesChunk * (3 + g2)});
  std::stable_sort(tasks.begin(), tasks.end(), [](const Task& x, const Task& y) { return x.cost > y.cost; });

  std::vector<double> cpuKind(5, 0.0);
  std::mutex mu;
  parallelFor(tasks.size(), nThreads, [&](size_t t) {
    const Task& tk = tasks[t];
    auto t0 = std::chrono::steady_clock::now();
    const int w = tk.idx;
    auto g1win = [&](const G1Affine* pts, const int32_t* d, size_t n) {
      return cW >= 6 ? windowSumBatchAffine<Fq>(pts, d, n, cW) : windowSumJacobian<Fq>(pts, d, n, cW);
    };
    switch (tk.kind) {
      case 0: win[0][w] = g1win(gA.data(), digW.data() + (size_t)w * m, m); break;
      case 1: win[1][w] = g1win(gB1.data(), digW.data() + (size_t)w * m, m); break;
      case 2: win[2][w] = g1win(gC.data(), digW.data() + (size_t)w * m + cStart, m - cStart); break;
      case 3: {
        const int32_t* d = digH.data() + (size_t)w * nH;
        win[3][w] = cH >= 6 ? windowSumBatchAffine<Fq>(z.H.data(), d, nH, cH) : windowSumJacobian<Fq>(z.H.data(), d, nH, cH);
        break;
      }
      case 4: {
        const int32_t* d = digW.data() + (size_t)w * m;
        winB2[w] = cW >= 6 ? windowSumBatchAffine<Fq2>(gB2.data(), d, m, cW) : windowSumJacobian<Fq2>(gB2.data(), d, m, cW);
        break;
      }
      default: {
        size_t lo = (size_t)w * onesChunk, hi = std::min(ones.size(), lo + onesChunk);
        G1Jac a = G1Jac::inf(), b1 = G1Jac::inf(), c = G1Jac::inf();
        G2Jac b2 = G2Jac::inf();
        for (size_t k = lo; k < hi; k++) {
          uint32_t i = ones[k];
          a = madd(a, z.A[i]);
          b1 = madd(b1, z.B1[i]);
          b2 = madd(b2, z.B2[i]);
          if (k >= onesCStart) c = madd(c, z.C[i - nPub1]);
        }
        oneA[w] = a; oneB1[w] = b1; oneC[w] = c; oneB2[w] = b2;
      }
    }
    double dt = msSince(t0);
    std::lock_guard<std::mutex> lk(mu);
    if (tk.kind < 5) cpuKind[tk.kind] += dt;
    else for (int j : {0, 1, 2, 4}) cpuKind[j] += dt / 4;  // split evenly (roughly)
  });
  out.msmCpuA = cpuKind[0]; out.msmCpuB1 = cpuKind[1]; out.msmCpuC = cpuKind[2]; out.msmCpuH = cpuKind[3]; out.msmCpuB2 = cpuKind[4];

  MsmResults r;
  r.a = m ? combineWindows(win[0], cW) : G1Jac::inf();
  r.b1 = m ? combineWindows(win[1], cW) : G1Jac::inf();
  r.c = m ? combineWindows(win[2], cW) : G1Jac::inf();
  r.h = nH ? combineWindows(win[3], cH) : G1Jac::inf();
  r.b2 = m ? combineWindows(winB2, cW) : G2Jac::inf();
  for (size_t k = 0; k < nOnesChunks; k++) {
    r.a = add(r.a, oneA[k]);
    r.b1 = add(r.b1, oneB1[k]);
    r.c = add(r.c, oneC[k]);
    r.b2 = add(r.b2, oneB2[k]);
  }
  return r;
}

// r, s: normal-form blinding scalars (< the group order)
inline Proof prove(const ZKey& z, const std::vector<Scalar>& wit, const Scalar& r, const Scalar& s, int nThreads) {
  if (wit.size() != z.nVars) throw std::runtime_error("witness has " + std::to_string(wit.size()) + " values, circuit needs " + std::to_string(z.nVars));
  Proof out;
  const size_t n = z.domainSize;
  auto t0 = std::chrono::steady_clock::now();

  // QAP evaluations of A and B at the domain points: A_T[c] += coef * w[s]
  std::vector<Fr> a(n, Fr::zero()), b(n, Fr::zero()), c(n);
  parallelFor(2, nThreads, [&](size_t m) {
    std::vector<Fr>& dst = m == 0 ? a : b;
    for (const Coef& k : z.coefs)
      if (k.m == m) dst[k.c] += k.v * Fr::fromLimbs(wit[k.s].v);
  });
  parallelRange(n, nThreads, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i++) c[i] = a[i] * b[i];
  });
  out.qapMs = msSince(t0);

  // Evaluations on the odd points of the 2n domain: interpolate, scale coefficient i by g^i/n, evaluate.
  auto t1 = std::chrono::steady_clock::now();
  // No bit-reversal passes: the inverse transforms are decimation-in-frequency (natural order in,
  // bit-reversed coefficients out), the coset factor g^i/n of coefficient i is applied at its bit-reversed
  // position, and the forward transforms are decimation-in-time from bit-reversed order (natural out).
  const Fr w = rootOfUnity(z.power);
  const Fr g = rootOfUnity(z.power + 1);
  const Fr ninv = frFromU64(n).inv();
  const std::vector<Fr> twInv = stageTwiddles(w.inv(), n, nThreads), twFwd = stageTwiddles(w, n, nThreads);
  std::vector<Fr> coset(n);
  {
    const std::vector<Fr> gp = powers(g, n, nThreads);
    parallelRange(n, nThreads, [&](size_t lo, size_t hi) {
      for (size_t p = lo; p < hi; p++) {
        size_t r = 0;
        for (int bit = 0; bit < z.power; bit++) r |= ((p >> bit) & 1) << (z.power - 1 - bit);
        coset[p] = gp[r] * ninv;
      }
    });
  }
  for (std::vector<Fr>* v : {&a, &b, &c}) {
    nttDifToBitReversed(v->data(), n, twInv.data(), nThreads);
    parallelRange(n, nThreads, [&](size_t lo, size_t hi) {
      for (size_t i = lo; i < hi; i++) (*v)[i] *= coset[i];
    });
    nttDitFromBitReversed(v->data(), n, twFwd.data(), nThreads);
  }
  std::vector<Scalar> hs(n);
  parallelRange(n, nThreads, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i++) {
      Fr h = (a[i] * b[i] - c[i]).toNormal();
      memcpy(hs[i].v, h.v, 32);
    }
  });
  out.nttMs = msSince(t1);
  std::vector<Fr>().swap(a);
  std::vector<Fr>().swap(b);
  std::vector<Fr>().swap(c);

  auto t2 = std::chrono::steady_clock::now();
  MsmResults msm = proofMsms(z, wit, hs, nThreads, out);
  G1Jac pa = msm.a, pb1 = msm.b1, pc = msm.c, ph = msm.h;
  G2Jac pb = msm.b2;
  out.msmMs = msSince(t2);

  auto t3 = std::chrono::steady_clock::now();
  // r*s and -(r*s) mod the group order
  Fr rm = Fr::fromNormal(Fr::fromLimbs(r.v)), sm = Fr::fromNormal(Fr::fromLimbs(s.v));
  Fr nrs = (rm * sm).neg().toNormal();
  G1Jac delta1 = G1Jac::fromAffine(z.delta1);
  pa = madd(pa, z.alpha1);
  pa = add(pa, mulScalar(delta1, r.v));
  pb = madd(pb, z.beta2);
  pb = add(pb, mulScalar(G2Jac::fromAffine(z.delta2), s.v));
  pb1 = madd(pb1, z.beta1);
  pb1 = add(pb1, mulScalar(delta1, s.v));
  pc = add(pc, ph);
  pc = add(pc, mulScalar(pa, s.v));
  pc = add(pc, mulScalar(pb1, r.v));
  pc = add(pc, mulScalar(delta1, nrs.v));
  out.a = affineNormal(pa);
  out.b = affineNormal(pb);
  out.c = affineNormal(pc);
  out.publicSignals.assign(wit.begin() + 1, wit.begin() + 1 + z.nPublic);
  out.assemblyMs = msSince(t3);
  return out;
}

}  // namespace bn254
