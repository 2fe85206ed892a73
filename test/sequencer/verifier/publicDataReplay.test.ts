import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch, type BuiltBatch } from "../../../sequencer/batch/batchWitness.ts";
import { txFromRecord } from "../../../sequencer/protocol/recordDecoder.ts";
import type { BatchTx } from "../../../sequencer/protocol/transactions.ts";
import { Side, TxType } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { signCancel, signWithdrawal } from "../../../sequencer/protocol/signing.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { replayBatch, ReplayError } from "../../../sequencer/verifier/publicDataReplay.ts";
import { order, testTrader } from "../../helpers/traders.ts";
import { derivativesState, derivOrder, EXPIRY, NOW, oracleUpdate, traders as derivTraders } from "../../helpers/derivatives.ts";

const PARAMS = { ...TEST_PARAMS, slots: 4 };
const TIME = 1_700_000_000;
const alice = testTrader(1);
const bob = testTrader(2);

/** Batches built from signed transactions, as the sequencer builds them (signatures verified). */
function signedHistory(): { batches: BuiltBatch[]; roots: bigint[]; state: ExchangeState } {
  const state = new ExchangeState(PARAMS);
  const buy1 = order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 100n, sizeLots: 10n });
  const sell1 = order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 10n });
  // Order 17 takes over alice's storage slot of order 1 (17 mod 16 = 1).
  const buy17 = order(alice, { orderId: 17n, side: Side.BUY, priceTicks: 120n, sizeLots: 5n });
  const sell2 = order(bob, { orderId: 2n, side: Side.SELL, priceTicks: 110n, sizeLots: 50n });
  const trade = (buy: typeof buy1, sell: typeof sell1, lots: bigint, priceTicks: bigint): BatchTx => ({
    type: TxType.TRADE, buy, sell, lots, priceTicks, buyFeePpm: 500, sellFeePpm: 100,
  });
  const txs: BatchTx[][] = [
    [
      { type: TxType.REGISTER_MARKET, marketId: 0, baseTokenId: 1, sizeUnit: 10n, priceUnit: 3n },
      { type: TxType.REGISTER_KEY, accountId: alice.accountId, pubKey: alice.pubKey },
      { type: TxType.REGISTER_KEY, accountId: bob.accountId, pubKey: bob.pubKey },
      { type: TxType.DEPOSIT, accountId: alice.accountId, tokenId: 0, amount: 1_000_000n },
    ],
    [
      { type: TxType.DEPOSIT, accountId: bob.accountId, tokenId: 1, amount: 10_000n },
      trade(buy1, sell1, 4n, 95n),
      trade(buy1, sell1, 3n, 97n), // partial fills of the same orders accumulate in their slots
      { type: TxType.CANCEL, request: signCancel(bob.key, { accountId: bob.accountId, orderId: 1n }) },
    ],
    [
      // two withdrawals of one account in one batch: nonces 0 and 1
      { type: TxType.WITHDRAW, request: signWithdrawal(alice.key, { accountId: alice.accountId, tokenId: 0, amount: 1234n, nonce: 0 }) },
      { type: TxType.WITHDRAW, request: signWithdrawal(alice.key, { accountId: alice.accountId, tokenId: 1, amount: 20n, nonce: 1 }) },
      trade(buy17, sell2, 5n, 110n),
    ],
    [{ type: TxType.WITHDRAW, request: signWithdrawal(bob.key, { accountId: bob.accountId, tokenId: 0, amount: 999n, nonce: 0 }) }],
  ];
  const batches = txs.map((t, i) => buildBatch(state, t, { batchNumber: i, timestamp: TIME + i }));
  return { batches, roots: batches.map((b) => b.header.newRoot), state };
}

