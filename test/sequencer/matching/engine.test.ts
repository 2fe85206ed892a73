import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { OrderType, Side, TimeInForce } from "../../../sequencer/protocol/constants.ts";
import { MatchingEngine, MAX_FILLS_PER_ORDER } from "../../../sequencer/matching/engine.ts";
import type { RiskHook } from "../../../sequencer/matching/riskHook.ts";
import { CancelReason, RejectCode, SelfTradePolicy, type Command, type EngineEvent, type FillEvent } from "../../../sequencer/matching/types.ts";
import { FAR, MARKETS, T0, body, buy, kinds, place, registry, sell } from "../../../scripts/fixtures/matching/helpers.ts";
import { MarketRegistry } from "../../../sequencer/matching/markets.ts";
import { BookSide, RESTING_EXPIRY, RestingOrder } from "../../../sequencer/matching/bookSide.ts";
import { ExpiryIndex } from "../../../sequencer/matching/expiryIndex.ts";
import { SpotRisk } from "../../../sequencer/risk/spotRisk.ts";

function engine(selfTradePolicy?: SelfTradePolicy, risk?: RiskHook): MatchingEngine {
  return new MatchingEngine({ markets: registry(), selfTradePolicy, risk });
}

function fills(events: EngineEvent[]): FillEvent[] {
  return events.filter((e): e is FillEvent => e.type === "fill");
}

describe("matching engine: limit orders and priority", () => {
  it("rests a GTC order that does not cross and reports it in queries", () => {
    const e = engine();
    const ev = e.execute(place(buy(1, 1n, 100n, 5n)));
    assert.deepEqual(ev, [
      { type: "accepted", accountId: 1, orderId: 1n, marketId: 1, seq: 1 },
      { type: "done", seq: 1 },
    ]);
    e.execute(place(buy(1, 2n, 99n, 3n)));
    e.execute(place(buy(2, 1n, 100n, 2n)));
    e.execute(place(sell(3, 1n, 103n, 4n)));
    e.execute(place(sell(3, 2n, 102n, 1n)));
    assert.deepEqual(e.depth(1, 10), {
      bids: [{ priceTicks: 100n, lots: 7n, orders: 2 }, { priceTicks: 99n, lots: 3n, orders: 1 }],
      asks: [{ priceTicks: 102n, lots: 1n, orders: 1 }, { priceTicks: 103n, lots: 4n, orders: 1 }],
    });
    assert.deepEqual(e.depth(1, 1).bids, [{ priceTicks: 100n, lots: 7n, orders: 2 }]);
    assert.deepEqual(e.bestBid(1), { priceTicks: 100n, lots: 7n, orders: 2 });
    assert.deepEqual(e.bestAsk(1), { priceTicks: 102n, lots: 1n, orders: 1 });
    assert.equal(e.bestBid(2), undefined);
    assert.deepEqual(e.depth(2), { bids: [], asks: [] });
    assert.deepEqual(e.openOrders(1).map((o) => o.orderId), [1n, 2n]);
    assert.deepEqual(e.openOrders(1, 2), []);
    const v = e.order(1, 2n)!;
    assert.equal(v.seq, 2);
    assert.equal(v.remainingLots, 3n);
    assert.equal(v.filledLots, 0n);
    assert.equal(e.order(1, 99n), undefined);
  });

  it("fills at the maker's price, best price first, then oldest first", () => {
    const e = engine();
    e.execute(place(sell(1, 1n, 101n, 2n)));
    e.execute(place(sell(2, 1n, 100n, 2n)));
    e.execute(place(sell(3, 1n, 100n, 2n)));
    const ev = e.execute(place(buy(4, 1n, 105n, 5n)));
    assert.deepEqual(kinds(ev), ["accepted", "fill:2@100", "fill:2@100", "fill:1@101", "done"]);
    assert.deepEqual(fills(ev).map((f) => f.makerAccount), [2, 3, 1]);
    assert.deepEqual(fills(ev)[0], {
      type: "fill", makerAccount: 2, makerOrderId: 1n, takerAccount: 4, takerOrderId: 1n, marketId: 1,
      priceTicks: 100n, lots: 2n, makerSide: Side.SELL, makerFeePpm: 100, takerFeePpm: 300,
    });
    assert.deepEqual(e.order(1, 1n)?.remainingLots, 1n);
    assert.deepEqual(e.order(1, 1n)?.filledLots, 1n);
    assert.equal(e.order(4, 1n), undefined, "completely filled taker does not rest");
    assert.deepEqual(e.depth(1), { bids: [], asks: [{ priceTicks: 101n, lots: 1n, orders: 1 }] });
  });

  it("rests the remainder of a partially filled GTC taker at its own price", () => {
    const e = engine();
    e.execute(place(buy(1, 1n, 100n, 3n)));
    const ev = e.execute(place(sell(2, 1n, 99n, 5n)));
    assert.deepEqual(kinds(ev), ["accepted", "fill:3@100", "done"]);
    assert.equal(fills(ev)[0].makerSide, Side.BUY);
    const v = e.order(2, 1n)!;
    assert.equal(v.remainingLots, 2n);
    assert.equal(v.filledLots, 3n);
    assert.deepEqual(e.depth(1), { bids: [], asks: [{ priceTicks: 99n, lots: 2n, orders: 1 }] });
  });

  it("keeps a partially filled maker at the head of its level", () => {
    const e = engine();
    e.execute(place(sell(1, 1n, 100n, 5n)));
    e.execute(place(sell(2, 1n, 100n, 5n)));
    e.execute(place(buy(3, 1n, 100n, 2n)));
    const ev = e.execute(place(buy(3, 2n, 100n, 4n)));
    assert.deepEqual(fills(ev).map((f) => [f.makerAccount, f.lots]), [[1, 3n], [2, 1n]]);
  });

  it("refuses an order signed with maxFeePpm 0 (trading free), and any maximum below a fee its roles can be charged", () => {
    // market 1: maker 100 ppm, taker 300 ppm
    const e = engine();
    const refused = [
      sell(1, 1n, 100n, 5n, { maxFeePpm: 0 }), // GTC: taker on entry, maker once resting
      sell(1, 2n, 100n, 5n, { maxFeePpm: 299 }), // GTC below the taker fee
      sell(1, 3n, 100n, 5n, { maxFeePpm: 99, timeInForce: TimeInForce.POST_ONLY }), // maker only, below the maker fee
      buy(2, 1n, 100n, 5n, { maxFeePpm: 299, timeInForce: TimeInForce.IOC }), // taker only
      buy(2, 2n, 100n, 5n, { maxFeePpm: 299, timeInForce: TimeInForce.FOK }),
      buy(2, 3n, 100n, 5n, { maxFeePpm: 299, type: OrderType.MARKET, timeInForce: TimeInForce.GTC }), // a market order only takes
    ];
    for (const o of refused) assert.deepEqual(kinds(e.execute(place(o))), ["rejected:MAX_FEE_TOO_LOW", "done"], JSON.stringify(o, (_, v) => (typeof v === "bigint" ? String(v) : v)));
    assert.deepEqual(e.depth(1), { bids: [], asks: [] }, "nothing rests");
    assert.equal(e.isOrderIdUsed(1, 1n), false, "a refused order does not use its id");
    // exactly the fee of each role it can take is enough: post-only needs the maker fee only, IOC the taker fee only
    assert.deepEqual(kinds(e.execute(place(sell(1, 4n, 100n, 5n, { maxFeePpm: 100, timeInForce: TimeInForce.POST_ONLY })))), ["accepted", "done"]);
    assert.deepEqual(kinds(e.execute(place(sell(1, 5n, 101n, 5n, { maxFeePpm: 300 })))), ["accepted", "done"]);
    const ev = e.execute(place(buy(2, 4n, 101n, 10n, { maxFeePpm: 300, timeInForce: TimeInForce.IOC })));
    assert.deepEqual(fills(ev).map((f) => [f.makerFeePpm, f.takerFeePpm]), [[100, 300], [100, 300]], "every fill is charged the market's fees");
  });

  it("numbers every command, refused ones included", () => {
    const e = engine();
    assert.deepEqual(e.execute(place(buy(1, 1n, 0n, 0n))).at(-1), { type: "done", seq: 1 });
    assert.deepEqual(e.execute(place(buy(1, 1n, 10n, 1n)))[0], { type: "accepted", accountId: 1, orderId: 1n, marketId: 1, seq: 2 });
    assert.equal(e.nextSeq, 3);
    assert.equal(e.order(1, 1n)!.seq, 2);
  });

  it("appends to a caller-supplied event array", () => {
    const e = engine();
    const out: EngineEvent[] = [];
    e.execute(place(buy(1, 1n, 10n, 1n)), out);
    e.execute(place(sell(2, 1n, 10n, 1n)), out);
    assert.deepEqual(kinds(out), ["accepted", "done", "accepted", "fill:1@10", "done"]);
  });
});

