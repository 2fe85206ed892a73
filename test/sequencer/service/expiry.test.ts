/**
 * Resting orders leave the book at their expiry (MatchingEngine.expire, swept by ExchangeCore.apply at each record's
 * time): a good-till-time order whose expiry passed no longer shows in the book or the account's open orders, and
 * what it reserved backs the trader's next order, without anyone trading against it or cancelling it. The sweep is on
 * the log (an `expire` record ahead of the record that caused it, even a refused one), so a restart rebuilds the same
 * books and reservations. Held stop and take-profit orders past their expiry leave the trigger book at the same sweep
 * (not at the next oracle update), their storage slot free for the record that swept them.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { INSTRUMENT_MARKET_BASE, Side, TriggerType } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { SqliteStore } from "../../../sequencer/persistence/sqliteStore.ts";
import { derivOrder, NOW, traders } from "../../helpers/derivatives.ts";
import { derivativesSequencer, fundCollateral, openDerivativesSequencer } from "../../helpers/derivativesSequencer.ts";
import { signWithdrawal } from "../../../sequencer/protocol/signing.ts";
import { RequestRejected } from "../../../sequencer/service/sequencer.ts";
import type { EngineEvent } from "../../../sequencer/matching/types.ts";
import { bob, durableSequencer, removeDurableSequencers } from "../../helpers/sequencer.ts";
import { order } from "../../helpers/traders.ts";

afterEach(removeDurableSequencers);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("expired resting orders", () => {
  it("leave the book, the open orders and their reservation at expiry; the sweep is logged, so a restart rebuilds the same books", () => {
    let now = 1_700_000_000;
    const d = durableSequencer({ clock: () => now, snapshotEvery: 0 });
    const s = d.sequencer;
    const swept: EngineEvent[] = [];
    s.events.on("engine", (events) => swept.push(...events.filter((e) => e.type === "cancelled")));
    const expiry = now + 10;
    // bob offers all his base (1,000,000 units: 1,000 lots) until `expiry`
    const gtt = order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 100n, sizeLots: 1000n, expiry });
    assert.deepEqual(s.placeOrder(gtt).map((e) => e.type), ["accepted", "done"]);
    now += 5;
    assert.deepEqual(s.placeOrder(order(bob, { orderId: 2n, side: Side.SELL, sizeLots: 1n })).map((e) => e.type === "rejected" ? e.code : e.type), ["RISK_REJECTED", "done"]);
    assert.deepEqual(s.query.book(0, 10).asks, [{ priceTicks: 100n, lots: 1000n, orders: 1 }]);

    // past its expiry, before any record: the reads leave it out (and change nothing)
    now = expiry + 1;
    assert.deepEqual(s.query.book(0, 10), { bids: [], asks: [] });
    assert.deepEqual(s.query.openOrders(bob.accountId), []);
    assert.equal(s.engine.order(bob.accountId, 1n)?.remainingLots, 1000n, "still resting: no record has moved the core's time");
    assert.deepEqual(swept, []);

    // a refused request (bad nonce) still sweeps it, and the sweep is logged on its own
    const seq = d.store.lastSeq;
    assert.throws(() => s.requestWithdrawal(signWithdrawal(bob.key, { accountId: bob.accountId, tokenId: 1, amount: 1n, nonce: 9 })), (e: unknown) => e instanceof RequestRejected && e.code === "BAD_NONCE");
    assert.deepEqual(swept, [{ type: "cancelled", accountId: bob.accountId, orderId: 1n, marketId: 0, reason: "expired", remainingLots: 1000n }]);
    assert.equal(s.engine.order(bob.accountId, 1n), undefined);
    assert.equal(d.store.lastSeq, seq + 1, "one expire record");
    assert.deepEqual(s.query.balances(bob.accountId).find((b) => b.tokenId === 1), { tokenId: 1, balance: 1_000_000n, reserved: 0n, available: 1_000_000n });
    // a restart (the refused request was not logged) replays the sweep all the same
    const afterSweep = s.snapshot();
    const s2 = d.reopen({ clock: () => now });
    assert.deepEqual(s2.snapshot(), afterSweep, "the log replays the sweep");

    // the released base backs a new order of the same size
    const next = order(bob, { orderId: 3n, side: Side.SELL, priceTicks: 101n, sizeLots: 1000n });
    assert.deepEqual(s2.placeOrder(next).map((e) => e.type), ["accepted", "done"]);
    assert.deepEqual(s2.query.book(0, 10).asks, [{ priceTicks: 101n, lots: 1000n, orders: 1 }]);
    assert.deepEqual(s2.query.openOrders(bob.accountId).map((o) => [o.orderId, o.status]), [[3n, "open"]]);
    const recovered = d.reopen({ clock: () => now });
    assert.deepEqual(recovered.snapshot(), s2.snapshot());
    assert.deepEqual(recovered.query.book(0, 10), s2.query.book(0, 10));
  });

  it("sweeps at the record that first passes the expiry, ahead of that record's own effect", () => {
    let now = 1_700_000_000;
    const d = durableSequencer({ clock: () => now, snapshotEvery: 0 });
    const s = d.sequencer;
    const expiry = now + 10;
    s.placeOrder(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 100n, sizeLots: 1000n, expiry }));
    now = expiry; // live at its expiry second
    assert.deepEqual(s.placeOrder(order(bob, { orderId: 2n, side: Side.SELL, sizeLots: 1n })).map((e) => e.type === "rejected" ? e.code : e.type), ["RISK_REJECTED", "done"]);
    assert.equal(s.query.openOrders(bob.accountId).length, 1);
    now = expiry + 1;
    const events: (readonly EngineEvent[])[] = [];
    s.events.on("engine", (e) => events.push(e));
    const placed = s.placeOrder(order(bob, { orderId: 3n, side: Side.SELL, priceTicks: 101n, sizeLots: 1000n }));
    assert.deepEqual(placed.map((e) => e.type), ["accepted", "done"], "the order's own events: the sweep is told apart");
    assert.deepEqual(events.map((list) => list.map((e) => e.type === "cancelled" ? `cancelled:${e.reason}:${e.orderId}` : e.type)), [["cancelled:expired:1"], ["accepted", "done"]]);
    const snap = s.snapshot();
    assert.deepEqual(d.reopen({ clock: () => now }).snapshot(), snap);
  });

  it("a held stop order past its expiry leaves the trigger book at the next record, not the next oracle update: its storage slot is free for that record; logged and replayed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "held-expiry-"));
    dirs.push(dir);
    const path = join(dir, "sequencer.db");
    const store = new SqliteStore(path);
    const { seq, chain } = derivativesSequencer(NOW, { store, snapshotEvery: 0 });
    const { alice } = traders;
    await fundCollateral(seq, [alice]); // the latest oracle update is at NOW - 5
    const swept: EngineEvent[] = [];
    seq.events.on("engine", (events) => swept.push(...events.filter((e) => e.type === "cancelled")));
    // alice's stop buy at 3,100 (the mark is 3,000: held) until NOW + 10
    const stop = derivOrder(alice, 0, { orderId: 1n, side: Side.BUY, priceTicks: 320_000n, sizeLots: 5n, triggerType: TriggerType.STOP, triggerPriceTicks: 310_000n, expiry: NOW + 10 });
    assert.deepEqual(seq.placeOrder(stop).map((e) => e.type), ["held"]);
    // an order in the same storage slot, with a higher id
    const sameSlot = derivOrder(alice, 0, { orderId: 1n + BigInt(4 ** TEST_PARAMS.orderLevels), side: Side.BUY, priceTicks: 290_000n, sizeLots: 5n });
    chain.now = NOW + 10; // still held at its expiry second: the slot is busy
    assert.throws(() => seq.placeOrder(sameSlot), (e: unknown) => e instanceof RequestRejected && e.code === "ORDER_SLOT_BUSY");
    assert.deepEqual(seq.query.openOrders(alice.accountId).map((o) => [o.orderId, o.status]), [[1n, "held"]]);

    // past its expiry, no oracle update since: the reads leave it out, and the next record sweeps it first
    chain.now = NOW + 11;
    assert.deepEqual(seq.query.openOrders(alice.accountId), []);
    assert.equal(seq.query.heldOrder(alice.accountId, 1n), undefined);
    assert.equal(seq.heldOrders().length, 1, "still held: no record has moved the core's time");
    const before = store.lastSeq;
    assert.deepEqual(seq.placeOrder(sameSlot).map((e) => e.type), ["accepted", "done"], "the slot the expired stop held is free");
    assert.deepEqual(swept, [{ type: "cancelled", accountId: alice.accountId, orderId: 1n, marketId: INSTRUMENT_MARKET_BASE, reason: "expired", remainingLots: 5n }]);
    assert.deepEqual(seq.heldOrders(), []);
    assert.deepEqual([...store.records(before)].map((r) => r.record.t), ["expire", "order"], "the sweep logged on its own, ahead of the order");

    // a restart from the log replays the sweep (the order finds the slot free again)
    const snap = seq.snapshot();
    assert.deepEqual(openDerivativesSequencer(chain, { store: new SqliteStore(path), snapshotEvery: 0 }).snapshot(), snap);
  });
});
