/**
 * Liquidation prices: the nearest index prices below and above the current one at which an account falls
 * under maintenance margin, its whole portfolio on the underlying moving together. Each found price is
 * checked at the boundary itself (liquidatable there, not one unit closer to the index) with the risk
 * engine's own formulas, and against the closed form where there is one.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { accountRisk, lotRisk, lotValue, type DerivAccount, type InstrumentState } from "../../../sequencer/derivatives/formulas.ts";
import { liquidationPrices } from "../../../sequencer/risk/liquidationPrice.ts";
import { INSTRUMENTS, MARKET_VOLS, NOW, PRICE, VOL } from "../../helpers/derivatives.ts";

const table: InstrumentState[] = INSTRUMENTS.map((s) => ({ ...s, fundingIndex: 0n, settlePrice: 0n, holders: 0, generation: 0 }));
const inputs = { time: NOW, prices: [PRICE], vols: MARKET_VOLS };
const [PERP, , CALL, PUT] = [0, 1, 2, 3];

/**
 * An account that put up `margin` quote units and then traded the given sizes (by instrument id) at the
 * current marks: its collateral is the margin minus what it paid (plus what it received) for them.
 */
function account(margin: bigint, sizes: Record<number, bigint>, instruments = table): DerivAccount {
  const positions = instruments.map((_, i) => ({ size: sizes[i] ?? 0n, snapshot: 0n }));
  const paid = positions.reduce((sum, p, i) => sum + p.size * lotRisk(instruments[i], PRICE, VOL, NOW).mark, 0n);
  return { collateral: margin - paid, positions };
}

function liquidatableAt(acc: DerivAccount, price: bigint): boolean {
  const r = accountRisk(acc, table.map((inst) => lotRisk(inst, price, VOL, NOW)));
  return r.equity < r.mm;
}

/** The boundary property: liquidatable at `p`, not one unit nearer the index. */
function assertBoundary(acc: DerivAccount, p: bigint, dir: 1n | -1n): void {
  assert.ok(liquidatableAt(acc, p), `liquidatable at ${p}`);
  assert.ok(!liquidatableAt(acc, p - dir), `not liquidatable at ${p - dir}`);
}

describe("liquidation prices", () => {
  it("a leveraged long perpetual: a price below, as the closed form gives, and none above", () => {
    // 1,000 lots (10 ETH, 30,000 quote) on 2,000 quote of collateral
    const acc = account(2_000_000_000n, { [PERP]: 1_000n });
    const [l] = liquidationPrices(acc, table, inputs);
    assert.equal(l.underlying, 0);
    assert.equal(l.indexPrice, PRICE);
    assert.equal(l.above, null, "a long only gains margin as the price rises");
    assertBoundary(acc, l.below!, -1n);
    // C + n V = n V mm  =>  V = -C / (n (1 - mm)); V = lotValue(P) = P * lotSizeE6 / 10^8 (quote units per lot)
    const v = (-acc.collateral * 1_000_000n) / (1_000n * 950_000n);
    const closed = (v * 10n ** 14n) / (10_000n * 1_000_000n); // back to 1e-8 quote per unit
    const gap = l.below! > closed ? l.below! - closed : closed - l.below!;
    assert.ok(gap * 10_000n < closed, `${l.below} within 0.01% of the closed form ${closed}`);
    assert.ok(lotValue(l.below!, 10_000n) > 0n);
  });

  it("a leveraged short perpetual: a price above, none below", () => {
    const acc = account(2_000_000_000n, { [PERP]: -1_000n });
    const [l] = liquidationPrices(acc, table, inputs);
    assert.equal(l.below, null);
    assertBoundary(acc, l.above!, 1n);
    assert.ok(l.above! > PRICE);
  });

  it("a short straddle (calls and puts written) is liquidated on a move either way, each price at its boundary", () => {
    const acc = account(3_000_000_000n, { [CALL]: -500n, [PUT]: -500n });
    const [l] = liquidationPrices(acc, table, inputs);
    assert.ok(l.below !== null && l.below < PRICE && l.above !== null && l.above > PRICE, JSON.stringify(l, (_, v) => (typeof v === "bigint" ? String(v) : v)));
    assertBoundary(acc, l.below!, -1n);
    assertBoundary(acc, l.above!, 1n);
  });

  it("an account already under maintenance margin reports the index itself both ways", () => {
    const acc = account(1_000_000_000n, { [PERP]: 1_000n }); // 1,000 quote behind 30,000 of exposure: under 5%
    assert.ok(liquidatableAt(acc, PRICE));
    assert.deepEqual(liquidationPrices(acc, table, inputs), [{ underlying: 0, indexPrice: PRICE, below: PRICE, above: PRICE }]);
  });

  it("nothing for an account without live positions: flat, or holding only settled instruments; none within reach for a fully funded long", () => {
    assert.deepEqual(liquidationPrices(account(1_000n, {}), table, inputs), []);
    const settled = table.map((t, i) => (i === CALL ? { ...t, settlePrice: PRICE } : t));
    assert.deepEqual(liquidationPrices(account(1_000n, { [CALL]: 5n }, settled), settled, inputs), []);
    const funded = account(30_000_000_000n, { [PERP]: 1_000n }); // paid in full: collateral 0, the position never owes
    assert.deepEqual(liquidationPrices(funded, table, inputs), [{ underlying: 0, indexPrice: PRICE, below: null, above: null }]);
  });
});