describe("matching engine: time in force", () => {
  it("IOC fills what it can and cancels the rest", () => {
    const e = engine();
    e.execute(place(sell(1, 1n, 100n, 2n)));
    const ev = e.execute(place(buy(2, 1n, 100n, 5n, { timeInForce: TimeInForce.IOC })));
    assert.deepEqual(kinds(ev), ["accepted", "fill:2@100", "cancelled:ioc-remainder", "done"]);
    assert.deepEqual(ev[2], { type: "cancelled", accountId: 2, orderId: 1n, marketId: 1, reason: "ioc-remainder", remainingLots: 3n });
    assert.deepEqual(e.depth(1), { bids: [], asks: [] });
    const none = e.execute(place(buy(2, 2n, 100n, 5n, { timeInForce: TimeInForce.IOC })));
    assert.deepEqual(kinds(none), ["accepted", "cancelled:ioc-remainder", "done"]);
    assert.ok(e.isOrderIdUsed(2, 2n), "an accepted IOC uses its id even with no fill");
  });

  it("MARKET is IOC with the order's price as protection (GTC or IOC), FOK with protection when FOK", () => {
    const e = engine();
    e.execute(place(sell(1, 1n, 100n, 2n)));
    e.execute(place(sell(1, 2n, 110n, 2n)));
    const ev = e.execute(place(buy(2, 1n, 105n, 5n, { type: OrderType.MARKET, timeInForce: TimeInForce.GTC })));
    assert.deepEqual(kinds(ev), ["accepted", "fill:2@100", "cancelled:ioc-remainder", "done"]);
    const fok = e.execute(place(buy(2, 2n, 105n, 1n, { type: OrderType.MARKET, timeInForce: TimeInForce.FOK })));
    assert.deepEqual(kinds(fok), ["rejected:FOK_UNFILLABLE", "done"]);
    const fok2 = e.execute(place(buy(2, 3n, 110n, 2n, { type: OrderType.MARKET, timeInForce: TimeInForce.FOK })));
    assert.deepEqual(kinds(fok2), ["accepted", "fill:2@110", "done"]);
    const po = e.execute(place(buy(2, 4n, 110n, 2n, { type: OrderType.MARKET, timeInForce: TimeInForce.POST_ONLY })));
    assert.deepEqual(kinds(po), ["rejected:INVALID_TIME_IN_FORCE", "done"]);
  });

  it("FOK fills entirely across levels or is refused with no state change", () => {
    const e = engine();
    e.execute(place(sell(1, 1n, 100n, 2n)));
    e.execute(place(sell(2, 1n, 101n, 2n)));
    e.execute(place(sell(3, 1n, 102n, 2n, { expiry: T0 + 5 })));
    const before = e.snapshot();
    // 102 is expired at T0+10: only 4 lots available up to 102.
    const ev = e.execute(place(buy(4, 1n, 102n, 5n, { timeInForce: TimeInForce.FOK }), T0 + 10));
    assert.deepEqual(ev, [
      { type: "rejected", accountId: 4, orderId: 1n, code: RejectCode.FOK_UNFILLABLE },
      { type: "done", seq: 4 },
    ]);
    assert.deepEqual({ ...e.snapshot(), nextSeq: 0 }, { ...before, nextSeq: 0 }, "refused FOK changes nothing");
    assert.equal(e.isOrderIdUsed(4, 1n), false, "refused FOK does not use its id");
    const ok = e.execute(place(buy(4, 1n, 101n, 4n, { timeInForce: TimeInForce.FOK }), T0 + 10));
    assert.deepEqual(kinds(ok), ["accepted", "fill:2@100", "fill:2@101", "done"]);
  });

  it("an incoming order fills at most MAX_FILLS_PER_ORDER makers: with more of the book crossed its remainder is cancelled (fill-limit), a FOK needing more is refused; one whose last allowed fill ends the crossing book rests as usual", () => {
    const e = engine();
    const makers = MAX_FILLS_PER_ORDER + 6;
    for (let i = 1; i <= makers; i++) e.execute(place(sell(100 + i, 1n, 100n, 1n))); // one-lot makers, each its own account
    const fok = e.execute(place(buy(2, 1n, 100n, BigInt(MAX_FILLS_PER_ORDER + 1), { timeInForce: TimeInForce.FOK })));
    assert.deepEqual(kinds(fok), ["rejected:FOK_UNFILLABLE", "done"], "more fills than the cap: refused, though the book holds the lots");
    const sweep = e.execute(place(buy(2, 2n, 100n, 1_000n)));
    assert.equal(fills(sweep).length, MAX_FILLS_PER_ORDER);
    assert.deepEqual(sweep.at(-2), { type: "cancelled", accountId: 2, orderId: 2n, marketId: 1, reason: CancelReason.FILL_LIMIT, remainingLots: BigInt(1_000 - MAX_FILLS_PER_ORDER) });
    assert.equal(e.depth(1).asks[0]?.lots, 6n, "the makers past the cap keep resting");
    assert.deepEqual(e.depth(1).bids, [], "the remainder does not rest across the book");
    // past the cap, makers it would not fill (expired) are passed as usual: with nothing fillable left it rests
    const x = engine();
    for (let i = 1; i <= MAX_FILLS_PER_ORDER; i++) x.execute(place(sell(100 + i, 1n, 100n, 1n)));
    x.execute(place(sell(99, 1n, 101n, 1n, { expiry: T0 + 5 })));
    const passed = x.execute(place(buy(2, 1n, 101n, 100n), T0 + 10));
    assert.ok(kinds(passed).includes("cancelled:expired"), "the expired maker past the cap is removed");
    assert.ok(!kinds(passed).includes("cancelled:fill-limit"), kinds(passed).join(","));
    assert.equal(x.depth(1).bids[0]?.lots, BigInt(100 - MAX_FILLS_PER_ORDER), "its remainder rests");
    const rest = e.execute(place(buy(3, 1n, 100n, 10n)));
    assert.deepEqual(kinds(rest).slice(-2), ["fill:1@100", "done"], "6 fills, then its remainder rests");
    assert.equal(e.depth(1).bids[0]?.lots, 4n);
  });

  it("POST_ONLY rests when it would not trade and is refused when it would", () => {
    const e = engine();
    e.execute(place(sell(1, 1n, 100n, 2n)));
    const ok = e.execute(place(buy(2, 1n, 99n, 2n, { timeInForce: TimeInForce.POST_ONLY })));
    assert.deepEqual(kinds(ok), ["accepted", "done"]);
    const cross = e.execute(place(buy(2, 2n, 100n, 2n, { timeInForce: TimeInForce.POST_ONLY })));
    assert.deepEqual(kinds(cross), ["rejected:WOULD_CROSS", "done"]);
    const own = e.execute(place(buy(1, 2n, 100n, 2n, { timeInForce: TimeInForce.POST_ONLY })));
    assert.deepEqual(kinds(own), ["rejected:WOULD_CROSS", "done"], "crossing one's own order counts");
    // The resting post-only order is a maker when it trades.
    const ev = e.execute(place(sell(3, 1n, 99n, 1n)));
    assert.equal(fills(ev)[0].makerAccount, 2);
    assert.equal(fills(ev)[0].makerFeePpm, 100);
  });

  it("POST_ONLY is not blocked by expired orders, which it removes", () => {
    const e = engine();
    e.execute(place(sell(1, 1n, 100n, 2n, { expiry: T0 + 1 })));
    const ev = e.execute(place(buy(2, 1n, 100n, 2n, { timeInForce: TimeInForce.POST_ONLY }), T0 + 2));
    assert.deepEqual(kinds(ev), ["accepted", "cancelled:expired", "done"]);
    assert.deepEqual(e.depth(1), { bids: [{ priceTicks: 100n, lots: 2n, orders: 1 }], asks: [] });
  });
});

