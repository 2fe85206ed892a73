/**
 * MarksRegistry (contracts/MarksRegistry.sol) in front of the REAL marking verifier generated from the TEST_PARAMS
 * marking circuit (scripts/build/markingCircuit.ts), with a real proof of an honest marking of the test table's
 * options (the call and the put of test/helpers/derivatives.ts): its key is recorded once, with its event; a proof
 * for another root, message or key, a tampered proof, an input at or above the field modulus and a second recording
 * are refused by name and record nothing. The sequencer's helper (sequencer/chain/marksRegistry.ts) is run through the
 * same contract. Prints the gas of `record` with the real proof and of `isRecorded` as a call.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { network } from "hardhat";
import { encodeFunctionData, getAddress, hexToBytes, zeroAddress, type Abi, type Address, type Hex, type PublicClient, type WalletClient } from "viem";

import { compileBatchVerifier } from "../../scripts/build/batchVerifierContract.ts";
import { deployMarksRegistry } from "../../scripts/deploy/deployExchange.ts";
import { buildMarkingCircuit } from "../../scripts/build/markingCircuit.ts";
import { terminateSnarkjsCurve } from "../../scripts/setup/zkLibs.ts";
import { SingleDeviceProver } from "../../fpga-prover/prover.ts";
import { SnarkjsDevice } from "../../fpga-prover/snarkjsDevice.ts";
import { marksRegistryAbi } from "../../sequencer/chain/abi.ts";
import { MarksRecordError, marksRecorded, recordMarks, type MarkingInputs } from "../../sequencer/chain/marksRegistry.ts";
import { buildMarking, marksKey, type Marking } from "../../sequencer/derivatives/marking.ts";
import { toCalldataProof, type CalldataProof } from "../../sequencer/protocol/calldataProof.ts";
import { FIELD_MODULUS } from "../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { NOW, oracleUpdate, tableOptions } from "../helpers/derivatives.ts";

const { viem, networkHelpers } = await network.create();
const publicClient = await viem.getPublicClient();
const [deployer, prover, other] = await viem.getWalletClients();

/** Intrinsic gas of a transaction with calldata `data`: 21,000 plus 4 per zero byte and 16 per other byte (EIP-2028). */
const intrinsicGas = (data: Hex) => hexToBytes(data).reduce((gas, b) => gas + (b === 0 ? 4n : 16n), 21_000n);

