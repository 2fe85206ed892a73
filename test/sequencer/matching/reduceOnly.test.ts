/**
 * Reduce-only orders at intake (circuits/DERIVATIVES.md, "Reduce-only orders"): the matching engine with
 * the sequencer's risk hooks (RoutedRisk: spot without limits, DerivativesRisk) refuses the flag on spot,
 * refuses a reduce-only order that cannot reduce, caps each fill at what reduces the position (taker and
 * maker), cancels the rest with reason reduce-only, and keeps FOK exact. The last test feeds the engine's
 * fills to the witness builder (every rule on): it proves what intake filled and refuses one lot more
 * with the same code (formulas.ts reduceOnlyFault is the one rule of both).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { INSTRUMENT_MARKET_BASE, Side, TimeInForce, TxType } from "../../../sequencer/protocol/constants.ts";
import { lotRisk, type InstrumentState } from "../../../sequencer/derivatives/formulas.ts";
import { MatchingEngine } from "../../../sequencer/matching/engine.ts";
import { MarketRegistry } from "../../../sequencer/matching/markets.ts";
import { noRisk } from "../../../sequencer/matching/riskHook.ts";
import { CancelReason, RejectCode, type EngineEvent, type FillEvent } from "../../../sequencer/matching/types.ts";
import { DerivativesRisk } from "../../../sequencer/risk/derivativesRisk.ts";
import { RoutedRisk } from "../../../sequencer/risk/routedRisk.ts";
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import { TxRejected } from "../../../sequencer/batch/slotWitness.ts";
import type { Order, Signed } from "../../../sequencer/protocol/messages.ts";
import type { BatchTx } from "../../../sequencer/protocol/transactions.ts";
import { apply, derivativesState, derivOrder, INSTRUMENTS, NOW, oracleUpdate, MARKET_VOLS, PRICE, traders, VOL } from "../../helpers/derivatives.ts";
import { order, type TestTrader } from "../../helpers/traders.ts";

const { alice, bob, carol } = traders;
const PERP = 0;
const PERP_MARKET = INSTRUMENT_MARKET_BASE + PERP;
const AT = 300_000n; // 3,000 per unit: 30 quote per lot, initial margin 3 quote per lot
const table: InstrumentState[] = INSTRUMENTS.map((s) => ({ ...s, fundingIndex: 0n, settlePrice: 0n, holders: 0, generation: 0 }));

/** The engine over a spot market 0 and the perpetual's market, with the sequencer's routed risk; alice, bob and carol hold 50,000 quote of collateral. */
function exchange() {
  const markets = new MarketRegistry([
    { marketId: 0, baseTokenId: 1, sizeUnit: 1n, priceUnit: 1n, makerFeePpm: 0, takerFeePpm: 0 },
    { marketId: PERP_MARKET, baseTokenId: 1, sizeUnit: 1n, priceUnit: 1n, makerFeePpm: 0, takerFeePpm: 0 },
  ]);
  const deriv = new DerivativesRisk(INSTRUMENTS.length);
  deriv.setMarket(table, table.map((i) => lotRisk(i, PRICE, VOL, NOW)), { time: NOW, prices: [PRICE], vols: MARKET_VOLS });
  for (const t of [alice, bob, carol]) deriv.creditCollateral(t.accountId, 50_000_000_000n);
  const engine = new MatchingEngine({ markets, risk: new RoutedRisk(noRisk, deriv) });
  /** Signed orders by account and id (what intake keeps for the batch builder). */
  const signed = new Map<string, Signed<Order>>();
  const place = (t: TestTrader, orderId: bigint, side: Side, lots: bigint, f: Partial<Order> = {}): EngineEvent[] => {
    const o = derivOrder(t, PERP, { orderId, side, priceTicks: AT, sizeLots: lots, ...f });
    signed.set(`${t.accountId}/${orderId}`, o);
    return engine.execute({ kind: "place", time: NOW, order: o });
  };
  const size = (t: TestTrader) => deriv.account(t.accountId).positions[PERP].size;
  return { engine, deriv, place, size, signed };
}

const kinds = (ev: EngineEvent[]) =>
  ev.flatMap((e) => (e.type === "fill" ? [`fill:${e.lots}`] : e.type === "cancelled" ? [`cancelled:${e.accountId}/${e.orderId}:${e.reason}:${e.remainingLots}`] : e.type === "rejected" ? [`rejected:${e.code}`] : e.type === "done" ? [] : [e.type]));

