// Poseidon: the native addon's hash equals circomlibjs's for every arity (1 to 16 inputs), and poseidon()
// gives circomlibjs's result for any input, canonical or not. The native part is skipped when the addon is
// not built (`npm run build:native`).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isNativeAvailable, nativeUnavailableReason } from "../../../fpga-prover/native/index.ts";
import { poseidon, poseidonBackend, poseidonJs, poseidonNative } from "../../../sequencer/crypto/poseidon.ts";
import { FIELD_MODULUS } from "../../../sequencer/protocol/constants.ts";
import { testScalar } from "../../helpers/signatures.ts";

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

  it("refuses inputs that are not field elements, and wrong arities, with a clear error", () => {
    assert.throws(() => poseidonNative([FIELD_MODULUS]), RangeError);
    assert.throws(() => poseidonNative([-1n]), RangeError);
    assert.throws(() => poseidonNative([1n << 256n]), RangeError);
    assert.throws(() => poseidonNative([]), RangeError);
    assert.throws(() => poseidonNative(randomInputs(17, "n17")), RangeError);
    assert.throws(() => poseidonNative([1 as unknown as bigint]), TypeError);
  });
});