describe("matching engine: cancel", () => {
  it("cancels by (account, order id) and refuses unknown, filled or cancelled orders", () => {
    const e = engine();
    e.execute(place(buy(1, 7n, 100n, 5n)));
    e.execute(place(sell(2, 1n, 100n, 2n)));
    const ev = e.execute({ kind: "cancel", time: T0, accountId: 1, orderId: 7n });
    assert.deepEqual(body(ev), [{ type: "cancelled", accountId: 1, orderId: 7n, marketId: 1, reason: "user", remainingLots: 3n }]);
    assert.deepEqual(e.depth(1), { bids: [], asks: [] });
    for (const [a, id] of [[1, 7n], [2, 1n], [1, 8n], [3, 7n]] as const) {
      assert.deepEqual(body(e.execute({ kind: "cancel", time: T0, accountId: a, orderId: id })), [
        { type: "rejected", accountId: a, orderId: id, code: RejectCode.UNKNOWN_ORDER },
      ]);
    }
  });

  it("cancel-all cancels an account's orders oldest first, everywhere or in one market", () => {
    const e = engine();
    e.execute(place(buy(1, 1n, 100n, 1n)));
    e.execute(place(sell(1, 2n, 50n, 1n, { marketId: 2 })));
    e.execute(place(sell(1, 3n, 120n, 1n)));
    e.execute(place(buy(2, 1n, 90n, 1n)));
    const m2 = e.execute({ kind: "cancelAll", time: T0, accountId: 1, marketId: 2 });
    assert.deepEqual(body(m2).map((x) => x.type === "cancelled" && x.orderId), [2n]);
    const all = e.execute({ kind: "cancelAll", time: T0, accountId: 1 });
    assert.deepEqual(body(all).map((x) => x.type === "cancelled" && [x.orderId, x.reason]), [[1n, "user"], [3n, "user"]]);
    assert.deepEqual(e.openOrders(1), []);
    assert.equal(e.openOrders(2).length, 1);
    assert.deepEqual(body(e.execute({ kind: "cancelAll", time: T0, accountId: 1 })), []);
    assert.deepEqual(kinds(e.execute({ kind: "cancelAll", time: T0, accountId: 1, marketId: 9 })), ["rejected:UNKNOWN_MARKET", "done"]);
  });

  it("unplace takes an order with nothing filled out as if never accepted (the same order can be placed again); refuses a partly filled, unknown or malformed one, changing nothing", () => {
    const reserved: bigint[] = [];
    const risk: RiskHook = { reserve: (o) => (reserved.push(o.orderId), true), onFill: () => {}, release: (o) => void reserved.splice(reserved.indexOf(o.orderId), 1) };
    const e = engine(undefined, risk);
    const bid = buy(1, 7n, 100n, 5n);
    e.execute(place(bid));
    e.execute(place(buy(1, 8n, 99n, 5n)));
    const unplace = (accountId: number, orderId: bigint, reason: unknown = "trigger-uncrossed") =>
      e.execute({ kind: "unplace", time: T0, accountId, orderId, reason } as Command);
    assert.deepEqual(body(unplace(1, 7n)), [{ type: "cancelled", accountId: 1, orderId: 7n, marketId: 1, reason: "trigger-uncrossed", remainingLots: 5n }]);
    assert.deepEqual(reserved, [8n], "its reservation released");
    assert.deepEqual(kinds(e.execute(place(bid))), ["accepted", "done"], "the same order id is accepted again");
    // a partly filled order stays: PARTLY_FILLED; an unknown one: UNKNOWN_ORDER; a bad reason: MALFORMED
    e.execute(place(sell(2, 1n, 100n, 2n)));
    const before = JSON.stringify(e.snapshot(), (_k, v) => (typeof v === "bigint" ? String(v) : v));
    assert.deepEqual(kinds(unplace(1, 7n)), ["rejected:PARTLY_FILLED", "done"]);
    assert.deepEqual(kinds(unplace(1, 9n)), ["rejected:UNKNOWN_ORDER", "done"]);
    assert.deepEqual(kinds(unplace(1, 8n, "whenever")), ["rejected:MALFORMED", "done"]);
    assert.deepEqual(kinds(unplace(1, 8n, null)), ["rejected:MALFORMED", "done"]);
    const after = JSON.stringify(e.snapshot(), (_k, v) => (typeof v === "bigint" ? String(v) : v));
    assert.equal(after.replace(/"nextSeq":\d+/, ""), before.replace(/"nextSeq":\d+/, ""), "refusals change nothing but the sequence number");
    assert.equal(e.order(1, 7n)?.filledLots, 2n);
  });
});

