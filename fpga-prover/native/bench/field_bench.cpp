// Micro-benchmark and cross-check of the Montgomery multiplication variants in src/field.hpp.
// Build and run (same flags as build.ts on a BMI2/ADX machine):
//   g++ -std=c++17 -O3 -march=x86-64-v2 -mbmi2 -madx -mavx2 -o /tmp/field_bench bench/field_bench.cpp && /tmp/field_bench
// Prints ns per multiplication for a dependent chain (latency) and for 8 independent chains (throughput).
#include <chrono>
#include <cstdio>
#include <random>
#include "../src/field.hpp"

using namespace bn254;

template <class F>
static F randomElement(std::mt19937_64& g) {
  F x{{g(), g(), g(), g() & 0x0fffffffffffffffULL}};
  return F::fromNormal(x);  // x < 2^252 < P
}

template <class F, class Mul>
static double chainNs(Mul mul, const F& y, F& sink, int n) {
  F x = y;
  auto t = std::chrono::steady_clock::now();
  for (int i = 0; i < n; i++) x = mul(x, y);
  double dt = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t).count();
  sink = sink + x;
  return dt / n;
}

template <class F, class Mul>
static double parallelNs(Mul mul, const F* ys, F& sink, int n) {
  F x[8];
  for (int k = 0; k < 8; k++) x[k] = ys[k];
  auto t = std::chrono::steady_clock::now();
  for (int i = 0; i < n; i++)
    for (int k = 0; k < 8; k++) x[k] = mul(x[k], ys[k]);
  double dt = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t).count();
  for (int k = 0; k < 8; k++) sink = sink + x[k];
  return dt / (8.0 * n);
}

template <class F>
static int run(const char* name) {
  std::mt19937_64 g(42);
  int bad = 0;
  for (int i = 0; i < 1000000; i++) {
    F a = randomElement<F>(g), b = randomElement<F>(g);
    if (i % 3 == 0) b = a;  // squaring inputs
    if (i == 1) a = F::zero();
    if (F::mulPortable(a, b) != a * b || a.sqr() != F::mulPortable(a, a)) bad++;
  }
  // edge values: P-1 in normal form, and raw limbs just below P (not reduced Montgomery inputs are < P anyway)
  F m1 = F::zero() - F::one();
  if (F::mulPortable(m1, m1) != m1 * m1 || m1.sqr() != F::mulPortable(m1, m1)) bad++;
  F ys[8];
  for (auto& y : ys) y = randomElement<F>(g);
  F sink = F::zero();
  const int n = 5000000;
  auto port = [](const F& a, const F& b) { return F::mulPortable(a, b); };
  auto cur = [](const F& a, const F& b) { return a * b; };
  auto sq = [](const F& a, const F&) { return a.sqr(); };
  for (int rep = 0; rep < 2; rep++) {
    double pc = chainNs<F>(port, ys[0], sink, n), cc = chainNs<F>(cur, ys[0], sink, n), sc = chainNs<F>(sq, ys[0], sink, n);
    double pp = parallelNs<F>(port, ys, sink, n / 4), cp = parallelNs<F>(cur, ys, sink, n / 4), sp = parallelNs<F>(sq, ys, sink, n / 4);
    printf("%s rep %d: portable CIOS %.2f ns latency / %.2f ns throughput | operator* %.2f / %.2f | sqr %.2f / %.2f\n", name,
           rep, pc, pp, cc, cp, sc, sp);
  }
  printf("%s: %d mismatches vs portable CIOS (sink %llx)\n", name, bad, (unsigned long long)sink.v[0]);
  return bad;
}

int main() {
  printf("BN254_FIELD_ADX=%d\n", BN254_FIELD_ADX);
  int bad = run<Fq>("Fq") + run<Fr>("Fr");
  return bad ? 1 : 0;
}
