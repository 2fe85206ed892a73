/** The order-acceptance margin rule: positions' IM plus the worst case of open orders, at the marks. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Side } from "../../../sequencer/protocol/constants.ts";
import { lotRisk, type DerivAccount, type InstrumentState } from "../../../sequencer/derivatives/formulas.ts";
import { marginView, orderLoss, type OpenOrder } from "../../../sequencer/risk/marginRule.ts";
import { INSTRUMENTS, NOW, PRICE, VOL } from "../../helpers/derivatives.ts";

const table: InstrumentState[] = INSTRUMENTS.map((s) => ({ ...s, fundingIndex: 0n, settlePrice: 0n, holders: 0, generation: 0 }));
const risks = table.map((i) => lotRisk(i, PRICE, VOL, NOW));
const flat = (collateral: bigint): DerivAccount => ({ collateral, positions: table.map(() => ({ size: 0n, snapshot: 0n })) });
const order = (fields: Partial<OpenOrder>): OpenOrder => ({ instrumentId: 0, side: Side.BUY, priceTicks: 300_000n, lots: 10n, maxFeePpm: 0, ...fields });

describe("margin rule", () => {
  it("a flat account with no orders needs nothing; its equity is its collateral", () => {
    assert.deepEqual(marginView(flat(7n), [], table, risks), { equity: 7n, im: 0n, mm: 0n, required: 0n, sizesInRange: true });
  });

  it("an order at the mark needs the initial margin of the position it may open, plus its fees", () => {
    // mark 30 quote per lot, IM 10%: 3 quote per lot; fee 1000 ppm of 30 quote: 0.03 quote per lot
    const v = marginView(flat(0n), [order({ lots: 10n, maxFeePpm: 1000 })], table, risks);
    assert.equal(v.required, 10n * 3_000_000n + 10n * 30_000n);
  });

  it("a buy above the mark also needs what it would lose at mark; a buy below it does not gain credit", () => {
    assert.equal(orderLoss(order({ priceTicks: 310_000n }), table[0], risks[0]), 10n * 1_000_000n);
    assert.equal(orderLoss(order({ priceTicks: 290_000n }), table[0], risks[0]), 0n);
    assert.equal(orderLoss(order({ side: Side.SELL, priceTicks: 290_000n }), table[0], risks[0]), 10n * 1_000_000n);
  });

  it("orders that reduce a position need no more than the position; both sides count their worst end", () => {
    const long: DerivAccount = { ...flat(0n), positions: table.map((_, i) => ({ size: i === 0 ? 10n : 0n, snapshot: 0n })) };
    const reduce = marginView(long, [order({ side: Side.SELL, lots: 10n })], table, risks);
    assert.equal(reduce.required, reduce.im, "selling 10 of a 10-lot long at the mark needs only the position's IM");
    const both = marginView(long, [order({ side: Side.SELL, lots: 30n }), order({ side: Side.BUY, lots: 5n })], table, risks);
    assert.equal(both.required, 20n * 3_000_000n, "worst end: short 20 lots (the buy of 5 would reach only 15 long)");
  });

  it("includes pending funding in equity (lazy funding, as the circuit settles it)", () => {
    const long: DerivAccount = { collateral: 1_000n, positions: table.map((_, i) => ({ size: i === 0 ? 2n : 0n, snapshot: 0n })) };
    const funded = table.map((t, i) => (i === 0 ? { ...t, fundingIndex: 100n } : t));
    assert.equal(marginView(long, [], funded, risks).equity, 1_000n - 200n + 2n * risks[0].mark);
  });

  it("short options need the writer's margin on the underlying's value; long options need their whole mark (paid, never borrowed against)", () => {
    const CALL = 2;
    const short: DerivAccount = { ...flat(0n), positions: table.map((_, i) => ({ size: i === CALL ? -1n : 0n, snapshot: 0n })) };
    assert.equal(marginView(short, [], table, risks).im, 3_000_000n);
    const longCall: DerivAccount = { ...flat(0n), positions: table.map((_, i) => ({ size: i === CALL ? 3n : 0n, snapshot: 0n })) };
    const v = marginView(longCall, [], table, risks);
    assert.deepEqual([v.equity, v.im, v.mm], [3n * risks[CALL].mark, 3n * risks[CALL].mark, 3n * risks[CALL].mark], "equity minus margin gains nothing from the calls");
  });

  it("a buy of options needs its premium and fees out of equity, whether its limit is above or below the mark", () => {
    const CALL = 2;
    const mark = risks[CALL].mark; // 2.056182 quote per lot
    for (const priceTicks of [20_000n, 21_000n]) {
      const v = marginView(flat(0n), [order({ instrumentId: CALL, priceTicks, lots: 10n, maxFeePpm: 500 })], table, risks);
      const perLot = priceTicks * table[CALL].tickValue;
      assert.equal(v.required, 10n * (perLot > mark ? perLot : mark) + 10n * ((perLot * 500n + 999_999n) / 1_000_000n));
    }
  });

  it("counts an order that could take a position past the circuit's 48-bit range as out of range, whatever the margin", () => {
    const SIZE = 1n << 47n;
    const near: DerivAccount = { ...flat(0n), positions: table.map((_, i) => ({ size: i === 0 ? -(SIZE - 10n) : 0n, snapshot: 0n })) };
    assert.equal(marginView(near, [order({ side: Side.SELL, lots: 9n })], table, risks).sizesInRange, true);
    assert.equal(marginView(near, [order({ side: Side.SELL, lots: 10n })], table, risks).sizesInRange, false);
    assert.equal(marginView(near, [order({ side: Side.BUY, lots: 2n ** 39n })], table, risks).sizesInRange, true, "buys reduce it");
  });
});