describe("matching engine: self-trade prevention", () => {
  it("CANCEL_MAKER (default) cancels the taker's own resting orders and keeps matching", () => {
    const e = engine();
    assert.equal(e.selfTradePolicy, SelfTradePolicy.CANCEL_MAKER);
    e.execute(place(sell(2, 1n, 100n, 1n)));
    e.execute(place(sell(1, 1n, 100n, 3n)));
    e.execute(place(sell(3, 1n, 101n, 3n)));
    const ev = e.execute(place(buy(1, 2n, 101n, 3n)));
    assert.deepEqual(kinds(ev), ["accepted", "fill:1@100", "cancelled:self-trade", "fill:2@101", "done"]);
    assert.deepEqual(ev[2], { type: "cancelled", accountId: 1, orderId: 1n, marketId: 1, reason: "self-trade", remainingLots: 3n });
    assert.deepEqual(fills(ev).map((f) => f.makerAccount), [2, 3]);
  });

  it("CANCEL_TAKER cancels the taker's remainder; fills before stand and a GTC remainder does not rest", () => {
    const e = engine(SelfTradePolicy.CANCEL_TAKER);
    e.execute(place(sell(2, 1n, 100n, 1n)));
    e.execute(place(sell(1, 1n, 100n, 3n)));
    e.execute(place(sell(3, 1n, 101n, 3n)));
    const ev = e.execute(place(buy(1, 2n, 101n, 3n)));
    assert.deepEqual(kinds(ev), ["accepted", "fill:1@100", "cancelled:self-trade", "done"]);
    assert.deepEqual(ev[2], { type: "cancelled", accountId: 1, orderId: 2n, marketId: 1, reason: "self-trade", remainingLots: 2n });
    assert.equal(e.order(1, 1n)?.remainingLots, 3n, "the maker stays");
    assert.equal(e.order(1, 2n), undefined);
  });

  it("FOK counts around own orders under CANCEL_MAKER and stops at them under CANCEL_TAKER", () => {
    for (const [policy, expected] of [
      [SelfTradePolicy.CANCEL_MAKER, ["accepted", "cancelled:self-trade", "fill:2@101", "done"]],
      [SelfTradePolicy.CANCEL_TAKER, ["rejected:FOK_UNFILLABLE", "done"]],
    ] as const) {
      const e = engine(policy);
      e.execute(place(sell(1, 1n, 100n, 3n)));
      e.execute(place(sell(3, 1n, 101n, 3n)));
      assert.deepEqual(kinds(e.execute(place(buy(1, 2n, 101n, 2n, { timeInForce: TimeInForce.FOK })))), expected);
    }
  });

  it("never lets two orders of one account trade, and keeps the book uncrossed", () => {
    for (const policy of Object.values(SelfTradePolicy)) {
      const e = engine(policy);
      e.execute(place(buy(1, 1n, 100n, 2n)));
      e.execute(place(sell(1, 2n, 99n, 2n)));
      const bid = e.bestBid(1);
      const ask = e.bestAsk(1);
      assert.ok(!(bid && ask && bid.priceTicks >= ask.priceTicks));
    }
  });
});

