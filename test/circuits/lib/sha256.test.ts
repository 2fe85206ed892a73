/**
 * circuits/lib/sha256.circom's Sha256Merged against node:crypto's SHA-256 (the function the custodian's
 * precompile and sequencer/protocol/publicData.ts compute): messages of one block, the longest that fits one
 * block, the shortest that needs two, exactly one block of data and several blocks, with random bytes; and its
 * cost beside circomlib's Sha256 of the same length (the merged round sums save 64 constraints a round: circomlib range-checks 35 + 33 + 33 + 33 sum bits, this 35 + 35);
 * and, as a dishonest prover would try, that no signal of its constraint system can be changed alone (the
 * circuit is ours, not circomlib's audited one: every round's carry bits and merged sums are pinned).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { compileMain, outputs, witness } from "../fixed/compile.ts";
import { broken, freeWires, loadR1cs } from "../../helpers/r1cs.ts";

const bitsOf = (bytes: Uint8Array): number[] => [...bytes].flatMap((b) => Array.from({ length: 8 }, (_, i) => (b >> (7 - i)) & 1));

describe("Sha256Merged = SHA-256", { timeout: 600_000 }, () => {
  it("hashes 1, 55, 56, 64 and 150 bytes of random data as node:crypto does", async () => {
    for (const n of [1, 55, 56, 64, 150]) {
      const { wasm } = await compileMain(`sha256Merged_${n}`, `component main = Sha256Merged(${8 * n});`, "circuits/lib/sha256.circom");
      for (let trial = 0; trial < 2; trial++) {
        const data = randomBytes(n);
        const out = await outputs(wasm, { in: bitsOf(data).map(BigInt) }, 256);
        assert.deepEqual(out.map(Number), bitsOf(createHash("sha256").update(data).digest()), `${n} bytes: ${data.toString("hex")}`);
      }
    }
  });

  it("pins every signal: none of a two-block hash's wires (inputs, digest, carries, sums) can be changed alone with every constraint holding", async () => {
    const c = await compileMain("sha256Merged_64", "component main = Sha256Merged(512);", "circuits/lib/sha256.circom");
    const r1cs = await loadR1cs(c.r1cs);
    const data = randomBytes(64);
    const w = await witness(c.wasm, { in: bitsOf(data).map(BigInt) });
    assert.deepEqual(broken(r1cs, w), [], "the honest witness holds every constraint");
    const forged = [...w];
    forged[1] = 1n - forged[1]!; // the digest's first bit, the rest of the witness left as it is
    assert.ok(broken(r1cs, forged).length > 0, "a digest bit changed alone breaks a constraint");
    assert.equal(r1cs.nVars, w.length);
    assert.deepEqual(freeWires(r1cs, w), [], `every one of the ${w.length - 1} wires is pinned (changed by +1 or -1 alone, some constraint breaks)`);
  });

  it("the free-wire search finds a signal assigned with <-- and never constrained (the check can fail)", async () => {
    const main = "template Loose() { signal input a; signal output b; signal output t; t <-- a * 7; b <== a * a; }\ncomponent main = Loose();";
    const c = await compileMain("looseSignal", main, "circuits/lib/sha256.circom");
    const r1cs = await loadR1cs(c.r1cs);
    const w = await witness(c.wasm, { a: 3n });
    assert.deepEqual([w[1], w[2]], [9n, 21n]);
    assert.deepEqual(freeWires(r1cs, w), [2], "t (wire 2) is free; b and a are pinned by b = a * a");
  });

  it("costs 64 constraints a round (4,096 a block) fewer than circomlib's Sha256", async () => {
    for (const n of [55, 150]) {
      const merged = await compileMain(`sha256Merged_${n}`, `component main = Sha256Merged(${8 * n});`, "circuits/lib/sha256.circom");
      const circomlib = await compileMain(`sha256Circomlib_${n}`, `component main = Sha256(${8 * n});`, "circomlib/circuits/sha256/sha256.circom");
      const blocks = Math.floor((8 * n + 64) / 512) + 1;
      assert.equal(circomlib.constraints - merged.constraints, 4_096 * blocks, `${n} bytes, ${blocks} blocks: circomlib ${circomlib.constraints}, merged ${merged.constraints}`);
    }
  });
});
