// The native BN254 Groth16 prover: field arithmetic, MSM and NTT kernels against BigInt and
// ffjavascript references, and full proofs checked by snarkjs. Skipped when the addon is not built
// (`npm run build:native`).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { buildPoseidon } from "circomlibjs";
import * as snarkjs from "snarkjs";
import { buildCircuit, REPO_ROOT, type CircuitBuild } from "../../scripts/build/circuitBuild.ts";
import { terminateSnarkjsCurve } from "../../scripts/setup/zkLibs.ts";
import { bigintToLE32, isNativeAvailable, le32ToBigint, nativeAddon, nativeUnavailableReason, type NativeAddon } from "../../fpga-prover/native/index.ts";
import { BN254_R, NativeDevice } from "../../fpga-prover/nativeDevice.ts";

const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
const R = BN254_R;
const MONT = (1n << 256n) % Q;

const skip = isNativeAvailable() ? false : `${nativeUnavailableReason()}`;
if (skip) console.log(`# native prover tests skipped: ${skip}`);

// ---- deterministic randomness (xorshift) so failures reproduce ----
let seed = 0x9e3779b97f4a7c15n;
function rand64(): bigint {
  seed ^= (seed << 13n) & 0xffffffffffffffffn;
  seed ^= seed >> 7n;
  seed ^= (seed << 17n) & 0xffffffffffffffffn;
  return seed;
}
function randBelow(m: bigint): bigint {
  let x = 0n;
  for (let i = 0; i < 5; i++) x = (x << 64n) | rand64();
  return x % m;
}

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;
function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b = mod(b, m);
  for (; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
}
const modInv = (a: bigint, m: bigint) => modPow(a, m - 2n, m);

function pack(values: bigint[], width = 32): Uint8Array {
  const out = new Uint8Array(values.length * width);
  values.forEach((v, i) => out.set(bigintToLE32(v), i * 32 * (width / 32)));
  return out;
}
function unpack(b: Uint8Array): bigint[] {
  return Array.from({ length: b.length / 32 }, (_, i) => le32ToBigint(b, i * 32));
}

// ---- BigInt reference G1 (affine, null = infinity) ----
type P1 = { x: bigint; y: bigint } | null;
const G1_GEN: P1 = { x: 1n, y: 2n };
function g1Add(a: P1, b: P1): P1 {
  if (!a) return b;
  if (!b) return a;
  let l: bigint;
  if (a.x === b.x) {
    if (mod(a.y + b.y, Q) === 0n) return null;
    l = mod(3n * a.x * a.x * modInv(2n * a.y, Q), Q);
  } else l = mod((b.y - a.y) * modInv(b.x - a.x, Q), Q);
  const x = mod(l * l - a.x - b.x, Q);
  return { x, y: mod(l * (a.x - x) - a.y, Q) };
}
function g1Mul(p: P1, k: bigint): P1 {
  let r: P1 = null;
  for (let i = 255; i >= 0; i--) {
    r = g1Add(r, r);
    if ((k >> BigInt(i)) & 1n) r = g1Add(r, p);
  }
  return r;
}
function g1Neg(p: P1): P1 {
  return p ? { x: p.x, y: mod(-p.y, Q) } : null;
}
/** zkey layout: Montgomery x, y; infinity is all zeros */
function g1Bytes(points: P1[]): Uint8Array {
  return pack(points.flatMap((p) => (p ? [(p.x * MONT) % Q, (p.y * MONT) % Q] : [0n, 0n])));
}
function g1FromBytes(b: Uint8Array): P1 {
  const [x, y] = unpack(b).map((v) => (v * modInv(MONT, Q)) % Q) as [bigint, bigint];
  return x === 0n && y === 0n ? null : { x, y };
}

// ---- ffjavascript (untyped; loaded through a non-literal import and narrowed to what is used) ----
type Buf = Uint8Array;
interface CurveGroup {
  g: Buf;
  timesScalar(p: Buf, s: bigint | number): Buf;
  add(a: Buf, b: Buf): Buf;
  toAffine(p: Buf): Buf;
  eq(a: Buf, b: Buf): boolean;
  multiExpAffine(bases: Buf, scalars: Buf): Promise<Buf>;
  fromRprLEM(b: Buf, o: number): Buf;
}
interface FfCurve {
  G1: CurveGroup;
  G2: CurveGroup;
  Fr: { e(v: bigint): Buf; toObject(v: Buf): bigint; fft(b: Buf): Promise<Buf>; ifft(b: Buf): Promise<Buf> };
  terminate(): Promise<void>;
}