describe("matching engine: expiry", () => {
  it("refuses orders expired on entry; expiry equal to the time is still valid", () => {
    const e = engine();
    assert.deepEqual(kinds(e.execute(place(buy(1, 1n, 100n, 1n, { expiry: T0 - 1 })))), ["rejected:EXPIRED", "done"]);
    assert.deepEqual(kinds(e.execute(place(buy(1, 1n, 100n, 1n, { expiry: T0 })))), ["accepted", "done"]);
  });

  it("removes expired makers met while matching and trades with the next", () => {
    const e = engine();
    e.execute(place(sell(1, 1n, 100n, 2n, { expiry: T0 + 10 })));
    e.execute(place(sell(2, 1n, 100n, 2n)));
    assert.equal(e.depth(1).asks[0].lots, 4n, "expired orders are not swept until met");
    const ev = e.execute(place(buy(3, 1n, 100n, 1n), T0 + 11));
    assert.deepEqual(kinds(ev), ["accepted", "cancelled:expired", "fill:1@100", "done"]);
    assert.deepEqual(ev[1], { type: "cancelled", accountId: 1, orderId: 1n, marketId: 1, reason: "expired", remainingLots: 2n });
    assert.equal(e.order(1, 1n), undefined);
  });

  /** Account 1 sells all its base of both markets with expiry T0+10, account 3 one lot expiring T0+8, account 2 bids until T0+20. */
  function expiring(): { e: MatchingEngine; risk: SpotRisk; markets: MarketRegistry } {
    const markets = registry();
    const risk = new SpotRisk();
    risk.credit(1, 1, 5n * MARKETS[0]!.sizeUnit);
    risk.credit(1, 2, 3n * MARKETS[1]!.sizeUnit);
    risk.credit(3, 2, 1n * MARKETS[1]!.sizeUnit);
    risk.credit(2, 0, 10_000n);
    const e = new MatchingEngine({ markets, risk });
    for (const o of [
      sell(1, 1n, 100n, 5n, { expiry: T0 + 10 }),
      sell(3, 1n, 50n, 1n, { marketId: 2, expiry: T0 + 8 }),
      sell(1, 2n, 60n, 3n, { marketId: 2, expiry: T0 + 10 }),
      buy(2, 1n, 90n, 1n, { expiry: T0 + 20 }),
    ]) assert.deepEqual(kinds(e.execute(place(o))), ["accepted", "done"]);
    return { e, risk, markets };
  }

  it("expire(time) takes every resting order with expiry < time out of the books, earliest expiry first, releasing its reservation", () => {
    const { e, risk } = expiring();
    // the funds stay reserved while the order rests: a new sell of account 1 is refused
    assert.deepEqual(kinds(e.execute(place(sell(1, 3n, 100n, 1n), T0 + 5))), ["rejected:RISK_REJECTED", "done"]);
    assert.equal(e.hasExpired(T0 + 8), false);
    assert.equal(e.hasExpired(T0 + 9), true);
    assert.deepEqual(e.expire(T0 + 8), [], "an order is live at its expiry second");
    // at T0+10 only account 3's order (expiry T0+8) has expired
    assert.deepEqual(e.expire(T0 + 10), [{ type: "cancelled", accountId: 3, orderId: 1n, marketId: 2, reason: "expired", remainingLots: 1n }]);
    assert.equal(risk.reserved(3, 2), 0n);
    // at T0+11 account 1's two orders (same expiry: the older first), not account 2's; no sequence number is taken
    const seq = e.nextSeq;
    assert.deepEqual(e.expire(T0 + 11), [
      { type: "cancelled", accountId: 1, orderId: 1n, marketId: 1, reason: "expired", remainingLots: 5n },
      { type: "cancelled", accountId: 1, orderId: 2n, marketId: 2, reason: "expired", remainingLots: 3n },
    ]);
    assert.equal(e.nextSeq, seq);
    assert.equal(e.hasExpired(T0 + 11), false);
    assert.deepEqual(e.expire(T0 + 11), []);
    assert.deepEqual(e.depth(1), { bids: [{ priceTicks: 90n, lots: 1n, orders: 1 }], asks: [] });
    assert.deepEqual(e.depth(2), { bids: [], asks: [] });
    assert.deepEqual(e.openOrders(1), []);
    assert.equal(e.order(1, 1n), undefined);
    assert.deepEqual(e.openOrders(2).map((o) => o.orderId), [1n]);
    assert.equal(risk.reserved(1, 1), 0n);
    assert.equal(risk.reserved(1, 2), 0n);
    // the released base backs a new order at once
    assert.deepEqual(kinds(e.execute(place(sell(1, 3n, 100n, 5n), T0 + 11))), ["accepted", "done"]);
    assert.ok(e.isOrderIdUsed(1, 1n), "an expired order's id stays used");
  });

  it("depth(market, levels, liveAt) leaves out the orders expired at liveAt that no sweep has removed yet", () => {
    const { e, risk } = expiring();
    risk.credit(3, 1, 2n * MARKETS[0]!.sizeUnit);
    assert.deepEqual(kinds(e.execute(place(sell(3, 2n, 100n, 2n, { expiry: T0 + 30 }), T0 + 1))), ["accepted", "done"]);
    assert.deepEqual(e.depth(1, 10, T0 + 10).asks, [{ priceTicks: 100n, lots: 7n, orders: 2 }]);
    assert.deepEqual(e.depth(1, 10, T0 + 11), { bids: [{ priceTicks: 90n, lots: 1n, orders: 1 }], asks: [{ priceTicks: 100n, lots: 2n, orders: 1 }] });
    assert.deepEqual(e.depth(2, 10, T0 + 11), { bids: [], asks: [] }, "a level of expired orders only is skipped");
    assert.deepEqual(e.depth(1).asks, [{ priceTicks: 100n, lots: 7n, orders: 2 }], "nothing changed");
  });

  it("sweeps the same after a snapshot and restore (the expiry index is rebuilt)", () => {
    const a = expiring();
    const b = { markets: MarketRegistry.fromJSON(a.markets.toJSON()), risk: SpotRisk.restore(JSON.parse(JSON.stringify(a.risk.snapshot()))) };
    const restored = MatchingEngine.restore(JSON.parse(JSON.stringify(a.e.snapshot())), b);
    const run = (e: MatchingEngine) => [
      e.expire(T0 + 9), e.execute(place(sell(1, 3n, 100n, 1n), T0 + 9)), e.expire(T0 + 11), e.execute(place(sell(1, 4n, 100n, 5n), T0 + 11)),
    ];
    const events = run(a.e);
    assert.deepEqual(kinds(events.flat()), ["cancelled:expired", "rejected:RISK_REJECTED", "done", "cancelled:expired", "cancelled:expired", "accepted", "done"]);
    assert.deepEqual(run(restored), events);
    assert.deepEqual(restored.snapshot(), a.e.snapshot());
    assert.deepEqual(b.risk.snapshot(), a.risk.snapshot());
  });
});

describe("expiry index", () => {
  it("drops the orders that left the book lazily and stays within about twice the live orders", () => {
    const side = new BookSide(Side.SELL);
    const index = new ExpiryIndex(RESTING_EXPIRY);
    const live: RestingOrder[] = [];
    for (let i = 1; i <= 20_000; i++) {
      const o = new RestingOrder(sell(1, BigInt(i), 100n, 1n, { expiry: FAR - (i % 7) }), i);
      side.add(o);
      index.add(o);
      if (i % 10 === 0) live.push(o);
      else side.remove(o);
    }
    assert.ok(index.size <= 2 * live.length + 1025, `${index.size} entries for ${live.length} live orders`);
    const out: number[] = [];
    for (let o = index.takeExpired(FAR + 1); o !== undefined; o = index.takeExpired(FAR + 1)) out.push(o.seq);
    const expected = [...live].sort((x, y) => x.expiry - y.expiry || x.seq - y.seq).map((o) => o.seq);
    assert.deepEqual(out, expected);
  });
});

