/**
 * The time rule of a filled order (circuits/lib/orderTime.circom OrderTime; SPEC.md "Order time"; RULES.md T14):
 * an order has not expired at the batch's timestamp, and one that never rests (MARKET, IOC, FOK) without a
 * trigger fills only in a batch stamped at most IMMEDIATE_ORDER_TTL before its expiry. What the engine leaves of
 * such an order is cancelled without a proof (G12), so this bounds how long after its arrival an operator could
 * still fill it. Each attack is built the way a dishonest operator would build it (the TypeScript checks off, the
 * public data hashed consistently) and is refused at OrderTime's own constraint, after the witness builder (every
 * rule on) refused it with its code and changed nothing.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch } from "../../sequencer/batch/batchWitness.ts";
import type { BatchTx } from "../../sequencer/protocol/transactions.ts";
import { IMMEDIATE_ORDER_TTL, OrderType, Side, TimeInForce, TriggerType, TxType } from "../../sequencer/protocol/constants.ts";
import { orderTimeFault, type Order } from "../../sequencer/protocol/messages.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { terminateSnarkjsCurve } from "../../scripts/setup/zkLibs.ts";
import { builderRefuses, loadBatchCircuit, refuses, rule, witnessFailure } from "../helpers/circuitRules.ts";
import { derivativesState, derivOrder, derivTrade, NOW, oracleUpdate, spotState, spotTrade, traders } from "../helpers/derivatives.ts";
import { order } from "../helpers/traders.ts";

after(terminateSnarkjsCurve);
const PERP = 0;
const MARK_TICKS = 300_000n;
/** The latest expiry an order that never rests may carry in a batch stamped NOW. */
const LIMIT = NOW + IMMEDIATE_ORDER_TTL;
const IOC = { timeInForce: TimeInForce.IOC } as const;
const FOK = { timeInForce: TimeInForce.FOK } as const;
const MARKET = { type: OrderType.MARKET, timeInForce: TimeInForce.GTC } as const;

/** A spot TRADE (alice buys 4 lots at 95 from bob) with `buy` and `sell` merged into the orders. */
function spot(buy: Partial<Order>, sell: Partial<Order>): BatchTx {
  const tx = spotTrade(sell);
  if (tx.type !== TxType.TRADE) throw new Error("unreachable");
  return { ...tx, buy: order(traders.alice, { orderId: 1n, side: Side.BUY, priceTicks: 100n, ...buy }) };
}

const WITHIN_TTL_A = [rule("OrderTime", "withinTtl.b <=="), rule("Trade", "buyTime.o <== orderA")];
const WITHIN_TTL_B = [rule("OrderTime", "withinTtl.b <=="), rule("Trade", "sellTime.o <== orderB")];

