// The native addon's Baby Jubjub and EdDSA-Poseidon entry points at the byte level: the prime-subgroup test
// (pairing-based) against circomlibjs's inSubgroup on points with every small-order component, the batch
// equation's multi-scalar multiplication (IFMA lanes and scalar) against circomlibjs's point arithmetic, and raw
// records the TypeScript wrapper never sends (non-canonical field values or message inputs, malformed buffers,
// bad messageInputs). Skipped when
// the addon is not built (`npm run build:native`).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { bigintToLE32, isNativeAvailable, le32ToBigint, nativeAddon, nativeUnavailableReason } from "../../fpga-prover/native/index.ts";
import { packSignatureChecks, SIGNATURE_RECORD_BYTES, signatureRecordBytes } from "../../sequencer/crypto/nativeSignatureVerifier.ts";
import { FIELD_MODULUS } from "../../sequencer/protocol/constants.ts";
import {
  BASE8, IDENTITY, honestChecks, inSubgroup, onCurve, pointAdd, pointMul, preimageSeries, SUBGROUP_ORDER, testScalar, torsionPoint, type Point,
} from "../../scripts/fixtures/signatures.ts";

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

  it("sums k_i * P_i (the batch equation's MSM) exactly as circomlibjs does, in the lanes and on the scalar path", () => {
    const addon = nativeAddon();
    // points with every small-order component and the identity; scalars of 0 to 253 bits
    const distinct = Array.from({ length: 24 }, (_, i) => pointAdd(i % 9 === 8 ? IDENTITY : pointMul(BASE8, testScalar(`msm/p/${i}`, SUBGROUP_ORDER)), torsionPoint(i % 8)));
    const point = (i: number): Point => distinct[i % distinct.length]!;
    const scalar = (i: number): bigint => [0n, 1n, testScalar(`msm/k/${i}`, 1n << 8n), testScalar(`msm/k/${i}`, 1n << 128n), testScalar(`msm/k/${i}`, 1n << 254n), (1n << 254n) - 1n][i % 6]!;
    const msm = (points: readonly Point[], scalars: readonly bigint[], method: "scalar" | "lanes"): Point => {
      const sc = new Uint8Array(32 * scalars.length);
      scalars.forEach((k, i) => sc.set(bigintToLE32(k), 32 * i));
      const out = addon.babyJubMsm(packPoints(points), sc, method);
      return [le32ToBigint(out, 0), le32ToBigint(out, 32)];
    };
    for (const n of [1, 2, 5, 13, 24]) {
      const points = Array.from({ length: n }, (_, i) => point(i));
      const scalars = Array.from({ length: n }, (_, i) => scalar(i + n));
      const expected = points.reduce<Point>((acc, p, i) => pointAdd(acc, pointMul(p, scalars[i]!)), IDENTITY);
      for (const method of ["scalar", "lanes"] as const) assert.deepEqual(msm(points, scalars, method), expected, `${n} points, ${method}`);
    }
    // larger sums (more windows per lane group, more buckets): the two paths agree
    for (const n of [300, 1100]) {
      const points = Array.from({ length: n }, (_, i) => point(i));
      const scalars = Array.from({ length: n }, (_, i) => scalar(i) ^ BigInt(i));
      assert.deepEqual(msm(points, scalars, "lanes"), msm(points, scalars, "scalar"), `${n} points`);
    }
    // a sum that cancels: k*P + (l - k)*P + 8*T8 = O
    const p = pointMul(BASE8, 12345n), k = testScalar("msm/cancel", SUBGROUP_ORDER);
    for (const method of ["scalar", "lanes"] as const)
      assert.deepEqual(msm([p, p, torsionPoint(1)], [k, SUBGROUP_ORDER - k, 8n], method), IDENTITY, method);
    assert.throws(() => addon.babyJubMsm(packPoints([BASE8]), bigintToLE32(1n << 254n), "lanes"), RangeError);
    assert.throws(() => addon.babyJubMsm(packPoints([[BASE8[0], BASE8[1] + 1n]]), bigintToLE32(1n), "lanes"), RangeError);
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
