/**
 * The custodian set-up shared by the exit tests (forcedRequests, exodus, adminTimelock, exits.gas): mock batch and
 * exit verifiers, the admin timelock, USDC (token 0) and WETH (token 1), Alice (account 1) and Bob (account 2)
 * registered with deposits a first batch consumed, and helpers to post batches and move time.
 */
import assert from "node:assert/strict";
import type { network } from "hardhat";
import { encodeFunctionData, getContract, zeroHash, type Abi, type Hex } from "viem";

import { TxType } from "../../sequencer/protocol/constants.ts";
import { custodianArgs } from "../../sequencer/chain/custodianArgs.ts";
import { adminTimelockAbi, custodianAbi } from "../../sequencer/chain/abi.ts";
import { TEST_PARAMS, type CircuitParams } from "../../sequencer/protocol/params.ts";
import type { OracleSection, SlotRecord } from "../../sequencer/protocol/publicData.ts";
import { mockVerifierAbi, testTokenAbi } from "./abis.ts";
import { PROOF, batchBytes, compressKey, deployExitRoles, deployNamed, hex, pubKeyOf } from "./helpers.ts";

export const USDC = 10n ** 6n;
export const ETH = 10n ** 18n;
export const ALICE_KEY = pubKeyOf(1234567n);
export const BOB_KEY = pubKeyOf(7654321n);
export const ORACLE_KEY = pubKeyOf(555n);
export const GENESIS_ROOT = 0x1234n;

/** What each account deposited before the first batch: Alice 1000 USDC and 2 WETH, Bob 500 USDC. */
export const ALICE_USDC = 1000n * USDC;
export const ALICE_WETH = 2n * ETH;
export const BOB_USDC = 500n * USDC;

/** Runtime code of which every call reverts (PUSH1 0 PUSH1 0 REVERT): a token whose balanceOf fails, read as holding 0. */
export const REVERTS: Hex = "0x60006000fd";
/** Runtime code answering `v` (below 2^32) to any call (PUSH4 v PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN): a token whose balanceOf reads `v`. */
export const answers = (v: bigint): Hex => `0x63${v.toString(16).padStart(8, "0")}60005260206000f3`;

/** A hardhat network connection with the viem and network-helper plugins. */
type Connection = Awaited<ReturnType<typeof network.create>>;

