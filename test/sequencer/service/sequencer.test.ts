/**
 * Sequencer intake: every bad request gets a clear error and changes nothing; accepted fills become trade
 * transactions that the batch builder (the circuit's rules) accepts. No chain is needed for intake.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import { IMMEDIATE_ORDER_TTL, OrderType, Side, TimeInForce, TxType } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { signCancel, signWithdrawal } from "../../../sequencer/protocol/signing.ts";
import { RequestRejected } from "../../../sequencer/service/sequencer.ts";
import { jsSignatureVerifier, type SignatureCheck } from "../../../sequencer/crypto/signatureVerifier.ts";
import { order, testTrader } from "../../helpers/traders.ts";
import { alice, bob, offlineSequencer } from "../../helpers/sequencer.ts";


const sequencer = offlineSequencer;

function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof RequestRejected && e.code === code);
}

describe("sequencer intake", () => {
  it("refuses unsigned, mis-signed, unknown-account and malformed orders without changing anything", () => {
    const s = sequencer();
    const before = s.pendingTransactions;
    rejects(() => s.placeOrder({ ...order(alice, { orderId: 1n, side: Side.BUY }), signature: order(bob, { orderId: 1n, side: Side.BUY }).signature }), "BAD_SIGNATURE");
    rejects(() => s.placeOrder({ ...order(alice, { orderId: 1n, side: Side.BUY }), priceTicks: 101n }), "BAD_SIGNATURE");
    rejects(() => s.placeOrder(order(testTrader(3), { orderId: 1n, side: Side.BUY })), "NO_TRADING_KEY");
    rejects(() => s.placeOrder({ ...order(alice, { orderId: 1n, side: Side.BUY }), priceTicks: 1n << 40n }), "MALFORMED");
    assert.equal(s.pendingTransactions, before);
    assert.deepEqual(s.engine.depth(0), { bids: [], asks: [] });
  });

  it("places a batch of orders with one verifier call, refusing bad ones individually and in order", async () => {
    let calls = 0;
    const s = sequencer({
      verifier: { name: "counting", verifyBatch: (checks: readonly SignatureCheck[]) => (calls++, jsSignatureVerifier.verifyBatch(checks)) },
    });
    const good = order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 10n });
    const forged = { ...order(alice, { orderId: 2n, side: Side.BUY }), signature: order(bob, { orderId: 2n, side: Side.BUY }).signature };
    const noKey = order(testTrader(3), { orderId: 1n, side: Side.BUY });
    const reused = order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 10n });
    const out = await s.placeOrders([good, forged, noKey, reused]);
    assert.equal(calls, 1);
    assert.equal("events" in out[0] && out[0].events[0].type, "accepted");
    assert.deepEqual(out.slice(1).map((o) => "rejected" in o && o.rejected.code), ["BAD_SIGNATURE", "NO_TRADING_KEY", "ORDER_ID_REUSED"]);
    assert.deepEqual(s.engine.depth(0).bids.length, 1);
  });

  it("refuses a reused order id and an id whose storage slot holds a live order", () => {
    const s = sequencer();
    assert.equal(s.placeOrder(order(alice, { orderId: 5n, side: Side.BUY, priceTicks: 10n }))[0].type, "accepted");
    rejects(() => s.placeOrder(order(alice, { orderId: 5n, side: Side.BUY, priceTicks: 10n })), "ORDER_ID_REUSED");
    const sameSlot = 5n + BigInt(4 ** TEST_PARAMS.orderLevels);
    rejects(() => s.placeOrder(order(alice, { orderId: sameSlot, side: Side.BUY, priceTicks: 10n })), "ORDER_SLOT_BUSY");
  });

  it("remembers one used order id per storage slot, not every order ever accepted (IOC orders that never fill add nothing past the slots)", () => {
    const NOW = 1_800_000_000;
    const s = sequencer({ clock: () => NOW });
    const slots = 4 ** TEST_PARAMS.orderLevels;
    for (let id = 1n; id <= BigInt(10 * slots); id++) {
      const ioc = order(alice, { orderId: id, side: Side.BUY, priceTicks: 1n, sizeLots: 1n, timeInForce: TimeInForce.IOC, expiry: NOW + 60 });
      assert.equal(s.placeOrder(ioc)[0].type, "accepted");
    }
    const used = s.engine.snapshot().usedOrderIds;
    assert.deepEqual(used.map(([a, ids]) => [a, ids.length]), [[alice.accountId, slots]], "one id per slot");
    rejects(() => s.placeOrder(order(alice, { orderId: 3n, side: Side.BUY, priceTicks: 1n })), "ORDER_ID_REUSED");
  });

  it("refuses a market, IOC or FOK order expiring more than IMMEDIATE_ORDER_TTL after its arrival (IMMEDIATE_EXPIRY_TOO_FAR) and changes nothing; the same expiry is fine for a resting order, the limit itself for an immediate one", () => {
    const NOW = 1_800_000_000;
    const s = sequencer({ clock: () => NOW });
    s.placeOrder(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 10n }));
    const before = s.pendingTransactions;
    const far = NOW + IMMEDIATE_ORDER_TTL + 1;
    for (const [i, shape] of ([
      { timeInForce: TimeInForce.IOC },
      { timeInForce: TimeInForce.FOK },
      { type: OrderType.MARKET, timeInForce: TimeInForce.IOC },
      { type: OrderType.MARKET, timeInForce: TimeInForce.GTC },
    ] as const).entries()) {
      rejects(() => s.placeOrder(order(alice, { orderId: BigInt(10 + i), side: Side.BUY, priceTicks: 100n, sizeLots: 1n, expiry: far, ...shape })), "IMMEDIATE_EXPIRY_TOO_FAR");
    }
    assert.equal(s.pendingTransactions, before);
    assert.equal(s.engine.depth(0).asks[0]!.lots, 10n);
    // a resting order may live long; an IOC at exactly the limit fills
    assert.equal(s.placeOrder(order(alice, { orderId: 20n, side: Side.BUY, priceTicks: 10n, sizeLots: 1n, expiry: far }))[0].type, "accepted");
    const ioc = s.placeOrder(order(alice, { orderId: 21n, side: Side.BUY, priceTicks: 100n, sizeLots: 1n, expiry: NOW + IMMEDIATE_ORDER_TTL, timeInForce: TimeInForce.IOC }));
    assert.ok(ioc.some((e) => e.type === "fill"));
  });

  it("refuses an order the account cannot pay for (risk) and queues nothing", () => {
    const s = sequencer();
    const before = s.pendingTransactions;
    const events = s.placeOrder(order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 1n << 30n, sizeLots: 10n }));
    assert.equal(events[0].type, "rejected");
    assert.equal(s.pendingTransactions, before);
  });

  it("turns fills into trades with maker/taker fees that the batch builder accepts", () => {
    const s = sequencer();
    s.placeOrder(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 10n }));
    const events = s.placeOrder(order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 100n, sizeLots: 4n }));
    assert.ok(events.some((e) => e.type === "fill" && e.lots === 4n && e.priceTicks === 90n));
    const trade = s.peekPending().at(-1)!;
    assert.equal(trade.type, TxType.TRADE);
    if (trade.type !== TxType.TRADE) return;
    assert.equal(trade.buy.accountId, 1);
    assert.equal(trade.sell.accountId, 2);
    assert.deepEqual([trade.buyFeePpm, trade.sellFeePpm], [500, 100]); // alice took, bob made
    const txs = s.peekPending();
    for (let i = 0; i < txs.length; i += TEST_PARAMS.slots) {
      buildBatch(s.state, txs.slice(i, i + TEST_PARAMS.slots), { batchNumber: i, timestamp: Math.floor(Date.now() / 1000) });
    }
    assert.equal(s.state.balance(1, 1), 4000n);
    assert.equal(s.state.balance(2, 0), s.risk.balance(2, 0), "the proven state and the risk module agree");
    assert.equal(s.state.balance(1, 0), s.risk.balance(1, 0));
  });

  it("proves a self-trade's cancel of the resting order (OPERATOR_CANCEL), so the operator can never fill it later", () => {
    const s = sequencer();
    s.acceptRequest({ type: TxType.DEPOSIT, accountId: 2, tokenId: 0, amount: 10_000_000n }); // bob, with quote too, can buy
    s.placeOrder(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 10n }));
    const events = s.placeOrder(order(bob, { orderId: 2n, side: Side.BUY, priceTicks: 95n, sizeLots: 4n }));
    assert.deepEqual(events.filter((e) => e.type === "cancelled").map((e) => e.type === "cancelled" && [e.orderId, e.reason]), [[1n, "self-trade"]]);
    assert.deepEqual(s.peekPending().filter((t) => t.type === TxType.OPERATOR_CANCEL), [{ type: TxType.OPERATOR_CANCEL, accountId: 2, orderId: 1n }]);
    const txs = s.peekPending();
    for (let i = 0; i < txs.length; i += TEST_PARAMS.slots) {
      buildBatch(s.state, txs.slice(i, i + TEST_PARAMS.slots), { batchNumber: i, timestamp: Math.floor(Date.now() / 1000) });
    }
    assert.deepEqual(s.state.orderSlot(2, 1n), { storedId: 1n, filled: 0n, cancelled: true }, "the proven slot says cancelled");
  });

  it("queues a signed cancel only for a live order", () => {
    const s = sequencer();
    s.placeOrder(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n }));
    const n = s.pendingTransactions;
    assert.ok(s.cancelOrder(signCancel(bob.key, { accountId: 2, orderId: 7n })).some((e) => e.type === "rejected"));
    assert.equal(s.pendingTransactions, n);
    rejects(() => s.cancelOrder(signCancel(alice.key, { accountId: 2, orderId: 1n })), "BAD_SIGNATURE");
    assert.ok(s.cancelOrder(signCancel(bob.key, { accountId: 2, orderId: 1n })).some((e) => e.type === "cancelled"));
    assert.equal(s.peekPending().at(-1)!.type, TxType.CANCEL);
  });

  it("accepts a withdrawal only with the next nonce and an available balance", () => {
    const s = sequencer();
    rejects(() => s.requestWithdrawal(signWithdrawal(alice.key, { accountId: 1, tokenId: 0, amount: 1n, nonce: 1 })), "BAD_NONCE");
    rejects(() => s.requestWithdrawal(signWithdrawal(alice.key, { accountId: 1, tokenId: 0, amount: 10_000_001n, nonce: 0 })), "INSUFFICIENT_BALANCE");
    rejects(() => s.requestWithdrawal(signWithdrawal(bob.key, { accountId: 1, tokenId: 0, amount: 1n, nonce: 0 })), "BAD_SIGNATURE");
    s.requestWithdrawal(signWithdrawal(alice.key, { accountId: 1, tokenId: 0, amount: 10_000_000n, nonce: 0 }));
    assert.equal(s.risk.balance(1, 0), 0n);
    rejects(() => s.requestWithdrawal(signWithdrawal(alice.key, { accountId: 1, tokenId: 0, amount: 10_000_000n, nonce: 0 })), "BAD_NONCE");
  });
});
