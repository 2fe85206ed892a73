// Node-API bindings: zkey loading, asynchronous proving, the field/MSM/NTT kernels for tests and benchmarks,
// and the sequencer's crypto: Poseidon and EdDSA-Poseidon (Baby Jubjub) signature verification.
#include <napi.h>
#include <memory>
#include <string>
#include "eddsa.hpp"
#include "groth16.hpp"

using namespace bn254;

namespace {

std::string hexBE(const u64 v[4]) {
  static const char* d = "0123456789abcdef";
  std::string s(64, '0');
  for (int i = 0; i < 32; i++) {
    uint8_t b = (uint8_t)(v[3 - i / 8] >> (8 * (7 - i % 8)));
    s[2 * i] = d[b >> 4];
    s[2 * i + 1] = d[b & 15];
  }
  return s;
}

const uint8_t* bytesOf(const Napi::Value& v, size_t& len, const char* what) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a Uint8Array");
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  len = a.ByteLength();
  return a.Data();
}

Scalar scalarArg(const Napi::Value& v, const char* what) {
  size_t len;
  const uint8_t* p = bytesOf(v, len, what);
  if (len != 32) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be 32 bytes");
  Scalar s;
  memcpy(s.v, p, 32);
  return s;
}

int threadsArg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() > i && info[i].IsNumber()) {
    int t = info[i].As<Napi::Number>().Int32Value();
    if (t > 0) return t;
  }
  return defaultThreads();
}

Napi::Value LoadZKey(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "loadZkey(path)");
  ZKey* z;
  try {
    z = new ZKey(loadZKey(info[0].As<Napi::String>().Utf8Value()));
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  auto ext = Napi::External<ZKey>::New(env, z, [](Napi::Env, ZKey* p) { delete p; });
  Napi::Object o = Napi::Object::New(env);
  o.Set("handle", ext);
  o.Set("nVars", z->nVars);
  o.Set("nPublic", z->nPublic);
  o.Set("domainSize", z->domainSize);
  return o;
}

