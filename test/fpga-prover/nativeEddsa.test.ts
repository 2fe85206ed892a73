// The native addon's Baby Jubjub and EdDSA-Poseidon entry points at the byte level: the prime-subgroup test
// (pairing-based) against circomlibjs's inSubgroup on points with every small-order component, and raw
// records the TypeScript wrapper never sends (non-canonical field values, malformed buffers). Skipped when
// the addon is not built (`npm run build:native`).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { bigintToLE32, isNativeAvailable, nativeAddon, nativeUnavailableReason } from "../../fpga-prover/native/index.ts";
import { packSignatureChecks, SIGNATURE_RECORD_BYTES } from "../../sequencer/crypto/nativeSignatureVerifier.ts";
import { FIELD_MODULUS } from "../../sequencer/protocol/constants.ts";
import {
  BASE8, IDENTITY, honestChecks, inSubgroup, onCurve, pointAdd, pointMul, SUBGROUP_ORDER, testScalar, torsionPoint, type Point,
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

  it("refuses malformed buffers and modes with a clear error", async () => {
    const addon = nativeAddon();
    assert.throws(() => addon.eddsaVerify(new Uint8Array(191)), RangeError);
    assert.throws(() => addon.eddsaVerify(new Uint8Array(192), "fast" as "batch"), TypeError);
    assert.throws(() => addon.eddsaVerify([] as unknown as Uint8Array), TypeError);
    assert.throws(() => addon.eddsaVerifyAsync(new Uint8Array(193)), RangeError);
    assert.throws(() => addon.babyJubInSubgroup(new Uint8Array(65)), RangeError);
    assert.deepEqual(Array.from(await addon.eddsaVerifyAsync(new Uint8Array(0))), []);
  });
});
