/**
 * Gas of verifying real TEST_PARAMS batch proofs: the snarkjs-exported verifier's verifyProof, the batched
 * verifier's verifyProof and verifyProofs for k = 1, 2, 4, 8 (the three proven batches repeated), each as a
 * transaction would pay it (eth_estimateGas: 21k base and calldata included); and Custodian.submitBatch three
 * times vs submitBatches of 2 and 3 batches with the real batched verifier (receipts' gasUsed), per batch.
 * Prints tables; the bounds only catch gross regressions (and that batching saves gas).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { encodeFunctionData, type Abi, type Address, type Hex } from "viem";

import { compileBatchVerifier } from "../../scripts/build/batchVerifierContract.ts";
import { compileVerifier, type CompiledContract } from "../../scripts/build/verifierContract.ts";
import { provenBatches, provenCustodianFixture } from "../helpers/provenBatches.ts";

const { viem, networkHelpers } = await network.create();
const publicClient = await viem.getPublicClient();
const [deployer] = await viem.getWalletClients();
const { circuit, batches } = await provenBatches(3);

async function deployCompiled(c: CompiledContract): Promise<Address> {
  const hash = await deployer.deployContract({ abi: c.abi, bytecode: c.bytecode });
  return (await publicClient.waitForTransactionReceipt({ hash })).contractAddress!;
}

const print = (title: string, rows: [string, bigint, bigint?][]) => {
  console.log(`\n  ${title}`);
  for (const [label, gas, per] of rows) console.log(`    ${label.padEnd(52)} ${gas.toString().padStart(9)}${per === undefined ? "" : `   per proof/batch ${per.toString().padStart(8)}`}`);
};

describe("batched verifier gas (real TEST_PARAMS proofs)", () => {
  it("verifyProof (snarkjs, batched) and verifyProofs for k = 1, 2, 4, 8", async () => {
    const snarkjsVerifier = compileVerifier(circuit.verifierSol);
    const batched = compileBatchVerifier(circuit.verifierSol);
    const [snarkjsAt, batchedAt] = [await deployCompiled(snarkjsVerifier), await deployCompiled(batched)];
    const p = batches[0].proof;
    const single = (abi: Abi, to: Address) => publicClient.estimateGas({
      account: deployer.account, to,
      data: encodeFunctionData({ abi, functionName: "verifyProof", args: [[p[0], p[1]], [[p[2], p[3]], [p[4], p[5]]], [p[6], p[7]], batches[0].inputs] }),
    });
    const rows: [string, bigint, bigint?][] = [
      ["verifyProof, snarkjs-exported verifier", await single(snarkjsVerifier.abi, snarkjsAt)],
      ["verifyProof, batched verifier", await single(batched.abi, batchedAt)],
    ];
    for (const k of [1, 2, 4, 8]) {
      const set = Array.from({ length: k }, (_, i) => batches[i % batches.length]);
      const args = [set.map((b) => b.proof), set.flatMap((b) => b.inputs)] as const;
      assert.equal(await publicClient.readContract({ address: batchedAt, abi: batched.abi, functionName: "verifyProofs", args }), true);
      const gas = await publicClient.estimateGas({ account: deployer.account, to: batchedAt, data: encodeFunctionData({ abi: batched.abi, functionName: "verifyProofs", args }) });
      rows.push([`verifyProofs, k = ${k}`, gas, gas / BigInt(k)]);
    }
    print("verifier gas (eth_estimateGas: 21k base + calldata included):", rows);
    const [snarkjsGas, , , , , k8] = rows.map((r) => r[1]);
    assert.ok(snarkjsGas < 300_000n, `snarkjs verifyProof: ${snarkjsGas}`);
    assert.ok(k8 < 4n * snarkjsGas, `8 proofs together cost ${k8}, less than 4 single verifications`);
  });

  it("submitBatch x3 vs submitBatches of 2 and 3 batches (real verifier, per batch)", async () => {
    const fixture = provenCustodianFixture({ viem, networkHelpers }, circuit.verifierSol);
    const gasOf = async (hash: Promise<Hex>) => (await publicClient.waitForTransactionReceipt({ hash: await hash })).gasUsed;
    const pd = (i: number) => batches[i].publicData;
    const proof = (i: number) => batches[i].proof;
    const rows: [string, bigint, bigint?][] = [];
    {
      const { custodian } = await networkHelpers.loadFixture(fixture);
      let total = 0n;
      for (let i = 0; i < 3; i++) {
        const g = await gasOf(custodian.write.submitBatch([pd(i), proof(i)]));
        rows.push([`submitBatch, batch ${i} (1 REGISTER_KEY)`, g]);
        total += g;
      }
      rows.push(["submitBatch x3, total", total, total / 3n]);
    }
    {
      const { custodian } = await networkHelpers.loadFixture(fixture);
      const g = await gasOf(custodian.write.submitBatches([[pd(0), pd(1)], [proof(0), proof(1)]]));
      rows.push(["submitBatches of 2", g, g / 2n]);
    }
    {
      const { custodian } = await networkHelpers.loadFixture(fixture);
      const g = await gasOf(custodian.write.submitBatches([[pd(0), pd(1), pd(2)], [proof(0), proof(1), proof(2)]]));
      rows.push(["submitBatches of 3", g, g / 3n]);
    }
    print("custodian batch gas at TEST_PARAMS (receipts' gasUsed, real batched verifier):", rows);
    const separate = rows[3][1];
    const together = rows[5][1];
    assert.ok(together < separate, `3 batches in one transaction (${together}) cost less than 3 transactions (${separate})`);
  });
});
