/**
 * circuits/lib/poseidonChain.circom's PoseidonChain against sequencer/crypto/poseidon.ts#poseidonChain: the oracle
 * message, which outgrows one Poseidon (16 inputs) once the table holds more than 7 instruments, is hashed the same
 * way on both sides, at one Poseidon, exactly 16, one more, a full second step and into a third.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { poseidon, poseidonChain } from "../../../sequencer/crypto/poseidon.ts";
import { compileMain, fe, outputs } from "../fixed/compile.ts";

describe("PoseidonChain = poseidonChain", { timeout: 300_000 }, () => {
  it("hashes 5, 16, 17, 31, 32 and 47 inputs as the TypeScript does; at most 16 is one Poseidon", async () => {
    for (const n of [5, 16, 17, 31, 32, 47]) {
      const inputs = Array.from({ length: n }, (_, i) => BigInt(i * 7919 + 1) ** 3n);
      const { wasm } = await compileMain(`poseidonChain_${n}`, `component main = PoseidonChain(${n});`, "circuits/lib/poseidonChain.circom");
      const [out] = await outputs(wasm, { inputs });
      assert.equal(fe(out), poseidonChain(inputs), `${n} inputs`);
      if (n <= 16) assert.equal(fe(out), poseidon(inputs));
    }
    const inputs = Array.from({ length: 17 }, (_, i) => BigInt(i));
    assert.equal(poseidonChain(inputs), poseidon([poseidon(inputs.slice(0, 16)), 16n]), "17: the first 16, then the running hash with the 17th");
  });
});
