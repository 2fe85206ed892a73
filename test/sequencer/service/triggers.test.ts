/**
 * Stop and take-profit orders (docs/client.md 6.8) through the sequencer without chain or prover (a fake
 * custodian; every batch is still built by the batch witness, which checks each order's signature over its
 * words, trigger included): held out of the book with their storage slot taken, released into the book
 * when an accepted oracle update's mark crosses the trigger (stop: against the position's way, take-profit:
 * with it), cancellable while held (the cancel is proven), kept in the snapshot, held again when the mark
 * falls back before anything of them filled (a first fill is proven at a crossing mark: TriggerFill), and
 * refused on spot or with a malformed trigger.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Side, TriggerType, TxType } from "../../../sequencer/protocol/constants.ts";
import type { Order } from "../../../sequencer/protocol/messages.ts";
import { signCancel, signTransfer } from "../../../sequencer/protocol/signing.ts";
import { RequestRejected } from "../../../sequencer/service/sequencer.ts";
import { triggerCrossed } from "../../../sequencer/protocol/messages.ts";
import { derivOrder, EXPIRY, NOW, oracleUpdate, traders } from "../../helpers/derivatives.ts";
import type { TxRejection } from "../../../sequencer/service/exchangeCore.ts";
import { derivativesSequencer, DEPOSIT } from "../../helpers/derivativesSequencer.ts";
import { MAX_TRIGGER_ORDERS_PER_ACCOUNT } from "../../../sequencer/matching/triggers.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { order } from "../../helpers/traders.ts";
import { publicKeyOf } from "../../../sequencer/crypto/babyjub.ts";

const { alice, bob, carol } = traders;
const PERP = 0;
/** The oracle price (1e-8 quote per unit) at which the perpetual's mark is `ticks` ticks per lot (a lot is 0.01 unit, a tick 1e-4 quote per lot). */
const priceAt = (ticks: bigint) => ticks * 1_000_000n;

function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof RequestRejected && e.code === code);
}