/** Fixtures over one hardhat network connection. */
export function exitFixtures({ viem, networkHelpers }: Connection, params: CircuitParams = TEST_PARAMS) {
  async function deployBase() {
    const publicClient = await viem.getPublicClient();
    const [admin, operator, alice, bob, carol, dave] = await viem.getWalletClients();
    const contract = async <const TAbi extends Abi>(abi: TAbi, name: string, args: readonly unknown[] = []) => {
      const address = await deployNamed(viem, name, args);
      return getContract({ abi, address, client: { public: publicClient, wallet: admin } });
    };
    const verifier = await contract(mockVerifierAbi, "MockVerifier");
    const usdc = await contract(testTokenAbi, "TestToken", ["USD Coin", "USDC", 6]);
    const weth = await contract(testTokenAbi, "TestToken", ["Wrapped Ether", "WETH", 18]);
    const exitRoles = await deployExitRoles(viem, admin.account.address);
    const roles = {
      verifier: verifier.address, genesisRoot: GENESIS_ROOT, quoteToken: usdc.address, quoteMinDeposit: USDC,
      admin: admin.account.address, operator: operator.account.address, ...exitRoles,
    };
    const custodian = await contract(custodianAbi, "Custodian", custodianArgs(params, roles));
    const exitVerifier = getContract({ abi: mockVerifierAbi, address: exitRoles.exitVerifier, client: { public: publicClient, wallet: admin } });
    const timelock = getContract({ abi: adminTimelockAbi, address: exitRoles.timelock, client: { public: publicClient, wallet: admin } });
    await custodian.write.registerToken([weth.address, 10n ** 14n]);
    for (const w of [alice, bob, carol, dave]) {
      await usdc.write.mint([w.account.address, 1_000_000n * USDC]);
      await weth.write.mint([w.account.address, 1_000n * ETH]);
      await usdc.write.approve([custodian.address, 2n ** 256n - 1n], { account: w.account });
      await weth.write.approve([custodian.address, 2n ** 256n - 1n], { account: w.account });
    }
    return { publicClient, admin, operator, alice, bob, carol, dave, verifier, exitVerifier, timelock, usdc, weth, custodian, roles, contract };
  }

  /** deployBase, then Alice and Bob registered and funded, all consumed by batches 0 and 1 (root 2 after them). */
  async function deployFunded() {
    const env = await deployBase();
    const { custodian, alice, bob } = env;
    await custodian.write.registerTradingKey([ALICE_KEY[0], ALICE_KEY[1]], { account: alice.account });
    await custodian.write.registerTradingKey([BOB_KEY[0], BOB_KEY[1]], { account: bob.account });
    await custodian.write.deposit([0, ALICE_USDC], { account: alice.account });
    await custodian.write.deposit([1, ALICE_WETH], { account: alice.account });
    await custodian.write.deposit([0, BOB_USDC], { account: bob.account });
    const e = { ...env, ...batches(env) };
    await e.submit([
      { type: TxType.REGISTER_KEY, accountId: 1n, pubKey: compressKey(ALICE_KEY) },
      { type: TxType.REGISTER_KEY, accountId: 2n, pubKey: compressKey(BOB_KEY) },
    ]);
    await e.submit([
      { type: TxType.DEPOSIT, accountId: 1n, tokenId: 0n, amount: ALICE_USDC },
      { type: TxType.DEPOSIT, accountId: 1n, tokenId: 1n, amount: ALICE_WETH },
    ]);
    await e.submit([{ type: TxType.DEPOSIT, accountId: 2n, tokenId: 0n, amount: BOB_USDC }]);
    assert.equal(await custodian.read.processedRequests(), 5n);
    return e;
  }

  type Base = Awaited<ReturnType<typeof deployBase>>;

  /** Batch helpers bound to one deployment. */
  function batches(env: Base) {
    const now = async () => BigInt(await networkHelpers.time.latest());
    /** The next batch's public data carrying `spot` (then NOOPs) and `deriv`, from the current root to root + 1. */
    const nextBatch = async (spot: readonly SlotRecord[], deriv: readonly SlotRecord[] = [], oracle?: OracleSection) => {
      const oldRoot = await env.custodian.read.stateRoot();
      const header = { oldRoot, newRoot: oldRoot + 1n, batchNumber: BigInt(await env.custodian.read.batchCount()), timestamp: await now() };
      return batchBytes(header, spot, params, { deriv, oracle });
    };
    /** Submits the next batch (mock proof) and returns the transaction hash. */
    const submit = async (spot: readonly SlotRecord[], deriv: readonly SlotRecord[] = [], oracle?: OracleSection) =>
      env.custodian.write.submitBatch([hex(await nextBatch(spot, deriv, oracle)), PROOF], { account: env.operator.account });
    /** Schedules `functionName(args)` on the custodian through the timelock; `execute()` runs it. */
    const timelocked = async (functionName: string, args: readonly unknown[], salt: Hex = zeroHash) => {
      const data = encodeFunctionData({ abi: custodianAbi, functionName, args } as never);
      const delay = await env.timelock.read.getMinDelay();
      const scheduled = env.timelock.write.schedule([env.custodian.address, 0n, data, zeroHash, salt, delay]);
      await scheduled;
      return { delay, data, scheduled, execute: () => env.timelock.write.execute([env.custodian.address, 0n, data, zeroHash, salt]) };
    };
    return { now, nextBatch, submit, timelocked };
  }

  return { deployBase, deployFunded, batches, viem, networkHelpers };
}
