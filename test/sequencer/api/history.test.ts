/** AccountHistory: order outcomes and fills from engine events, both sides of a trade, bounds. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AccountHistory } from "../../../sequencer/api/history.ts";
import { CancelReason } from "../../../sequencer/matching/types.ts";
import { Side, TriggerType } from "../../../sequencer/protocol/constants.ts";
import { order } from "../../helpers/traders.ts";
import { alice, bob, offlineSequencer } from "../../helpers/sequencer.ts";
import { signCancel } from "../../../sequencer/protocol/signing.ts";

function tracked(opts: ConstructorParameters<typeof AccountHistory>[0] = {}) {
  const s = offlineSequencer();
  const h = new AccountHistory(opts);
  const changes: ReturnType<AccountHistory["record"]>[] = [];
  s.events.on("engine", (events, incoming) => changes.push(h.record(events, incoming)));
  return { s, h, changes };
}

describe("AccountHistory", () => {
  it("follows orders to filled and cancelled, and records each trade for maker and taker", () => {
    const { s, h, changes } = tracked();
    s.placeOrder(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 4n }));
    s.placeOrder(order(bob, { orderId: 2n, side: Side.SELL, priceTicks: 91n, sizeLots: 4n }));
    s.placeOrder(order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 91n, sizeLots: 5n }));
    const last = changes.at(-1)!;
    assert.deepEqual(last.fills.map((f) => [f.fillId, f.accountId, f.role, f.lots]), [[1, 2, "maker", 4n], [1, 1, "taker", 4n], [2, 2, "maker", 1n], [2, 1, "taker", 1n]]);
    assert.deepEqual(last.orders.map((o) => [o.accountId, o.orderId, o.status]).sort(), [[1, 1n, "filled"], [2, 1n, "filled"], [2, 2n, "open"]]);
    assert.deepEqual([h.order(2, 2n)?.filledLots, h.order(2, 2n)?.remainingLots], [1n, 3n]);

    s.cancelOrder(signCancel(bob.key, { accountId: 2, orderId: 2n }));
    assert.deepEqual([h.order(2, 2n)?.status, h.order(2, 2n)?.cancelReason, h.order(2, 2n)?.remainingLots], ["cancelled", "user", 0n]);
    assert.deepEqual(h.orders(2).map((o) => o.orderId), [2n, 1n]);
    assert.deepEqual(h.orders(2, { status: "filled" }).map((o) => o.orderId), [1n]);
    assert.deepEqual(h.fills(1).map((f) => [f.fillId, f.side, f.priceTicks]), [[2, Side.BUY, 91n], [1, Side.BUY, 90n]]);
    assert.deepEqual(h.fills(2, { beforeFillId: 2 }).map((f) => [f.fillId, f.side]), [[1, Side.SELL]]);

    // A refused order leaves no record; records are copies.
    s.placeOrder(order(alice, { orderId: 9n, side: Side.BUY, priceTicks: 1n << 30n, sizeLots: 10n }));
    assert.equal(h.order(1, 9n), undefined);
    h.order(2, 1n)!.status = "open";
    assert.equal(h.order(2, 1n)?.status, "filled");
  });

  it("drops the oldest closed orders and fills beyond its bounds, never open ones", () => {
    const { s, h } = tracked({ maxOrdersPerAccount: 2, maxFillsPerAccount: 1 });
    s.placeOrder(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 1n }));
    s.placeOrder(order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 90n, sizeLots: 1n })); // bob 1 filled
    s.placeOrder(order(bob, { orderId: 2n, side: Side.SELL, priceTicks: 95n, sizeLots: 1n }));
    s.placeOrder(order(bob, { orderId: 3n, side: Side.SELL, priceTicks: 96n, sizeLots: 1n }));
    assert.deepEqual(h.orders(2).map((o) => o.orderId), [3n, 2n], "the filled order 1 went first");
    s.placeOrder(order(bob, { orderId: 4n, side: Side.SELL, priceTicks: 97n, sizeLots: 1n }));
    assert.deepEqual(h.orders(2).map((o) => o.orderId), [4n, 3n, 2n], "open orders are kept over the bound");
    for (const id of [2n, 3n, 4n]) s.placeOrder(order(alice, { orderId: id, side: Side.BUY, priceTicks: 97n, sizeLots: 1n }));
    assert.ok(h.fills(1).length <= 2, "fills trimmed to the bound (twice it between trims)");
    assert.equal(h.fills(1)[0].orderId, 4n, "the newest kept");
  });

  it("reads a live order past its expiry (open, or held again after trigger-uncrossed) as the sweep will leave it: cancelled, expired, nothing remaining", () => {
    let now = 1_000;
    const h = new AccountHistory({ clock: () => now });
    const o = (orderId: bigint, extra = {}) => order(alice, { orderId, side: Side.BUY, priceTicks: 90n, sizeLots: 4n, expiry: 2_000, ...extra });
    const [plain, stop] = [o(1n), o(2n, { marketId: 0x8000, triggerType: TriggerType.STOP, triggerPriceTicks: 95n })];
    const accepted = (incoming: typeof plain) => h.record([{ type: "accepted", accountId: 1, orderId: incoming.orderId, marketId: incoming.marketId, seq: 1 }], incoming);
    accepted(plain);
    accepted(stop);
    // the stop leaves the book (its trigger no longer crossed) and is held again: its record reads cancelled, yet it is live
    h.record([
      { type: "cancelled", accountId: 1, orderId: 2n, marketId: 0x8000, reason: CancelReason.TRIGGER_UNCROSSED, remainingLots: 4n },
      { type: "held", accountId: 1, orderId: 2n, marketId: 0x8000 },
    ]);
    assert.deepEqual(h.orders(1).map((r) => [r.orderId, r.status, r.cancelReason]), [[2n, "cancelled", "trigger-uncrossed"], [1n, "open", null]]);
    now = 2_000; // live at the expiry second
    assert.equal(h.order(1, 1n)?.status, "open");
    now = 2_001;
    const expired = { status: "cancelled", remainingLots: 0n, cancelReason: "expired" };
    const { signature: _s, ...fields } = plain;
    assert.deepEqual(h.order(1, 1n), { ...fields, filledLots: 0n, ...expired });
    assert.deepEqual(h.orders(1).map((r) => [r.orderId, r.status, r.cancelReason, r.remainingLots]), [[2n, "cancelled", "expired", 0n], [1n, "cancelled", "expired", 0n]]);
    assert.deepEqual(h.orders(1, { status: "open" }), [], "the status filter reads them at the clock too");
    assert.deepEqual(h.orders(1, { status: "cancelled", limit: 1 }).map((r) => r.orderId), [2n]);
    // the sweep's cancels leave the records as they read: its order messages carry that state
    const swept = h.record([
      { type: "cancelled", accountId: 1, orderId: 1n, marketId: 0, reason: CancelReason.EXPIRED, remainingLots: 4n },
      { type: "cancelled", accountId: 1, orderId: 2n, marketId: 0x8000, reason: CancelReason.EXPIRED, remainingLots: 4n },
    ]);
    assert.deepEqual(swept.orders, [h.order(1, 1n), h.order(1, 2n)]);
    assert.deepEqual(swept.orders.map((r) => [r.status, r.cancelReason, r.remainingLots]), [["cancelled", "expired", 0n], ["cancelled", "expired", 0n]]);

    // a record closed before its expiry (filled, cancelled, or triggered and then cancelled) keeps its own state
    now = 1_000;
    const third = o(3n, { marketId: 0x8000, triggerType: TriggerType.STOP, triggerPriceTicks: 95n });
    accepted(third);
    h.record([
      { type: "cancelled", accountId: 1, orderId: 3n, marketId: 0x8000, reason: CancelReason.TRIGGER_UNCROSSED, remainingLots: 4n },
      { type: "held", accountId: 1, orderId: 3n, marketId: 0x8000 },
    ]);
    h.record([{ type: "cancelled", accountId: 1, orderId: 3n, marketId: 0x8000, reason: CancelReason.USER, remainingLots: 4n }]);
    now = 2_001;
    assert.deepEqual([h.order(1, 3n)?.status, h.order(1, 3n)?.cancelReason], ["cancelled", "user"]);
  });
});
