/**
 * Custodian.submitBatches with the batched verifier generated from the TEST_PARAMS batch circuit's key and real
 * proofs of three consecutive real batches (test/helpers/provenBatches.ts: batch i registers account i + 1's
 * key): 2 and 3 batches in one transaction advance the root through all of them; a set with one bad proof,
 * mutated public data, mismatched lengths, a wrong order or a non-operator caller changes nothing.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { parseEventLogs, type Hex } from "viem";

import { custodianAbi } from "../../sequencer/chain/abi.ts";
import { provenBatches, provenCustodianFixture } from "../helpers/provenBatches.ts";

const { viem, networkHelpers } = await network.create();
const publicClient = await viem.getPublicClient();
const [, , ...others] = await viem.getWalletClients();
const { circuit, batches } = await provenBatches(3);

const deployWithQueue = provenCustodianFixture({ viem, networkHelpers }, circuit.verifierSol);

const pd = (i: number) => batches[i].publicData;
const proof = (i: number) => batches[i].proof;

describe("Custodian.submitBatches (real batched verifier, real proofs)", () => {
  it("2 consecutive batches in one transaction, then the third alone: the root advances through all of them", async () => {
    const { custodian } = await networkHelpers.loadFixture(deployWithQueue);
    assert.equal(await custodian.read.stateRoot(), batches[0].oldRoot);
    const hash = await custodian.write.submitBatches([[pd(0), pd(1)], [proof(0), proof(1)]]);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    const events = parseEventLogs({ abi: custodianAbi, logs: receipt.logs, eventName: "BatchSubmitted" });
    assert.deepEqual(events.map((e) => [e.args.batchNumber, e.args.oldRoot, e.args.newRoot]), [
      [0, batches[0].oldRoot, batches[0].newRoot],
      [1, batches[1].oldRoot, batches[1].newRoot],
    ]);
    assert.equal(await custodian.read.stateRoot(), batches[1].newRoot);
    assert.equal(await custodian.read.batchCount(), 2);
    assert.equal(await custodian.read.processedRequests(), 2n);
    await custodian.write.submitBatch([pd(2), proof(2)]);
    assert.equal(await custodian.read.stateRoot(), batches[2].newRoot);
  });

  it("3 consecutive batches in one transaction", async () => {
    const { custodian } = await networkHelpers.loadFixture(deployWithQueue);
    await custodian.write.submitBatches([[pd(0), pd(1), pd(2)], [proof(0), proof(1), proof(2)]]);
    assert.equal(await custodian.read.stateRoot(), batches[2].newRoot);
    assert.equal(await custodian.read.batchCount(), 3);
    assert.equal(await custodian.read.processedRequests(), 3n);
  });

  it("a set with one bad proof, mutated public data, mismatched lengths or no batches is refused (InvalidProof), changing nothing", async () => {
    const { custodian } = await networkHelpers.loadFixture(deployWithQueue);
    const refuse = (data: Hex[], proofs: (typeof batches)[number]["proof"][]) =>
      viem.assertions.revertWithCustomError(custodian.write.submitBatches([data, proofs]), custodian, "InvalidProof");
    for (let bad = 0; bad < 3; bad++) {
      const proofs = [proof(0), proof(1), proof(2)];
      proofs[bad] = proof((bad + 1) % 3); // another batch's valid proof
      await refuse([pd(0), pd(1), pd(2)], proofs);
    }
    const forged = [...proof(1)] as unknown as (typeof batches)[number]["proof"];
    (forged as unknown as bigint[])[7] += 1n;
    await refuse([pd(0), pd(1)], [proof(0), forged]);
    // The last byte is a NOOP record's padding: no rule but the proof's input sees it.
    const mutated = `${pd(1).slice(0, -2)}${(parseInt(pd(1).slice(-2), 16) ^ 1).toString(16).padStart(2, "0")}` as Hex;
    await refuse([pd(0), mutated], [proof(0), proof(1)]);
    await refuse([pd(0), pd(1)], [proof(0)]);
    await refuse([pd(0)], [proof(0), proof(1)]);
    await refuse([], []);
    assert.equal(await custodian.read.stateRoot(), batches[0].oldRoot);
    assert.equal(await custodian.read.batchCount(), 0);
    assert.equal(await custodian.read.processedRequests(), 0n);
  });

  it("applies each batch's rules in order: a wrong order is StaleRoot, a non-operator is refused", async () => {
    const { custodian } = await networkHelpers.loadFixture(deployWithQueue);
    await viem.assertions.revertWithCustomError(custodian.write.submitBatches([[pd(1), pd(0)], [proof(1), proof(0)]]), custodian, "StaleRoot");
    await viem.assertions.revertWithCustomError(custodian.write.submitBatches([[pd(0), pd(0)], [proof(0), proof(0)]]), custodian, "StaleRoot");
    await viem.assertions.revertWithCustomError(
      custodian.write.submitBatches([[pd(0)], [proof(0)]], { account: others[0].account }), custodian, "AccessControlUnauthorizedAccount");
    assert.equal(await custodian.read.batchCount(), 0);
  });
});
