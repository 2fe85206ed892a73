// The native EdDSA-Poseidon verifier against the circomlibjs reference (verifyMessage): honest signatures,
// every kind of broken one, small-order components in R8 and A, identity points, and batches where one or
// several signatures are bad; messages given as field elements or as Poseidon preimages (hashed by the addon,
// against circomlibjs's Poseidon), alone and mixed in one batch. Skipped when the native addon is not built
// (`npm run build:native`).
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { isNativeAvailable, le32ToBigint, nativeUnavailableReason } from "../../../fpga-prover/native/index.ts";
import {
  SIGNATURE_RECORD_BYTES, defaultSignatureVerifier, messageInputsOf, nativeSignatureVerifier, packSignatureChecks, signatureRecordBytes,
  type NativeVerifierOptions,
} from "../../../sequencer/crypto/nativeSignatureVerifier.ts";
import { jsSignatureVerifier, type HashedSignatureCheck, type SignatureCheck } from "../../../sequencer/crypto/signatureVerifier.ts";
import { FIELD_MODULUS } from "../../../sequencer/protocol/constants.ts";
import {
  cancellingTorsionPairs, craftedCheck, craftedVariants, honestChecks, honestPreimageChecks, preimageSeries, referenceVerdict as reference,
  signatureSeries, SUBGROUP_ORDER, testPreimage, testScalar, torsionPoint, variantsOf,
} from "../../../scripts/fixtures/signatures.ts";

const skip = isNativeAvailable() ? false : `${nativeUnavailableReason()}`;
if (skip) console.log(`# native signature verifier tests skipped: ${skip}`);

