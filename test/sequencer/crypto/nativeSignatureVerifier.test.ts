// The native EdDSA-Poseidon verifier against the circomlibjs reference (verifyMessage): honest signatures,
// every kind of broken one, small-order components in R8 and A, identity points, and batches where one or
// several signatures are bad. Skipped when the native addon is not built (`npm run build:native`).
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { isNativeAvailable, le32ToBigint, nativeUnavailableReason } from "../../../fpga-prover/native/index.ts";
import { verifyMessage } from "../../../sequencer/crypto/babyjub.ts";
import {
  SIGNATURE_RECORD_BYTES, defaultSignatureVerifier, nativeSignatureVerifier, packSignatureChecks, type NativeVerifierOptions,
} from "../../../sequencer/crypto/nativeSignatureVerifier.ts";
import type { HashedSignatureCheck } from "../../../sequencer/crypto/signatureVerifier.ts";
import { FIELD_MODULUS } from "../../../sequencer/protocol/constants.ts";
import { cancellingTorsionPairs, craftedVariants, honestChecks, signatureSeries, SUBGROUP_ORDER, variantsOf } from "../../helpers/signatures.ts";

const skip = isNativeAvailable() ? false : `${nativeUnavailableReason()}`;
if (skip) console.log(`# native signature verifier tests skipped: ${skip}`);

const reference = (c: HashedSignatureCheck) => verifyMessage(c.message, c.signature, c.publicKey);

async function verdictsOf(checks: readonly HashedSignatureCheck[], opts: NativeVerifierOptions): Promise<boolean[]> {
  return await nativeSignatureVerifier(opts).verifyBatch(checks);
}

const CONFIGS: NativeVerifierOptions[] = [
  { mode: "single", threads: 1 },
  { mode: "batch", threads: 1 },
  { mode: "batch", threads: 2 },
  { mode: "batch", threads: 2, asyncFrom: 1 },
];

describe("packSignatureChecks", () => {
  it("writes msg, R8x, R8y, S, Ax, Ay little-endian, reducing field values mod p and clamping S", () => {
    const c: HashedSignatureCheck = {
      message: FIELD_MODULUS + 5n,
      signature: { r8x: -1n, r8y: 7n, s: (1n << 256n) + 3n },
      publicKey: [(1n << 255n) + 9n, 2n ** 200n],
    };
    const rec = packSignatureChecks([c, { ...c, signature: { ...c.signature, s: -4n } }, { ...c, signature: { ...c.signature, s: 11n } }]);
    assert.equal(rec.length, 3 * SIGNATURE_RECORD_BYTES);
    const at = (i: number, f: number) => le32ToBigint(rec, i * SIGNATURE_RECORD_BYTES + 32 * f);
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((f) => at(0, f)), [
      5n, FIELD_MODULUS - 1n, 7n, (1n << 256n) - 1n, ((1n << 255n) + 9n) % FIELD_MODULUS, 2n ** 200n,
    ]);
    assert.equal(at(1, 3), (1n << 256n) - 1n, "a negative S is written as an invalid one");
    assert.equal(at(2, 3), 11n);
  });
});