class ProveWorker : public Napi::AsyncWorker {
 public:
  ProveWorker(Napi::Env env, Napi::Object zkeyObj, ZKey* z, std::vector<uint8_t> wtns, Scalar r, Scalar s, int nThreads)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), z_(z), wtns_(std::move(wtns)), r_(r), s_(s), nThreads_(nThreads) {
    zkeyRef_ = Napi::Persistent(zkeyObj);  // keeps the zkey alive while proving
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      auto t0 = std::chrono::steady_clock::now();
      std::vector<Scalar> wit = parseWtns(wtns_.data(), wtns_.size());
      std::vector<uint8_t>().swap(wtns_);
      parseMs_ = msSince(t0);
      proof_ = prove(*z_, wit, r_, s_, nThreads_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object o = Napi::Object::New(env);
    auto pair = [&](const Fq& x, const Fq& y) {
      Napi::Array a = Napi::Array::New(env, 2);
      a.Set((uint32_t)0, hexBE(x.v));
      a.Set((uint32_t)1, hexBE(y.v));
      return a;
    };
    o.Set("piA", pair(proof_.a.x, proof_.a.y));
    Napi::Array b = Napi::Array::New(env, 2);
    b.Set((uint32_t)0, pair(proof_.b.x.c0, proof_.b.x.c1));
    b.Set((uint32_t)1, pair(proof_.b.y.c0, proof_.b.y.c1));
    o.Set("piB", b);
    o.Set("piC", pair(proof_.c.x, proof_.c.y));
    Napi::Array pub = Napi::Array::New(env, proof_.publicSignals.size());
    for (size_t i = 0; i < proof_.publicSignals.size(); i++) pub.Set((uint32_t)i, hexBE(proof_.publicSignals[i].v));
    o.Set("publicSignals", pub);
    Napi::Object t = Napi::Object::New(env);
    t.Set("parseMs", parseMs_);
    t.Set("qapMs", proof_.qapMs);
    t.Set("nttMs", proof_.nttMs);
    t.Set("msmMs", proof_.msmMs);
    t.Set("assemblyMs", proof_.assemblyMs);
    Napi::Object mc = Napi::Object::New(env);
    mc.Set("a", proof_.msmCpuA);
    mc.Set("b1", proof_.msmCpuB1);
    mc.Set("b2", proof_.msmCpuB2);
    mc.Set("c", proof_.msmCpuC);
    mc.Set("h", proof_.msmCpuH);
    t.Set("msmThreadMs", mc);
    Napi::Object wc = Napi::Object::New(env);
    wc.Set("zeros", (double)proof_.wZeros);
    wc.Set("ones", (double)proof_.wOnes);
    wc.Set("other", (double)proof_.wOther);
    t.Set("witnessValues", wc);
    o.Set("timings", t);
    deferred_.Resolve(o);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference zkeyRef_;
  ZKey* z_;
  std::vector<uint8_t> wtns_;
  Scalar r_, s_;
  int nThreads_;
  Proof proof_;
  double parseMs_ = 0;
};

// prove(zkeyObject, wtnsBytes, r, s, nThreads?) -> Promise<{piA, piB, piC, publicSignals, timings}>
Napi::Value Prove(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsObject()) throw Napi::TypeError::New(env, "prove(zkey, wtns, r, s, nThreads?)");
  Napi::Object zo = info[0].As<Napi::Object>();
  Napi::Value h = zo.Get("handle");
  if (!h.IsExternal()) throw Napi::TypeError::New(env, "zkey must come from loadZkey");
  ZKey* z = h.As<Napi::External<ZKey>>().Data();
  size_t len;
  const uint8_t* w = bytesOf(info[1], len, "wtns");
  std::vector<uint8_t> wtns(w, w + len);
  auto* worker = new ProveWorker(env, zo, z, std::move(wtns), scalarArg(info[2], "r"), scalarArg(info[3], "s"), threadsArg(info, 4));
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

// fieldOp(field "fq"|"fr"|"fq2", op, a, b): elementwise on normal-form little-endian values; returns normal form.
template <class P>
void fieldOpT(const std::string& op, const uint8_t* a, const uint8_t* b, uint8_t* out, size_t n) {
  typedef Fp<P> F;
  for (size_t i = 0; i < n; i++) {
    F x = F::fromNormal(F::fromBytes(a + 32 * i)), y = F::fromNormal(F::fromBytes(b + 32 * i)), r;
    if (op == "add") r = x + y;
    else if (op == "sub") r = x - y;
    else if (op == "mul") r = x * y;
    else if (op == "sqr") r = x.sqr();
    else if (op == "neg") r = x.neg();
    else if (op == "inv") r = x.inv();
    else throw std::runtime_error("unknown op " + op);
    r.toNormal().toBytes(out + 32 * i);
  }
}

void fq2Op(const std::string& op, const uint8_t* a, const uint8_t* b, uint8_t* out, size_t n) {
  auto ld = [](const uint8_t* p) { return Fq2{Fq::fromNormal(Fq::fromBytes(p)), Fq::fromNormal(Fq::fromBytes(p + 32))}; };
  for (size_t i = 0; i < n; i++) {
    Fq2 x = ld(a + 64 * i), y = ld(b + 64 * i), r;
    if (op == "add") r = x + y;
    else if (op == "sub") r = x - y;
    else if (op == "mul") r = x * y;
    else if (op == "sqr") r = x.sqr();
    else if (op == "inv") r = x.inv();
    else throw std::runtime_error("unknown op " + op);
    r.c0.toNormal().toBytes(out + 64 * i);
    r.c1.toNormal().toBytes(out + 64 * i + 32);
  }
}

Napi::Value FieldOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string field = info[0].As<Napi::String>().Utf8Value(), op = info[1].As<Napi::String>().Utf8Value();
  size_t la, lb;
  const uint8_t* a = bytesOf(info[2], la, "a");
  const uint8_t* b = bytesOf(info[3], lb, "b");
  size_t w = field == "fq2" ? 64 : 32;
  if (la != lb || la % w) throw Napi::RangeError::New(env, "a and b must hold the same number of elements");
  Napi::Uint8Array out = Napi::Uint8Array::New(env, la);
  try {
    if (field == "fq") fieldOpT<FqParams>(op, a, b, out.Data(), la / w);
    else if (field == "fr") fieldOpT<FrParams>(op, a, b, out.Data(), la / w);
    else if (field == "fq2") fq2Op(op, a, b, out.Data(), la / w);
    else throw std::runtime_error("unknown field " + field);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  return out;
}

// msmG1(points: n*64 Montgomery affine (zkey layout), scalars: n*32 normal, nThreads?, algo? "auto"|"jacobian"|"affine", window?)
// -> {point: 64 bytes Montgomery affine (zeros for infinity), ms}
template <class F>
Napi::Value MsmT(const Napi::CallbackInfo& info, size_t pointSize) {
  Napi::Env env = info.Env();
  size_t lp, ls;
  const uint8_t* p = bytesOf(info[0], lp, "points");
  const uint8_t* s = bytesOf(info[1], ls, "scalars");
  if (lp % pointSize || ls % 32 || lp / pointSize != ls / 32) throw Napi::RangeError::New(env, "points and scalars must have the same count");
  size_t n = ls / 32;
  int nThreads = threadsArg(info, 2);
  std::string algo = info.Length() > 3 && info[3].IsString() ? info[3].As<Napi::String>().Utf8Value() : "auto";
  int c = info.Length() > 4 && info[4].IsNumber() ? info[4].As<Napi::Number>().Int32Value() : 0;
  std::vector<Affine<F>> pts(n);
  std::vector<Scalar> sc(n);
  memcpy((void*)pts.data(), p, lp);
  memcpy((void*)sc.data(), s, ls);
  auto t0 = std::chrono::steady_clock::now();
  Jacobian<F> r;
  r = algo == "jacobian" ? msmJacobian<F>(pts.data(), sc.data(), n, nThreads, c) : msmBatchAffine<F>(pts.data(), sc.data(), n, nThreads, c);
  double ms = msSince(t0);
  Affine<F> a = toAffine(r);
  Napi::Uint8Array out = Napi::Uint8Array::New(env, pointSize);
  memcpy(out.Data(), &a, pointSize);
  Napi::Object o = Napi::Object::New(env);
  o.Set("point", out);
  o.Set("ms", ms);
  return o;
}

Napi::Value MsmG1(const Napi::CallbackInfo& info) { return MsmT<Fq>(info, 64); }
Napi::Value MsmG2(const Napi::CallbackInfo& info) { return MsmT<Fq2>(info, 128); }

// ntt(values: n*32 normal, inverse: boolean, nThreads?) -> normal-form evaluations (or coefficients when inverse)
Napi::Value Ntt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t len;
  const uint8_t* p = bytesOf(info[0], len, "values");
  bool inverse = info.Length() > 1 && info[1].ToBoolean().Value();
  int nThreads = threadsArg(info, 2);
  size_t n = len / 32;
  int log = 0;
  while (((size_t)1 << log) < n) log++;
  if (len % 32 || ((size_t)1 << log) != n || log >= FR_TWO_ADICITY) throw Napi::RangeError::New(env, "need a power-of-two number of values");
  std::vector<Fr> a(n);
  for (size_t i = 0; i < n; i++) a[i] = Fr::fromNormal(Fr::fromBytes(p + 32 * i));
  Fr w = rootOfUnity(log);
  if (inverse) intt(a.data(), n, w, nThreads);
  else ntt(a.data(), n, w, nThreads);
  Napi::Uint8Array out = Napi::Uint8Array::New(env, len);
  for (size_t i = 0; i < n; i++) a[i].toNormal().toBytes(out.Data() + 32 * i);
  return out;
}

