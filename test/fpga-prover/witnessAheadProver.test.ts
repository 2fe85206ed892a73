/**
 * WitnessAheadProver: the witness of job k + 1 is computed while job k is proven, each stage one job at a
 * time in arrival order; a proof that does not check is proven again; a witness the circuit refuses
 * fails its job only. A scripted two-stage device records when each stage starts and ends.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Groth16Proof } from "snarkjs";
import type { CircuitKeys } from "../../fpga-prover/device.ts";
import { WitnessAheadProver, type TwoStageDevice } from "../../fpga-prover/witnessAheadProver.ts";

const KEYS = { wasm: "w", zkey: "z", vkey: {} } as unknown as CircuitKeys;
const PROOF = {} as Groth16Proof;
const tick = () => new Promise((r) => setTimeout(r, 5));

/** A device whose stages take a few milliseconds each and log `start|end stage job`; `badProofs` proofs fail to verify first. */
function scriptedDevice(opts: { badProofs?: number; refuse?: number } = {}) {
  const events: string[] = [];
  let bad = opts.badProofs ?? 0;
  const device: TwoStageDevice & { events: string[]; proofs: number } = {
    name: "scripted",
    events,
    proofs: 0,
    async calculateWitness(_wasm, input) {
      const job = Number(input.job);
      events.push(`start witness ${job}`);
      await tick();
      events.push(`end witness ${job}`);
      if (job === opts.refuse) throw new Error("Error: Assert Failed. Error in template Refuse_1 line: 3");
      return Uint8Array.of(job);
    },
    async proveWitness(_zkey, wtns) {
      const job = wtns[0]!;
      device.proofs++;
      events.push(`start prove ${job}`);
      await tick();
      await tick();
      events.push(`end prove ${job}`);
      return { proof: PROOF, publicSignals: [String(job)], timings: { witnessMs: 0, proveMs: 0 } };
    },
    async verify() {
      return bad-- <= 0;
    },
  };
  return device;
}

describe("WitnessAheadProver", () => {
  it("computes the next job's witness while the current one is proven, and never proves two at once", async () => {
    const device = scriptedDevice();
    const prover = new WitnessAheadProver(device);
    const proofs = await Promise.all([1, 2, 3].map((job) => prover.prove(job, KEYS, { job }, [String(job)])));
    assert.deepEqual(proofs.map((p) => p.publicSignals[0]), ["1", "2", "3"]);
    const at = (e: string) => device.events.indexOf(e);
    assert.ok(at("start witness 2") < at("end prove 1"), "witness 2 while proof 1 runs");
    assert.ok(at("start witness 3") < at("end prove 2"), "witness 3 while proof 2 runs");
    assert.ok(at("end prove 1") < at("start prove 2") && at("end prove 2") < at("start prove 3"), "one proof at a time, in order");
    assert.ok(at("end witness 1") < at("start witness 2"), "one witness at a time");
  });

  it("proves again from the same witness when a proof does not check, up to its attempts", async () => {
    const device = scriptedDevice({ badProofs: 1 });
    const proof = await new WitnessAheadProver(device, 2).prove(7, KEYS, { job: 7 }, ["7"]);
    assert.equal(proof.publicSignals[0], "7");
    assert.equal(device.proofs, 2);
    assert.equal(device.events.filter((e) => e === "start witness 7").length, 1, "the witness is computed once");
    await assert.rejects(new WitnessAheadProver(scriptedDevice({ badProofs: 5 }), 2).prove(8, KEYS, { job: 8 }, ["8"]), /job 8 on scripted: no valid proof/);
  });

  it("a job whose public input is not the expected one is not handed out", async () => {
    await assert.rejects(new WitnessAheadProver(scriptedDevice(), 1).prove(3, KEYS, { job: 3 }, ["4"]), /no valid proof/);
  });

  it("a witness the circuit refuses fails that job with the circuit's message, and the jobs after it go on", async () => {
    const device = scriptedDevice({ refuse: 2 });
    const prover = new WitnessAheadProver(device);
    const [one, two, three] = await Promise.allSettled([1, 2, 3].map((job) => prover.prove(job, KEYS, { job }, [String(job)])));
    assert.equal(one.status, "fulfilled");
    assert.equal(two.status, "rejected");
    assert.match(String((two as PromiseRejectedResult).reason), /Error in template Refuse_1/);
    assert.equal(three.status, "fulfilled");
    assert.ok(!device.events.includes("start prove 2"));
  });
});
