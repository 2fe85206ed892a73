// Poseidon: the native addon's hash equals circomlibjs's for every arity (1 to 16 inputs), computed one state
// at a time, 4 in lockstep or in its lanes (AVX-512 IFMA where built in), and poseidon()
// gives circomlibjs's result for any input, canonical or not. The native part is skipped when the addon is
// not built (`npm run build:native`).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { bigintToLE32, isNativeAvailable, le32ToBigint, nativeAddon, nativeUnavailableReason } from "../../../fpga-prover/native/index.ts";
import { poseidon, poseidonBackend, poseidonJs, poseidonNative } from "../../../sequencer/crypto/poseidon.ts";
import { FIELD_MODULUS } from "../../../sequencer/protocol/constants.ts";
import { testScalar } from "../../../scripts/fixtures/signatures.ts";

const skip = isNativeAvailable() ? false : `${nativeUnavailableReason()}`;
if (skip) console.log(`# native Poseidon tests skipped: ${skip}`);

const randomInputs = (n: number, label: string) => Array.from({ length: n }, (_, i) => testScalar(`${label}/${i}`, FIELD_MODULUS));

describe("poseidon", () => {
  it("gives circomlibjs's hash for canonical and non-canonical inputs alike", () => {
    const p = FIELD_MODULUS;
    for (const inputs of [[1n, 2n], [0n], [p - 1n, 5n, 6n], [-1n, 3n], [p + 7n, 2n ** 300n], [1n, 2n, 3n, 4n, 5n]])
      assert.equal(poseidon(inputs), poseidonJs(inputs), String(inputs));
    assert.equal(poseidon([-1n, 3n]), poseidon([p - 1n, 3n]));
  });

  it("refuses 0 and 17 inputs as circomlibjs does", () => {
    assert.throws(() => poseidon([]));
    assert.throws(() => poseidon(randomInputs(17, "p17")));
  });
});

describe("native Poseidon", { skip }, () => {
  it("is the implementation poseidon() uses", () => assert.equal(poseidonBackend, "native"));

  it("equals circomlibjs for random inputs at every arity from 1 to 16", () => {
    for (let n = 1; n <= 16; n++)
      for (let k = 0; k < 12; k++) {
        const inputs = randomInputs(n, `poseidon/${n}/${k}`);
        if (k === 0) inputs.fill(0n);
        if (k === 1) inputs.fill(FIELD_MODULUS - 1n);
        assert.equal(poseidonNative(inputs), poseidonJs(inputs), `arity ${n}, sample ${k}`);
      }
  });

  it("hashes many preimages alike one at a time, 4 states in lockstep and in its lanes (16 with IFMA), as circomlibjs does", () => {
    const addon = nativeAddon();
    assert.ok([4, 16].includes(addon.poseidonLanes));
    for (let arity = 1; arity <= 16; arity++) {
      const count = arity === 3 || arity === 5 ? 2 * addon.poseidonLanes + 3 : addon.poseidonLanes + 1;
      const preimages = Array.from({ length: count }, (_, k) => randomInputs(arity, `poseidon-many/${arity}/${k}`));
      preimages[0]!.fill(0n);
      preimages[1]!.fill(FIELD_MODULUS - 1n);
      const expected = preimages.map(poseidonJs);
      const bytes = new Uint8Array(32 * arity * count);
      preimages.flat().forEach((x, i) => bytes.set(bigintToLE32(x), 32 * i));
      for (const method of ["single", "scalar-lanes", "lanes"] as const) {
        const out = addon.poseidonMany(bytes, arity, method);
        assert.deepEqual(expected.map((_, k) => le32ToBigint(out, 32 * k)), expected, `arity ${arity}, ${method}`);
      }
    }
    // fewer preimages than lanes, and none
    const two = new Uint8Array(2 * 5 * 32).fill(1);
    assert.deepEqual(nativeAddon().poseidonMany(two, 5, "lanes"), nativeAddon().poseidonMany(two, 5, "single"));
    assert.equal(nativeAddon().poseidonMany(new Uint8Array(0), 5, "lanes").length, 0);
  });

  it("refuses inputs that are not field elements, and wrong arities, with a clear error", () => {
    const addon = nativeAddon();
    assert.throws(() => addon.poseidonMany(bigintToLE32(FIELD_MODULUS), 1, "lanes"), RangeError);
    assert.throws(() => addon.poseidonMany(new Uint8Array(64), 3, "lanes"), RangeError);
    assert.throws(() => addon.poseidonMany(new Uint8Array(32), 17, "lanes"), RangeError);
    assert.throws(() => addon.poseidonMany(new Uint8Array(32), 1, "fast" as "lanes"), TypeError);
    assert.throws(() => poseidonNative([FIELD_MODULUS]), RangeError);
    assert.throws(() => poseidonNative([-1n]), RangeError);
    assert.throws(() => poseidonNative([1n << 256n]), RangeError);
    assert.throws(() => poseidonNative([]), RangeError);
    assert.throws(() => poseidonNative(randomInputs(17, "n17")), RangeError);
    assert.throws(() => poseidonNative([1 as unknown as bigint]), TypeError);
  });
});