// g1Points(n, seed: 32-byte scalar) -> n*64 bytes Montgomery affine: seed*G, seed*G + G', ... with G' = (seed+1)*G
// (distinct points for benchmarks; one shared inversion for the conversion to affine)
Napi::Value G1Points(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t n = (size_t)info[0].As<Napi::Number>().Int64Value();
  Scalar seed = scalarArg(info[1], "seed");
  G1Jac g = G1Jac{Fq::fromNormal(Fq{{1, 0, 0, 0}}), Fq::fromNormal(Fq{{2, 0, 0, 0}}), Fq::one()};
  G1Jac p = mulScalar(g, seed.v);
  G1Jac step = add(p, g);
  std::vector<G1Jac> js(n);
  for (size_t i = 0; i < n; i++) { js[i] = p; p = add(p, step); }
  std::vector<Fq> pref(n);
  Fq acc = Fq::one();
  for (size_t i = 0; i < n; i++) { pref[i] = acc; acc *= js[i].Z; }
  Fq inv = acc.inv();
  Napi::Uint8Array out = Napi::Uint8Array::New(env, n * 64);
  for (size_t i = n; i-- > 0;) {
    Fq zi = inv * pref[i];
    inv *= js[i].Z;
    Fq zi2 = zi.sqr();
    G1Affine a{js[i].X * zi2, js[i].Y * zi2 * zi};
    memcpy(out.Data() + 64 * i, &a, 64);
  }
  return out;
}

