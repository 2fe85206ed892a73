/**
 * Where an account would be liquidated: for each underlying it holds live positions on, the nearest index
 * prices below and above the current one at which its equity falls under its maintenance margin (the
 * liquidation rule, DERIVATIVES.md LIQUIDATE: equity < MM), with every other input held where it is: the
 * other underlyings' prices, the oracle's signed vol slices (so an option's vol moves along its expiry's skew with
 * the index, as the next update with the same slices would mark it; without slices, each option's vol), the
 * oracle time, the collateral and every position. Valued
 * with the risk engine's own formulas (lotRisk: linear marks, and Black-Scholes for options; accountRisk),
 * so a whole portfolio on one underlying (perpetual, futures, calls and puts) moves together, cross margin
 * as the sequencer applies it.
 *
 * The search walks the price in steps of 5% from the current index (up to a factor of 100 either way, and
 * within the oracle's price range), then narrows the first step that crosses by bisection to one price
 * unit: a narrower dip between two grid points (possible only with options) can be missed.
 */
import { MAX_ORACLE_PRICE } from "../protocol/constants.ts";
import { accountRisk, lotRisk, type DerivAccount, type InstrumentState, type LotRisk } from "../derivatives/formulas.ts";
import { volsByInstrument } from "../derivatives/volSurface.ts";
import type { MarketInputs } from "./derivativesRisk.ts";

/** The liquidation prices on one underlying, in the oracle's price units; null: none within the search range. */
export type LiquidationPrice = {
  underlying: number;
  /** The current index price. */
  indexPrice: bigint;
  /** The highest price below the index at which the account is liquidatable (the index itself when it already is). */
  below: bigint | null;
  /** The lowest price above the index at which the account is liquidatable (the index itself when it already is). */
  above: bigint | null;
};

const STEP_PPM = 50_000n; // 5% per grid step
const STEPS = 95; // 1.05^95 > 100
const PPM = 1_000_000n;

/**
 * The liquidation prices of `acc` (funding settled: collateral net of what it owes) on every underlying it
 * holds a live (unsettled) position on, in underlying order, at the market `inputs`.
 */
export function liquidationPrices(acc: DerivAccount, instruments: readonly InstrumentState[], inputs: MarketInputs): LiquidationPrice[] {
  const risksAt = (u: number, price: bigint): LotRisk[] => {
    const prices = inputs.prices.map((p, k) => (k === u ? price : p));
    // a skewed slice gives another vol at another index (review of 2026-12-06: holding the vol put a short put
    // writer's reported liquidation 2.6% above where the marks would liquidate it)
    const vols = inputs.slices ? volsByInstrument(instruments, prices, inputs.slices, inputs.time) : inputs.vols;
    return instruments.map((inst, i) => lotRisk(inst, prices[inst.underlying], vols[i], inputs.time));
  };
  const held = [...new Set(instruments.flatMap((inst, i) => (acc.positions[i]?.size && inst.settlePrice === 0n ? [inst.underlying] : [])))].sort((a, b) => a - b);
  return held.map((u) => {
    const indexPrice = inputs.prices[u];
    /** True when the account is liquidatable with underlying u at `price`. */
    const liquidatable = (price: bigint) => {
      const r = accountRisk(acc, risksAt(u, price));
      return r.equity < r.mm;
    };
    if (liquidatable(indexPrice)) return { underlying: u, indexPrice, below: indexPrice, above: indexPrice };
    return { underlying: u, indexPrice, below: firstCrossing(indexPrice, -1n, liquidatable), above: firstCrossing(indexPrice, 1n, liquidatable) };
  });
}

/**
 * From `safe` (not liquidatable), the nearest price in direction `dir` (-1 down, +1 up) that is: the grid
 * of 5% steps finds the first crossing, bisection narrows it to one unit. Null when none is within reach.
 */
function firstCrossing(safe: bigint, dir: bigint, liquidatable: (price: bigint) => boolean): bigint | null {
  let lo = safe; // known safe
  for (let k = 0; k < STEPS; k++) {
    const next = (lo * (PPM + dir * STEP_PPM)) / PPM;
    if (next < 1n || next > MAX_ORACLE_PRICE || next === lo) return null;
    if (liquidatable(next)) {
      let hi = next; // known liquidatable; narrow the gap between lo and hi
      while ((hi > lo ? hi - lo : lo - hi) > 1n) {
        const mid = (lo + hi) / 2n;
        if (liquidatable(mid)) hi = mid;
        else lo = mid;
      }
      return hi;
    }
    lo = next;
  }
  return null;
}
