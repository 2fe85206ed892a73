/**
 * The reused witness calculator (fpga-prover/witness.ts): a refusal names the refused input's own
 * failure, never an earlier one, and leaves the calculator answering later inputs exactly as snarkjs.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as snarkjs from "snarkjs";
import { buildCircuit, type CircuitBuild } from "../../scripts/build/circuitBuild.ts";
import { calculateWitness, witnessFailureChain } from "../../fpga-prover/witness.ts";

/** Two rules in two templates: x < 10 (Small, line 3) and y != 0 (NonZero, line 4). */
const SOURCE = [
  "pragma circom 2.1.0;",
  'include "circomlib/circuits/comparators.circom";',
  "template Small() { signal input x; component lt = LessThan(8); lt.in[0] <== x; lt.in[1] <== 10; lt.out === 1; }",
  "template NonZero() { signal input y; signal inv; inv <-- y != 0 ? 1 / y : 0; inv * y === 1; }",
  "template Rules() { signal input x; signal input y; signal output z; component s = Small(); s.x <== x; component n = NonZero(); n.y <== y; z <== x * y; }",
  "component main = Rules();",
  "",
].join("\n");

async function refusal(wasm: string, input: Record<string, unknown>): Promise<string[]> {
  const quiet = console.error;
  console.error = () => {}; // circom's runtime prints every refusal
  try {
    await calculateWitness(wasm, input);
  } catch (e) {
    return witnessFailureChain(e);
  } finally {
    console.error = quiet;
  }
  throw new Error(`the circuit took ${JSON.stringify(input)}`);
}

async function snarkjsWitness(wasm: string, input: Record<string, unknown>): Promise<Buffer> {
  const out: { type: "mem"; data?: Uint8Array } = { type: "mem" };
  await snarkjs.wtns.calculate(input, wasm, out);
  return Buffer.from(out.data!);
}

describe("witness calculator", { timeout: 120_000 }, () => {
  let build: CircuitBuild;
  before(async () => {
    build = await buildCircuit({ name: "witnessRules", mainSource: SOURCE, includeDirs: ["node_modules"], setup: "dev", log: () => {} });
  });

  it("names each refused input's own failing template, however many refusals came before", async () => {
    assert.deepEqual(await refusal(build.wasm, { x: 12, y: 1 }), ["Small:3", "Rules:5"]);
    assert.deepEqual(await refusal(build.wasm, { x: 3, y: 0 }), ["NonZero:4", "Rules:5"]);
    for (let i = 0; i < 5; i++) assert.deepEqual(await refusal(build.wasm, { x: 3, y: 0 }), ["NonZero:4", "Rules:5"]);
    assert.deepEqual(await refusal(build.wasm, { x: 200, y: 5 }), ["Small:3", "Rules:5"]);
  });

  it("answers inputs the circuit takes exactly as snarkjs, before and after refusals, calls in flight together included", async () => {
    const inputs = [{ x: 3, y: 4 }, { x: 9, y: 7 }, { x: 0, y: 1 }];
    const expected = await Promise.all(inputs.map((i) => snarkjsWitness(build.wasm, i)));
    assert.deepEqual(Buffer.from(await calculateWitness(build.wasm, inputs[0])), expected[0]);
    await refusal(build.wasm, { x: 11, y: 2 });
    const quiet = console.error;
    console.error = () => {};
    try {
      const mixed = await Promise.allSettled([calculateWitness(build.wasm, inputs[1]), calculateWitness(build.wasm, { x: 3, y: 0 }), calculateWitness(build.wasm, inputs[2])]);
      assert.deepEqual(mixed.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
      assert.deepEqual(Buffer.from((mixed[0] as PromiseFulfilledResult<Uint8Array>).value), expected[1]);
      assert.deepEqual(Buffer.from((mixed[2] as PromiseFulfilledResult<Uint8Array>).value), expected[2]);
    } finally {
      console.error = quiet;
    }
  });

  it("refuses a missing wasm with the file error, and a later call with the file in place works", async () => {
    await assert.rejects(calculateWitness(`${build.wasm}.missing`, { x: 1, y: 1 }), /ENOENT/);
    assert.deepEqual(Buffer.from(await calculateWitness(build.wasm, { x: 1, y: 1 })), await snarkjsWitness(build.wasm, { x: 1, y: 1 }));
  });
});