// poseidon(inputs: bigint[] of 1..16 canonical field elements) -> bigint (circomlibjs poseidon)
Napi::Value PoseidonHash(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "poseidon(inputs: bigint[])");
  Napi::Array arr = info[0].As<Napi::Array>();
  uint32_t n = arr.Length();
  if (n < 1 || n > (uint32_t)Poseidon::kMaxInputs) throw Napi::RangeError::New(env, "Poseidon takes 1 to 16 inputs");
  Fr in[Poseidon::kMaxInputs];
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsBigInt()) throw Napi::TypeError::New(env, "Poseidon inputs must be bigints");
    int sign = 0;
    size_t words = 4;
    u64 w[4] = {0, 0, 0, 0};
    v.As<Napi::BigInt>().ToWords(&sign, &words, w);
    if (sign || words > 4 || !lessThan(w, FrParams::P)) throw Napi::RangeError::New(env, "Poseidon inputs must be field elements (0 <= x < p)");
    in[i] = Fr::fromNormal(Fr::fromLimbs(w));
  }
  Fr h = Poseidon::instance().hash(in, (int)n).toNormal();
  return Napi::BigInt::New(env, 0, 4, h.v);
}

// poseidonMany(inputs: n*arity 32-byte little-endian field elements (< p), arity 1..16, method) -> n*32 bytes, the
// n hashes (normal form): "single": one state at a time (Poseidon::hash); "scalar-lanes": 4 scalar states in
// lockstep; "lanes": Poseidon::kLanes at a time (hashLanes, as EdDSA verification hashes). For tests and benchmarks.
Napi::Value PoseidonMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t len;
  const uint8_t* p = bytesOf(info[0], len, "inputs");
  int arity = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
  std::string method = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  if (arity < 1 || arity > Poseidon::kMaxInputs) throw Napi::RangeError::New(env, "arity must be 1 to 16");
  if (len % (32 * (size_t)arity)) throw Napi::RangeError::New(env, "inputs must hold whole preimages");
  int lanes = method == "single" ? 1 : method == "scalar-lanes" ? 4 : method == "lanes" ? Poseidon::kLanes : 0;
  if (!lanes) throw Napi::TypeError::New(env, "method must be \"single\", \"scalar-lanes\" or \"lanes\"");
  const size_t n = len / (32 * (size_t)arity);
  std::vector<Fr> in(n * arity), hashes(n);
  for (size_t i = 0; i < n * arity; i++) {
    if (!eddsa_detail::canonical(p + 32 * i, FrParams::P)) throw Napi::RangeError::New(env, "Poseidon inputs must be field elements (0 <= x < p)");
    in[i] = eddsa_detail::fieldAt(p + 32 * i);
  }
  const Poseidon& pos = Poseidon::instance();
  for (size_t i = 0; i < n; i += lanes) {
    const int m = (int)std::min<size_t>(lanes, n - i);
    const Fr* ptr[Poseidon::kLanes > 4 ? Poseidon::kLanes : 4];
    for (int j = 0; j < m; j++) ptr[j] = &in[(i + j) * arity];
    if (lanes == 1) hashes[i] = pos.hash(ptr[0], arity);
    else if (lanes == 4) pos.hashScalarLanes(ptr, arity, m, &hashes[i]);
    else pos.hashLanes(ptr, arity, m, &hashes[i]);
  }
  Napi::Uint8Array out = Napi::Uint8Array::New(env, 32 * n);
  for (size_t i = 0; i < n; i++) hashes[i].toNormal().toBytes(out.Data() + 32 * i);
  return out;
}