describe("matching engine: rejections", () => {
  const cases: [string, Command, RejectCode][] = [
    ["zero size", place(buy(1, 1n, 100n, 0n)), RejectCode.ZERO_SIZE],
    ["negative size", place(buy(1, 1n, 100n, -1n)), RejectCode.SIZE_OUT_OF_RANGE],
    ["size 2^40", place(buy(1, 1n, 100n, 1n << 40n)), RejectCode.SIZE_OUT_OF_RANGE],
    ["price 2^40", place(buy(1, 1n, 1n << 40n, 1n)), RejectCode.PRICE_OUT_OF_RANGE],
    ["negative price", place(sell(1, 1n, -1n, 1n)), RejectCode.PRICE_OUT_OF_RANGE],
    ["limit price 0 (a free maker: trades for nothing, no fee)", place(sell(1, 1n, 0n, 1n)), RejectCode.PRICE_OUT_OF_RANGE],
    ["unknown market", place(buy(1, 1n, 100n, 1n, { marketId: 3 })), RejectCode.UNKNOWN_MARKET],
    ["expired", place(buy(1, 1n, 100n, 1n, { expiry: 5 })), RejectCode.EXPIRED],
    ["market post-only", place(buy(1, 1n, 100n, 1n, { type: OrderType.MARKET, timeInForce: TimeInForce.POST_ONLY })), RejectCode.INVALID_TIME_IN_FORCE],
    ["order id 2^40", place(buy(1, 1n << 40n, 100n, 1n)), RejectCode.MALFORMED],
    ["account 2^32", place(buy(2 ** 32, 1n, 100n, 1n)), RejectCode.MALFORMED],
    ["fractional account", place(buy(1.5, 1n, 100n, 1n)), RejectCode.MALFORMED],
    ["side 2", place({ ...buy(1, 1n, 100n, 1n), side: 2 as Side }), RejectCode.MALFORMED],
    ["type 2", place({ ...buy(1, 1n, 100n, 1n), type: 2 as OrderType }), RejectCode.MALFORMED],
    ["tif 4", place({ ...buy(1, 1n, 100n, 1n), timeInForce: 4 as TimeInForce }), RejectCode.MALFORMED],
    ["fee 2^16", place(buy(1, 1n, 100n, 1n, { maxFeePpm: 65536 })), RejectCode.MALFORMED],
    ["number price", place({ ...buy(1, 1n, 100n, 1n), priceTicks: 100 as unknown as bigint }), RejectCode.MALFORMED],
    ["number order id", place({ ...buy(1, 1n, 100n, 1n), orderId: 1 as unknown as bigint }), RejectCode.MALFORMED],
    ["expiry 2^32", place(buy(1, 1n, 100n, 1n, { expiry: 2 ** 32 })), RejectCode.MALFORMED],
    ["bad time", { kind: "place", time: -1, order: buy(1, 1n, 100n, 1n) }, RejectCode.MALFORMED],
    ["no order", { kind: "place", time: T0 } as unknown as Command, RejectCode.MALFORMED],
    ["unknown kind", { kind: "amend", time: T0 } as unknown as Command, RejectCode.MALFORMED],
    ["bad cancel", { kind: "cancel", time: T0, accountId: 1, orderId: -1n }, RejectCode.MALFORMED],
    ["bad cancel-all", { kind: "cancelAll", time: T0, accountId: -1 }, RejectCode.MALFORMED],
    ["unknown order", { kind: "cancel", time: T0, accountId: 1, orderId: 1n }, RejectCode.UNKNOWN_ORDER],
  ];
  for (const [name, cmd, code] of cases) {
    it(`${name} -> ${code}, nothing changes`, () => {
      const e = engine();
      e.execute(place(sell(9, 1n, 200n, 1n)));
      const before = e.snapshot();
      const ev = e.execute(cmd);
      assert.equal(ev.length, 2);
      assert.equal(ev[0].type, "rejected");
      assert.equal(ev[0].type === "rejected" && ev[0].code, code);
      assert.deepEqual(ev[1], { type: "done", seq: 2 });
      assert.deepEqual(e.snapshot().orders, before.orders);
      assert.deepEqual(e.snapshot().usedOrderIds, before.usedOrderIds);
    });
  }

  it("a market order's protection price may be 0: a sell at any price fills against the best bid", () => {
    const e = engine();
    e.execute(place(buy(9, 1n, 200n, 1n)));
    assert.deepEqual(kinds(e.execute(place(sell(1, 1n, 0n, 1n, { type: OrderType.MARKET, timeInForce: TimeInForce.IOC })))), ["accepted", "fill:1@200", "done"]);
  });

  it("echoes well-typed ids in rejections and null otherwise", () => {
    const e = engine();
    assert.deepEqual(e.execute(place(buy(1, 4n, 100n, 0n)))[0], { type: "rejected", accountId: 1, orderId: 4n, code: RejectCode.ZERO_SIZE });
    assert.deepEqual(e.execute(place({ ...buy(1, 1n, 100n, 1n), accountId: "x" as unknown as number, orderId: 3 as unknown as bigint }))[0], {
      type: "rejected", accountId: null, orderId: null, code: RejectCode.MALFORMED,
    });
  });

  it("never throws on garbage", () => {
    const e = engine();
    for (const junk of [null, undefined, 0, "place", [], {}, { kind: "place" }, { kind: "place", time: T0, order: null }, { kind: "cancel", time: T0 }, { kind: "cancelAll", time: T0, accountId: 1, marketId: "1" }]) {
      const ev = e.execute(junk as unknown as Command);
      assert.equal(ev[0].type, "rejected");
      assert.equal(ev.at(-1)!.type, "done");
    }
  });

  it("refuses a reused order id, live, filled or cancelled, but not one that was refused", () => {
    const e = engine();
    e.execute(place(buy(1, 1n, 100n, 1n)));
    assert.deepEqual(kinds(e.execute(place(buy(1, 1n, 90n, 1n)))), ["rejected:DUPLICATE_ORDER_ID", "done"]);
    assert.deepEqual(kinds(e.execute(place(sell(1, 1n, 90n, 1n, { marketId: 2 })))), ["rejected:DUPLICATE_ORDER_ID", "done"], "ids are per account, across markets");
    e.execute(place(sell(2, 1n, 100n, 1n)));
    assert.deepEqual(kinds(e.execute(place(buy(1, 1n, 100n, 1n)))), ["rejected:DUPLICATE_ORDER_ID", "done"], "after fill");
    e.execute(place(buy(3, 1n, 100n, 1n)));
    e.execute({ kind: "cancel", time: T0, accountId: 3, orderId: 1n });
    assert.deepEqual(kinds(e.execute(place(buy(3, 1n, 100n, 1n)))), ["rejected:DUPLICATE_ORDER_ID", "done"], "after cancel");
    e.execute(place(buy(4, 1n, 100n, 0n)));
    assert.deepEqual(kinds(e.execute(place(buy(4, 1n, 100n, 1n)))), ["accepted", "done"], "a refused order leaves its id unused");
    assert.deepEqual(kinds(e.execute(place(buy(5, 1n, 100n, 1n)))), ["accepted", "done"], "other accounts may use the same id");
  });

  it("with order storage slots, keeps one id per used slot: ids at or below a slot's latest are used, memory stays bounded, unplace frees only its own id", () => {
    const e = new MatchingEngine({ markets: registry(), orderIdSlots: 4n });
    // 2,000 IOC orders that never fill (nothing rests against them): each accepted, then cancelled.
    for (let id = 1n; id <= 2_000n; id++) {
      assert.deepEqual(kinds(e.execute(place(buy(1, id, 1n, 1n, { timeInForce: TimeInForce.IOC })))).slice(0, 2), ["accepted", "cancelled:ioc-remainder"]);
    }
    assert.deepEqual(e.snapshot().usedOrderIds, [[1, ["1997", "1998", "1999", "2000"]]], "one id per slot, not 2,000");
    // Below a slot's latest id, used or not, is used (the circuit's order storage refuses it too); above is free.
    assert.equal(e.isOrderIdUsed(1, 1_000n), true);
    assert.equal(e.isOrderIdUsed(1, 2_001n), false);
    assert.deepEqual(kinds(e.execute(place(buy(1, 1_996n, 100n, 1n)))), ["rejected:DUPLICATE_ORDER_ID", "done"]);
    // Unplace gives back exactly the order's id: its slot returns one cycle down, everything below stays used.
    e.execute(place(buy(1, 2_004n, 100n, 1n)));
    e.execute({ kind: "unplace", time: T0, accountId: 1, orderId: 2_004n, reason: CancelReason.TRIGGER_UNCROSSED });
    assert.equal(e.isOrderIdUsed(1, 2_004n), false);
    assert.equal(e.isOrderIdUsed(1, 2_000n), true);
    assert.deepEqual(kinds(e.execute(place(buy(1, 2_004n, 100n, 1n)))), ["accepted", "done"], "the unplaced order is placed again");
    // A snapshot restores the same rule.
    const restored = MatchingEngine.restore(e.snapshot(), { markets: registry(), orderIdSlots: 4n });
    assert.equal(restored.isOrderIdUsed(1, 2_000n), true);
    assert.equal(restored.isOrderIdUsed(1, 1_999n), true);
    assert.equal(restored.isOrderIdUsed(1, 2_005n), false);
  });

  it("accepts the extreme in-range values", () => {
    const e = engine();
    const max = (1n << 40n) - 1n;
    assert.deepEqual(kinds(e.execute(place(buy(2 ** 32 - 1, max, max, max, { maxFeePpm: 65535, expiry: FAR })))), ["accepted", "done"]);
    assert.deepEqual(kinds(e.execute(place(sell(1, 0n, 1n, 1n, { maxFeePpm: 300 })))), ["accepted", "fill:1@1099511627775", "done"]); // a limit order's lowest price: 1 tick
  });

  it("RISK_REJECTED when the risk hook refuses; the hook sees reserve, fills, then exactly one release", () => {
    const calls: string[] = [];
    const risk: RiskHook = {
      reserve: (o) => {
        calls.push(`reserve ${o.accountId}/${o.orderId}`);
        return o.accountId !== 66;
      },
      onFill: (f, maker, taker) => calls.push(`fill ${maker.accountId}/${maker.orderId} ${taker.accountId}/${taker.orderId} ${f.lots} maker:${maker.remainingLots} taker:${taker.remainingLots}`),
      release: (o, remaining) => calls.push(`release ${o.accountId}/${o.orderId} ${remaining}`),
    };
    const e = engine(undefined, risk);
    assert.deepEqual(kinds(e.execute(place(buy(66, 1n, 100n, 1n)))), ["rejected:RISK_REJECTED", "done"]);
    assert.equal(e.isOrderIdUsed(66, 1n), false);
    e.execute(place(sell(1, 1n, 100n, 2n)));
    e.execute(place(sell(2, 1n, 101n, 2n)));
    e.execute(place(buy(3, 1n, 101n, 3n)));
    e.execute(place(buy(4, 1n, 101n, 5n, { timeInForce: TimeInForce.IOC })));
    assert.deepEqual(calls, [
      "reserve 66/1",
      "reserve 1/1",
      "reserve 2/1",
      "reserve 3/1",
      "fill 1/1 3/1 2 maker:0 taker:1",
      "release 1/1 0",
      "fill 2/1 3/1 1 maker:1 taker:0",
      "release 3/1 0",
      "reserve 4/1",
      "fill 2/1 4/1 1 maker:0 taker:4",
      "release 2/1 0",
      "release 4/1 4",
    ]);
  });
});

