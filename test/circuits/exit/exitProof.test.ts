/**
 * One exit end to end: the exit circuit built with a dev setup, an exit of a trader with open derivatives
 * (perpetual, put, unsettled funding) proven with proveExit, verified with snarkjs and with the generated
 * Solidity verifier the custodian calls (BatchGroth16Verifier_exit_<params>, `verifyFlatProof` with the claim's
 * public data in 31-byte chunks) on an in-process Hardhat chain; a claim with one unit more fails both, and so do
 * a derivatives claim moved into the spot amount and a larger pooled quote. Prints
 * the constraint count, the proving time and the verifier's gas.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { network } from "hardhat";
import * as snarkjs from "snarkjs";
import type { Abi, Address, PublicClient, WalletClient } from "viem";
import { buildExitCircuit } from "../../../scripts/build/exitCircuit.ts";
import type { CircuitBuild } from "../../../scripts/build/circuitBuild.ts";
import { compileBatchVerifier } from "../../../scripts/build/batchVerifierContract.ts";
import { deploy } from "../../../scripts/deploy/deployExchange.ts";
import { terminateSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import { proveExit } from "../../../sequencer/exit/exitProver.ts";
import { exitWitness } from "../../../sequencer/exit/exitWitness.ts";
import { poseidon } from "../../../sequencer/crypto/poseidon.ts";
import { fromCalldataProof } from "../../../sequencer/protocol/calldataProof.ts";
import { exitPublicInputCount, exitPublicInputs } from "../../../sequencer/protocol/exitPublicData.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { aliceLongPerpetual, NOW, oracleUpdate, PRICE, traders } from "../../helpers/derivatives.ts";

after(terminateSnarkjsCurve);

describe("exit proof end to end (dev setup)", { timeout: 1_800_000 }, () => {
  let build: CircuitBuild;
  let publicClient: PublicClient;
  let verifier: Address;
  let abi: Abi;
  let wallet: WalletClient;

  before(async () => {
    build = await buildExitCircuit(TEST_PARAMS, "dev");
    const { viem } = await network.create();
    publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
    [wallet] = (await viem.getWalletClients()) as unknown as WalletClient[];
    const compiled = compileBatchVerifier(build.verifierSol);
    assert.equal(compiled.contractName, `Batch${build.contractName}`);
    assert.match(build.contractName, /^Groth16Verifier_exit_/);
    abi = compiled.abi;
    verifier = await deploy({ publicClient, walletClient: wallet }, compiled);
  });

  /** The custodian's call: `verifyFlatProof(proof, inputs)`. */
  const flatCall = (p: readonly bigint[], inputs: readonly bigint[]) => ({ address: verifier, abi, functionName: "verifyFlatProof", args: [p, inputs] });
  const onChain = (p: readonly bigint[], inputs: readonly bigint[]) => publicClient.readContract(flatCall(p, inputs) as never) as Promise<boolean>;

  it("proves alice's exit (perpetual long, unsettled funding); snarkjs and the Solidity verifier accept it, not a claim of one unit more", async () => {
    const state = aliceLongPerpetual();
    buildBatch(state, [], { batchNumber: 11, timestamp: NOW, oracle: oracleUpdate({ fundingEpoch: 1, rates: [700n, 0n, 0n, 0n] }) });
    const w = exitWitness(state, traders.alice.accountId, [PRICE]);
    assert.ok(w.valuation.funding < 0n && w.claim.derivativesClaim > 0n && w.claim.pooledQuote > 0n);
    const t0 = performance.now();
    const { proof, publicInputs, timings } = await proveExit(build, w.input);
    const ms = performance.now() - t0;
    console.log(`exit at TEST_PARAMS: ${build.nConstraints} constraints; proveExit ${(ms / 1000).toFixed(1)} s (witness ${(timings.witnessMs / 1000).toFixed(1)} s, prove ${(timings.proveMs / 1000).toFixed(1)} s, verify ${(timings.verifyMs / 1000).toFixed(1)} s), snarkjs`);
    assert.deepEqual(publicInputs, exitPublicInputs(w.claim, TEST_PARAMS));
    assert.equal(proof.length, 8);

    const vkey = JSON.parse(await readFile(build.vkey, "utf8"));
    assert.equal(vkey.nPublic, exitPublicInputCount(TEST_PARAMS));
    assert.equal(await snarkjs.groth16.verify(vkey, publicInputs.map(String), fromCalldataProof(proof)), true);
    assert.equal(await onChain(proof, publicInputs), true);
    const gas = await publicClient.estimateContractGas(flatCall(proof, publicInputs) as never);
    console.log(`BatchGroth16Verifier_exit verifyFlatProof: ${gas} gas with ${publicInputs.length} public inputs (a transaction calling it alone)`);

    const more = exitPublicInputs({ ...w.claim, amounts: w.claim.amounts.map((a, t) => (t === 0 ? a + 1n : a)) }, TEST_PARAMS);
    assert.equal(await snarkjs.groth16.verify(vkey, more.map(String), fromCalldataProof(proof)), false);
    assert.equal(await onChain(proof, more), false);
    // nor a derivatives claim of one unit more, the claim moved into the spot amount, or a larger pot
    for (const other of [
      { ...w.claim, derivativesClaim: w.claim.derivativesClaim + 1n },
      { ...w.claim, amounts: w.claim.amounts.map((a, t) => (t === 0 ? a + w.claim.derivativesClaim : a)), derivativesClaim: 0n },
      { ...w.claim, pooledQuote: w.claim.pooledQuote + 1n },
    ]) {
      assert.equal(await onChain(proof, exitPublicInputs(other, TEST_PARAMS)), false);
    }
    assert.equal(await onChain(proof, publicInputs.slice(0, -1)), false, "one input short");
    // a chunk that is 0 (tokens the account does not hold) costs no multiplication, and is still bound
    const zero = publicInputs.indexOf(0n);
    assert.ok(zero > 0, "the claim has a zero chunk");
    assert.equal(await onChain(proof, publicInputs.map((v, j) => (j === zero ? 1n : v))), false, "a zero chunk set to 1");
  });

  it("the on-chain alternative's unit: one Poseidon(4) (circomlibjs's contract) hashes as the state does, and its gas", async () => {
    // circomlibjs's Poseidon contract generator (not in its type declarations: imported by name)
    const lib = "circomlibjs";
    const { createCode, generateABI } = ((await import(lib)) as { poseidonContract: { createCode(n: number): string; generateABI(n: number): Abi } }).poseidonContract;
    const p4 = { contractName: "PoseidonT5", abi: generateABI(4), bytecode: createCode(4) as `0x${string}` };
    const address = await deploy({ publicClient, walletClient: wallet }, p4);
    const args = [[1n, 2n, 3n, 4n]] as const;
    const call = { address, abi: p4.abi, functionName: "poseidon", args } as const;
    assert.equal(await publicClient.readContract(call), poseidon([1n, 2n, 3n, 4n]));
    console.log(`Poseidon(4) on chain: ${await publicClient.estimateContractGas(call)} gas (a transaction calling it alone)`);
  });

  it("proveExit refuses a dishonest input (an inflated claim) with no proof", async () => {
    const state = aliceLongPerpetual();
    const w = exitWitness(state, traders.alice.accountId, [PRICE]);
    const more = exitPublicInputs({ ...w.claim, derivativesClaim: w.claim.derivativesClaim + 1n }, TEST_PARAMS);
    await assert.rejects(proveExit(build, { ...w.input, publicInput: more.map(String) }));
  });
});