describe("stop and take-profit orders", () => {
  it("fire in the trigger's direction only: stop buy and take-profit sell on a rise, stop sell and take-profit buy on a fall", () => {
    const o = (side: Side, triggerType: TriggerType): Order => ({
      accountId: 1, orderId: 1n, marketId: 0x8000, side, type: 0, timeInForce: 0, priceTicks: 1n, sizeLots: 1n, maxFeePpm: 0, expiry: 1, triggerType, triggerPriceTicks: 100n,
    });
    for (const [side, type, rise] of [[Side.BUY, TriggerType.STOP, true], [Side.SELL, TriggerType.TAKE_PROFIT, true], [Side.SELL, TriggerType.STOP, false], [Side.BUY, TriggerType.TAKE_PROFIT, false]] as const) {
      assert.equal(triggerCrossed(o(side, type), 1_000n, 10n), true, "at the trigger");
      assert.equal(triggerCrossed(o(side, type), 1_001n, 10n), rise);
      assert.equal(triggerCrossed(o(side, type), 999n, 10n), !rise);
    }
  });

  it("are held, released when the mark crosses, filled and proven; dropped once expired; cancelled while held with a proven cancel; kept in the snapshot", async () => {
    const { seq, chain } = derivativesSequencer(NOW);
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5 }));
    await seq.drain();
    for (const t of [alice, bob, carol]) seq.requestTransfer(signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount: DEPOSIT, nonce: 0 }));
    await seq.drain();
    // alice long 5,000 perpetual lots from bob at 3,000
    seq.placeOrder(derivOrder(bob, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 5_000n }));
    seq.placeOrder(derivOrder(alice, PERP, { orderId: 1n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 5_000n }));
    await seq.drain();
    assert.equal(seq.state.account(alice.accountId).deriv.positions[PERP].size, 5_000n);

    // refusals: spot, a bad type, a missing price
    rejects(() => seq.placeOrder(order(alice, { orderId: 9n, side: Side.SELL, marketId: 0, triggerType: TriggerType.STOP, triggerPriceTicks: 1n })), "TRIGGER_SPOT");
    rejects(() => seq.placeOrder(derivOrder(alice, PERP, { orderId: 9n, side: Side.SELL, triggerType: 3 as TriggerType, triggerPriceTicks: 1n })), "BAD_TRIGGER");
    rejects(() => seq.placeOrder(derivOrder(alice, PERP, { orderId: 9n, side: Side.SELL, triggerType: TriggerType.STOP })), "BAD_TRIGGER");

    // alice's stop-loss (sell when the mark falls to 2,900, limit 2,800, reduce-only); bob's take-profit on his short
    // (buy when the mark falls to 2,900, limit 2,900); carol's stop buy at 3,100 (a breakout entry)
    const stopLoss = derivOrder(alice, PERP, {
      orderId: 2n, side: Side.SELL, priceTicks: 280_000n, sizeLots: 5_000n, reduceOnly: true, triggerType: TriggerType.STOP, triggerPriceTicks: 290_000n,
    });
    assert.deepEqual(seq.placeOrder(stopLoss).map((e) => e.type), ["held"]);
    rejects(() => seq.placeOrder(stopLoss), "ORDER_ID_REUSED");
    seq.placeOrder(derivOrder(bob, PERP, { orderId: 2n, side: Side.BUY, priceTicks: 290_000n, sizeLots: 5_000n, triggerType: TriggerType.TAKE_PROFIT, triggerPriceTicks: 290_000n }));
    seq.placeOrder(derivOrder(carol, PERP, { orderId: 1n, side: Side.BUY, priceTicks: 320_000n, sizeLots: 100n, triggerType: TriggerType.STOP, triggerPriceTicks: 310_000n }));
    // bob's stop buy at 3,300 that expires before anything crosses it
    seq.placeOrder(derivOrder(bob, PERP, { orderId: 3n, side: Side.BUY, priceTicks: 340_000n, sizeLots: 10n, triggerType: TriggerType.STOP, triggerPriceTicks: 330_000n, expiry: NOW + 15 }));
    assert.deepEqual(seq.heldOrders().map((h) => [h.order.accountId, h.order.orderId]), [[alice.accountId, 2n], [bob.accountId, 2n], [carol.accountId, 1n], [bob.accountId, 3n]]);
    assert.equal(seq.engine.order(alice.accountId, 2n), undefined, "not in the book");
    assert.equal(seq.derivatives.risk.openOrders(alice.accountId).length, 0, "no margin reserved while held");
    // carol bids 5,000 at 2,850 (what alice's stop will sell into)
    seq.placeOrder(derivOrder(carol, PERP, { orderId: 2n, side: Side.BUY, priceTicks: 285_000n, sizeLots: 5_000n }));

    // 2,950: nothing crosses
    chain.now = NOW + 10;
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 10, prices: [priceAt(295_000n)] }));
    assert.equal(seq.heldOrders().length, 4);

    // the snapshot (what a restart restores) keeps them
    const snap = seq.snapshot();
    assert.deepEqual(snap.triggers?.map((h) => h.order.orderId), [2n, 2n, 1n, 3n]);

    // 2,890: alice's stop fires and sells into carol's bid; bob's take-profit fires and rests at its limit
    chain.now = NOW + 20;
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 20, prices: [priceAt(289_000n)] }));
    assert.deepEqual(seq.heldOrders().map((h) => h.order.accountId), [carol.accountId], "carol's stop buy waits for a rise; bob's expired one is dropped");
    assert.equal(seq.derivatives.risk.account(alice.accountId).positions[PERP].size, 0n, "alice's stop closed her long");
    assert.equal(seq.engine.order(bob.accountId, 2n)?.remainingLots, 5_000n, "bob's take-profit rests in the book");
    await seq.drain();
    assert.equal(seq.state.account(alice.accountId).deriv.positions[PERP].size, 0n, "proven");
    assert.equal(seq.state.account(carol.accountId).deriv.positions[PERP].size, 5_000n);

    // carol cancels her held stop: the cancel is proven like any other
    const cancelled = seq.cancelOrder(signCancel(carol.key, { accountId: carol.accountId, orderId: 1n }));
    assert.deepEqual(cancelled.map((e) => e.type === "cancelled" && e.reason), ["user"]);
    assert.equal(seq.heldOrders().length, 0);
    await seq.drain();
    assert.equal(seq.state.account(carol.accountId).deriv.positions[PERP].size, 5_000n);
  });

  it("a placed stop or take-profit order with nothing filled is held again when the mark falls back across its trigger (its first fill is proven at a crossing mark); a partly filled one stays in the book", async () => {
    const { seq, chain } = derivativesSequencer(NOW);
    const update = async (dt: number, ticks: bigint) => {
      chain.now = NOW + dt;
      await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + dt, prices: [priceAt(ticks)] }));
    };
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5 }));
    await seq.drain();
    for (const t of [alice, bob, carol]) seq.requestTransfer(signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount: DEPOSIT, nonce: 0 }));
    await seq.drain();
    // bob's take-profit buy: when the mark falls to 2,900, bid 5,000 lots at 2,900
    const takeProfit = derivOrder(bob, PERP, { orderId: 1n, side: Side.BUY, priceTicks: 290_000n, sizeLots: 5_000n, triggerType: TriggerType.TAKE_PROFIT, triggerPriceTicks: 290_000n });
    assert.deepEqual(seq.placeOrder(takeProfit).map((e) => e.type), ["held"]);
    await update(10, 289_000n);
    assert.equal(seq.engine.order(bob.accountId, 1n)?.remainingLots, 5_000n, "triggered at 2,890: it rests in the book, nothing to fill");
    assert.equal(seq.derivatives.risk.openOrders(bob.accountId).length, 1, "margin reserved while in the book");

    // 2,950: its trigger is no longer crossed and nothing of it filled: out of the book, held again, its slot kept
    await update(20, 295_000n);
    assert.equal(seq.engine.order(bob.accountId, 1n), undefined);
    assert.deepEqual(seq.heldOrders().map((h) => [h.order.accountId, h.order.orderId]), [[bob.accountId, 1n]]);
    assert.equal(seq.derivatives.risk.openOrders(bob.accountId).length, 0, "its reservation released");
    rejects(() => seq.placeOrder(takeProfit), "ORDER_ID_REUSED");
    // carol's offer at 2,900 meets no bid (a fill now would be bob's first, at a mark above his trigger: TriggerFill refuses it)
    assert.ok(!seq.placeOrder(derivOrder(carol, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 290_000n, sizeLots: 100n })).some((e) => e.type === "fill"));

    // 2,895: crossed again: placed, it takes carol's offer; the batch proves the first fill at that mark
    await update(30, 289_500n);
    assert.equal(seq.engine.order(bob.accountId, 1n)?.filledLots, 100n);
    await seq.drain();
    assert.equal(seq.state.account(bob.accountId).deriv.positions[PERP].size, 100n, "proven");

    // 2,950 again: partly filled, it stays a plain limit order, and a later fill is proven at a mark above its trigger
    await update(40, 295_000n);
    assert.equal(seq.engine.order(bob.accountId, 1n)?.remainingLots, 4_900n);
    assert.equal(seq.heldOrders().length, 0);
    assert.ok(seq.placeOrder(derivOrder(alice, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 290_000n, sizeLots: 50n })).some((e) => e.type === "fill"));
    await seq.drain();
    assert.equal(seq.state.account(bob.accountId).deriv.positions[PERP].size, 150n, "proven");
  });

  it("a stop released by an update signed before a future's expiry but arriving after it is cancelled (trigger-untradable), not filled: no batch could prove the fill", async () => {
    const FUTURE = 1;
    const { seq, chain } = derivativesSequencer(NOW);
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW }));
    for (const t of [alice, bob]) seq.requestTransfer(signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount: DEPOSIT, nonce: 0 }));
    await seq.drain();
    const rejections: TxRejection[] = [];
    seq.events.on("rejected", (r) => rejections.push(r));

    chain.now = EXPIRY - 100;
    await seq.acceptOracleUpdate(oracleUpdate({ time: EXPIRY - 100 }));
    seq.placeOrder(derivOrder(bob, FUTURE, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 100n }));
    const stop = derivOrder(alice, FUTURE, { orderId: 1n, side: Side.BUY, priceTicks: 305_000n, sizeLots: 100n, triggerType: TriggerType.STOP, triggerPriceTicks: 305_000n });
    assert.deepEqual(seq.placeOrder(stop).map((e) => e.type), ["held"]);
    await seq.drain();

    // 5 s after the expiry an order is refused at intake, and so is the stop an update signed a second before it releases
    chain.now = EXPIRY + 5;
    rejects(() => seq.placeOrder(derivOrder(alice, FUTURE, { orderId: 2n, side: Side.BUY, priceTicks: 305_000n, sizeLots: 1n })), "INSTRUMENT_EXPIRED");
    await seq.acceptOracleUpdate(oracleUpdate({ time: EXPIRY - 1, prices: [305_000_000_000n] }));
    assert.equal(seq.heldOrders().length, 0, "released");
    assert.equal(seq.engine.order(alice.accountId, 1n), undefined, "cancelled, not placed");
    assert.deepEqual(seq.peekPending().filter((t) => t.type === TxType.DERIV_TRADE), [], "no fill queued");
    await seq.drain();
    assert.deepEqual(rejections, [], "no batch rejected anything");
    assert.equal(seq.state.account(alice.accountId).deriv.positions[FUTURE].size, 0n);
  });

  it("a trigger the mark has already crossed places the order at once; refused by the engine, its id stays unused (the same signed order may be sent again, as the answer says)", async () => {
    const { seq } = derivativesSequencer(NOW);
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5, prices: [priceAt(300_000n)] }));
    await seq.drain();
    seq.requestTransfer(signTransfer(alice.key, { accountId: alice.accountId, toCollateral: true, amount: 1_000_000_000n, nonce: 0 }));
    await seq.drain();
    // a stop buy at 2,900 with the mark at 3,000: crossed; far too large for alice's margin
    const big = derivOrder(alice, PERP, { orderId: 3n, side: Side.BUY, priceTicks: 310_000n, sizeLots: 100_000_000n, triggerType: TriggerType.STOP, triggerPriceTicks: 290_000n });
    const events = seq.placeOrder(big).map((e) => e.type);
    assert.deepEqual(events.slice(0, 2), ["held", "triggered"]);
    assert.ok(events.includes("rejected"), events.join(","));
    assert.equal(seq.heldOrders().length, 0);
    assert.ok(seq.placeOrder(big).map((e) => e.type).includes("rejected"), "refused again by the engine, not ORDER_ID_REUSED");
    // a small one is placed at once, in the book, its id used
    const small = derivOrder(alice, PERP, { orderId: 3n, side: Side.BUY, priceTicks: 290_000n, sizeLots: 1n, triggerType: TriggerType.STOP, triggerPriceTicks: 290_000n });
    assert.deepEqual(seq.placeOrder(small).map((e) => e.type).slice(0, 3), ["held", "triggered", "accepted"]);
    assert.equal(seq.engine.order(alice.accountId, 3n)?.remainingLots, 1n);
    rejects(() => seq.placeOrder(small), "ORDER_ID_REUSED");
  });

  it("one account has at most MAX_TRIGGER_ORDERS_PER_ACCOUNT stop and take-profit orders, held or in the book (TOO_MANY_TRIGGER_ORDERS beyond, nothing held, placed or used); orders whose trigger was already crossed count too, so an update uncrossing them cannot hold more; a cancel frees a place", async () => {
    const { seq, chain } = derivativesSequencer(NOW, { params: { ...TEST_PARAMS, orderLevels: 3 } });
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5, prices: [priceAt(289_000n)] }));
    await seq.drain();
    seq.requestTransfer(signTransfer(alice.key, { accountId: alice.accountId, toCollateral: true, amount: DEPOSIT, nonce: 0 }));
    await seq.drain();
    const cap = MAX_TRIGGER_ORDERS_PER_ACCOUNT;
    // take-profit buys at 2,900 with the mark at 2,890: crossed, placed at once (resting at 2,800, nothing fills them)
    const takeProfit = (orderId: bigint) =>
      derivOrder(alice, PERP, { orderId, side: Side.BUY, priceTicks: 280_000n, sizeLots: 1n, triggerType: TriggerType.TAKE_PROFIT, triggerPriceTicks: 290_000n });
    const half = BigInt(cap / 2);
    for (let i = 1n; i <= half; i++) assert.deepEqual(seq.placeOrder(takeProfit(i)).map((e) => e.type).slice(0, 3), ["held", "triggered", "accepted"]);
    // stop buys at 3,100: held
    const stop = (orderId: bigint) => derivOrder(alice, PERP, { orderId, side: Side.BUY, priceTicks: 320_000n, sizeLots: 1n, triggerType: TriggerType.STOP, triggerPriceTicks: 310_000n });
    for (let i = half + 1n; i <= BigInt(cap); i++) assert.deepEqual(seq.placeOrder(stop(i)).map((e) => e.type), ["held"]);
    const next = BigInt(cap) + 1n;
    rejects(() => seq.placeOrder(stop(next)), "TOO_MANY_TRIGGER_ORDERS");
    rejects(() => seq.placeOrder(takeProfit(next)), "TOO_MANY_TRIGGER_ORDERS");
    assert.equal(seq.heldOrders(alice.accountId).length, cap / 2, "nothing more held");
    assert.equal(seq.engine.order(alice.accountId, next), undefined, "nothing placed");
    // the mark rises to 2,950: the take-profits are held again, and the account still has no more than the cap
    chain.now = NOW + 10;
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 10, prices: [priceAt(295_000n)] }));
    assert.equal(seq.heldOrders(alice.accountId).length, cap);
    rejects(() => seq.placeOrder(stop(next)), "TOO_MANY_TRIGGER_ORDERS");
    // another account is not limited by alice's
    assert.deepEqual(seq.placeOrder(derivOrder(bob, PERP, { orderId: 1n, side: Side.BUY, priceTicks: 320_000n, sizeLots: 1n, triggerType: TriggerType.STOP, triggerPriceTicks: 310_000n })).map((e) => e.type), ["held"]);
    // a cancel frees a place; the refused id was never used
    seq.cancelOrder(signCancel(alice.key, { accountId: alice.accountId, orderId: 1n }));
    assert.deepEqual(seq.placeOrder(stop(next)).map((e) => e.type), ["held"]);
  });

  it("a key rotation drops the account's held orders with a proven cancel (OPERATOR_CANCEL): were the old key registered again, the stop could not be filled", async () => {
    const { seq } = derivativesSequencer(NOW);
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5 }));
    await seq.drain();
    seq.requestTransfer(signTransfer(alice.key, { accountId: alice.accountId, toCollateral: true, amount: DEPOSIT, nonce: 0 }));
    await seq.drain();
    const stop = derivOrder(alice, PERP, { orderId: 7n, side: Side.BUY, priceTicks: 320_000n, sizeLots: 10n, triggerType: TriggerType.STOP, triggerPriceTicks: 310_000n });
    assert.deepEqual(seq.placeOrder(stop).map((e) => e.type), ["held"]);
    const newKey = new Uint8Array(32).fill(91);
    seq.acceptRequest({ type: TxType.REGISTER_KEY, accountId: alice.accountId, pubKey: publicKeyOf(newKey) });
    assert.deepEqual(seq.heldOrders(), []);
    assert.ok(seq.peekPending().some((t) => t.type === TxType.OPERATOR_CANCEL && t.accountId === alice.accountId && t.orderId === 7n));
    await seq.drain();
    assert.equal(seq.pendingTransactions, 0);
    assert.deepEqual(seq.state.orderSlot(alice.accountId, 7n), { storedId: 7n, filled: 0n, cancelled: true });
  });
});
