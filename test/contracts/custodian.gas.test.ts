/**
 * Gas of Custodian.submitBatch with the mock verifier (add the real Groth16 verifier's cost on top: about 200k
 * plus one ecMul, 6,000 gas, per 31-byte public input, shared by the batches of one submitBatches), at the production tree depths and derivatives sizes (2 underlyings, 16 instruments)
 * with 16 derivatives slots and 2 or 32 spot slots (against PRODUCTION_PARAMS' 18 + 4, which the
 * circuit toolchain caps: the calldata and record-hashing costs per slot are the yardstick here), an oracle batch
 * with a marks key of 0 and with one its MarksRegistry (in front of a mock verifier) recorded; and of a
 * trader's own transactions (key registration, deposit).
 * Prints tables; the bounds only catch gross regressions.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getContract, keccak256, stringToHex, type Abi } from "viem";

import { FIELD_MODULUS, InstrumentKind, TxType } from "../../sequencer/protocol/constants.ts";
import type { OracleSection, SlotRecord } from "../../sequencer/protocol/publicData.ts";
import { PRODUCTION_PARAMS, type CircuitParams } from "../../sequencer/protocol/params.ts";
import { custodianAbi, marksRegistryAbi } from "../../sequencer/chain/abi.ts";
import { custodianArgs } from "../../sequencer/chain/custodianArgs.ts";
import { mockVerifierAbi, testTokenAbi } from "./abis.ts";
import { PROOF, batchBytes, compressKey, deployExitRoles, deployNamed, hex, pubKeyOf } from "./helpers.ts";
import { EMPTY_SLICE } from "../../sequencer/protocol/volSlices.ts";

const { viem, networkHelpers } = await network.create();
const publicClient = await viem.getPublicClient();
const wallets = await viem.getWalletClients();
const [admin, operator] = wallets;
const traders = wallets.slice(2, 18); // 16 traders

async function deploy<const TAbi extends Abi>(abi: TAbi, name: string, args: readonly unknown[] = []) {
  const address = await deployNamed(viem, name, args);
  return getContract({ abi, address, client: { public: publicClient, wallet: admin } });
}

const KEY = pubKeyOf(42n);
/** The quote token's minimum deposit in these custodians (1 USDC). */
const MIN_DEPOSIT = 10n ** 6n;
const ORACLE_KEY = pubKeyOf(43n);
/** A marks key as a marking proof's Poseidon gives it: a field element of 32 mostly non-zero bytes (their calldata counts). */
const MARKS_KEY = BigInt(keccak256(stringToHex("marks"))) % FIELD_MODULUS;
/** Production depths and derivatives sizes, 16 derivatives slots; the spot slot count is the parameter under test. */
const paramsWith = (slots: number): CircuitParams => ({ ...PRODUCTION_PARAMS, slots, derivSlots: 16 });
/** The id the custodian gives the first option it registers: the first option id, N - O. */
const CALL_ID = BigInt(PRODUCTION_PARAMS.instruments - PRODUCTION_PARAMS.optionInstruments);

/**
 * A custodian with `slots` spot slots, the oracle key set, a marks registry (in front of the mock verifier) that
 * recorded MARKS_KEY, 16 registered traders with a deposit each (32 queued requests), then a perpetual (id 0) and a
 * call (CALL_ID, the first option id) registered (requests 32 and 33).
 */
