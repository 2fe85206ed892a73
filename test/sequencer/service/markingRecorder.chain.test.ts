/**
 * The marking recorder (sequencer/service/markingRecorder.ts) on a Hardhat network against the REAL MarksRegistry in
 * front of the REAL TEST_PARAMS marking verifier (deployMarksRegistry, as deployExchange deploys it), proving with the
 * real prover (snarkjs) an honest marking of the test table's options: it proves and records the marking in one
 * transaction; asked again it neither proves nor sends; a fresh recorder (a restart) asks the registry and does
 * nothing either. Prints the time the marking's proof took and the gas of its `record`.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { network } from "hardhat";
import type { PublicClient, WalletClient } from "viem";
import { buildMarkingCircuit } from "../../../scripts/build/markingCircuit.ts";
import { deployMarksRegistry } from "../../../scripts/deploy/deployExchange.ts";
import { terminateSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";
import type { CircuitKeys } from "../../../fpga-prover/device.ts";
import { SingleDeviceProver, type VerifiedProof, type VerifiedProver } from "../../../fpga-prover/prover.ts";
import { SnarkjsDevice } from "../../../fpga-prover/snarkjsDevice.ts";
import { marksRegistryAbi } from "../../../sequencer/chain/abi.ts";
import { chainMarksRegistry, marksRecorded, type MarksRegistryChain } from "../../../sequencer/chain/marksRegistry.ts";
import { buildMarking, type Marking } from "../../../sequencer/derivatives/marking.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { markingJobId, MarksRecorder } from "../../../sequencer/service/markingRecorder.ts";
import { oracleUpdate, tableOptions } from "../../helpers/derivatives.ts";

const { viem } = await network.create();
const publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
const [deployer, operator] = (await viem.getWalletClients()) as unknown as WalletClient[];

describe("MarksRecorder on chain (real TEST_PARAMS marking circuit, MarksRegistry and prover)", () => {
  let keys: CircuitKeys;
  let marking: Marking;
  let chain: MarksRegistryChain;
  /** The real prover, its proofs kept. */
  const proofs: VerifiedProof[] = [];
  const snarkjs = new SingleDeviceProver(new SnarkjsDevice(), 1);
  const prover: VerifiedProver = {
    async prove(jobId, k, input, expected) {
      const proved = await snarkjs.prove(jobId, k, input, expected);
      proofs.push(proved);
      return proved;
    },
  };
  const nonce = () => publicClient.getTransactionCount({ address: operator.account!.address });
  const recorder = () => new MarksRecorder({ registry: chainMarksRegistry(chain), prover: () => prover, keys });

  before(async () => {
    const circuit = await buildMarkingCircuit(TEST_PARAMS);
    keys = { wasm: circuit.wasm, zkey: circuit.zkey, vkey: JSON.parse(readFileSync(circuit.vkey, "utf8")) };
    marking = buildMarking(oracleUpdate(), tableOptions(), TEST_PARAMS);
    const { registry } = await deployMarksRegistry({ publicClient, walletClient: deployer }, circuit.verifierSol);
    chain = { publicClient, walletClient: operator, registry };
  });
  after(terminateSnarkjsCurve); // the prover's curve workers would keep the process alive

  it("proves and records a marking in one transaction; asked again, and by a fresh recorder (a restart), it neither proves nor sends", async () => {
    assert.equal(await marksRecorded(publicClient, chain.registry, marking.marksKey), false);
    const before = await nonce();
    const first = recorder();
    first.prepare(markingJobId(0), marking);
    await first.record(markingJobId(0), marking);
    assert.equal(await marksRecorded(publicClient, chain.registry, marking.marksKey), true);
    assert.equal(proofs.length, 1, "one proof");
    assert.equal(await nonce(), before + 1, "one transaction");

    await first.record(markingJobId(1), marking);
    await recorder().record(markingJobId(2), marking);
    assert.equal(proofs.length, 1, "no proof made again");
    assert.equal(await nonce(), before + 1, "nothing sent again");

    const [log] = await publicClient.getContractEvents({ address: chain.registry, abi: marksRegistryAbi, eventName: "MarksRecorded", fromBlock: 0n });
    const receipt = await publicClient.getTransactionReceipt({ hash: log.transactionHash });
    const t = proofs[0].timings;
    console.log(`\n  TEST_PARAMS marking: witness ${Math.round(t.witnessMs)} ms, proof ${Math.round(t.proveMs)} ms (snarkjs), verify ${Math.round(t.verifyMs)} ms; record: ${receipt.gasUsed} gas`);
  });
});