describe("native BN254 prover", { skip, timeout: 600_000 }, () => {
  let A: NativeAddon;
  let curve: FfCurve;

  before(async () => {
    A = nativeAddon();
    const ffName = "ffjavascript";
    const ff = (await import(ffName)) as { buildBn128(singleThread?: boolean): Promise<FfCurve> };
    curve = await ff.buildBn128(true);
  });
  after(async () => {
    await curve?.terminate();
    await terminateSnarkjsCurve();
  });

  describe("field arithmetic against BigInt", () => {
    for (const [field, p] of [["fq", Q], ["fr", R]] as const) {
      it(`${field}: add, sub, mul, sqr, neg, inv on random and edge values`, () => {
        const xs = [0n, 1n, 2n, p - 1n, p - 2n, (1n << 255n) % p, ...Array.from({ length: 300 }, () => randBelow(p))];
        const ys = [0n, p - 1n, 1n, p - 1n, 3n, p - 1n, ...Array.from({ length: 300 }, () => randBelow(p))];
        const a = pack(xs), b = pack(ys);
        const ref: Record<string, (x: bigint, y: bigint) => bigint> = {
          add: (x, y) => (x + y) % p,
          sub: (x, y) => mod(x - y, p),
          mul: (x, y) => (x * y) % p,
          sqr: (x) => (x * x) % p,
          neg: (x) => mod(-x, p),
          inv: (x) => (x === 0n ? 0n : modInv(x, p)),
        };
        for (const op of ["add", "sub", "mul", "sqr", "neg", "inv"] as const) {
          const got = unpack(A.fieldOp(field, op, a, b));
          xs.forEach((x, i) => assert.equal(got[i], ref[op]!(x, ys[i]!), `${field} ${op} #${i}`));
        }
      });
    }

    it("fq2 (u^2 = -1): mul, sqr, inv", () => {
      const n = 100;
      const xs = Array.from({ length: 2 * n }, () => randBelow(Q));
      const ys = Array.from({ length: 2 * n }, () => randBelow(Q));
      const mul = unpack(A.fieldOp("fq2", "mul", pack(xs), pack(ys)));
      const sqr = unpack(A.fieldOp("fq2", "sqr", pack(xs), pack(ys)));
      const inv = unpack(A.fieldOp("fq2", "inv", pack(xs), pack(ys)));
      for (let i = 0; i < n; i++) {
        const [a0, a1, b0, b1] = [xs[2 * i]!, xs[2 * i + 1]!, ys[2 * i]!, ys[2 * i + 1]!];
        assert.equal(mul[2 * i], mod(a0 * b0 - a1 * b1, Q));
        assert.equal(mul[2 * i + 1], mod(a0 * b1 + a1 * b0, Q));
        assert.equal(sqr[2 * i], mod(a0 * a0 - a1 * a1, Q));
        assert.equal(sqr[2 * i + 1], mod(2n * a0 * a1, Q));
        // (a0 + a1 u)(c0 + c1 u) = 1
        const [c0, c1] = [inv[2 * i]!, inv[2 * i + 1]!];
        assert.equal(mod(a0 * c0 - a1 * c1, Q), 1n);
        assert.equal(mod(a0 * c1 + a1 * c0, Q), 0n);
      }
    });
  });

  describe("G1 MSM", () => {
    // points k*G for small distinct k, with repeats, negations and infinity mixed in
    function testPoints(n: number): P1[] {
      const pts: P1[] = [];
      let p = g1Mul(G1_GEN, 12345n);
      for (let i = 0; i < n; i++) {
        if (i % 11 === 5) pts.push(null);
        else if (i % 7 === 3 && i > 0) pts.push(pts[i - 1]!);
        else if (i % 13 === 6 && i > 0) pts.push(g1Neg(pts[i - 1]!));
        else {
          p = g1Add(p, G1_GEN);
          pts.push(p);
        }
      }
      return pts;
    }

    for (const n of [1, 2, 7, 40, 150]) {
      it(`n = ${n}: jacobian and batch-affine against naive double-and-add`, () => {
        const pts = testPoints(n);
        const sc = pts.map((_, i) => (i % 5 === 0 ? 0n : i % 5 === 1 ? 1n : i % 5 === 2 ? R - 1n : randBelow(R)));
        const expected = pts.reduce<P1>((acc, p, i) => g1Add(acc, g1Mul(p, sc[i]!)), null);
        for (const algo of ["jacobian", "affine"] as const)
          for (const window of [0, 3, 7, 10]) {
            const got = g1FromBytes(A.msmG1(g1Bytes(pts), pack(sc), 2, algo, window).point);
            assert.deepEqual(got, expected, `${algo} window ${window}`);
          }
      });
    }

    it("many equal scalars on few buckets (batch-affine collisions, doublings, cancellations)", () => {
      const base = testPoints(8).filter((p) => p !== null);
      const pts: P1[] = [], sc: bigint[] = [];
      for (let i = 0; i < 3000; i++) {
        pts.push(i % 2 ? base[i % base.length]! : g1Neg(base[(i >> 1) % base.length]!));
        sc.push(i % 3 === 0 ? 1n : 5n);
      }
      let expected: P1 = null;
      for (let i = 0; i < pts.length; i++) expected = g1Add(expected, g1Mul(pts[i]!, sc[i]!));
      for (const window of [6, 8, 12]) assert.deepEqual(g1FromBytes(A.msmG1(g1Bytes(pts), pack(sc), 2, "affine", window).point), expected);
    });

    it("n = 2^12 random points and scalars against ffjavascript multiExpAffine", async () => {
      const n = 1 << 12;
      const { G1 } = curve;
      const pts = new Uint8Array(n * 64);
      let p = G1.timesScalar(G1.g, randBelow(R));
      const step = G1.timesScalar(G1.g, randBelow(R));
      for (let i = 0; i < n; i++) {
        pts.set(G1.toAffine(p), i * 64);
        p = G1.add(p, step);
      }
      const sc = pack(Array.from({ length: n }, () => randBelow(R)));
      const expected = await G1.multiExpAffine(pts, sc);
      for (const algo of ["jacobian", "affine"] as const)
        for (const threads of [1, 2]) assert.ok(G1.eq(G1.fromRprLEM(A.msmG1(pts, sc, threads, algo).point, 0), expected), `${algo} ${threads} threads`);
    });

    it("G2: n = 300, jacobian and batch-affine, against ffjavascript multiExpAffine", async () => {
      const n = 300;
      const { G2 } = curve;
      const pts = new Uint8Array(n * 128);
      let p = G2.timesScalar(G2.g, randBelow(R));
      const step = G2.timesScalar(G2.g, randBelow(R));
      for (let i = 0; i < n; i++) {
        pts.set(G2.toAffine(p), i * 128);
        p = G2.add(p, step);
      }
      const sc = pack(Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 1n : randBelow(R))));
      const expected = await G2.multiExpAffine(pts, sc);
      for (const algo of ["jacobian", "affine"] as const)
        for (const window of [0, 4, 8]) assert.ok(G2.eq(G2.fromRprLEM(A.msmG2(pts, sc, 2, algo, window).point, 0), expected), `${algo} window ${window}`);
    });
  });

  describe("NTT", () => {
    it("n = 16 against a naive DFT, and inverse round trip", () => {
      const n = 16;
      const w = modPow(5n, (R - 1n) / BigInt(n), R);
      const xs = Array.from({ length: n }, () => randBelow(R));
      const got = unpack(A.ntt(pack(xs), false));
      for (let k = 0; k < n; k++) {
        let s = 0n;
        for (let j = 0; j < n; j++) s += xs[j]! * modPow(w, BigInt(j * k), R);
        assert.equal(got[k], s % R, `k = ${k}`);
      }
      assert.deepEqual(unpack(A.ntt(pack(got), true)), xs);
    });

    it("n = 2^10 against ffjavascript fft / ifft", async () => {
      const n = 1 << 10;
      const { Fr } = curve;
      const xs = Array.from({ length: n }, () => randBelow(R));
      const buf = new Uint8Array(n * 32);
      xs.forEach((x, i) => buf.set(Fr.e(x), i * 32));
      const toBig = (b: Uint8Array) => Array.from({ length: n }, (_, i) => Fr.toObject(b.slice(i * 32, i * 32 + 32)));
      assert.deepEqual(unpack(A.ntt(pack(xs), false, 2)), toBig(await Fr.fft(buf)));
      assert.deepEqual(unpack(A.ntt(pack(xs), true, 2)), toBig(await Fr.ifft(buf)));
    });
  });

  describe("Groth16 proof of the poseidonProduct fixture", () => {
    let build: CircuitBuild;
    let input: Record<string, unknown>;
    let vkey: unknown;

    before(async () => {
      const source = await readFile(join(REPO_ROOT, "test", "fixtures", "circuits", "poseidonProduct.circom"), "utf8");
      build = await buildCircuit({ name: "nativeProverTest", mainSource: source, setup: "dev", log: () => {} });
      vkey = JSON.parse(await readFile(build.vkey, "utf8"));
      const poseidon = await buildPoseidon();
      const factors = Array.from({ length: 16 }, (_, i) => BigInt(i + 3));
      input = {
        hash: poseidon.F.toObject(poseidon([7n, 9n])).toString(),
        product: factors.reduce((a, b) => a * b, 1n).toString(),
        preimage: ["7", "9"],
        factors: factors.map(String),
      };
    });

    it("verifies with snarkjs, has snarkjs's public signals and form, and rejects a tampered public input", async () => {
      const device = new NativeDevice();
      assert.equal(device.name, "native");
      const keys = { wasm: build.wasm, zkey: build.zkey, vkey };
      const { proof, publicSignals, timings } = await device.prove(keys, input);
      assert.equal(proof.protocol, "groth16");
      assert.equal(proof.curve, "bn128");
      assert.equal(proof.pi_a.length, 3);
      assert.equal(proof.pi_a[2], "1");
      assert.deepEqual(proof.pi_b[2], ["1", "0"]);
      assert.deepEqual(publicSignals, [input.hash, input.product]);
      for (const k of ["witnessMs", "proveMs", "qapMs", "nttMs", "msmMs", "assemblyMs"] as const) assert.ok(timings[k] >= 0, k);
      assert.equal(await snarkjs.groth16.verify(vkey, publicSignals, proof), true);
      assert.equal(await device.verify(keys, publicSignals, proof), true);

      const tampered = [publicSignals[0]!, (BigInt(publicSignals[1]!) + 1n).toString()];
      assert.equal(await snarkjs.groth16.verify(vkey, tampered, proof), false);
      const badProof = { ...proof, pi_c: [proof.pi_a[0]!, proof.pi_a[1]!, "1"] };
      assert.equal(await snarkjs.groth16.verify(vkey, publicSignals, badProof), false);
    });

    it("a second proof of the same witness is differently blinded and also verifies", async () => {
      const device = new NativeDevice({ threads: 1 });
      const wtns: { type: "mem"; data?: Uint8Array } = { type: "mem" };
      await snarkjs.wtns.calculate(input, build.wasm, wtns);
      const p1 = await device.proveWitness(build.zkey, wtns.data!);
      const p2 = await device.proveWitness(build.zkey, wtns.data!, { r: 1n, s: R - 1n });
      assert.notDeepEqual(p1.proof.pi_a, p2.proof.pi_a);
      for (const p of [p1, p2]) assert.equal(await snarkjs.groth16.verify(vkey, p.publicSignals, p.proof), true);
      const ref = await snarkjs.groth16.prove(build.zkey, wtns);
      assert.deepEqual(p1.publicSignals, ref.publicSignals);
    });

    it("the cached witness calculator matches snarkjs.wtns.calculate across calls, and proofs are thread-count independent", async () => {
      const device = new NativeDevice();
      const ref: { type: "mem"; data?: Uint8Array } = { type: "mem" };
      await snarkjs.wtns.calculate(input, build.wasm, ref);
      const w1 = await device.calculateWitness(build.wasm, input);
      assert.deepEqual(Buffer.from(w1), Buffer.from(ref.data!));
      // a different input through the same (reused) wasm instance
      const input2 = { ...input, factors: (input.factors as string[]).map((f, i) => (i === 0 ? "1" : i === 1 ? "0" : f)), product: "0" };
      const ref2: { type: "mem"; data?: Uint8Array } = { type: "mem" };
      await snarkjs.wtns.calculate(input2, build.wasm, ref2);
      assert.deepEqual(Buffer.from(await device.calculateWitness(build.wasm, input2)), Buffer.from(ref2.data!));
      assert.deepEqual(Buffer.from(await device.calculateWitness(build.wasm, input)), Buffer.from(ref.data!));

      // the zero / one / other witness split and the shared task pool give the same point on 1 and 2 threads
      const blinding = { r: 12345n, s: 67890n };
      const one = new NativeDevice({ threads: 1 });
      const two = new NativeDevice({ threads: 2 });
      for (const w of [ref.data!, ref2.data!]) {
        const p1 = await one.proveWitness(build.zkey, w, blinding);
        const p2 = await two.proveWitness(build.zkey, w, blinding);
        assert.deepEqual(p1.proof, p2.proof);
        assert.equal(await snarkjs.groth16.verify(vkey, p2.publicSignals, p2.proof), true);
        const v = p2.timings.witnessValues!;
        assert.ok(v.ones > 0 && v.other > 0 && (w === ref.data! || v.zeros > 0), JSON.stringify(v));
      }
    });
  });
});
