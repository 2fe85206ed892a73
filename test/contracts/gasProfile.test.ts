/**
 * The gas profiler of `npm run bench:gas-profile` on a real transaction: Custodian.submitBatches of the three
 * proven TEST_PARAMS batches (test/helpers/provenBatches.ts) with the real batched verifier. The trace's steps,
 * the intrinsic gas and the refund account for the receipt's gasUsed exactly; every precompile call is found and
 * priced as the EVM prices it (one pairing of k + 3 pairs, an ecMul per non-zero combined input and per scaled
 * point); steps are mapped to the Solidity functions that ran them; the report's categories sum to gasUsed. And
 * the stand-in circuit the profile verifies with (scripts/bench/inputsCircuit.ts) proves any inputs, and its
 * generated verifier refuses a proof for other inputs.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import type { Address } from "viem";

import { compileBatchVerifier, writeBatchVerifier } from "../../scripts/build/batchVerifierContract.ts";
import { compileVerifierStandardJson } from "../../scripts/build/verifierContract.ts";
import { byCategory, calldataSplit, isPhase } from "../../scripts/bench/gasProfile.ts";
import { buildInputsCircuit } from "../../scripts/bench/inputsCircuit.ts";
import { codeSources, hardhatCodeSources, profileTransaction } from "../../scripts/bench/traceProfile.ts";
import { calldataGas, ROOT } from "../../scripts/bench/util.ts";
import { terminateSnarkjsCurve } from "../../scripts/setup/zkLibs.ts";
import { provenBatches, provenCustodianFixture } from "../helpers/provenBatches.ts";

const { viem, networkHelpers, provider } = await network.create();
const publicClient = await viem.getPublicClient();
const [deployer] = await viem.getWalletClients();
const { circuit, batches } = await provenBatches(3);
const fixture = provenCustodianFixture({ viem, networkHelpers }, circuit.verifierSol);
const verifierJson = compileVerifierStandardJson(writeBatchVerifier(circuit.verifierSol), ["evm.deployedBytecode.object", "evm.deployedBytecode.sourceMap"], ["ast"]);
const sources = [...hardhatCodeSources(ROOT), ...codeSources(verifierJson.input, verifierJson.output)];

/** submitBatches of the three proven batches, profiled. */
async function profiled() {
  const { custodian } = await networkHelpers.loadFixture(fixture);
  const hash = await custodian.write.submitBatches([batches.map((b) => b.publicData), batches.map((b) => b.proof)]);
  const tx = await publicClient.getTransaction({ hash });
  const profile = await profileTransaction(provider, publicClient, hash, sources, isPhase);
  return { tx, profile };
}

describe("gas profiler (scripts/bench/traceProfile.ts) on submitBatches of three proven batches", () => {
  it("accounts for gasUsed exactly: intrinsic (21,000 + calldata) + steps - refund", async () => {
    const { tx, profile } = await profiled();
    assert.equal(profile.sites.reduce((s, x) => s + x.gas, 0), profile.execution);
    assert.equal(profile.intrinsic, 21_000 + calldataGas(tx.input).gas);
    assert.equal(profile.intrinsic + profile.execution - profile.refund, Number(profile.gasUsed));
    assert.ok(profile.refund > 0, "the reentrancy guard's restored slot is refunded");
  });

  it("finds every precompile call and prices it: one pairing of k + 3 pairs, an ecMul per non-zero combined input, per scaled A_i and C_i, and for alpha and IC0", async () => {
    const { profile } = await profiled();
    const calls = (name: string) => profile.sites.filter((s) => s.site.precompile === name).reduce((a, s) => ({ n: a.n + s.count, gas: a.gas + s.gas }), { n: 0, gas: 0 });
    const k = batches.length;
    const n = batches[0]!.inputs.length;
    // A combined input sum_i r_i x_ij is 0 only when every x_ij is (up to a negligible chance).
    const nonZero = Array.from({ length: n }, (_, j) => batches.some((b) => b.inputs[j] !== 0n)).filter(Boolean).length;
    assert.deepEqual(calls("ecPairing"), { n: 1, gas: 45_000 + 34_000 * (k + 3) });
    assert.deepEqual(calls("ecMul"), { n: nonZero + 2 + 2 * (k - 1), gas: 6_000 * (nonZero + 2 + 2 * (k - 1)) });
    assert.deepEqual(calls("ecAdd"), { n: nonZero + (k - 1), gas: 150 * (nonZero + k - 1) });
    assert.deepEqual(calls("sha256"), { n: k, gas: k * (60 + 12 * Math.ceil((batches[0]!.publicData.length / 2 - 1) / 32)) });
  });

  it("maps steps to the functions that ran them, across the custodian, its libraries and the verifier", async () => {
    const { profile } = await profiled();
    const gasIn = (fn: string) => profile.sites.filter((s) => s.site.fn === fn).reduce((a, s) => a + s.gas, 0);
    for (const fn of ["Custodian.submitBatches", "Custodian._submitBatch", "PublicData.writePublicInputs", "BatchRecords.checkRecords", "BatchRecords.checkOracle"]) {
      assert.ok(gasIn(fn) > 0, `${fn} ran`);
    }
    const verifierFns = new Set(profile.sites.filter((s) => s.site.code.startsWith("BatchGroth16Verifier")).map((s) => s.site.fn.replace(/^\w+\./, "")));
    assert.ok(verifierFns.has("_verify") && verifierFns.has("verifyProofs"), [...verifierFns].join(", "));
    assert.ok(profile.sites.every((s) => s.site.code !== "" && !s.site.code.startsWith("0x")), "every frame's code was identified");
  });

  it("the report's categories sum to gasUsed, with nothing left as other", async () => {
    const { tx, profile } = await profiled();
    const k = batches.length;
    const cats = byCategory({ label: "test", k, trades: k, profile, calldata: calldataSplit(tx.input, batches) });
    assert.equal([...cats.values()].reduce((a, b) => a + b, 0), Number(profile.gasUsed));
    assert.equal(cats.get("other"), 0);
    assert.equal(cats.get("v.pairing"), 45_000 + 34_000 * (k + 3));
    assert.equal(cats.get("base"), 21_000);
  });
});

describe("stand-in circuit (scripts/bench/inputsCircuit.ts)", () => {
  after(() => terminateSnarkjsCurve()); // the prover's worker threads would keep the process alive
  it("proves arbitrary inputs; its batched verifier accepts the proof for them and refuses it for others", async () => {
    const stand = await buildInputsCircuit(3);
    const compiled = compileBatchVerifier(stand.build.verifierSol);
    const hash = await deployer.deployContract({ abi: compiled.abi, bytecode: compiled.bytecode });
    const at = (await publicClient.waitForTransactionReceipt({ hash })).contractAddress! as Address;
    const inputs = [0n, 7n, 2n ** 247n + 5n];
    const proof = await stand.prove(inputs);
    const verify = (xs: bigint[]) => publicClient.readContract({ address: at, abi: compiled.abi, functionName: "verifyFlatProof", args: [proof, xs] }) as Promise<boolean>;
    assert.equal(await verify(inputs), true);
    assert.equal(await verify([1n, 7n, 2n ** 247n + 5n]), false);
    await assert.rejects(stand.prove([1n, 2n]), /expected 3 public inputs, got 2/);
  });
});
