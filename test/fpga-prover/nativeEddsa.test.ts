// The native addon's Baby Jubjub and EdDSA-Poseidon entry points at the byte level: the prime-subgroup test
// (pairing-based) against circomlibjs's inSubgroup on points with every small-order component, and raw
// records the TypeScript wrapper never sends (non-canonical field values or message inputs, malformed buffers,
// bad messageInputs). Skipped when
// the addon is not built (`npm run build:native`).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { bigintToLE32, isNativeAvailable, nativeAddon, nativeUnavailableReason } from "../../fpga-prover/native/index.ts";
import { packSignatureChecks, SIGNATURE_RECORD_BYTES, signatureRecordBytes } from "../../sequencer/crypto/nativeSignatureVerifier.ts";
import { FIELD_MODULUS } from "../../sequencer/protocol/constants.ts";
import {
  BASE8, IDENTITY, honestChecks, inSubgroup, onCurve, pointAdd, pointMul, preimageSeries, SUBGROUP_ORDER, testScalar, torsionPoint, type Point,
} from "../helpers/signatures.ts";

const skip = isNativeAvailable() ? false : `${nativeUnavailableReason()}`;
if (skip) console.log(`# native EdDSA tests skipped: ${skip}`);

const packPoints = (points: readonly Point[]) => {
  const out = new Uint8Array(64 * points.length);
  points.forEach(([x, y], i) => {
    out.set(bigintToLE32(x), 64 * i);
    out.set(bigintToLE32(y), 64 * i + 32);
  });
  return out;
};

describe("native Baby Jubjub and EdDSA-Poseidon", { skip, timeout: 120_000 }, () => {
  it("tells prime-subgroup points exactly as circomlibjs does, for every small-order component", () => {
    const primes = [IDENTITY, BASE8, ...[1, 2, 3].map((i) => pointMul(BASE8, testScalar(`subgroup/${i}`, SUBGROUP_ORDER)))];
    const points: Point[] = [];
    for (const p of primes) for (let k = 0; k < 8; k++) points.push(pointAdd(p, torsionPoint(k)));
    const got = Array.from(nativeAddon().babyJubInSubgroup(packPoints(points)), (v) => v === 1);
    const expected = points.map(inSubgroup);
    assert.deepEqual(got, expected);
    assert.equal(expected.filter((v) => v).length, primes.length, "only the unshifted points are in the subgroup");
  });

  it("says no for points off the curve or with a coordinate >= p", () => {
    const offCurve: Point = [BASE8[0], BASE8[1] + 1n];
    assert.equal(onCurve(offCurve), false);
    const got = nativeAddon().babyJubInSubgroup(packPoints([offCurve, [BASE8[0] + FIELD_MODULUS, BASE8[1]], [0n, 0n]]));
    assert.deepEqual(Array.from(got), [0, 0, 0]);
  });

  it("refuses records holding a field value >= p or S >= l, which only a raw caller can send", () => {
    const [c] = honestChecks(1, "native-eddsa-raw", 1);
    const good = packSignatureChecks([c!]);
    const records: Uint8Array[] = [good];
    for (const [field, value] of [[0, c!.message + FIELD_MODULUS], [1, c!.signature.r8x + FIELD_MODULUS], [4, c!.publicKey[0] + FIELD_MODULUS], [3, c!.signature.s + SUBGROUP_ORDER]] as const) {
      if (value >= 1n << 256n) continue;
      const r = good.slice();
      r.set(bigintToLE32(value), 32 * field);
      records.push(r);
    }
    const all = new Uint8Array(records.length * SIGNATURE_RECORD_BYTES);
    records.forEach((r, i) => all.set(r, i * SIGNATURE_RECORD_BYTES));
    const expected = records.map((_, i) => (i === 0 ? 1 : 0));
    assert.deepEqual(Array.from(nativeAddon().eddsaVerify(all, "single", 1)), expected);
    assert.deepEqual(Array.from(nativeAddon().eddsaVerify(all, "batch", 2)), expected);
  });

  it("refuses preimage records holding an input >= p (the wrapper reduces; a raw caller may not), and takes the rest", () => {
    const checks = preimageSeries(6, "native-eddsa-raw-preimage", 2);
    const all = packSignatureChecks(checks, 2);
    const bytes = signatureRecordBytes(2);
    const input = (i: number, j: number) => (checks[i]!.message as { poseidon: bigint[] }).poseidon[j]!;
    all.set(bigintToLE32(input(1, 0) + FIELD_MODULUS), bytes * 1);
    all.set(bigintToLE32(input(4, 1) + FIELD_MODULUS), bytes * 4 + 32);
    all.set(bigintToLE32((1n << 256n) - 1n), bytes * 5 + 32);
    const expected = [1, 0, 1, 1, 0, 0];
    for (const mode of ["single", "batch"] as const) assert.deepEqual(Array.from(nativeAddon().eddsaVerify(all, mode, 2, 2)), expected, mode);
  });

  it("refuses malformed buffers and modes with a clear error", async () => {
    const addon = nativeAddon();
    assert.throws(() => addon.eddsaVerify(new Uint8Array(191)), RangeError);
    assert.throws(() => addon.eddsaVerify(new Uint8Array(192), "fast" as "batch"), TypeError);
    assert.throws(() => addon.eddsaVerify([] as unknown as Uint8Array), TypeError);
    assert.throws(() => addon.eddsaVerifyAsync(new Uint8Array(193)), RangeError);
    assert.throws(() => addon.babyJubInSubgroup(new Uint8Array(65)), RangeError);
    assert.deepEqual(Array.from(await addon.eddsaVerifyAsync(new Uint8Array(0))), []);
    // messageInputs: an integer 0..16, and records of (k + 5) * 32 bytes
    for (const k of [-1, 17, 1.5, NaN, "3"]) {
      assert.throws(() => addon.eddsaVerify(new Uint8Array(0), "batch", 1, k as number), RangeError, String(k));
      assert.throws(() => addon.eddsaVerifyAsync(new Uint8Array(0), "batch", 1, k as number), RangeError, String(k));
    }
    assert.throws(() => addon.eddsaVerify(new Uint8Array(192), "batch", 1, 3), /256 bytes each/);
    assert.throws(() => addon.eddsaVerifyAsync(new Uint8Array(256), "batch", 1, 2), RangeError);
    assert.deepEqual(Array.from(addon.eddsaVerify(new Uint8Array(2 * 256), "single", 1, 3)), [0, 0], "zero records are invalid signatures");
    assert.deepEqual(Array.from(await addon.eddsaVerifyAsync(new Uint8Array(21 * 32), "batch", 1, 16)), [0]);
  });
});