describe("the time rule of a filled order (OrderTime)", { timeout: 900_000 }, () => {
  before(async () => {
    await loadBatchCircuit(TEST_PARAMS);
  });

  it("TypeScript: expired first, then the immediate window; resting and trigger orders are exempt from the window", () => {
    const o = (f: Partial<Order>) => order(traders.alice, { orderId: 1n, side: Side.BUY, ...f });
    assert.equal(orderTimeFault(o({ expiry: NOW - 1, ...IOC }), NOW)?.code, "ORDER_EXPIRED");
    assert.equal(orderTimeFault(o({ expiry: LIMIT + 1, ...IOC }), NOW)?.code, "IMMEDIATE_EXPIRY_TOO_FAR");
    assert.equal(orderTimeFault(o({ expiry: LIMIT + 1, ...MARKET }), NOW)?.code, "IMMEDIATE_EXPIRY_TOO_FAR");
    assert.equal(orderTimeFault(o({ expiry: LIMIT, ...FOK }), NOW), null);
    assert.equal(orderTimeFault(o({ expiry: LIMIT + 1, timeInForce: TimeInForce.POST_ONLY }), NOW), null);
    assert.equal(orderTimeFault(o({ expiry: LIMIT + 1, ...IOC, triggerType: TriggerType.STOP, triggerPriceTicks: 1n }), NOW), null);
  });

  describe("honest fills pass the builder and the circuit", () => {
    it("spot: an IOC buy at exactly the limit against a GTC sell expiring in years, and against a post-only one (time in force 3, the other zero of tif (3 - tif))", async () => {
      assert.equal(await witnessFailure(spotState(), [spot({ expiry: LIMIT, ...IOC }, { expiry: 2_000_000_000 })], { oracle: null }), null);
      const postOnly = spot({ expiry: LIMIT, ...IOC }, { expiry: 2_000_000_000, timeInForce: TimeInForce.POST_ONLY });
      assert.equal(await witnessFailure(spotState(), [postOnly], { oracle: null }), null);
    });

    it("spot: a market buy (GTC in its field) and an FOK sell, each stamped at its expiry minus the window", async () => {
      const tx = spot({ expiry: LIMIT, ...MARKET }, { expiry: LIMIT, ...FOK });
      assert.equal(await witnessFailure(spotState(), [tx], { oracle: null }), null);
      // the same orders in a batch stamped at their expiry (the other end of the window)
      assert.equal(await witnessFailure(spotState(), [tx], { oracle: null, timestamp: LIMIT }), null);
    });

    it("derivatives: an IOC stop buy (a trigger order, exempt) expiring in a month fills at a crossing mark", async () => {
      const tx = derivTrade(PERP, 100n, MARK_TICKS, { buy: { ...IOC, expiry: NOW + 30 * 86_400, triggerType: TriggerType.STOP, triggerPriceTicks: MARK_TICKS } });
      assert.equal(await witnessFailure(derivativesState(), [tx]), null);
    });
  });

  describe("a dishonest operator's fills are refused at OrderTime", () => {
    // [test name, the batch, builder code, the refusing constraints, batch options]
    const attacks: [string, () => { state: () => ReturnType<typeof spotState>; tx: BatchTx }, string, string[], object][] = [
      [
        "an IOC buy signed with an expiry a second past the window (a client that ignored the limit) filled at once",
        () => ({ state: spotState, tx: spot({ expiry: LIMIT + 1, ...IOC }, {}) }), "IMMEDIATE_EXPIRY_TOO_FAR", WITHIN_TTL_A, { oracle: null },
      ],
      [
        "the remainder of an IOC buy signed with an hour's expiry, filled 30 minutes after its arrival",
        () => ({ state: spotState, tx: spot({ expiry: NOW + 3_600, ...IOC }, {}) }), "IMMEDIATE_EXPIRY_TOO_FAR", WITHIN_TTL_A, { oracle: null, timestamp: NOW + 1_800 },
      ],
      [
        "an FOK sell a day from its expiry",
        () => ({ state: spotState, tx: spot({}, { expiry: NOW + 86_400, ...FOK }) }), "IMMEDIATE_EXPIRY_TOO_FAR", WITHIN_TTL_B, { oracle: null },
      ],
      [
        "a market sell (GTC in its time-in-force field) a day from its expiry",
        () => ({ state: spotState, tx: spot({}, { expiry: NOW + 86_400, ...MARKET }) }), "IMMEDIATE_EXPIRY_TOO_FAR", WITHIN_TTL_B, { oracle: null },
      ],
      [
        "derivatives: an IOC buy (A) a day from its expiry",
        () => ({ state: derivativesState, tx: derivTrade(PERP, 100n, MARK_TICKS, { buy: { ...IOC, expiry: NOW + 86_400 } }) }), "IMMEDIATE_EXPIRY_TOO_FAR",
        [rule("OrderTime", "withinTtl.b <=="), rule("Fill", "timeA.o <== orderA")], {},
      ],
      [
        "derivatives: an FOK sell (B) a day from its expiry",
        () => ({ state: derivativesState, tx: derivTrade(PERP, 100n, MARK_TICKS, { sell: { ...FOK, expiry: NOW + 86_400 } }) }), "IMMEDIATE_EXPIRY_TOO_FAR",
        [rule("OrderTime", "withinTtl.b <=="), rule("Fill", "timeB.o <== orderB")], {},
      ],
    ];
    for (const [name, make, code, expected, opts] of attacks) {
      it(name, async () => {
        const { state, tx } = make();
        builderRefuses(state(), [tx], code, opts);
        await refuses(state(), [tx], expected, opts);
      });
    }

    it("derivatives: a liquidator's IOC order a day from its expiry", async () => {
      // alice long 15,000 at 3,000; at 2,800 she is below maintenance; carol's IOC buy takes 1,000 lots
      const state = () => {
        const s = derivativesState();
        buildBatch(s, [derivTrade(PERP, 15_000n, MARK_TICKS)], { batchNumber: 8, timestamp: NOW, oracle: oracleUpdate() });
        return s;
      };
      const liquidator = derivOrder(traders.carol, PERP, { orderId: 3n, side: Side.BUY, priceTicks: 280_000n, sizeLots: 1_000n, ...IOC, expiry: NOW + 86_400 });
      const tx: BatchTx = { type: TxType.LIQUIDATE, liquidatedAccountId: traders.alice.accountId, liquidator, lots: 1_000n, priceTicks: 280_000n, liquidatorFeePpm: 0 };
      const at = { oracle: oracleUpdate({ prices: [280_000_000_000n] }) };
      builderRefuses(state(), [tx], "IMMEDIATE_EXPIRY_TOO_FAR", at);
      await refuses(state(), [tx], [rule("OrderTime", "withinTtl.b <=="), rule("Fill", "timeB.o <== orderB")], at);
      // the same order with the window's expiry is the honest liquidation
      const honest: BatchTx = { ...tx, liquidator: derivOrder(traders.carol, PERP, { orderId: 3n, side: Side.BUY, priceTicks: 280_000n, sizeLots: 1_000n, ...IOC, expiry: LIMIT }) };
      assert.equal(await witnessFailure(state(), [honest], at), null);
    });
  });
});
