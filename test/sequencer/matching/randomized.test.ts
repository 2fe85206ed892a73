/**
 * Differential test: the engine against the naive reference model on seeded random command streams.
 * After every command: identical events, identical live orders (fill state, order), identical depth; the
 * risk hook's reservations are exactly the live orders. Halfway through, the engine is replaced by one
 * restored from a JSON round trip of its snapshot.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MatchingEngine } from "../../../sequencer/matching/engine.ts";
import type { RiskHook } from "../../../sequencer/matching/riskHook.ts";
import { SelfTradePolicy, type EngineEvent, type EngineSnapshot, type Order, type OrderView } from "../../../sequencer/matching/index.ts";
import { MARKETS, registry } from "../../../scripts/fixtures/matching/helpers.ts";
import { ReferenceModel } from "../../../scripts/fixtures/matching/referenceModel.ts";
import { DEFAULT_FLOW, randomFlow, type FlowOptions } from "../../../scripts/fixtures/matching/randomFlow.ts";

const COMMANDS = 4000;
/** A deeper book: more accounts, wider prices, fewer cancels. */
const DEEP_FLOW: Omit<FlowOptions, "seed"> = { ...DEFAULT_FLOW, accounts: 8, spread: 25, cancelPct: 6, marketPct: 4 };
const riskAccepts = (o: Order): boolean => (o.orderId * 7n + BigInt(o.accountId)) % 23n !== 0n;

/** A risk hook that refuses like the model and checks the reserve -> fills -> one release lifecycle. */
function trackingRisk(): RiskHook & { open: Set<string> } {
  const open = new Set<string>();
  const k = (o: OrderView): string => `${o.accountId}:${o.orderId}`;
  return {
    open,
    reserve(o) {
      if (!riskAccepts(o)) return false;
      assert.ok(!open.has(k(o)), "reserved twice");
      open.add(k(o));
      return true;
    },
    onFill(f, maker, taker) {
      assert.ok(open.has(k(maker)) && open.has(k(taker)), "fill of an order without reservation");
      assert.notEqual(maker.accountId, taker.accountId, "self trade");
      assert.ok(f.lots > 0n);
    },
    release(o, remaining) {
      assert.ok(open.delete(k(o)), "released twice or never reserved");
      assert.ok(remaining >= 0n && remaining <= o.sizeLots);
    },
  };
}

function liveOrders(e: MatchingEngine, accounts: number): OrderView[] {
  const all: OrderView[] = [];
  for (let a = 1; a <= accounts; a++) all.push(...e.openOrders(a));
  return all.sort((x, y) => x.seq - y.seq);
}

function run(seed: number, policy: SelfTradePolicy, flowOptions: Omit<FlowOptions, "seed">): Record<string, number> {
  const markets = registry();
  const risk = trackingRisk();
  let engine = new MatchingEngine({ markets, risk, selfTradePolicy: policy });
  const model = new ReferenceModel(MARKETS, policy, riskAccepts);
  const flow = randomFlow({ seed, ...flowOptions });
  const tally: Record<string, number> = {};
  for (let i = 0; i < COMMANDS; i++) {
    if (i === COMMANDS / 2) {
      const json = JSON.parse(JSON.stringify(engine.snapshot())) as EngineSnapshot;
      engine = MatchingEngine.restore(json, { markets, risk });
      assert.deepEqual(engine.snapshot(), json);
    }
    const cmd = flow.next();
    const got = engine.execute(cmd);
    const want = model.execute(cmd);
    assert.deepEqual(got, want, `command ${i}: ${JSON.stringify(cmd, (_, v) => (typeof v === "bigint" ? `${v}n` : v))}`);
    for (const ev of got) {
      const key = ev.type === "rejected" ? ev.code : ev.type === "cancelled" ? `cancelled:${ev.reason}` : ev.type;
      tally[key] = (tally[key] ?? 0) + 1;
    }
    const live = liveOrders(engine, flowOptions.accounts);
    assert.deepEqual(live, model.views(), `book after command ${i}`);
    assert.deepEqual(new Set(live.map((o) => `${o.accountId}:${o.orderId}`)), risk.open, "reservations = live orders");
    if (i % 10 === 0) {
      for (const m of flowOptions.markets) {
        const d = engine.depth(m, 1000);
        assert.deepEqual(d, model.depth(m, 1000));
        // A remainder rests only after every crossing level was consumed or purged: never crossed.
        if (d.bids.length && d.asks.length) assert.ok(d.bids[0].priceTicks < d.asks[0].priceTicks, "crossed book");
      }
    }
  }
  return tally;
}

describe("matching engine vs reference model (randomized)", () => {
  for (const policy of Object.values(SelfTradePolicy)) {
    for (const [seed, flow, name] of [[1, DEFAULT_FLOW, "busy"], [2, DEFAULT_FLOW, "busy"], [3, DEEP_FLOW, "deep"]] as const) {
      it(`${policy}, ${name} flow, seed ${seed}: ${COMMANDS} commands, same events and book after each`, () => {
        const tally = run(seed, policy, flow);
        // The stream must actually exercise every path.
        for (const k of [
          "accepted", "fill", "done", "cancelled:user", "cancelled:ioc-remainder", "cancelled:self-trade", "cancelled:expired",
          "WOULD_CROSS", "FOK_UNFILLABLE", "EXPIRED", "DUPLICATE_ORDER_ID", "UNKNOWN_ORDER", "RISK_REJECTED", "ZERO_SIZE",
          "PRICE_OUT_OF_RANGE", "SIZE_OUT_OF_RANGE", "UNKNOWN_MARKET", "MALFORMED", "INVALID_TIME_IN_FORCE",
        ]) {
          assert.ok((tally[k] ?? 0) > 0, `no ${k} in ${JSON.stringify(tally)}`);
        }
      });
    }
  }

  it("is deterministic: the same log twice gives the same events and the same snapshot", () => {
    const play = () => {
      const e = new MatchingEngine({ markets: registry() });
      const flow = randomFlow({ seed: 99, ...DEFAULT_FLOW });
      const events: EngineEvent[] = [];
      for (let i = 0; i < 2000; i++) e.execute(flow.next(), events);
      return { events, snapshot: e.snapshot() };
    };
    assert.deepEqual(play(), play());
  });
});
