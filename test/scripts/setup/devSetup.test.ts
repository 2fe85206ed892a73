// The INSECURE development setup: its .zkey must work with snarkjs's prover, verifier and exporters,
// and follow the layout snarkjs's zkey_new writes.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildPoseidon } from "circomlibjs";
import { REPO_ROOT } from "../../../scripts/build/circuitBuild.ts";
import { devSetup, domainPower, type DevSetupResult } from "../../../scripts/setup/devSetup.ts";
import { readBinSections, readR1cs, type R1csFile } from "../../../scripts/setup/r1cs.ts";
import { loadSnarkjs, terminateSnarkjsCurve, type Groth16Proof, type Snarkjs, type VerificationKey } from "../../../scripts/setup/zkLibs.ts";
import { compileFixture, g1Json, g2Json, readZkeySections, scratchDir } from "../helpers.ts";

describe("devSetup (insecure development Groth16 key)", { timeout: 120_000 }, () => {
  let snarkjs: Snarkjs;
  let cleanup: () => Promise<void>;
  let r1csPath: string;
  let wasm: string;
  let zkey: string;
  let r1cs: R1csFile;
  let res: DevSetupResult;
  let vkey: VerificationKey;
  const logs: string[] = [];
  let input: Record<string, string | string[]>;

  before(async () => {
    snarkjs = await loadSnarkjs();
    const s = await scratchDir("devSetup");
    cleanup = s.cleanup;
    ({ r1cs: r1csPath, wasm } = await compileFixture("poseidonProduct.circom", s.dir));
    r1cs = await readR1cs(r1csPath);
    zkey = join(s.dir, "dev.zkey");
    res = await devSetup({ r1csPath, zkeyPath: zkey, log: (m) => logs.push(m) });
    vkey = await snarkjs.zKey.exportVerificationKey(zkey);

    const poseidon = await buildPoseidon();
    const preimage = [123n, 456n];
    const factors = Array.from({ length: 16 }, (_, i) => BigInt(i + 2));
    input = {
      hash: poseidon.F.toObject(poseidon(preimage)).toString(),
      product: factors.reduce((a, b) => a * b, 1n).toString(),
      preimage: preimage.map(String),
      factors: factors.map(String),
    };
  });

  after(async () => {
    await terminateSnarkjsCurve();
    await cleanup?.();
  });

  it("reports the circuit size and the snarkjs domain", () => {
    assert.equal(res.nConstraints, r1cs.nConstraints);
    assert.equal(r1cs.nPubInputs + r1cs.nOutputs, 2);
    // smallest power of two > nConstraints + nPublic (snarkjs zkey_new's rule)
    assert.equal(res.domainSize, 2 ** domainPower(r1cs.nConstraints, 2));
    assert.ok(res.domainSize > r1cs.nConstraints + 2 && res.domainSize / 2 <= r1cs.nConstraints + 2);
    assert.ok(res.seconds > 0 && res.seconds < 30);
  });

  it("warns that the key is insecure", () => {
    assert.ok(logs.some((l) => l.includes("INSECURE") && l.includes("toxic waste")));
  });

  it("fullProve with the key gives proofs that verify", async () => {
    const { proof, publicSignals } = await snarkjs.groth16.fullProve(input, wasm, zkey);
    assert.deepEqual(publicSignals, [input.hash, input.product]);
    assert.equal(await snarkjs.groth16.verify(vkey, publicSignals, proof), true);

    // tampered proof: swap A and C (both valid curve points)
    const tampered: Groth16Proof = { ...proof, pi_a: proof.pi_c, pi_c: proof.pi_a };
    assert.equal(await snarkjs.groth16.verify(vkey, publicSignals, tampered), false);
    // wrong public inputs
    assert.equal(await snarkjs.groth16.verify(vkey, [input.hash as string, "7"], proof), false);
    assert.equal(await snarkjs.groth16.verify(vkey, [(BigInt(input.hash as string) + 1n).toString(), input.product as string], proof), false);
  });

  it("prove (from a witness) also verifies, and a second proof differs (zero knowledge randomness)", async () => {
    const wtns = { type: "mem" as const };
    await snarkjs.wtns.calculate(input, wasm, wtns);
    const a = await snarkjs.groth16.prove(zkey, wtns);
    const b = await snarkjs.groth16.prove(zkey, wtns);
    assert.equal(await snarkjs.groth16.verify(vkey, a.publicSignals, a.proof), true);
    assert.equal(await snarkjs.groth16.verify(vkey, b.publicSignals, b.proof), true);
    assert.notDeepEqual(a.proof.pi_a, b.proof.pi_a);
  });

  it("writes snarkjs's zkey layout", async () => {
    const z = await readZkeySections(zkey);
    assert.deepEqual(z.order, [1, 2, 4, 3, 9, 8, 5, 6, 7, 10]);
    const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    assert.equal(dv(z.get(1)).getUint32(0, true), 1); // Groth16
    const h = dv(z.get(2));
    const nPublic = 2;
    assert.equal(h.getUint32(0, true), 32);
    assert.equal(h.getUint32(36, true), 32);
    assert.equal(h.getUint32(72, true), r1cs.nVars);
    assert.equal(h.getUint32(76, true), nPublic);
    assert.equal(h.getUint32(80, true), res.domainSize);
    assert.equal(z.get(2).byteLength, 84 + 3 * 64 + 3 * 128);
    assert.equal(z.get(3).byteLength, (nPublic + 1) * 64);
    assert.equal(z.get(5).byteLength, r1cs.nVars * 64);
    assert.equal(z.get(6).byteLength, r1cs.nVars * 64);
    assert.equal(z.get(7).byteLength, r1cs.nVars * 128);
    assert.equal(z.get(8).byteLength, (r1cs.nVars - nPublic - 1) * 64);
    assert.equal(z.get(9).byteLength, res.domainSize * 64);
    const mpc = z.get(10);
    assert.equal(mpc.byteLength, 68);
    assert.equal(dv(mpc).getUint32(64, true), 0); // no contributions
    assert.ok(mpc.subarray(0, 64).some((x) => x !== 0)); // csHash set

    // section 4: the A and B coefficients plus one A row per public signal (and ONE)
    const c = z.get(4);
    const nCoefs = dv(c).getUint32(0, true);
    assert.equal(c.byteLength, 4 + nCoefs * 44);
    let nAB = 0;
    const cons = r1cs.constraints;
    const cv = dv(cons);
    let pos = 0;
    for (let k = 0; k < r1cs.nConstraints; k++) {
      for (let m = 0; m < 3; m++) {
        const n = cv.getUint32(pos, true);
        if (m < 2) nAB += n;
        pos += 4 + n * 36;
      }
    }
    assert.equal(nCoefs, nAB + nPublic + 1);
    const last = dv(c.subarray(4 + (nCoefs - 1) * 44));
    assert.deepEqual([last.getUint32(0, true), last.getUint32(4, true), last.getUint32(8, true)], [0, r1cs.nConstraints + nPublic, nPublic]);
  });

  it("exports a verification key matching the zkey header and IC section", async () => {
    const z = await readZkeySections(zkey);
    const h = z.get(2);
    const G = 84;
    assert.equal(vkey.protocol, "groth16");
    assert.equal(vkey.curve, "bn128");
    assert.equal(vkey.nPublic, 2);
    assert.deepEqual(vkey.vk_alpha_1, g1Json(h, G));
    assert.deepEqual(vkey.vk_beta_2, g2Json(h, G + 128));
    assert.deepEqual(vkey.vk_gamma_2, g2Json(h, G + 256));
    assert.deepEqual(vkey.vk_delta_2, g2Json(h, G + 448));
    const ic = z.get(3);
    assert.deepEqual(
      vkey.IC,
      [0, 1, 2].map((i) => g1Json(ic, i * 64)),
    );
    // gamma is random here (snarkjs's ceremony keeps the G2 generator; see ceremony.test.ts)
    assert.notDeepEqual(vkey.vk_gamma_2, vkey.vk_delta_2);
  });

  it("exports a Solidity verifier", async () => {
    const template = await readFile(join(REPO_ROOT, "node_modules/snarkjs/templates/verifier_groth16.sol.ejs"), "utf8");
    const sol = await snarkjs.zKey.exportSolidityVerifier(zkey, { groth16: template });
    assert.match(sol, /contract Groth16Verifier \{/);
    assert.ok(sol.includes(`uint256 constant alphax  = ${vkey.vk_alpha_1[0]};`));
    assert.ok(sol.includes(`uint256 constant IC2x = ${vkey.IC[2]![0]};`));
    assert.match(sol, /uint\[2\] calldata _pubSignals/);
  });

  it("draws fresh toxic waste on every run", async () => {
    const s = await scratchDir("devSetup2");
    try {
      const other = join(s.dir, "other.zkey");
      await devSetup({ r1csPath, zkeyPath: other, log: () => {} });
      const v2 = await snarkjs.zKey.exportVerificationKey(other);
      assert.notDeepEqual(v2.vk_alpha_1, vkey.vk_alpha_1);
      assert.notDeepEqual(v2.vk_delta_2, vkey.vk_delta_2);
      // a proof for one key does not verify under the other
      const { proof, publicSignals } = await snarkjs.groth16.fullProve(input, wasm, other);
      assert.equal(await snarkjs.groth16.verify(v2, publicSignals, proof), true);
      assert.equal(await snarkjs.groth16.verify(vkey, publicSignals, proof), false);
    } finally {
      await s.cleanup();
    }
  });

  it("refuses an r1cs over another field", async () => {
    const s = await scratchDir("devSetupBad");
    try {
      const buf = new Uint8Array(await readFile(r1csPath));
      const header = readBinSections(buf, "r1cs").find((x) => x.type === 1)!;
      buf[header.offset + 4] ^= 1; // the prime follows n8
      const bad = join(s.dir, "bad.r1cs");
      await writeFile(bad, buf);
      await assert.rejects(devSetup({ r1csPath: bad, zkeyPath: join(s.dir, "bad.zkey"), log: () => {} }), /only bn128/);
    } finally {
      await s.cleanup();
    }
  });
});
