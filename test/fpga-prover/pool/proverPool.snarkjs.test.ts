// ProverPool over two real SnarkjsDevices on the poseidonProduct fixture circuit (~255 constraints):
// one proves, the other verifies, and snarkjs accepts the pool's proof.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { buildPoseidon } from "circomlibjs";
import * as snarkjs from "snarkjs";
import { buildCircuit, REPO_ROOT } from "../../../scripts/build/circuitBuild.ts";
import { terminateSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";
import type { CircuitKeys } from "../../../fpga-prover/device.ts";
import { SnarkjsDevice } from "../../../fpga-prover/snarkjsDevice.ts";
import { ProverPool } from "../../../fpga-prover/pool/index.ts";

describe("ProverPool with two SnarkjsDevices (poseidonProduct fixture)", { timeout: 180_000 }, () => {
  let keys: CircuitKeys;
  let input: Record<string, unknown>;
  let expected: string[];

  before(async () => {
    const source = await readFile(join(REPO_ROOT, "test", "fixtures", "circuits", "poseidonProduct.circom"), "utf8");
    const build = await buildCircuit({ name: "proverPoolTest", mainSource: source, setup: "dev", log: () => {} });
    keys = { wasm: build.wasm, zkey: build.zkey, vkey: JSON.parse(await readFile(build.vkey, "utf8")) };
    const poseidon = await buildPoseidon();
    const factors = Array.from({ length: 16 }, (_, i) => BigInt(i + 5));
    const hash = poseidon.F.toObject(poseidon([11n, 13n])).toString();
    const product = factors.reduce((a, b) => a * b, 1n).toString();
    input = { hash, product, preimage: ["11", "13"], factors: factors.map(String) };
    expected = [hash, product];
  });

  after(async () => {
    await terminateSnarkjsCurve();
  });

  it("proves on one device, verifies on the other, and snarkjs accepts the proof", async () => {
    const pool = new ProverPool([new SnarkjsDevice(), new SnarkjsDevice()], { deadlineMs: 120_000 });
    const r = await pool.prove("fixture-1", keys, input, expected);
    assert.deepEqual(r.publicSignals, expected);
    assert.equal(r.prover, "snarkjs#0");
    assert.deepEqual(r.verifiers, ["snarkjs#1"]);
    assert.equal(await snarkjs.groth16.verify(keys.vkey, r.publicSignals, r.proof), true);
    assert.equal(await snarkjs.groth16.verify(keys.vkey, [expected[0]!, "1"], r.proof), false);
    const m = pool.metrics();
    assert.equal(m.completed, 1);
    assert.equal(m.devices[0]!.counts.proofs, 1);
    assert.equal(m.devices[1]!.counts.verifications, 1);
    await pool.close();
  });
});