async function verdictsOf(checks: readonly SignatureCheck[], opts: NativeVerifierOptions): Promise<boolean[]> {
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

  it("writes a preimage's k inputs (reduced mod p like circomlibjs's Poseidon does) in place of the message", () => {
    const c: SignatureCheck = {
      message: { poseidon: [FIELD_MODULUS + 5n, -1n, -3n * FIELD_MODULUS, 9n] },
      signature: { r8x: 1n, r8y: 2n, s: 3n },
      publicKey: [4n, 5n],
    };
    assert.equal(messageInputsOf(c.message), 4);
    const rec = packSignatureChecks([c], 4);
    assert.equal(rec.length, signatureRecordBytes(4));
    assert.equal(signatureRecordBytes(4), 9 * 32);
    const at = (f: number) => le32ToBigint(rec, 32 * f);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map(at), [5n, FIELD_MODULUS - 1n, 0n, 9n, 1n, 2n, 3n, 4n, 5n]);
    assert.throws(() => packSignatureChecks([c], 3), RangeError, "every check must be of the kind packed");
    assert.throws(() => packSignatureChecks([c]), RangeError);
  });

  it("sends a preimage of no or more than 16 inputs as its value, whose computation throws like the reference", () => {
    for (const n of [0, 17]) {
      const c: SignatureCheck = { message: { poseidon: Array.from({ length: n }, () => 1n) }, signature: { r8x: 1n, r8y: 2n, s: 3n }, publicKey: [4n, 5n] };
      assert.equal(messageInputsOf(c.message), 0);
      assert.throws(() => jsSignatureVerifier.verifyBatch([c]), `reference, ${n} inputs`);
      assert.throws(() => packSignatureChecks([c]), `native, ${n} inputs`);
    }
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
    // dense failures (both halves of a failing set fail: checked one by one from there), and a valid half beside a
    // dense one (the valid half holds its equation; the other is checked one by one)
    const dense = (bad: (i: number) => boolean) => series.map((c, i) => (bad(i) ? tamper(c) : c));
    for (const [name, bad] of [["every second", (i: number) => i % 2 === 1], ["all", () => true], ["the second half's every third", (i: number) => i >= 512 && i % 3 === 0]] as const) {
      const checks = dense(bad);
      assert.deepEqual(await verdictsOf(checks, { mode: "batch" }), series.map((_, i) => !bad(i)), `${name} bad in 1024`);
    }
  });

  it("refuses R8 shifted by small-order points that cancel pairwise, every time (fresh coefficients per call)", async () => {
    const pairs = cancellingTorsionPairs("native-verifier");
    assert.ok(pairs.every((c) => !reference(c)), "each shifted signature fails on its own");
    const checks = [...honest.slice(0, 24), ...pairs];
    const expected = checks.map((_, i) => i < 24);
    for (let round = 0; round < 16; round++)
      assert.deepEqual(await verdictsOf(checks, { mode: "batch", threads: 1 }), expected, `round ${round}`);
  });

  it("finds the bad signatures among many by one key with a small-order component (one MSM point per key)", async () => {
    // key a*B8 + 3*T8 for every record: valid ones (hm*8 kills the torsion), and some broken ones by the same key
    const a = testScalar("native-verifier-shared/a", SUBGROUP_ORDER);
    const r = (i: number) => testScalar(`native-verifier-shared/r/${i}`, SUBGROUP_ORDER);
    const msg = (i: number) => testScalar(`native-verifier-shared/msg/${i}`, FIELD_MODULUS);
    const shared = Array.from({ length: 48 }, (_, i) => craftedCheck(msg(i), a, r(i), { aTorsion: torsionPoint(3) }));
    const broken = new Map<number, HashedSignatureCheck>([
      [5, { ...shared[5]!, message: shared[5]!.message + 1n }],
      [17, craftedCheck(msg(17), a, r(17), { aTorsion: torsionPoint(3), rTorsion: torsionPoint(4) })],
      [40, { ...shared[40]!, signature: { ...shared[40]!.signature, s: (shared[40]!.signature.s + 1n) % SUBGROUP_ORDER } }],
    ]);
    const checks = [...shared.map((c, i) => broken.get(i) ?? c), ...honest.slice(0, 16)];
    const expected = checks.map(reference);
    assert.deepEqual(expected, checks.map((_, i) => !broken.has(i)), "the reference agrees on which are broken");
    for (const opts of CONFIGS) assert.deepEqual(await verdictsOf(checks, opts), expected, JSON.stringify(opts));
    for (let round = 0; round < 8; round++) assert.deepEqual(await verdictsOf(checks, { mode: "batch", threads: 1 }), expected, `round ${round}`);
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

describe("nativeSignatureVerifier on messages given as Poseidon preimages, against circomlibjs", { skip, timeout: 300_000 }, () => {
  let honest: SignatureCheck[];
  let hashed: HashedSignatureCheck[];
  let other: HashedSignatureCheck[];
  before(() => {
    honest = honestPreimageChecks(40, "native-preimage", 3);
    hashed = honestChecks(10, "native-preimage-hashed");
    other = honestChecks(1, "native-preimage-other", 1);
  });

  it("accepts honest preimages of 1 to 16 inputs exactly as circomlibjs does, in every mode", async () => {
    assert.ok(honest.every(reference), "circomlibjs accepts its own signatures");
    for (const opts of CONFIGS) assert.deepEqual(await verdictsOf(honest, opts), honest.map(() => true), JSON.stringify(opts));
    for (const k of [1, 2, 5, 16]) {
      const checks = preimageSeries(24, `native-preimage-series-${k}`, k);
      assert.ok(checks.every(reference), `series of ${k} inputs valid per circomlibjs`);
      for (const opts of CONFIGS) assert.deepEqual(await verdictsOf(checks, opts), checks.map(() => true), `${k} inputs, ${JSON.stringify(opts)}`);
    }
  });

  it("gives circomlibjs's verdict on every variant of a preimage check, alone and mixed with other kinds in one batch", async () => {
    const cases = [...variantsOf(honest[0]!, other[0]!.publicKey), ...craftedVariants("native-preimage", 3)];
    const expected = cases.map(([, c]) => reference(c));
    const expect = (name: string) => expected[cases.findIndex(([n]) => n === name)];
    for (const name of ["tampered message", "last input tampered", "input + 2^256 (not = mod p)", "input appended", "last input dropped", "inputs reordered", "tampered S", "wrong key"])
      assert.equal(expect(name), false, name);
    for (const name of ["message - p", "message + p", "every input - 3p", "input + 2^300 p", "R8x + p", "A + 1*T8 (valid)", "R8 = identity (r = 0)"])
      assert.equal(expect(name), true, name);
    for (const name of ["R8 + 1*T8 (invalid)", "R8 + 4*T8 (invalid)", "R8 and A small-order only"]) assert.equal(expect(name), false, name);

    for (const opts of CONFIGS) {
      for (const [i, [name, c]] of cases.entries())
        assert.equal((await verdictsOf([c], opts))[0], expected[i], `${name} alone, ${JSON.stringify(opts)}`);
      // preimages of 2, 3 and 4 inputs and field-element messages in one batch, interleaved
      const mixed: SignatureCheck[] = [];
      const mixedExpected: boolean[] = [];
      cases.forEach(([, c], i) => {
        mixed.push(c, honest[i % honest.length]!, hashed[i % hashed.length]!);
        mixedExpected.push(expected[i]!, true, true);
      });
      assert.ok(new Set(mixed.map((c) => messageInputsOf(c.message))).size >= 4, "the batch mixes message kinds");
      assert.deepEqual(await verdictsOf(mixed, opts), mixedExpected, JSON.stringify(opts));
    }
  });

  it("reports exactly the bad preimage checks of a batch, wherever they are", async () => {
    const series = preimageSeries(512, "native-preimage-bad", 3);
    const tamper = (c: SignatureCheck): SignatureCheck => ({ ...c, message: testPreimage("native-preimage-bad/other", 3) });
    for (const bad of [[0], [511], [100, 101, 300]]) {
      const checks = series.map((c, i) => (bad.includes(i) ? tamper(c) : c));
      for (const opts of CONFIGS.slice(1)) assert.deepEqual(await verdictsOf(checks, opts), series.map((_, i) => !bad.includes(i)), `bad at ${bad}`);
    }
  });

  it("refuses R8 shifted by small-order points that cancel pairwise, with preimage messages", async () => {
    const pairs = cancellingTorsionPairs("native-preimage", 3);
    assert.ok(pairs.every((c) => !reference(c)), "each shifted signature fails on its own");
    const checks = [...honest.slice(0, 24), ...pairs];
    for (let round = 0; round < 8; round++)
      assert.deepEqual(await verdictsOf(checks, { mode: "batch", threads: 1 }), checks.map((_, i) => i < 24), `round ${round}`);
  });
});
