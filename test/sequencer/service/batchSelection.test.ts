/**
 * Batch selection: slots per section, spot after derivatives only when it cannot depend on them, one oracle update per batch, markers
 * take no slot; the stamp (the latest of the floor, the entries' acceptance times and the oracle time)
 * never passes an entry's deadline (its orders' expiries, a dated instrument's expiry, its oracle update's age)
 * unless nothing could.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { BatchTx } from "../../../sequencer/protocol/transactions.ts";
import { TxType } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { selectBatch, type PendingEntry } from "../../../sequencer/service/batchSelection.ts";
import { derivOrder, EXPIRY, oracleUpdate, INSTRUMENTS, NOW, traders } from "../../helpers/derivatives.ts";
import { derivativesSequencer, DEPOSIT } from "../../helpers/derivativesSequencer.ts";
import { signTransfer } from "../../../sequencer/protocol/signing.ts";
import type { TxRejection } from "../../../sequencer/service/exchangeCore.ts";
import { IMMEDIATE_ORDER_TTL, MAX_ORACLE_AGE, Side, TimeInForce } from "../../../sequencer/protocol/constants.ts";
import { order } from "../../helpers/traders.ts";
import { alice, bob } from "../../helpers/sequencer.ts";

const deposit = (accountId: number): BatchTx => ({ type: TxType.DEPOSIT, accountId, tokenId: 0, amount: 1n });
const register: BatchTx = { type: TxType.REGISTER_INSTRUMENT, instrumentId: 0, ...INSTRUMENTS[0] };
const settle = (accountId: number): BatchTx => ({ type: TxType.SETTLE, accountId, instrumentId: 1 });
const e = (tx: BatchTx, oracle?: ReturnType<typeof oracleUpdate>): PendingEntry => ({ tx, time: NOW, oracle });

describe("batch selection", () => {
  it("fills the spot slots and the derivatives slots from the head of the queue", () => {
    const s = selectBatch([e(deposit(1)), e(deposit(2)), e(register), e(deposit(3))], TEST_PARAMS);
    assert.equal(s.count, 3);
    assert.equal(s.oracle, null);
  });

  it("takes a spot transaction queued after derivatives ones that are all unsigned on-chain requests (nothing a spot slot reads): alternating forced withdrawals and forced collateral withdrawals fill one batch", () => {
    const u = oracleUpdate({ time: NOW });
    const fw = (accountId: number): BatchTx => ({ type: TxType.FORCED_WITHDRAW, accountId, tokenId: 0, amount: 1n });
    const fcw = (accountId: number): BatchTx => ({ type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId, tokenId: 0, amount: 1n });
    const s = selectBatch([e(fcw(1), u), e(fw(2)), e(fw(3))], TEST_PARAMS);
    assert.deepEqual(s.txs, [fcw(1), fw(2), fw(3)]);
    assert.deepEqual(selectBatch([e(register), e(deposit(1))], TEST_PARAMS).txs, [register, deposit(1)]);
  });

  it("never takes a spot transaction queued after a derivatives one it may depend on (a TRANSFER before a withdrawal, a settlement before anything)", () => {
    const u = oracleUpdate({ time: NOW });
    const transfer: BatchTx = { type: TxType.TRANSFER, request: signTransfer(alice.key, { accountId: alice.accountId, toCollateral: false, amount: 1n, nonce: 0 }) };
    assert.deepEqual(selectBatch([e(transfer, u), e(deposit(1))], TEST_PARAMS).txs, [transfer]);
    assert.deepEqual(selectBatch([e(settle(1), u), e(deposit(1))], TEST_PARAMS).txs, [settle(1)]);
    // once such a one is taken, even after unsigned requests
    const fcw: BatchTx = { type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId: 2, tokenId: 0, amount: 1n };
    assert.deepEqual(selectBatch([e(fcw, u), e(deposit(1)), e(settle(1), u), e(deposit(2))], { ...TEST_PARAMS, derivSlots: 2 }).txs, [fcw, deposit(1), settle(1)]);
  });

  it("keeps one oracle update per batch; a marker takes no slot but sets the update", () => {
    const u1 = oracleUpdate({ time: NOW });
    const u2 = oracleUpdate({ time: NOW + 1 });
    const s = selectBatch([e({ type: TxType.NOOP }, u1), e(settle(1), u1), e(settle(2), u2)], TEST_PARAMS);
    assert.equal(s.count, 2);
    assert.deepEqual(s.txs, [settle(1)]);
    assert.equal(s.oracle, u1);
    const onlyMarker = selectBatch([e({ type: TxType.NOOP }, u2), e(settle(2), u1)], TEST_PARAMS);
    assert.deepEqual([onlyMarker.count, onlyMarker.txs.length, onlyMarker.oracle], [1, 0, u2]);
  });

  it("selects nothing from an empty queue", () => {
    assert.deepEqual(selectBatch([], TEST_PARAMS), { count: 0, txs: [], oracle: null, timestamp: 0 });
  });

  it("stamps a batch at the latest of the floor, its entries' acceptance times and its oracle time", () => {
    const u = oracleUpdate({ time: NOW + 3 });
    assert.equal(selectBatch([{ tx: deposit(1), time: NOW + 5 }, { tx: deposit(2), time: NOW + 7 }], TEST_PARAMS, NOW).timestamp, NOW + 7);
    assert.equal(selectBatch([{ tx: deposit(1), time: NOW + 5 }], TEST_PARAMS, NOW + 100).timestamp, NOW + 100);
    assert.equal(selectBatch([{ tx: settle(1), time: NOW + 1, oracle: u }], TEST_PARAMS, NOW).timestamp, NOW + 3);
  });

  it("stops before an entry that would stamp the batch past an earlier trade's expiry, or a trade past its own", () => {
    const trade = (expiry: number): BatchTx => ({
      type: TxType.TRADE, buy: order(alice, { orderId: 1n, side: Side.BUY, expiry }), sell: order(bob, { orderId: 1n, side: Side.SELL }), lots: 1n, priceTicks: 100n, buyFeePpm: 0, sellFeePpm: 0,
    });
    const early: PendingEntry = { tx: trade(NOW + 10), time: NOW };
    const later: PendingEntry = { tx: deposit(1), time: NOW + 20 };
    assert.equal(selectBatch([early, later], TEST_PARAMS, NOW).count, 1, "the deposit would stamp the trade expired: next batch");
    assert.equal(selectBatch([early, later], TEST_PARAMS).count, 2, "a replay selects by slots only");
    const due: PendingEntry = { tx: trade(NOW + 10), time: NOW + 5 };
    assert.equal(selectBatch([later, due], TEST_PARAMS, NOW).count, 1, "a trade the batch's stamp has passed, provable alone, starts the next batch");
    const hopeless: PendingEntry = { tx: trade(NOW + 10), time: NOW };
    const s = selectBatch([hopeless, later], TEST_PARAMS, NOW + 50);
    assert.deepEqual([s.count, s.timestamp], [2, NOW + 50], "a trade no stamp at or after the floor can prove is taken, for the builder to refuse");
  });

  it("keeps a derivatives entry's stamp within MAX_ORACLE_AGE of its oracle update", () => {
    const u = oracleUpdate({ time: NOW });
    const tagged: PendingEntry = { tx: settle(1), time: NOW, oracle: u };
    const late: PendingEntry = { tx: settle(2), time: NOW + MAX_ORACLE_AGE + 1, oracle: u };
    assert.equal(selectBatch([tagged, late], { ...TEST_PARAMS, derivSlots: 2 }, NOW).count, 1);
  });

  it("keeps a fill on a dated instrument stamped before the instrument's expiry: a later entry goes to the next batch", () => {
    const EXPIRY = NOW + 100;
    const marketId = 0x8000 + 1;
    const fill: PendingEntry = {
      tx: {
        type: TxType.DERIV_TRADE, buy: order(alice, { orderId: 1n, side: Side.BUY, marketId }), sell: order(bob, { orderId: 1n, side: Side.SELL, marketId }),
        lots: 1n, priceTicks: 100n, buyFeePpm: 0, sellFeePpm: 0,
      },
      time: EXPIRY - 2, oracle: oracleUpdate({ time: EXPIRY - 50 }),
    };
    const after: PendingEntry = { tx: settle(2), time: EXPIRY + 5, oracle: fill.oracle };
    const p = { ...TEST_PARAMS, derivSlots: 2 };
    const expiryOf = (m: number) => (m === marketId ? EXPIRY : 0);
    const s = selectBatch([fill, after], p, NOW, Infinity, expiryOf);
    assert.deepEqual([s.count, s.timestamp], [1, EXPIRY - 2], "the trade alone, stamped before its instrument's expiry");
    assert.equal(selectBatch([fill, after], p, NOW).count, 2, "without the instrument's expiry both would share a batch stamped after it");
    assert.equal(selectBatch([fill, after], p, NOW, Infinity, () => 0).count, 2, "a perpetual has no such deadline");
  });
});

describe("batch selection in the sequencer", () => {
  it("a future trade accepted 2 s before the future's expiry is proven in a batch of its own, not stamped after the expiry by a transfer accepted after it", async () => {
    const { seq, chain } = derivativesSequencer(NOW, { params: { ...TEST_PARAMS, derivSlots: 4 } });
    const transfer = (t: typeof traders.alice, amount: bigint, nonce: number, toCollateral = true) =>
      signTransfer(t.key, { accountId: t.accountId, toCollateral, amount, nonce });
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW }));
    for (const t of [traders.alice, traders.bob, traders.carol]) seq.requestTransfer(transfer(t, DEPOSIT, 0));
    await seq.drain();
    const rejections: TxRejection[] = [];
    seq.events.on("rejected", (r) => rejections.push(r));

    chain.now = EXPIRY - 100;
    await seq.acceptOracleUpdate(oracleUpdate({ time: EXPIRY - 100 }));
    await seq.drain();
    chain.now = EXPIRY - 2;
    seq.placeOrder(derivOrder(traders.bob, 1, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 100n }));
    const fill = seq.placeOrder(derivOrder(traders.alice, 1, { orderId: 1n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 100n, timeInForce: TimeInForce.IOC, expiry: chain.now + IMMEDIATE_ORDER_TTL }));
    assert.ok(fill.some((e) => e.type === "fill"));
    chain.now = EXPIRY + 5;
    seq.requestTransfer(transfer(traders.carol, 1n, 1, false)); // tagged with the same update, accepted after the expiry
    await seq.drain();
    assert.deepEqual(rejections, []);
    assert.equal(seq.state.account(traders.alice.accountId).deriv.positions[1].size, 100n, "proven");
  });
});