/** alice long 15,000 lots from bob (bob short 15,000). */
function aliceLong() {
  const x = exchange();
  x.place(bob, 1n, Side.SELL, 15_000n);
  assert.deepEqual(kinds(x.place(alice, 1n, Side.BUY, 15_000n)), ["accepted", "fill:15000"]);
  assert.deepEqual([x.size(alice), x.size(bob)], [15_000n, -15_000n]);
  return x;
}

describe("reduce-only orders at intake", () => {
  it("refuses the flag on a spot market: REDUCE_ONLY_SPOT", () => {
    const x = exchange();
    const o = order(alice, { orderId: 9n, side: Side.SELL, marketId: 0, reduceOnly: true });
    assert.deepEqual(kinds(x.engine.execute({ kind: "place", time: NOW, order: o })), ["rejected:REDUCE_ONLY_SPOT"]);
    assert.equal(x.engine.isOrderIdUsed(alice.accountId, 9n), false, "a refused order does not use its id");
  });

  it("refuses a reduce-only order that could only open or increase the position: REDUCE_ONLY_INCREASES", () => {
    const x = aliceLong();
    assert.deepEqual(kinds(x.place(carol, 1n, Side.BUY, 10n, { reduceOnly: true })), ["rejected:REDUCE_ONLY_INCREASES"], "carol is flat");
    assert.deepEqual(kinds(x.place(alice, 2n, Side.BUY, 10n, { reduceOnly: true })), ["rejected:REDUCE_ONLY_INCREASES"], "alice is long: a buy increases");
    assert.deepEqual(kinds(x.place(bob, 2n, Side.SELL, 10n, { reduceOnly: true })), ["rejected:REDUCE_ONLY_INCREASES"], "bob is short: a sell increases");
    assert.deepEqual([x.size(alice), x.size(bob), x.size(carol)], [15_000n, -15_000n, 0n]);
  });

  it("caps a reduce-only taker at |position| and cancels the rest (no flip)", () => {
    const x = aliceLong();
    x.place(carol, 1n, Side.BUY, 16_000n);
    assert.deepEqual(kinds(x.place(alice, 2n, Side.SELL, 16_000n, { reduceOnly: true })), ["accepted", "fill:15000", `cancelled:${alice.accountId}/2:${CancelReason.REDUCE_ONLY}:1000`]);
    assert.equal(x.size(alice), 0n, "flat, not short");
    assert.equal(x.engine.order(carol.accountId, 1n)?.remainingLots, 1_000n);
  });

  it("caps a resting reduce-only maker and cancels it once the position is flat", () => {
    const x = aliceLong();
    assert.deepEqual(kinds(x.place(bob, 2n, Side.BUY, 20_000n, { reduceOnly: true, priceTicks: AT - 1n })), ["accepted"], "rests: bob's short is 15,000");
    const ev = x.place(carol, 1n, Side.SELL, 16_000n, { priceTicks: AT - 1n });
    assert.deepEqual(kinds(ev), ["accepted", "fill:15000", `cancelled:${bob.accountId}/2:${CancelReason.REDUCE_ONLY}:5000`]);
    assert.equal(x.size(bob), 0n);
    assert.equal(x.engine.order(carol.accountId, 1n)?.remainingLots, 1_000n, "carol's rest stays on the book");
  });

  it("cancels a resting reduce-only maker met after its position closed, without a fill", () => {
    const x = aliceLong();
    x.place(alice, 2n, Side.SELL, 15_000n, { reduceOnly: true, priceTicks: AT + 1n });
    x.place(carol, 1n, Side.BUY, 15_000n);
    x.place(alice, 3n, Side.SELL, 15_000n, { timeInForce: TimeInForce.IOC }); // closes alice's long at 3,000 (an ordinary order)
    assert.equal(x.size(alice), 0n);
    const ev = x.place(bob, 2n, Side.BUY, 10n, { priceTicks: AT + 1n, reduceOnly: true });
    assert.deepEqual(kinds(ev), ["accepted", `cancelled:${alice.accountId}/2:${CancelReason.REDUCE_ONLY}:15000`]);
    assert.equal(x.size(bob), -15_000n, "no fill against a reduce-only order with nothing to reduce");
    assert.equal(x.engine.order(bob.accountId, 2n)?.remainingLots, 10n);
  });

  it("rests a post-only order that crosses only a reduce-only order with nothing left to reduce, cancelling it (the book is never crossed)", () => {
    const x = aliceLong();
    x.place(alice, 2n, Side.SELL, 15_000n, { reduceOnly: true, priceTicks: AT + 1n });
    x.place(carol, 1n, Side.BUY, 15_000n);
    x.place(alice, 3n, Side.SELL, 15_000n, { timeInForce: TimeInForce.IOC }); // alice flat: her reduce-only ask is spent
    const ev = x.place(bob, 2n, Side.BUY, 10n, { priceTicks: AT + 1n, timeInForce: TimeInForce.POST_ONLY });
    assert.deepEqual(kinds(ev), ["accepted", `cancelled:${alice.accountId}/2:${CancelReason.REDUCE_ONLY}:15000`], "it was refused WOULD_CROSS before");
    assert.equal(x.engine.order(bob.accountId, 2n)?.remainingLots, 10n, "it rests");
    assert.deepEqual(x.engine.depth(PERP_MARKET, 1).asks, [], "nothing crossed left");
  });

  it("keeps FOK exact: a reduce-only FOK above |position| is FOK_UNFILLABLE; a maker's reduce-only limit counts", () => {
    const x = aliceLong();
    assert.deepEqual(kinds(x.place(carol, 1n, Side.BUY, 16_000n)), ["accepted"]);
    assert.deepEqual(kinds(x.place(alice, 2n, Side.SELL, 15_001n, { reduceOnly: true, timeInForce: TimeInForce.FOK })), ["rejected:FOK_UNFILLABLE"]);
    // bob's reduce-only bid of 20,000 can take only his 15,000: a FOK sell of 16,000 against it alone is unfillable
    const y = aliceLong();
    y.place(bob, 2n, Side.BUY, 20_000n, { reduceOnly: true });
    assert.deepEqual(kinds(y.place(carol, 1n, Side.SELL, 16_000n, { timeInForce: TimeInForce.FOK })), ["rejected:FOK_UNFILLABLE"]);
    assert.deepEqual(kinds(y.place(carol, 2n, Side.SELL, 15_000n, { timeInForce: TimeInForce.FOK })), ["accepted", "fill:15000", `cancelled:${bob.accountId}/2:${CancelReason.REDUCE_ONLY}:5000`]);
    assert.deepEqual(kinds(x.place(alice, 3n, Side.SELL, 15_000n, { reduceOnly: true, timeInForce: TimeInForce.FOK })), ["accepted", "fill:15000"]);
  });

  it("the witness builder proves what intake filled and refuses one lot more (REDUCE_ONLY_INCREASES), as the circuit does", () => {
    const x = exchange();
    const state = derivativesState();
    const events: EngineEvent[] = [];
    events.push(...x.place(bob, 1n, Side.SELL, 15_000n), ...x.place(alice, 1n, Side.BUY, 15_000n));
    events.push(...x.place(carol, 1n, Side.BUY, 16_000n), ...x.place(alice, 2n, Side.SELL, 16_000n, { reduceOnly: true }));
    const fills = events.filter((e): e is FillEvent => e.type === "fill");
    assert.deepEqual(fills.map((f) => f.lots), [15_000n, 15_000n]);
    const tx = (f: FillEvent, lots = f.lots): BatchTx => {
      const maker = x.signed.get(`${f.makerAccount}/${f.makerOrderId}`)!;
      const taker = x.signed.get(`${f.takerAccount}/${f.takerOrderId}`)!;
      const makerBuys = f.makerSide === Side.BUY;
      return {
        type: TxType.DERIV_TRADE, buy: makerBuys ? maker : taker, sell: makerBuys ? taker : maker, lots, priceTicks: f.priceTicks,
        buyFeePpm: makerBuys ? f.makerFeePpm : f.takerFeePpm, sellFeePpm: makerBuys ? f.takerFeePpm : f.makerFeePpm,
      };
    };
    apply(state, [tx(fills[0]!)]);
    const beyond = tx(fills[1]!, 15_001n);
    assert.throws(() => buildBatch(state, [beyond], { batchNumber: 99, timestamp: NOW, oracle: oracleUpdate() }), (e: unknown) => e instanceof TxRejected && e.code === RejectCode.REDUCE_ONLY_INCREASES);
    apply(state, [tx(fills[1]!)]);
    assert.equal(state.account(alice.accountId).deriv.positions[PERP].size, 0n);
    assert.equal(state.account(alice.accountId).deriv.positions[PERP].size, x.size(alice), "the proven state is intake's");
  });
});
