import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MatchingEngine } from "../../../sequencer/matching/engine.ts";
import { MarketRegistry } from "../../../sequencer/matching/markets.ts";
import { SelfTradePolicy, type EngineEvent } from "../../../sequencer/matching/types.ts";
import type { EngineSnapshot } from "../../../sequencer/matching/snapshot.ts";
import { FAR, MARKETS, T0, buy, place, registry, sell } from "../../../scripts/fixtures/matching/helpers.ts";
import { DEFAULT_FLOW, randomFlow } from "../../../scripts/fixtures/matching/randomFlow.ts";

function roundTrip(s: EngineSnapshot): EngineSnapshot {
  return JSON.parse(JSON.stringify(s)) as EngineSnapshot;
}

describe("engine snapshot / restore", () => {
  it("is plain JSON (bigints as strings) and describes the book", () => {
    const e = new MatchingEngine({ markets: registry(), selfTradePolicy: SelfTradePolicy.CANCEL_TAKER });
    e.execute(place(buy(1, 5n, 100n, 4n)));
    e.execute(place(sell(2, 9n, 100n, 1n)));
    e.execute(place(sell(3, 1n, 120n, 2n, { marketId: 2, expiry: T0 + 5 })));
    const s = e.snapshot();
    assert.deepEqual(roundTrip(s), s);
    assert.deepEqual(s, {
      version: 1,
      nextSeq: 4,
      selfTradePolicy: "cancel-taker",
      orders: [
        { accountId: 1, orderId: "5", marketId: 1, side: 0, type: 0, timeInForce: 0, priceTicks: "100", sizeLots: "4", maxFeePpm: 10000, expiry: FAR, seq: 1, filledLots: "1" },
        { accountId: 3, orderId: "1", marketId: 2, side: 1, type: 0, timeInForce: 0, priceTicks: "120", sizeLots: "2", maxFeePpm: 10000, expiry: T0 + 5, seq: 3, filledLots: "0" },
      ],
      usedOrderIds: [[1, ["5"]], [2, ["9"]], [3, ["1"]]],
    });
  });

  it("restores an identical engine: same snapshot, same queries, same events for the rest of the log", () => {
    const markets = registry();
    const a = new MatchingEngine({ markets });
    const flow = randomFlow({ seed: 5, ...DEFAULT_FLOW, cancelPct: 5 });
    for (let i = 0; i < 1500; i++) a.execute(flow.next());
    const b = MatchingEngine.restore(roundTrip(a.snapshot()), { markets: MarketRegistry.fromJSON(markets.toJSON()) });
    assert.deepEqual(b.snapshot(), a.snapshot());
    assert.equal(b.nextSeq, a.nextSeq);
    for (const m of [1, 2]) assert.deepEqual(b.depth(m, 100), a.depth(m, 100));
    for (let acc = 1; acc <= DEFAULT_FLOW.accounts; acc++) assert.deepEqual(b.openOrders(acc), a.openOrders(acc));
    const ea: EngineEvent[] = [];
    const eb: EngineEvent[] = [];
    for (let i = 0; i < 1500; i++) {
      const cmd = flow.next();
      a.execute(cmd, ea);
      b.execute(cmd, eb);
    }
    assert.deepEqual(eb, ea);
    assert.deepEqual(b.snapshot(), a.snapshot());
  });

  it("keeps used order ids and the self-trade policy", () => {
    const e = new MatchingEngine({ markets: registry(), selfTradePolicy: SelfTradePolicy.CANCEL_TAKER });
    e.execute(place(buy(1, 1n, 100n, 1n)));
    e.execute({ kind: "cancel", time: T0, accountId: 1, orderId: 1n });
    const r = MatchingEngine.restore(e.snapshot(), { markets: registry() });
    assert.equal(r.selfTradePolicy, SelfTradePolicy.CANCEL_TAKER);
    assert.equal(r.execute(place(buy(1, 1n, 100n, 1n)))[0].type, "rejected");
  });

  it("refuses corrupt snapshots", () => {
    const e = new MatchingEngine({ markets: registry() });
    e.execute(place(buy(1, 1n, 100n, 3n)));
    e.execute(place(buy(1, 2n, 100n, 3n)));
    const good = e.snapshot();
    const bad: [string, (s: EngineSnapshot) => void][] = [
      ["version", (s) => ((s as { version: number }).version = 2)],
      ["policy", (s) => ((s as { selfTradePolicy: string }).selfTradePolicy = "x")],
      ["seq order", (s) => s.orders.reverse()],
      ["seq beyond nextSeq", (s) => (s.nextSeq = 2)],
      ["filled >= size", (s) => (s.orders[0].filledLots = "3")],
      ["price range", (s) => (s.orders[0].priceTicks = String(1n << 40n))],
      ["unknown market", (s) => (s.orders[0].marketId = 7)],
      ["id not used", (s) => (s.usedOrderIds = [])],
      ["duplicate order", (s) => (s.orders[1].orderId = "1")],
    ];
    for (const [name, corrupt] of bad) {
      const s = roundTrip(good);
      corrupt(s);
      assert.throws(() => MatchingEngine.restore(s, { markets: registry() }), Error, name);
    }
  });
});

describe("market registry", () => {
  it("round-trips through JSON and refuses invalid markets", () => {
    const r = registry();
    assert.deepEqual(MarketRegistry.fromJSON(JSON.parse(JSON.stringify(r.toJSON()))).list(), r.list());
    assert.deepEqual(r.list(), MARKETS);
    const ok = MARKETS[0];
    assert.throws(() => r.add(ok), /already/);
    for (const bad of [
      { ...ok, marketId: 70_000 },
      { ...ok, marketId: 3, baseTokenId: 0 },
      { ...ok, marketId: 3, sizeUnit: 0n },
      { ...ok, marketId: 3, priceUnit: 1n << 64n },
      { ...ok, marketId: 3, takerFeePpm: 65536 },
    ]) {
      assert.throws(() => r.add(bad), RangeError);
    }
  });

  it("removes a market (a settled instrument's, when its id is listed again); an unknown one is refused and changes nothing", () => {
    const r = registry();
    const [first, ...rest] = MARKETS;
    r.remove(first.marketId);
    assert.equal(r.get(first.marketId), undefined);
    assert.deepEqual(r.list(), rest);
    assert.throws(() => r.remove(first.marketId), /not registered/);
    assert.deepEqual(r.list(), rest);
    r.add(first); // (its id can be registered again)
    assert.deepEqual(r.list(), MARKETS);
  });
});