// The messageInputs argument (index i): 0 (records carry the message) or k = 1..16 (its Poseidon inputs).
int messageInputsArg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined()) return 0;
  double k = info[i].IsNumber() ? info[i].As<Napi::Number>().DoubleValue() : -1;
  if (!(k >= 0 && k <= Poseidon::kMaxInputs && k == (int)k)) throw Napi::RangeError::New(info.Env(), "messageInputs must be an integer from 0 to 16");
  return (int)k;
}

size_t eddsaRecordCount(Napi::Env env, size_t len, int messageInputs) {
  const size_t bytes = eddsaRecordBytes(messageInputs);
  if (len % bytes) {
    std::string what = messageInputs == 0 ? "msg" : std::to_string(messageInputs) + " message inputs";
    throw Napi::RangeError::New(env, "records must be " + std::to_string(bytes) + " bytes each (" + what + ", R8x, R8y, S, Ax, Ay)");
  }
  return len / bytes;
}

bool eddsaBatchMode(const Napi::CallbackInfo& info) {
  std::string mode = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "batch";
  if (mode != "batch" && mode != "single") throw Napi::TypeError::New(info.Env(), "mode must be \"batch\" or \"single\"");
  return mode == "batch";
}

void runEddsa(bool batch, const uint8_t* recs, int messageInputs, size_t n, uint8_t* out, int nThreads) {
  if (batch) verifyEddsaBatch(recs, messageInputs, n, out, nThreads);
  else verifyEddsaSingle(recs, messageInputs, n, out, nThreads);
}

// eddsaVerify(records, mode "batch"|"single", nThreads?, messageInputs = 0) -> Uint8Array of verdicts (1 valid,
// 0 invalid); messageInputs = k > 0: each record starts with the k Poseidon inputs of its message
Napi::Value EddsaVerify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t len;
  const uint8_t* recs = bytesOf(info[0], len, "records");
  int k = messageInputsArg(info, 3);
  size_t n = eddsaRecordCount(env, len, k);
  bool batch = eddsaBatchMode(info);
  Napi::Uint8Array out = Napi::Uint8Array::New(env, n);
  try {
    runEddsa(batch, recs, k, n, out.Data(), threadsArg(info, 2));
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  return out;
}

class EddsaWorker : public Napi::AsyncWorker {
 public:
  EddsaWorker(Napi::Env env, std::vector<uint8_t> recs, bool batch, int nThreads, int messageInputs)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), recs_(std::move(recs)), batch_(batch), nThreads_(nThreads),
        messageInputs_(messageInputs) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      out_.resize(recs_.size() / eddsaRecordBytes(messageInputs_));
      runEddsa(batch_, recs_.data(), messageInputs_, out_.size(), out_.data(), nThreads_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Uint8Array a = Napi::Uint8Array::New(Env(), out_.size());
    if (!out_.empty()) memcpy(a.Data(), out_.data(), out_.size());
    deferred_.Resolve(a);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<uint8_t> recs_, out_;
  bool batch_;
  int nThreads_, messageInputs_;
};

// eddsaVerifyAsync(records, mode, nThreads?, messageInputs = 0) -> Promise<Uint8Array>: the same off the
// JavaScript thread (the message hashes included)
Napi::Value EddsaVerifyAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t len;
  const uint8_t* recs = bytesOf(info[0], len, "records");
  int k = messageInputsArg(info, 3);
  eddsaRecordCount(env, len, k);
  auto* worker = new EddsaWorker(env, std::vector<uint8_t>(recs, recs + len), eddsaBatchMode(info), threadsArg(info, 2), k);
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

// babyJubInSubgroup(points: n*64 bytes, x then y, normal little-endian) -> Uint8Array: 1 iff canonical, on the
// curve and in the prime-order subgroup (the pairing-based test the batch verifier applies to R8, the same way:
// BabyJub::kSubgroupLanes points at a time)
Napi::Value BabyJubInSubgroup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t len;
  const uint8_t* p = bytesOf(info[0], len, "points");
  if (len % 64) throw Napi::RangeError::New(env, "points must be 64 bytes each");
  const BabyJub& bj = BabyJub::instance();
  const size_t n = len / 64;
  Napi::Uint8Array out = Napi::Uint8Array::New(env, n);
  constexpr int L = BabyJub::kSubgroupLanes;
  EdAffine pts[L];
  size_t at[L];
  bool in[L];
  int m = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i < n) {
      const uint8_t* q = p + 64 * i;
      out[i] = 0;
      if (!eddsa_detail::canonical(q, FrParams::P) || !eddsa_detail::canonical(q + 32, FrParams::P)) continue;
      EdAffine pt{eddsa_detail::fieldAt(q), eddsa_detail::fieldAt(q + 32)};
      if (!bj.onCurve(pt)) continue;
      pts[m] = pt;
      at[m++] = i;
    }
    if (m == L || (i == n && m > 0)) {
      bj.inPrimeSubgroupLanes(pts, m, in);
      for (int j = 0; j < m; j++) out[at[j]] = in[j];
      m = 0;
    }
  }
  return out;
}

