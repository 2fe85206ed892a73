/**
 * circuits/lib/sha256.circom's Sha256Merged against node:crypto's SHA-256 (the function the custodian's
 * precompile and sequencer/protocol/publicData.ts compute): messages of one block, the longest that fits one
 * block, the shortest that needs two, exactly one block of data and several blocks, with random bytes; and its
 * cost beside circomlib's Sha256 of the same length (the merged round sums save 64 constraints a round: circomlib range-checks 35 + 33 + 33 + 33 sum bits, this 35 + 35).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { compileMain, outputs } from "../fixed/compile.ts";

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

  it("costs 64 constraints a round (4,096 a block) fewer than circomlib's Sha256", async () => {
    for (const n of [55, 150]) {
      const merged = await compileMain(`sha256Merged_${n}`, `component main = Sha256Merged(${8 * n});`, "circuits/lib/sha256.circom");
      const circomlib = await compileMain(`sha256Circomlib_${n}`, `component main = Sha256(${8 * n});`, "circomlib/circuits/sha256/sha256.circom");
      const blocks = Math.floor((8 * n + 64) / 512) + 1;
      assert.equal(circomlib.constraints - merged.constraints, 4_096 * blocks, `${n} bytes, ${blocks} blocks: circomlib ${circomlib.constraints}, merged ${merged.constraints}`);
    }
  });
});
