/** sequencer/protocol/calldataProof.ts: the custodian's uint256[8] proof layout and back. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fromCalldataProof, nonCanonicalProof, toCalldataProof } from "../../../sequencer/protocol/calldataProof.ts";
import { BASE_FIELD_MODULUS } from "../../../sequencer/crypto/field.ts";

/** A proof in the canonical form (affine points, decimal coordinates below Q). */
const proof = {
  pi_a: ["11", "12", "1"],
  pi_b: [["21", "22"], ["23", "24"], ["1", "0"]],
  pi_c: ["31", "32", "1"],
  protocol: "groth16",
  curve: "bn128",
};

describe("proof calldata", () => {
  it("fromCalldataProof inverts toCalldataProof", () => {
    assert.deepEqual(fromCalldataProof(toCalldataProof(proof)), proof);
    assert.throws(() => fromCalldataProof([1n, 2n]), RangeError);
  });
});

describe("canonical proofs (the one form the custodian takes)", () => {
  const Q = BASE_FIELD_MODULUS;

  it("takes affine points with decimal coordinates below Q", () => {
    assert.equal(nonCanonicalProof(proof), null);
    assert.equal(nonCanonicalProof({ ...proof, pi_a: [String(Q - 1n), "0", "1"] }), null);
  });

  it("refuses what snarkjs would still verify but the custodian reads otherwise: projective points, a coordinate at or above Q, other spellings; toCalldataProof throws for them", () => {
    const bad = [
      { ...proof, pi_a: ["44", "96", "2"] }, // projective: z = 2
      { ...proof, pi_c: ["31", "32", "3"] },
      { ...proof, pi_b: [["21", "22"], ["23", "24"], ["2", "0"]] },
      { ...proof, pi_a: [String(11n + Q), "12", "1"] }, // the same point, unreduced
      { ...proof, pi_b: [["21", String(Q)], ["23", "24"], ["1", "0"]] },
      { ...proof, pi_a: ["011", "12", "1"] },
      { ...proof, pi_a: ["0x0b", "12", "1"] },
      { ...proof, pi_a: ["-1", "12", "1"] },
      { ...proof, pi_a: ["11", "12"] },
    ];
    for (const p of bad) {
      assert.notEqual(nonCanonicalProof(p), null, JSON.stringify(p));
      assert.throws(() => toCalldataProof(p), /not a canonical proof/);
    }
  });
});
