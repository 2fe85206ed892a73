/** sequencer/protocol/calldataProof.ts: the custodian's uint256[8] proof layout and back. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fromCalldataProof, toCalldataProof } from "../../../sequencer/protocol/calldataProof.ts";

describe("proof calldata", () => {
  it("fromCalldataProof inverts toCalldataProof", () => {
    const proof = {
      pi_a: ["11", "12", "1"],
      pi_b: [["21", "22"], ["23", "24"], ["1", "0"]],
      pi_c: ["31", "32", "1"],
      protocol: "groth16",
      curve: "bn128",
    };
    assert.deepEqual(fromCalldataProof(toCalldataProof(proof)), proof);
    assert.throws(() => fromCalldataProof([1n, 2n]), RangeError);
  });
});