describe("MarksRegistry (real TEST_PARAMS marking proof)", () => {
  let marking: Marking;
  /** The same options marked a minute later: another message and another root, each honest. */
  let later: Marking;
  let proof: CalldataProof;
  let verifierAbi: Abi;
  let verifierSol: string;

  before(async () => {
    const circuit = await buildMarkingCircuit(TEST_PARAMS);
    const entries = tableOptions();
    assert.equal(entries.length, TEST_PARAMS.optionInstruments);
    marking = buildMarking(oracleUpdate(), entries, TEST_PARAMS);
    later = buildMarking(oracleUpdate({ time: NOW + 60 }), entries, TEST_PARAMS);
    assert.ok(later.messageHash !== marking.messageHash && later.marksRoot !== marking.marksRoot);
    const keys = { wasm: circuit.wasm, zkey: circuit.zkey, vkey: JSON.parse(readFileSync(circuit.vkey, "utf8")) };
    const expected = [marking.messageHash, marking.marksRoot, marking.marksKey].map(String);
    const proved = await new SingleDeviceProver(new SnarkjsDevice(), 1).prove(0, keys, marking.inputs, expected);
    proof = toCalldataProof(proved.proof);
    verifierSol = circuit.verifierSol;
    verifierAbi = compileBatchVerifier(verifierSol).abi;
  });
  after(terminateSnarkjsCurve); // the prover's curve workers would keep the process alive

  /** The marking verifier and a registry in front of it, as deployExchange deploys them (a fixture: each test starts from an empty registry). */
  async function deployRegistry() {
    const { verifier, registry } = await deployMarksRegistry({ publicClient: publicClient as unknown as PublicClient, walletClient: deployer as unknown as WalletClient }, verifierSol);
    return { verifier, registry: await viem.getContractAt("MarksRegistry", registry) };
  }
  /** A registry in front of a MockVerifier (answering true unless told otherwise): where the proof is not the point. */
  async function deployMockRegistry() {
    const mock = await viem.deployContract("MockVerifier");
    const registry = await viem.deployContract("MarksRegistry", [mock.address]);
    return { mock, registry };
  }

  type Registry = Awaited<ReturnType<typeof deployRegistry>>["registry"];
  const recorded = (registry: Registry, key: bigint) => registry.read.isRecorded([key]);
  /** Asserts that `record(messageHash, marksRoot, key, p)` reverts with `error(args)` and that neither that key nor the honest one is recorded. */
  async function refused(registry: Registry, [messageHash, marksRoot, key, p]: [bigint, bigint, bigint, CalldataProof], error: string, args: readonly unknown[] = []) {
    await viem.assertions.revertWithCustomErrorWithArgs(registry.write.record([messageHash, marksRoot, key, p], { account: prover.account }), registry, error, [...args]);
    assert.equal(await recorded(registry, key), false, `${error}: nothing recorded`);
    assert.equal(await recorded(registry, marking.marksKey), false, `${error}: not the honest key either`);
  }

  it("the real verifier accepts the proof for exactly (messageHash, marksRoot, marksKey)", async () => {
    const { verifier } = await networkHelpers.loadFixture(deployRegistry);
    const verify = (inputs: bigint[]) => publicClient.readContract({ address: verifier, abi: verifierAbi, functionName: "verifyFlatProof", args: [proof, inputs] });
    assert.equal(await verify([marking.messageHash, marking.marksRoot, marking.marksKey]), true);
    assert.equal(await verify([marking.marksRoot, marking.messageHash, marking.marksKey]), false, "the inputs in another order");
    assert.equal(await verify([marking.messageHash, marking.marksRoot]), false, "without the key");
  });

  it("records an honest marking: isRecorded turns true for its key only, MarksRecorded names the key, the pair and the sender", async () => {
    const { registry } = await networkHelpers.loadFixture(deployRegistry);
    const { messageHash, marksRoot, marksKey: key } = marking;
    assert.equal(await recorded(registry, key), false);
    await viem.assertions.emitWithArgs(
      registry.write.record([messageHash, marksRoot, key, proof], { account: prover.account }), registry, "MarksRecorded", [key, messageHash, marksRoot, getAddress(prover.account.address)],
    );
    assert.equal(await recorded(registry, key), true);
    assert.equal(await recorded(registry, later.marksKey), false);
    assert.equal(await recorded(registry, marksKey(marksRoot, messageHash)), false, "the pair is ordered");
  });

  it("refuses the proof for another marks root, message or key (each by one, or a minute later's) and with any one of its words changed (InvalidMarkingProof), recording nothing", async () => {
    const { registry } = await networkHelpers.loadFixture(deployRegistry);
    const { messageHash, marksRoot, marksKey: key } = marking;
    await refused(registry, [messageHash, marksRoot + 1n, key, proof], "InvalidMarkingProof");
    await refused(registry, [messageHash + 1n, marksRoot, key, proof], "InvalidMarkingProof");
    await refused(registry, [messageHash, marksRoot, key + 1n, proof], "InvalidMarkingProof");
    await refused(registry, [messageHash, marksRoot, later.marksKey, proof], "InvalidMarkingProof");
    await refused(registry, [later.messageHash, later.marksRoot, later.marksKey, proof], "InvalidMarkingProof");
    for (let w = 0; w < 8; w++) {
      const tampered = [...proof] as unknown as CalldataProof & bigint[];
      tampered[w] += 1n;
      await refused(registry, [messageHash, marksRoot, key, tampered], "InvalidMarkingProof");
    }
  });

  it("refuses an input at or above the field modulus (NotAFieldElement) before the verifier is asked, even one that accepts everything", async () => {
    const { messageHash, marksRoot, marksKey: key } = marking;
    for (const load of [() => networkHelpers.loadFixture(deployRegistry), () => networkHelpers.loadFixture(deployMockRegistry)]) {
      const { registry } = await load();
      await refused(registry, [messageHash, marksRoot + FIELD_MODULUS, key, proof], "NotAFieldElement", [marksRoot + FIELD_MODULUS]);
      await refused(registry, [messageHash + FIELD_MODULUS, marksRoot, key, proof], "NotAFieldElement", [messageHash + FIELD_MODULUS]);
      await refused(registry, [messageHash, marksRoot, key + FIELD_MODULUS, proof], "NotAFieldElement", [key + FIELD_MODULUS]);
      await refused(registry, [FIELD_MODULUS, marksRoot, key, proof], "NotAFieldElement", [FIELD_MODULUS]);
    }
    // The largest field element passes the range check and reaches the verifier (the mock accepts it).
    const { registry } = await networkHelpers.loadFixture(deployMockRegistry);
    await registry.write.record([FIELD_MODULUS - 1n, FIELD_MODULUS - 1n, FIELD_MODULUS - 1n, proof]);
    assert.equal(await recorded(registry, FIELD_MODULUS - 1n), true);
  });

  it("hands the verifier exactly the proof and [messageHash, marksRoot, marksKey]", async () => {
    const { mock, registry } = await networkHelpers.loadFixture(deployMockRegistry);
    await mock.write.setProbe([true]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      registry.write.record([marking.messageHash, marking.marksRoot, marking.marksKey, proof]), mock, "BatchVerifierCalled", [[[...proof]], [marking.messageHash, marking.marksRoot, marking.marksKey]],
    );
  });

  it("refuses a second recording of a key (MarksAlreadyRecorded), before the verifier: with the same proof, another prover, or a worthless proof", async () => {
    const { registry } = await networkHelpers.loadFixture(deployRegistry);
    const { messageHash, marksRoot, marksKey: key } = marking;
    await registry.write.record([messageHash, marksRoot, key, proof], { account: prover.account });
    const again = (p: CalldataProof, account = prover.account) =>
      viem.assertions.revertWithCustomErrorWithArgs(registry.write.record([messageHash, marksRoot, key, p], { account }), registry, "MarksAlreadyRecorded", [key]);
    await again(proof);
    await again(proof, other.account);
    await again([0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]);
    const events = await registry.getEvents.MarksRecorded({}, { fromBlock: 0n });
    assert.equal(events.length, 1, "one recording, one event");
    assert.equal(await recorded(registry, key), true);
  });

  it("constructor: refuses the zero address and an account without code (InvalidVerifier); verifier() is the one given", async () => {
    const { verifier, registry } = await networkHelpers.loadFixture(deployRegistry);
    assert.equal(await registry.read.verifier(), getAddress(verifier));
    await viem.assertions.revertWithCustomErrorWithArgs(viem.deployContract("MarksRegistry", [zeroAddress]), registry, "InvalidVerifier", [zeroAddress]);
    const eoa = getAddress(other.account.address);
    await viem.assertions.revertWithCustomErrorWithArgs(viem.deployContract("MarksRegistry", [eoa]), registry, "InvalidVerifier", [eoa]);
  });

  it("recordMarks (sequencer/chain/marksRegistry.ts) records a marking once; a recorded key sends nothing; a refusal throws its error's name and sends nothing", async () => {
    const { registry } = await networkHelpers.loadFixture(deployRegistry);
    const chain = { publicClient: publicClient as unknown as PublicClient, walletClient: prover as unknown as WalletClient, registry: registry.address as Address };
    const nonce = () => publicClient.getTransactionCount({ address: prover.account.address });
    const refusedBy = (m: MarkingInputs, p: CalldataProof, reason: string) =>
      assert.rejects(recordMarks(chain, m, p), (e: unknown) => e instanceof MarksRecordError && e.reason === reason && e.message.includes(`${reason}(`));

    const before = await nonce();
    await refusedBy({ ...marking, marksRoot: marking.marksRoot + 1n }, proof, "InvalidMarkingProof");
    await refusedBy({ ...marking, marksRoot: marking.marksRoot + FIELD_MODULUS }, proof, "NotAFieldElement");
    assert.equal(await nonce(), before, "a refused simulation sends nothing");
    assert.equal(await marksRecorded(chain.publicClient, chain.registry, marking.marksKey), false);

    const hash = await recordMarks(chain, marking, proof);
    assert.ok(hash);
    assert.equal((await publicClient.getTransactionReceipt({ hash })).status, "success");
    assert.equal(await marksRecorded(chain.publicClient, chain.registry, marking.marksKey), true);
    assert.equal(await nonce(), before + 1);
    assert.equal(await recordMarks(chain, marking, proof), null, "already recorded");
    assert.equal(await nonce(), before + 1, "nothing sent for a recorded pair");
  });

  it("gas: record with the real proof, isRecorded as a call", async () => {
    const { registry } = await networkHelpers.loadFixture(deployRegistry);
    const { messageHash, marksRoot, marksKey: key } = marking;
    const hash = await registry.write.record([messageHash, marksRoot, key, proof], { account: prover.account });
    const { gasUsed } = await publicClient.waitForTransactionReceipt({ hash });
    const readData = encodeFunctionData({ abi: marksRegistryAbi, functionName: "isRecorded", args: [key] });
    const readGas = await publicClient.estimateGas({ to: registry.address, data: readData });
    const recordData = encodeFunctionData({ abi: marksRegistryAbi, functionName: "record", args: [messageHash, marksRoot, key, proof] });
    const recordIntrinsic = intrinsicGas(recordData);
    console.log("\n  MarksRegistry gas (TEST_PARAMS marking verifier, 3 public inputs):");
    console.log(`    record (real proof, incl. 21k base + calldata ${recordIntrinsic - 21_000n})`.padEnd(76), gasUsed.toString().padStart(8));
    console.log(`    isRecorded as a transaction (estimateGas, incl. 21k + calldata)`.padEnd(76), readGas.toString().padStart(8));
    console.log(`    isRecorded execution alone (a STATICCALL adds 2,600 for a cold account)`.padEnd(76), (readGas - intrinsicGas(readData)).toString().padStart(8));
    // Gross-regression bounds: one Groth16 check of 3 inputs (~210k) and one cold slot written; one cold slot read.
    assert.ok(gasUsed > 150_000n && gasUsed < 300_000n, `record: ${gasUsed}`);
    assert.ok(readGas - intrinsicGas(readData) < 5_000n, `isRecorded: ${readGas}`);
  });
});
