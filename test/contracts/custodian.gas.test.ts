/**
 * Gas of Custodian.submitBatch with the mock verifier (add the real Groth16 verifier's cost, about 200k for
 * one public input, on top). Prints a table; the bounds only catch gross regressions.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getContract, type Abi } from "viem";

import { TxType } from "../../sequencer/protocol/constants.ts";
import type { SlotRecord } from "../../sequencer/protocol/publicData.ts";
import { PRODUCTION_PARAMS } from "../../sequencer/protocol/params.ts";
import { custodianAbi } from "../../sequencer/chain/abi.ts";
import { mockVerifierAbi, testTokenAbi } from "./abis.ts";
import { PROOF, batchBytes, compressKey, hex, pubKeyOf } from "./helpers.ts";

const { viem, networkHelpers } = await network.create();
const publicClient = await viem.getPublicClient();
const wallets = await viem.getWalletClients();
const [admin, operator] = wallets;
const traders = wallets.slice(2, 18); // 16 traders

async function deploy<const TAbi extends Abi>(abi: TAbi, name: string, args: readonly unknown[] = []) {
  const { address } = await viem.deployContract(name, args as never);
  return getContract({ abi, address, client: { public: publicClient, wallet: admin } });
}

const KEY = pubKeyOf(42n);

/** A custodian with `slots` slots, 16 registered traders with a deposit each (32 queued requests). */
async function setup(slots: number) {
  const verifier = await deploy(mockVerifierAbi, "MockVerifier");
  const usdc = await deploy(testTokenAbi, "TestToken", ["USD Coin", "USDC", 6]);
  const weth = await deploy(testTokenAbi, "TestToken", ["Wrapped Ether", "WETH", 18]);
  const p = PRODUCTION_PARAMS; // capacities only; the slot count is the parameter under test
  const custodian = await deploy(custodianAbi, "Custodian", [
    verifier.address, 1n, usdc.address, admin.account.address, operator.account.address,
    4 ** p.accountLevels, 4 ** p.balanceLevels, 4 ** p.marketLevels, BigInt(slots),
  ]);
  await custodian.write.registerToken([weth.address]);
  const requests: SlotRecord[] = [];
  for (const [i, t] of traders.entries()) {
    await usdc.write.mint([t.account.address, 10n ** 12n]);
    await usdc.write.approve([custodian.address, 10n ** 12n], { account: t.account });
    await custodian.write.registerTradingKey([KEY[0], KEY[1]], { account: t.account });
    requests.push({ type: TxType.REGISTER_KEY, accountId: BigInt(i + 1), pubKey: compressKey(KEY) });
  }
  for (const [i, t] of traders.entries()) {
    await custodian.write.deposit([0, 1000n], { account: t.account });
    requests.push({ type: TxType.DEPOSIT, accountId: BigInt(i + 1), tokenId: 0n, amount: 1000n });
  }
  return { custodian, requests };
}

const setup2 = () => setup(2);
const setup32 = () => setup(32);

const trade: SlotRecord = {
  type: TxType.TRADE, buyAccountId: 1n, buyOrderId: 7n, sellAccountId: 2n, sellOrderId: 9n, marketId: 0n,
  lots: 5n, priceTicks: 300000n, buyFeePpm: 100n, sellFeePpm: 0n,
};
const withdraw = (accountId: number, tokenId: number): SlotRecord => ({
  type: TxType.WITHDRAW, accountId: BigInt(accountId), tokenId: BigInt(tokenId), amount: 10n,
});

async function gasOf(fixture: typeof setup2, slots: number, pick: (requests: SlotRecord[]) => SlotRecord[]): Promise<bigint> {
  const { custodian, requests } = await networkHelpers.loadFixture(fixture);
  const pd = batchBytes(
    { oldRoot: 1n, newRoot: 2n, batchNumber: 0n, timestamp: BigInt(await networkHelpers.time.latest()) },
    pick(requests),
    slots,
  );
  const hash = await custodian.write.submitBatch([hex(pd), PROOF], { account: operator.account });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  assert.equal(receipt.status, "success");
  return receipt.gasUsed;
}

describe("submitBatch gas (mock verifier)", () => {
  it("2 and 32 slots", async () => {
    const rows: [string, bigint][] = [
      ["2 slots: 2 NOOP", await gasOf(setup2, 2, () => [])],
      ["2 slots: 2 requests", await gasOf(setup2, 2, (r) => r.slice(0, 2))],
      ["2 slots: 1 request + 1 WITHDRAW", await gasOf(setup2, 2, (r) => [r[0], withdraw(1, 0)])],
      ["2 slots: 2 WITHDRAW", await gasOf(setup2, 2, () => [withdraw(1, 0), withdraw(2, 0)])],
      ["32 slots: 32 NOOP", await gasOf(setup32, 32, () => [])],
      ["32 slots: 32 TRADE", await gasOf(setup32, 32, () => Array(32).fill(trade))],
      ["32 slots: 32 requests", await gasOf(setup32, 32, (r) => r.slice(0, 32))],
      ["32 slots: 16 requests + 16 WITHDRAW (16 owners)", await gasOf(setup32, 32, (r) => [...r.slice(0, 16), ...traders.map((_, i) => withdraw(i + 1, 0))])],
      ["32 slots: 32 WITHDRAW (16 owners x 2 tokens, fresh slots)", await gasOf(setup32, 32, () => traders.flatMap((_, i) => [withdraw(i + 1, 0), withdraw(i + 1, 1)]))],
    ];
    console.log("\n  submitBatch gasUsed (incl. 21k base + calldata), mock verifier:");
    for (const [label, gas] of rows) console.log(`    ${label.padEnd(60)} ${gas.toString().padStart(9)}`);
    for (const [label, gas] of rows) assert.ok(gas < 1_500_000n, `${label}: ${gas}`);
  });
});