describe("nativeSignatureVerifier against circomlibjs", { skip, timeout: 300_000 }, () => {
  let honest: HashedSignatureCheck[];
  let other: HashedSignatureCheck[];
  before(() => {
    honest = honestChecks(200, "native-verifier");
    other = honestChecks(1, "native-verifier-other", 1);
  });

  it("accepts 200 honest signatures exactly as circomlibjs does, one by one and batched", async () => {
    const expected = honest.map(reference);
    assert.ok(expected.every((v) => v), "circomlibjs accepts its own signatures");
    for (const opts of CONFIGS) assert.deepEqual(await verdictsOf(honest, opts), expected, JSON.stringify(opts));
    for (const c of honest.slice(0, 20)) assert.deepEqual(await verdictsOf([c], { mode: "batch" }), [true]);
  });

  it("gives circomlibjs's verdict on every kind of broken, shifted or unusual signature, alone and inside a batch", async () => {
    const cases = [...variantsOf(honest[0]!, other[0]!.publicKey), ...craftedVariants("native-verifier")];
    const expected = cases.map(([, c]) => reference(c));
    const expect = (name: string) => expected[cases.findIndex(([n]) => n === name)];
    // the cases mean what their names say (per the reference)
    for (const name of ["tampered message", "tampered S", "S = l", "S + l", "R8 off the curve", "A off the curve", "wrong key"])
      assert.equal(expect(name), false, name);
    for (const name of ["R8x + p", "message - p", "A + 1*T8 (valid)", "A + 4*T8 (valid)", "A = identity (a = 0)", "R8 = identity (r = 0)"])
      assert.equal(expect(name), true, name);
    for (const name of ["R8 + 1*T8 (invalid)", "R8 + 4*T8 (invalid)", "R8 + T8 and A + T8", "R8 and A small-order only"])
      assert.equal(expect(name), false, name);

    for (const opts of CONFIGS) {
      for (const [i, [name, c]] of cases.entries())
        assert.equal((await verdictsOf([c], opts))[0], expected[i], `${name} alone, ${JSON.stringify(opts)}`);
      // all cases mixed into honest signatures
      const mixed = [...honest.slice(0, 40), ...cases.map(([, c]) => c)].reverse();
      const mixedExpected = [...honest.slice(0, 40).map(() => true), ...expected].reverse();
      assert.deepEqual(await verdictsOf(mixed, opts), mixedExpected, JSON.stringify(opts));
    }
  });

  it("reports exactly the bad signatures of a batch, wherever they are", async () => {
    const tamper = (c: HashedSignatureCheck): HashedSignatureCheck => ({ ...c, message: c.message + 1n });
    for (const bad of [[137], [0], [199], [3, 4, 5], [10, 50, 90, 130, 170, 190]]) {
      const checks = honest.map((c, i) => (bad.includes(i) ? tamper(c) : c));
      const expected = honest.map((_, i) => !bad.includes(i));
      for (const opts of CONFIGS.slice(1)) assert.deepEqual(await verdictsOf(checks, opts), expected, `bad at ${bad}`);
    }
    const series = signatureSeries(1024, "native-verifier-series");
    for (const i of [0, 511, 777]) assert.ok(reference(series[i]!), "series signatures are valid per circomlibjs");
    const oneBad = series.map((c, i) => (i === 777 ? tamper(c) : c));
    for (const opts of CONFIGS.slice(1)) assert.deepEqual(await verdictsOf(oneBad, opts), series.map((_, i) => i !== 777), "1 bad in 1024");
    const allBad = honest.slice(0, 30).map(tamper);
    assert.deepEqual(await verdictsOf(allBad, { mode: "batch" }), allBad.map(() => false));
  });

  it("refuses R8 shifted by small-order points that cancel pairwise, every time (fresh coefficients per call)", async () => {
    const pairs = cancellingTorsionPairs("native-verifier");
    assert.ok(pairs.every((c) => !reference(c)), "each shifted signature fails on its own");
    const checks = [...honest.slice(0, 24), ...pairs];
    const expected = checks.map((_, i) => i < 24);
    for (let round = 0; round < 16; round++)
      assert.deepEqual(await verdictsOf(checks, { mode: "batch", threads: 1 }), expected, `round ${round}`);
  });

  it("refuses a negative S (on which circomlibjs never returns) and S >= l however large", async () => {
    const c = honest[1]!;
    const variants = [-1n, -c.signature.s, SUBGROUP_ORDER, c.signature.s + SUBGROUP_ORDER * 8n, 1n << 512n];
    for (const opts of CONFIGS)
      assert.deepEqual(await verdictsOf(variants.map((s) => ({ ...c, signature: { ...c.signature, s } })), opts), variants.map(() => false));
  });

  it("answers an empty batch with no verdicts, and the default verifier is the native one", async () => {
    assert.deepEqual(await verdictsOf([], { mode: "batch" }), []);
    const d = defaultSignatureVerifier();
    assert.equal(d.name, "native");
    assert.deepEqual(await d.verifyBatch(honest.slice(0, 3)), [true, true, true]);
  });
});