describe("matching engine: position slots (RiskHook.canFill)", () => {
  /**
   * A fake derivatives hook: each market is an instrument; an account may fill in a market it holds, or while it holds
   * fewer than `slots` (positions never close here). `held` is updated by onFill, so canFill sees the accepted fills.
   */
  function slotsRisk(slots: number, held: Record<number, number[]> = {}) {
    const positions = new Map<number, Set<number>>(Object.entries(held).map(([a, ms]) => [Number(a), new Set(ms)]));
    const of = (a: number) => positions.get(a) ?? positions.set(a, new Set()).get(a)!;
    const asked: string[] = [];
    const risk: RiskHook = {
      reserve: () => true,
      onFill: (f) => {
        of(f.makerAccount).add(f.marketId);
        of(f.takerAccount).add(f.marketId);
      },
      release: () => {},
      canFill: (o) => {
        asked.push(`${o.accountId}/${o.orderId}`);
        return of(o.accountId).has(o.marketId) || of(o.accountId).size < slots;
      },
    };
    return { risk, of, asked };
  }

  it("cancels a resting maker whose account holds K instruments, not its own (position-slots), and fills the taker from the next maker", () => {
    const { risk } = slotsRisk(1, { 5: [2] }); // account 5 holds market 2: its one slot
    const e = engine(undefined, risk);
    assert.deepEqual(kinds(e.execute(place(sell(5, 1n, 100n, 3n)))), ["accepted", "done"], "it may rest on market 1: an order takes no slot");
    e.execute(place(sell(6, 1n, 101n, 4n)));
    const ev = e.execute(place(buy(7, 1n, 101n, 3n)));
    assert.deepEqual(kinds(ev), ["accepted", "cancelled:position-slots", "fill:3@101", "done"]);
    assert.deepEqual(ev[1], { type: "cancelled", accountId: 5, orderId: 1n, marketId: 1, reason: CancelReason.POSITION_SLOTS, remainingLots: 3n });
    assert.deepEqual(fills(ev).map((f) => f.makerAccount), [6]);
    assert.equal(e.order(5, 1n), undefined, "out of the book");
    assert.equal(e.order(6, 1n)?.remainingLots, 1n);
  });

  it("fills a maker whose account holds K instruments when it holds the order's instrument", () => {
    const { risk } = slotsRisk(1, { 5: [1] });
    const e = engine(undefined, risk);
    e.execute(place(sell(5, 1n, 100n, 3n)));
    assert.deepEqual(kinds(e.execute(place(buy(7, 1n, 100n, 2n)))), ["accepted", "fill:2@100", "done"]);
    assert.equal(e.order(5, 1n)?.remainingLots, 1n, "still resting");
  });

  it("cancels the remainder of a taker whose account holds K instruments, not its own, after no fill (position-slots); the maker stays", () => {
    const { risk } = slotsRisk(1, { 7: [2] });
    const e = engine(undefined, risk);
    e.execute(place(sell(6, 1n, 100n, 4n)));
    const ev = e.execute(place(buy(7, 1n, 100n, 3n)));
    assert.deepEqual(kinds(ev), ["accepted", "cancelled:position-slots", "done"]);
    assert.deepEqual(ev[1], { type: "cancelled", accountId: 7, orderId: 1n, marketId: 1, reason: CancelReason.POSITION_SLOTS, remainingLots: 3n });
    assert.equal(e.order(6, 1n)?.remainingLots, 4n);
    assert.equal(e.order(7, 1n), undefined, "a GTC remainder does not rest");
    // with nothing crossed, it rests: judged when it fills
    assert.deepEqual(kinds(e.execute(place(buy(7, 2n, 99n, 3n)))), ["accepted", "done"]);
  });

  it("asks with the fills already accepted: a maker's first fill takes its last slot, its order on another instrument then goes", () => {
    const { risk, of, asked } = slotsRisk(2, { 5: [2] }); // account 5: one slot left
    const e = new MatchingEngine({ markets: new MarketRegistry([...MARKETS, { ...MARKETS[0], marketId: 3 }]), risk });
    e.execute(place(sell(5, 1n, 100n, 3n)));
    e.execute(place(sell(5, 2n, 100n, 3n, { marketId: 3 })));
    assert.deepEqual(kinds(e.execute(place(buy(7, 1n, 100n, 3n)))), ["accepted", "fill:3@100", "done"]);
    assert.deepEqual([...of(5)].sort(), [1, 2], "its two slots: markets 1 and 2");
    assert.deepEqual(asked.splice(0), ["5/1", "7/1"], "maker and taker asked before the fill");
    const ev = e.execute(place(buy(8, 1n, 100n, 3n, { marketId: 3 })));
    assert.deepEqual(kinds(ev), ["accepted", "cancelled:position-slots", "done"]);
    assert.equal(e.order(8, 1n)?.remainingLots, 3n, "the taker rests");
  });

  it("FOK counts a maker that may not fill as nothing: refused with no state change when only it would complete the order", () => {
    const { risk } = slotsRisk(1, { 5: [2] });
    const e = engine(undefined, risk);
    e.execute(place(sell(5, 1n, 100n, 3n)));
    e.execute(place(sell(6, 1n, 101n, 2n)));
    assert.deepEqual(kinds(e.execute(place(buy(7, 1n, 101n, 4n, { timeInForce: TimeInForce.FOK })))), ["rejected:FOK_UNFILLABLE", "done"]);
    assert.equal(e.order(5, 1n)?.remainingLots, 3n, "nothing changed");
    assert.deepEqual(kinds(e.execute(place(buy(7, 2n, 101n, 2n, { timeInForce: TimeInForce.FOK })))), ["accepted", "cancelled:position-slots", "fill:2@101", "done"]);
  });

  it("rests a post-only order that crosses only makers that may not fill, cancelling them (position-slots) so the book is not crossed; refuses one that also crosses a maker that would fill, changing nothing (review finding 3 of stop 54)", () => {
    const { risk } = slotsRisk(1, { 5: [2] }); // account 5 holds market 2: no slot for market 1
    const e = engine(undefined, risk);
    e.execute(place(sell(5, 1n, 100n, 3n)));
    e.execute(place(sell(6, 1n, 102n, 2n)));
    // crosses account 5's ask (slotless) and account 6's (would fill): refused, both stay
    assert.deepEqual(kinds(e.execute(place(buy(7, 1n, 102n, 1n, { timeInForce: TimeInForce.POST_ONLY })))), ["rejected:WOULD_CROSS", "done"]);
    assert.equal(e.order(5, 1n)?.remainingLots, 3n, "nothing changed");
    assert.equal(e.order(7, 1n), undefined);
    // crosses account 5's ask only: it was refused WOULD_CROSS before, though no taker could ever fill that ask
    const ev = e.execute(place(buy(7, 2n, 101n, 1n, { timeInForce: TimeInForce.POST_ONLY })));
    assert.deepEqual(kinds(ev), ["accepted", "cancelled:position-slots", "done"]);
    assert.deepEqual(ev[1], { type: "cancelled", accountId: 5, orderId: 1n, marketId: 1, reason: CancelReason.POSITION_SLOTS, remainingLots: 3n });
    assert.equal(e.order(7, 2n)?.remainingLots, 1n, "it rests");
    assert.deepEqual(e.depth(1, 5), { bids: [{ priceTicks: 101n, lots: 1n, orders: 1 }], asks: [{ priceTicks: 102n, lots: 2n, orders: 1 }] }, "not crossed");
  });

  it("refuses a post-only order crossing its own account's order even when that order may not fill (self-trade prevention would act on it)", () => {
    const { risk } = slotsRisk(1, { 5: [2] });
    const e = engine(undefined, risk);
    e.execute(place(sell(5, 1n, 100n, 3n)));
    assert.deepEqual(kinds(e.execute(place(buy(5, 2n, 100n, 1n, { timeInForce: TimeInForce.POST_ONLY })))), ["rejected:WOULD_CROSS", "done"]);
    assert.equal(e.order(5, 1n)?.remainingLots, 3n);
  });

  it("takes position-slots as a command's cancel reason (cancel-all, unplace), as every CancelReason", () => {
    const e = engine();
    e.execute(place(sell(5, 1n, 100n, 3n)));
    assert.deepEqual(kinds(e.execute({ kind: "cancelAll", time: T0, accountId: 5, reason: CancelReason.POSITION_SLOTS })), ["cancelled:position-slots", "done"]);
  });
});