// babyJubMsm(points: n*64 bytes (x, y canonical little-endian, on the curve), scalars: n*32 bytes (< 2^254),
// method "scalar" | "lanes") -> 64 bytes, the affine sum (x, y normal little-endian): the scalar Pippenger or
// the one batch verification uses (IFMA lanes where built in). For tests.
Napi::Value BabyJubMsm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t lp, ls;
  const uint8_t* p = bytesOf(info[0], lp, "points");
  const uint8_t* s = bytesOf(info[1], ls, "scalars");
  std::string method = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  if (method != "scalar" && method != "lanes") throw Napi::TypeError::New(env, "method must be \"scalar\" or \"lanes\"");
  if (lp % 64 || ls % 32 || lp / 64 != ls / 32) throw Napi::RangeError::New(env, "points (64 bytes) and scalars (32 bytes) must have the same count");
  const BabyJub& bj = BabyJub::instance();
  const size_t n = ls / 32;
  std::vector<EdPre> pts(n);
  std::vector<Scalar> sc(n);
  for (size_t i = 0; i < n; i++) {
    const uint8_t* q = p + 64 * i;
    if (!eddsa_detail::canonical(q, FrParams::P) || !eddsa_detail::canonical(q + 32, FrParams::P)) throw Napi::RangeError::New(env, "point coordinates must be < p");
    EdAffine a{eddsa_detail::fieldAt(q), eddsa_detail::fieldAt(q + 32)};
    if (!bj.onCurve(a)) throw Napi::RangeError::New(env, "points must be on the curve");
    pts[i] = bj.pre(a);
    memcpy(sc[i].v, s + 32 * i, 32);
    if (sc[i].v[3] >> 62) throw Napi::RangeError::New(env, "scalars must be below 2^254");
  }
  EdExt r = method == "scalar" ? babyJubMsmScalar(bj, pts.data(), sc.data(), n, 1) : babyJubMsm(bj, pts.data(), sc.data(), n, 1);
  EdAffine a = BabyJub::toAffine(r);
  Napi::Uint8Array out = Napi::Uint8Array::New(env, 64);
  a.x.toNormal().toBytes(out.Data());
  a.y.toNormal().toBytes(out.Data() + 32);
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("poseidon", Napi::Function::New(env, PoseidonHash));
  exports.Set("poseidonMany", Napi::Function::New(env, PoseidonMany));
  exports.Set("poseidonLanes", Napi::Number::New(env, Poseidon::kLanes));
  exports.Set("eddsaVerify", Napi::Function::New(env, EddsaVerify));
  exports.Set("eddsaVerifyAsync", Napi::Function::New(env, EddsaVerifyAsync));
  exports.Set("babyJubInSubgroup", Napi::Function::New(env, BabyJubInSubgroup));
  exports.Set("babyJubMsm", Napi::Function::New(env, BabyJubMsm));
  exports.Set("eddsaBatchPerThread", Napi::Number::New(env, (double)kBatchPerThread));
  exports.Set("loadZkey", Napi::Function::New(env, LoadZKey));
  exports.Set("prove", Napi::Function::New(env, Prove));
  exports.Set("fieldOp", Napi::Function::New(env, FieldOp));
  exports.Set("msmG1", Napi::Function::New(env, MsmG1));
  exports.Set("msmG2", Napi::Function::New(env, MsmG2));
  exports.Set("ntt", Napi::Function::New(env, Ntt));
  exports.Set("g1Points", Napi::Function::New(env, G1Points));
  exports.Set("defaultThreads", Napi::Number::New(env, defaultThreads()));
  return exports;
}

}  // namespace

NODE_API_MODULE(bn254_prover, Init)