async function setup(slots: number) {
  const verifier = await deploy(mockVerifierAbi, "MockVerifier");
  const usdc = await deploy(testTokenAbi, "TestToken", ["USD Coin", "USDC", 6]);
  const weth = await deploy(testTokenAbi, "TestToken", ["Wrapped Ether", "WETH", 18]);
  const marksRegistry = await deploy(marksRegistryAbi, "MarksRegistry", [verifier.address]);
  await marksRegistry.write.record([1n, 2n, MARKS_KEY, PROOF]);
  const custodian = await deploy(custodianAbi, "Custodian", custodianArgs(paramsWith(slots), {
    verifier: verifier.address, genesisRoot: 1n, quoteToken: usdc.address, quoteMinDeposit: MIN_DEPOSIT, admin: admin.account.address, operator: operator.account.address,
    marksRegistry: marksRegistry.address, ...(await deployExitRoles(viem, admin.account.address)),
  }));
  await custodian.write.registerToken([weth.address, 10n ** 14n]);
  await custodian.write.setOracleKey([ORACLE_KEY[0], ORACLE_KEY[1]]);
  const requests: SlotRecord[] = [];
  for (const [i, t] of traders.entries()) {
    await usdc.write.mint([t.account.address, 10n ** 12n]);
    await usdc.write.approve([custodian.address, 10n ** 12n], { account: t.account });
    await custodian.write.registerTradingKey([KEY[0], KEY[1]], { account: t.account });
    requests.push({ type: TxType.REGISTER_KEY, accountId: BigInt(i + 1), pubKey: compressKey(KEY) });
  }
  for (const [i, t] of traders.entries()) {
    await custodian.write.deposit([0, MIN_DEPOSIT], { account: t.account });
    requests.push({ type: TxType.DEPOSIT, accountId: BigInt(i + 1), tokenId: 0n, amount: MIN_DEPOSIT });
  }
  const expiry = (await networkHelpers.time.latest()) + 86400;
  const instruments = [
    { id: 0n, kind: InstrumentKind.PERPETUAL, lotSizeE6: 1_000n, strike: 0n, expiry: 0, fundingCapPpm: 1_000 },
    { id: CALL_ID, kind: InstrumentKind.CALL, lotSizeE6: 10_000n, strike: 3000n * 10n ** 8n, expiry, fundingCapPpm: 0 },
  ];
  for (const i of instruments) {
    await custodian.write.registerInstrument([i.kind, 0, i.lotSizeE6, 1_000_000n, 100_000, 50_000, i.strike, i.expiry, i.fundingCapPpm]);
    requests.push({
      type: TxType.REGISTER_INSTRUMENT, instrumentId: i.id, kind: BigInt(i.kind), underlying: 0n, lotSizeE6: i.lotSizeE6,
      tickValue: i.lotSizeE6 / 100n, imPpm: 100_000n, mmPpm: 50_000n, strike: i.strike, expiry: BigInt(i.expiry), fundingCapPpm: BigInt(i.fundingCapPpm),
    });
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
const derivTrade: SlotRecord = {
  type: TxType.DERIV_TRADE, buyAccountId: 1n, buyOrderId: 7n, sellAccountId: 2n, sellOrderId: 9n, instrumentId: 0n,
  lots: 5n, priceTicks: 300000n, buyFeePpm: 100n, sellFeePpm: 0n,
};

/** What a batch carries: spot records, derivatives records, whether it uses the oracle and its marks key (default 0). */
type Batch = { spot: SlotRecord[]; deriv?: SlotRecord[]; oracle?: boolean; marksKey?: bigint };

async function gasOf(fixture: typeof setup2, slots: number, pick: (requests: SlotRecord[]) => Batch): Promise<bigint> {
  const { custodian, requests } = await networkHelpers.loadFixture(fixture);
  const timestamp = BigInt(await networkHelpers.time.latest());
  const batch = pick(requests);
  const p = paramsWith(slots);
  const oracle: OracleSection | undefined = batch.oracle
    ? { used: true, key: compressKey(ORACLE_KEY), time: timestamp, fundingEpoch: 1n, prices: [3000n * 10n ** 8n, 60_000n * 10n ** 8n], volSlices: Array.from({ length: p.optionInstruments }, () => EMPTY_SLICE), rates: Array(p.instruments).fill(0n), settleExpiry: 0n, settlePrices: [0n, 0n],
      // All ids free but the perpetual (0) and the call: a mask that differs from the stored one (all free).
      marksKey: batch.marksKey ?? 0n, freeInstruments: ((1n << BigInt(p.instruments)) - 1n) & ~(1n | (1n << CALL_ID)) }
    : undefined;
  const pd = batchBytes({ oldRoot: 1n, newRoot: 2n, batchNumber: 0n, timestamp }, batch.spot, p, { deriv: batch.deriv, oracle });
  const hash = await custodian.write.submitBatch([hex(pd), PROOF], { account: operator.account });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  assert.equal(receipt.status, "success");
  return receipt.gasUsed;
}

describe("user transaction gas", () => {
  it("registerTradingKey (new account, rotation), deposit", async () => {
    const verifier = await deploy(mockVerifierAbi, "MockVerifier");
    const usdc = await deploy(testTokenAbi, "TestToken", ["USD Coin", "USDC", 6]);
    const custodian = await deploy(custodianAbi, "Custodian", custodianArgs(paramsWith(2), {
      verifier: verifier.address, genesisRoot: 1n, quoteToken: usdc.address, quoteMinDeposit: MIN_DEPOSIT, admin: admin.account.address, operator: operator.account.address,
      ...(await deployExitRoles(viem, admin.account.address)),
    }));
    const [t, other] = traders;
    for (const w of [t, other]) {
      await usdc.write.mint([w.account.address, 10n ** 12n]);
      await usdc.write.approve([custodian.address, 10n ** 12n], { account: w.account });
    }
    const gas = async (hash: Promise<`0x${string}`>) => (await publicClient.waitForTransactionReceipt({ hash: await hash })).gasUsed;
    const rows: [string, bigint][] = [];
    // Not the custodian's first request (that one also turns the counters' slot non-zero): a typical registration.
    await custodian.write.registerTradingKey([KEY[0], KEY[1]], { account: other.account });
    rows.push(["registerTradingKey (new account)", await gas(custodian.write.registerTradingKey([KEY[0], KEY[1]], { account: t.account }))]);
    // The custodian's and the depositor's token balances are already non-zero: a typical deposit.
    await custodian.write.deposit([0, MIN_DEPOSIT], { account: other.account });
    rows.push(["deposit", await gas(custodian.write.deposit([0, MIN_DEPOSIT], { account: t.account }))]);
    // A rotation is allowed once a batch consumed the previous registration.
    const timestamp = BigInt(await networkHelpers.time.latest());
    const pd = batchBytes({ oldRoot: 1n, newRoot: 2n, batchNumber: 0n, timestamp }, [
      { type: TxType.REGISTER_KEY, accountId: 1n, pubKey: compressKey(KEY) },
      { type: TxType.REGISTER_KEY, accountId: 2n, pubKey: compressKey(KEY) },
    ], paramsWith(2));
    assert.equal(await custodian.read.accountOf([t.account.address]), 2);
    await custodian.write.submitBatch([hex(pd), PROOF], { account: operator.account });
    const rotated = pubKeyOf(44n);
    rows.push(["registerTradingKey (rotation)", await gas(custodian.write.registerTradingKey([rotated[0], rotated[1]], { account: t.account }))]);
    console.log("\n  user transactions gasUsed (incl. 21k base + calldata):");
    for (const [label, g] of rows) console.log(`    ${label.padEnd(60)} ${g.toString().padStart(9)}`);
    for (const [label, g] of rows) assert.ok(g < 300_000n, `${label}: ${g}`);
  });
});

describe("submitBatch gas (mock verifier)", () => {
  it("2 and 32 spot slots, 16 derivatives slots", async () => {
    const rows: [string, bigint][] = [
      ["2+16 slots: all NOOP", await gasOf(setup2, 2, () => ({ spot: [] }))],
      ["2+16 slots: 2 requests", await gasOf(setup2, 2, (r) => ({ spot: r.slice(0, 2) }))],
      ["2+16 slots: 1 request + 1 WITHDRAW", await gasOf(setup2, 2, (r) => ({ spot: [r[0], withdraw(1, 0)] }))],
      ["2+16 slots: 2 WITHDRAW", await gasOf(setup2, 2, () => ({ spot: [withdraw(1, 0), withdraw(2, 0)] }))],
      ["2+16 slots: 16 DERIV_TRADE, oracle used", await gasOf(setup2, 2, () => ({ spot: [], deriv: Array(16).fill(derivTrade), oracle: true }))],
      ["2+16 slots: 16 DERIV_TRADE, oracle used, recorded marks key", await gasOf(setup2, 2, () => ({ spot: [], deriv: Array(16).fill(derivTrade), oracle: true, marksKey: MARKS_KEY }))],
      ["32+16 slots: all NOOP", await gasOf(setup32, 32, () => ({ spot: [] }))],
      ["32+16 slots: 32 TRADE", await gasOf(setup32, 32, () => ({ spot: Array(32).fill(trade) }))],
      ["32+16 slots: 32 requests", await gasOf(setup32, 32, (r) => ({ spot: r.slice(0, 32) }))],
      ["32+16 slots: 32 requests + 2 REGISTER_INSTRUMENT", await gasOf(setup32, 32, (r) => ({ spot: r.slice(0, 32), deriv: r.slice(32, 34) }))],
      ["32+16 slots: 16 requests + 16 WITHDRAW (16 owners)", await gasOf(setup32, 32, (r) => ({ spot: [...r.slice(0, 16), ...traders.map((_, i) => withdraw(i + 1, 0))] }))],
      ["32+16 slots: 32 WITHDRAW (16 owners x 2 tokens, fresh slots)", await gasOf(setup32, 32, () => ({ spot: traders.flatMap((_, i) => [withdraw(i + 1, 0), withdraw(i + 1, 1)]) }))],
      ["32+16 slots: 32 TRADE + 16 DERIV_TRADE, oracle used", await gasOf(setup32, 32, () => ({ spot: Array(32).fill(trade), deriv: Array(16).fill(derivTrade), oracle: true }))],
      ["32+16 slots: 32 TRADE + 16 DERIV_TRADE, oracle used, recorded marks key", await gasOf(setup32, 32, () => ({ spot: Array(32).fill(trade), deriv: Array(16).fill(derivTrade), oracle: true, marksKey: MARKS_KEY }))],
    ];
    console.log("\n  submitBatch gasUsed (incl. 21k base + calldata), mock verifier:");
    for (const [label, gas] of rows) console.log(`    ${label.padEnd(72)} ${gas.toString().padStart(9)}`);
    for (const [label, gas] of rows) assert.ok(gas < 1_500_000n, `${label}: ${gas}`);
  });
});