describe("replay of public data", () => {
  it("reproduces the state root and the public data of every batch built from signed transactions", () => {
    const { batches, roots, state } = signedHistory();
    const rebuilt = new ExchangeState(PARAMS);
    assert.equal(rebuilt.root, batches[0].header.oldRoot);
    batches.forEach((b, i) => {
      const replayed = replayBatch(rebuilt, b.records, { batchNumber: i, timestamp: Number(b.header.timestamp) });
      assert.equal(rebuilt.root, roots[i], `root after batch ${i}`);
      assert.deepEqual(replayed.publicData, b.publicData, `public data of batch ${i}`);
    });
    assert.equal(rebuilt.feePool, state.feePool);
    for (const id of [alice.accountId, bob.accountId]) {
      assert.equal(rebuilt.account(id).nonce, state.account(id).nonce);
      for (const token of [0, 1]) assert.equal(rebuilt.balance(id, token), state.balance(id, token));
    }
    assert.deepEqual(rebuilt.orderSlot(alice.accountId, 17n), { storedId: 17n, filled: 5n, cancelled: false });
    assert.deepEqual(rebuilt.orderSlot(bob.accountId, 1n), { storedId: 1n, filled: 7n, cancelled: true });
  });

  it("applies each converted record with applyTx's rules: a record against the wrong state is refused, state unchanged", () => {
    const { batches } = signedHistory();
    const rebuilt = new ExchangeState(PARAMS);
    replayBatch(rebuilt, batches[0].records, { batchNumber: 0, timestamp: TIME });
    const root = rebuilt.root;
    // Batch 2 before batch 1: alice has no base token to withdraw yet (slot 1).
    assert.throws(() => replayBatch(rebuilt, batches[2].records, { batchNumber: 1, timestamp: TIME }), (e: unknown) => e instanceof ReplayError && e.slot === 1 && /INSUFFICIENT_BALANCE/.test(e.message));
    assert.equal(rebuilt.root, root);
    // A withdrawal of more than the balance.
    const tooMuch = { type: TxType.WITHDRAW, accountId: 1n, tokenId: 0n, amount: 1_000_001n } as const;
    assert.throws(() => replayBatch(rebuilt, [tooMuch], { batchNumber: 1, timestamp: TIME }), /INSUFFICIENT_BALANCE/);
    assert.equal(rebuilt.root, root);
  });

  it("txFromRecord rebuilds each kind of transaction from its record", () => {
    const { batches } = signedHistory();
    const state = new ExchangeState(PARAMS);
    const [market, key] = batches[0].records;
    assert.deepEqual(txFromRecord(market, state), { type: TxType.REGISTER_MARKET, marketId: 0, baseTokenId: 1, sizeUnit: 10n, priceUnit: 3n });
    assert.deepEqual(txFromRecord(key, state), { type: TxType.REGISTER_KEY, accountId: 1, pubKey: alice.pubKey });
    const trade = txFromRecord(batches[1].records[1], state);
    assert.ok(trade.type === TxType.TRADE);
    assert.equal(trade.buy.accountId, 1);
    assert.equal(trade.sell.accountId, 2);
    assert.equal(trade.buy.priceTicks, 95n);
    assert.equal(trade.sell.priceTicks, 95n);
    assert.equal(trade.buy.sizeLots, (1n << 40n) - 1n);
    assert.equal(trade.buy.maxFeePpm, 500);
    assert.equal(trade.sell.maxFeePpm, 100);
    assert.equal(trade.lots, 4n);
    state.setKeyAndNonce(1, alice.pubKey, 7);
    const w = txFromRecord({ type: TxType.WITHDRAW, accountId: 1n, tokenId: 0n, amount: 5n }, state);
    assert.ok(w.type === TxType.WITHDRAW);
    assert.equal(w.request.nonce, 7);
    assert.deepEqual(txFromRecord({ type: TxType.NOOP }, state), { type: TxType.NOOP });
  });

});

