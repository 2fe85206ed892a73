// The production route: snarkjs phase-2 ceremony over a powers-of-tau file (a tiny one made here).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { buildCircuit } from "../../../scripts/build/circuitBuild.ts";
import { readPtauInfo, runCeremony, type CeremonyResult } from "../../../scripts/setup/ceremony.ts";
import { devSetup } from "../../../scripts/setup/devSetup.ts";
import { loadSnarkjs, terminateSnarkjsCurve, type Snarkjs, type VerificationKey } from "../../../scripts/setup/zkLibs.ts";
import { compileFixture, FIXTURES, readZkeySections, scratchDir } from "../helpers.ts";

// bn128's G2 generator, as snarkjs's JSON writes it
const G2_GENERATOR = [
  ["10857046999023057135944570762232829481370756359578518086990519993285655852781", "11559732032986387107991004021392285783925812861821192530917403151452391805634"],
  ["8495653923123431417604973247489272438418190587263600148770280649306958101930", "4082367875863433681332203403145435568316851327593401208105741076214120093531"],
  ["1", "0"],
];

const BEACON = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
const INPUT = { product: String(2 * 3 * 4 * 5 * 6 * 7), factors: ["2", "3", "4", "5", "6", "7"], k: "9" };

describe("phase-2 ceremony (snarkjs)", { timeout: 120_000 }, () => {
  let snarkjs: Snarkjs;
  let dir: string;
  let cleanup: () => Promise<void>;
  let ptau: string;
  let r1cs: string;
  let wasm: string;
  let result: CeremonyResult;
  const logs: string[] = [];

  before(async () => {
    snarkjs = await loadSnarkjs();
    ({ dir, cleanup } = await scratchDir("ceremony"));
    ({ r1cs, wasm } = await compileFixture("tinyProduct.circom", dir));
    // A local powers of tau (power 8: circuits up to 2^7 constraints): new, one contribution, prepare phase 2.
    const curve = await snarkjs.curves.getCurveFromName("bn128");
    const p0 = join(dir, "pot0.ptau");
    const p1 = join(dir, "pot1.ptau");
    ptau = join(dir, "pot_final.ptau");
    await snarkjs.powersOfTau.newAccumulator(curve, 8, p0);
    await snarkjs.powersOfTau.contribute(p0, p1, "test", randomBytes(32).toString("hex"));
    await snarkjs.powersOfTau.preparePhase2(p1, ptau);

    result = await runCeremony({
      ptau,
      r1cs,
      zkeyPath: join(dir, "final.zkey"),
      vkeyPath: join(dir, "final.vkey.json"),
      contributions: 2,
      beaconHex: BEACON,
      beaconIterationsExp: 10,
      names: ["alice", "bob"],
      log: (m) => logs.push(m),
    });
  });

  after(async () => {
    await terminateSnarkjsCurve();
    await cleanup?.();
  });

  it("runs the contributions and the beacon and prints each hash", () => {
    assert.equal(result.contributions.length, 2);
    assert.deepEqual(
      result.contributions.map((c) => c.name),
      ["alice", "bob"],
    );
    const hashes = [...result.contributions.map((c) => c.hash), result.beacon.hash];
    for (const h of hashes) assert.match(h, /^[0-9a-f]{128}$/);
    assert.equal(new Set(hashes).size, 3);
    const printed = logs.join("\n").replace(/\s+/g, "");
    for (const h of hashes) assert.ok(printed.includes(h), `hash ${h.slice(0, 16)}... printed`);
    assert.ok(logs.some((l) => l.includes("zkey verify: OK")));
    // no intermediate files left next to the outputs
    assert.ok(existsSync(result.zkeyPath) && existsSync(result.vkeyPath));
  });

  it("produces a key that snarkjs verifies against the r1cs and the ptau, and proofs that verify", async () => {
    assert.equal(await snarkjs.zKey.verifyFromR1cs(r1cs, ptau, result.zkeyPath), true);
    const vkey = JSON.parse(await readFile(result.vkeyPath, "utf8")) as VerificationKey;
    assert.deepEqual(vkey, result.vkey);
    assert.deepEqual(vkey, await snarkjs.zKey.exportVerificationKey(result.zkeyPath));
    assert.deepEqual(vkey.vk_gamma_2, G2_GENERATOR);
    const { proof, publicSignals } = await snarkjs.groth16.fullProve(INPUT, wasm, result.zkeyPath);
    assert.equal(await snarkjs.groth16.verify(vkey, publicSignals, proof), true);
    assert.equal(await snarkjs.groth16.verify(vkey, ["5041"], proof), false);
  });

  it("the dev key has the layout of snarkjs's zkey new (byte-equal coefficients), with a random gamma", async () => {
    const devZkey = join(dir, "dev.zkey");
    await devSetup({ r1csPath: r1cs, zkeyPath: devZkey, log: () => {} });
    const initZkey = join(dir, "init.zkey");
    assert.ok((await snarkjs.zKey.newZKey(r1cs, ptau, initZkey)) instanceof Uint8Array);
    const dev = await readZkeySections(devZkey);
    const ref = await readZkeySections(initZkey);
    assert.deepEqual(dev.order, ref.order); // 1, 2, 4, 3, 9, 8, 5, 6, 7, 10 (contributions rewrite it in numeric order)
    assert.deepEqual(dev.get(1), ref.get(1));
    assert.deepEqual(dev.get(2).subarray(0, 84), ref.get(2).subarray(0, 84)); // field sizes, primes, nVars, nPublic, domain
    assert.deepEqual(dev.get(4), ref.get(4)); // A/B coefficients incl. the public-input rows, R^2-encoded
    const c = dev.get(4);
    const values = new Set<string>();
    for (let o = 4; o < c.byteLength; o += 44) values.add(Buffer.from(c.subarray(o + 12, o + 44)).toString("hex"));
    assert.ok(values.size >= 5, "coefficients other than 1 are covered");
    for (const t of [2, 3, 5, 6, 7, 8, 9, 10]) assert.equal(dev.get(t).byteLength, ref.get(t).byteLength, `section ${t} size`);
    // where snarkjs writes the zero point (wires absent from B), so does the dev key
    for (const [t, size] of [[5, 64], [6, 64], [7, 128], [8, 64]] as const) {
      const zeroAt = (z: typeof dev) => {
        const b = z.get(t);
        const out: boolean[] = [];
        for (let i = 0; i < b.byteLength; i += size) out.push(b.subarray(i, i + size).every((x) => x === 0));
        return out;
      };
      assert.deepEqual(zeroAt(dev), zeroAt(ref), `zero points of section ${t}`);
    }
    const devVkey = await snarkjs.zKey.exportVerificationKey(devZkey);
    assert.notDeepEqual(devVkey.vk_gamma_2, G2_GENERATOR);
    const { proof, publicSignals } = await snarkjs.groth16.fullProve(INPUT, wasm, devZkey);
    assert.equal(await snarkjs.groth16.verify(devVkey, publicSignals, proof), true);
  });

  it("rejects bad parameters and a ptau too small for the circuit", async () => {
    const base = { ptau, r1cs, zkeyPath: join(dir, "x.zkey"), vkeyPath: join(dir, "x.json"), log: () => {} };
    await assert.rejects(runCeremony({ ...base, contributions: 1, beaconHex: "xyz" }), /beacon/);
    await assert.rejects(runCeremony({ ...base, contributions: 0, beaconHex: BEACON }), /contributions/);
    await assert.rejects(runCeremony({ ...base, contributions: 1, beaconHex: BEACON, beaconIterationsExp: 5 }), /10\.\.63/);
    const big = await compileFixture("poseidonProduct.circom", dir); // 2^9 domain: needs power 10
    await assert.rejects(runCeremony({ ...base, r1cs: big.r1cs, contributions: 1, beaconHex: BEACON }), /needs a ptau of power >= 10 \(got 8\)/);
    const unprepared = join(dir, "pot1.ptau");
    assert.deepEqual(await readPtauInfo(unprepared), { power: 8, ceremonyPower: 8, prepared: false });
    assert.deepEqual(await readPtauInfo(ptau), { power: 8, ceremonyPower: 8, prepared: true });
    await assert.rejects(runCeremony({ ...base, ptau: unprepared, contributions: 1, beaconHex: BEACON }), /not prepared/);
    assert.equal(existsSync(base.zkeyPath), false);
  });

  it("buildCircuit runs the ceremony for a non-dev setup", async () => {
    const mainSource = (await readFile(join(FIXTURES, "tinyProduct.circom"), "utf8")) + `\n// ${randomBytes(8).toString("hex")}\n`;
    const b = await buildCircuit({
      name: "ceremonyTest",
      mainSource,
      setup: { ptau, contributions: 1, beacon: BEACON },
      log: () => {},
    });
    try {
      assert.equal(b.cached, false);
      assert.equal(b.insecure, false);
      assert.equal(b.nConstraints, 6);
      assert.equal(await snarkjs.zKey.verifyFromR1cs(b.r1cs, ptau, b.zkey), true);
      const vkey = JSON.parse(await readFile(b.vkey, "utf8")) as VerificationKey;
      assert.deepEqual(vkey.vk_gamma_2, G2_GENERATOR);
      const sol = await readFile(b.verifierSol, "utf8");
      assert.match(sol, /contract Groth16Verifier_ceremonyTest \{/);
      assert.doesNotMatch(sol, /INSECURE/);
      const { proof, publicSignals } = await snarkjs.groth16.fullProve(INPUT, b.wasm, b.zkey);
      assert.equal(await snarkjs.groth16.verify(vkey, publicSignals, proof), true);
    } finally {
      await rm(b.dir, { recursive: true, force: true });
    }
  });
});
