/**
 * Real proofs of real consecutive batches of the TEST_PARAMS batch circuit, for the verifier and custodian
 * tests: batch i (from the empty state) holds one REGISTER_KEY, account i + 1 with key `provenBatchKey(i)`,
 * stamped PROVEN_BATCH_TIME + i (a fixed time far ahead, so a test moves its chain there and the proofs can be
 * cached). Proved with the native prover when built, else snarkjs; cached next to the circuit's keys
 * (provenBatches-<count>.json), keyed by the verification key.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getContract, toHex, type Hex } from "viem";
import type { network } from "hardhat";
import { compileBatchVerifier } from "../../scripts/build/batchVerifierContract.ts";
import { custodianAbi } from "../../sequencer/chain/abi.ts";
import { custodianArgs } from "../../sequencer/chain/custodianArgs.ts";
import { buildBatchCircuit } from "../../scripts/build/batchCircuit.ts";
import { buildBatch } from "../../sequencer/batch/batchWitness.ts";
import { TxType } from "../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { toCalldataProof, type CalldataProof } from "../../sequencer/protocol/calldataProof.ts";
import { ExchangeState } from "../../sequencer/state/exchangeState.ts";
import { isNativeAvailable, NativeDevice } from "../../fpga-prover/nativeDevice.ts";
import { SnarkjsDevice } from "../../fpga-prover/snarkjsDevice.ts";
import { deployExitRoles, deployNamed, pubKeyOf } from "../contracts/helpers.ts";

/** The header timestamp of proven batch 0 (batch i: + i). */
export const PROVEN_BATCH_TIME = 4_000_000_000;

/** The trading key that proven batch i registers for account i + 1. */
export const provenBatchKey = (i: number) => pubKeyOf(1000n + BigInt(i));

/** A proven batch: its public data, its public inputs (publicInputsOf), its proof in calldata order, its roots. */
export type ProvenBatch = { publicData: Hex; inputs: bigint[]; proof: CalldataProof; oldRoot: bigint; newRoot: bigint };

type Cache = { vkey: string; batches: { publicData: Hex; inputs: string[]; proof: string[]; oldRoot: string; newRoot: string }[] };

/** `count` consecutive proven batches from the empty TEST_PARAMS state, and the circuit they were proved with. */
export async function provenBatches(count: number) {
  const circuit = await buildBatchCircuit(TEST_PARAMS);
  const vkeyText = readFileSync(circuit.vkey, "utf8");
  const cachePath = join(circuit.dir, `provenBatches-${count}.json`);
  if (existsSync(cachePath)) {
    const cache = JSON.parse(readFileSync(cachePath, "utf8")) as Cache;
    if (cache.vkey === vkeyText) {
      const batches: ProvenBatch[] = cache.batches.map((b) => ({
        publicData: b.publicData, inputs: b.inputs.map(BigInt), proof: b.proof.map(BigInt) as unknown as CalldataProof, oldRoot: BigInt(b.oldRoot), newRoot: BigInt(b.newRoot),
      }));
      return { circuit, batches };
    }
  }
  const device = isNativeAvailable() ? new NativeDevice() : new SnarkjsDevice();
  const keys = { wasm: circuit.wasm, zkey: circuit.zkey, vkey: JSON.parse(vkeyText) };
  const state = new ExchangeState(TEST_PARAMS);
  const batches: ProvenBatch[] = [];
  for (let i = 0; i < count; i++) {
    const oldRoot = state.root;
    const b = buildBatch(state, [{ type: TxType.REGISTER_KEY, accountId: i + 1, pubKey: provenBatchKey(i) }], { batchNumber: i, timestamp: PROVEN_BATCH_TIME + i });
    const { proof } = await device.prove(keys, b.circuitInput);
    batches.push({ publicData: toHex(b.publicData), inputs: b.publicInputs, proof: toCalldataProof(proof), oldRoot, newRoot: state.root });
  }
  const cache: Cache = {
    vkey: vkeyText,
    batches: batches.map((b) => ({ publicData: b.publicData, inputs: b.inputs.map(String), proof: b.proof.map(String), oldRoot: b.oldRoot.toString(), newRoot: b.newRoot.toString() })),
  };
  writeFileSync(cachePath, JSON.stringify(cache));
  return { circuit, batches };
}

type Connection = Pick<Awaited<ReturnType<typeof network.create>>, "viem" | "networkHelpers">;

/**
 * A fixture (for networkHelpers.loadFixture): a custodian at the empty TEST_PARAMS state in front of the batched
 * verifier generated from `verifierSol`'s circuit, wallet 1 its operator (the contract's wallet client), the chain
 * moved to PROVEN_BATCH_TIME + 3, and the key registrations of the first three proven batches queued by wallets
 * 2, 3, 4 (accounts 1, 2, 3).
 */
export function provenCustodianFixture({ viem, networkHelpers }: Connection, verifierSol: string) {
  return async function provenCustodian() {
    const publicClient = await viem.getPublicClient();
    const [admin, operator, ...others] = await viem.getWalletClients();
    const compiled = compileBatchVerifier(verifierSol);
    const hash = await admin.deployContract({ abi: compiled.abi, bytecode: compiled.bytecode });
    const verifier = (await publicClient.waitForTransactionReceipt({ hash })).contractAddress!;
    const usdc = await deployNamed(viem, "TestToken", ["USD Coin", "USDC", 6]);
    const address = await deployNamed(viem, "Custodian", custodianArgs(TEST_PARAMS, {
      verifier, genesisRoot: new ExchangeState(TEST_PARAMS).root, quoteToken: usdc, quoteMinDeposit: 10n ** 6n,
      admin: admin.account.address, operator: operator.account.address, ...(await deployExitRoles(viem, admin.account.address)),
    }));
    const custodian = getContract({ abi: custodianAbi, address, client: { public: publicClient, wallet: operator } });
    await networkHelpers.time.increaseTo(PROVEN_BATCH_TIME + 3);
    for (let i = 0; i < 3; i++) {
      const [x, y] = provenBatchKey(i);
      await custodian.write.registerTradingKey([x, y], { account: others[i].account });
    }
    return { custodian, verifier, publicClient };
  };
}