describe("replay of derivatives public data", () => {
  it("rebuilds collateral, positions, funding, the insurance fund and settlements from records and oracle sections", () => {
    // Record every batch the derivatives scenario builds, then replay them on an empty state.
    const built: BuiltBatch[] = [];
    const state = derivativesState((b) => built.push(b));
    const record = (txs: BatchTx[], oracle = oracleUpdate(), timestamp = NOW) =>
      built.push(buildBatch(state, txs, { batchNumber: built.length, timestamp, oracle }));
    const { alice: a, bob: b, carol: c } = derivTraders;
    const buy = derivOrder(a, 0, { orderId: 1n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 15_000n });
    const sell = derivOrder(b, 0, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 15_000n });
    record([{ type: TxType.DERIV_TRADE, buy, sell, lots: 15_000n, priceTicks: 300_000n, buyFeePpm: 500, sellFeePpm: 100 }]);
    const fut = (t: typeof a, side: Side) => derivOrder(t, 1, { orderId: 2n, side, priceTicks: 301_000n, sizeLots: 5n });
    record([{ type: TxType.DERIV_TRADE, buy: fut(c, Side.BUY), sell: fut(b, Side.SELL), lots: 5n, priceTicks: 301_000n, buyFeePpm: 0, sellFeePpm: 0 }],
      oracleUpdate({ fundingEpoch: 1, rates: [300n, 0n, 0n, 0n] }));
    const liquidator = derivOrder(c, 0, { orderId: 3n, side: Side.BUY, priceTicks: 280_000n, sizeLots: 100n });
    record([{ type: TxType.LIQUIDATE, liquidatedAccountId: 1, liquidator, lots: 100n, priceTicks: 280_000n, liquidatorFeePpm: 200 }],
      oracleUpdate({ fundingEpoch: 1, prices: [280_000_000_000n] }));
    record([{ type: TxType.SETTLE, accountId: 3, instrumentId: 1 }], oracleUpdate({ time: EXPIRY + 1, fundingEpoch: 1 }), EXPIRY + 2);
    assert.ok(state.globals.insuranceFund > 0n, "the liquidation paid a penalty");

    const rebuilt = new ExchangeState(TEST_PARAMS);
    for (const batch of built) {
      const replayed = replayBatch(rebuilt, batch.records, { batchNumber: Number(batch.header.batchNumber), timestamp: Number(batch.header.timestamp), oracle: batch.oracle });
      assert.equal(replayed.header.newRoot, batch.header.newRoot);
      assert.deepEqual(replayed.publicData, batch.publicData);
    }
    assert.equal(rebuilt.root, state.root);
    assert.deepEqual(rebuilt.account(1).deriv, state.account(1).deriv);
  });
});

describe("replay of forced withdrawals", () => {
  it("decides each forced withdrawal's outcome again, and refuses a record whose outcome is not the state's, leaving the state as it was", () => {
    const state = new ExchangeState(PARAMS);
    const setup = buildBatch(state, [
      { type: TxType.REGISTER_KEY, accountId: alice.accountId, pubKey: alice.pubKey },
      { type: TxType.DEPOSIT, accountId: alice.accountId, tokenId: 1, amount: 500n },
    ], { batchNumber: 0, timestamp: TIME });
    const forced = (amount: bigint): BatchTx => ({ type: TxType.FORCED_WITHDRAW, accountId: alice.accountId, tokenId: 1, amount });
    const batch = buildBatch(state, [forced(600n), forced(500n)], { batchNumber: 1, timestamp: TIME });
    assert.deepEqual(batch.records.slice(0, 2).map((r) => (r.type === TxType.FORCED_WITHDRAW ? r.honoured : -1n)), [0n, 1n]);

    const rebuilt = new ExchangeState(PARAMS);
    replayBatch(rebuilt, setup.records, { batchNumber: 0, timestamp: TIME });
    const root = rebuilt.root;
    const flipped = batch.records.map((r) => (r.type === TxType.FORCED_WITHDRAW ? { ...r, honoured: 1n - r.honoured } : r));
    assert.throws(() => replayBatch(rebuilt, flipped, { batchNumber: 1, timestamp: TIME }), (e) => e instanceof ReplayError && e.slot === 0 && /honoured = 1, the state decides 0/.test(e.message));
    assert.equal(rebuilt.root, root, "a refused replay changes nothing");
    const replayed = replayBatch(rebuilt, batch.records, { batchNumber: 1, timestamp: TIME });
    assert.deepEqual(replayed.publicData, batch.publicData);
    assert.equal(rebuilt.balance(alice.accountId, 1), 0n);
  });
});
