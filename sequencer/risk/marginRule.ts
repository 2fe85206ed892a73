/**
 * The order-acceptance margin rule for derivatives: what an account's equity must cover, at the
 * latest oracle marks, for its positions plus the worst case of its open orders.
 *
 * Rule (per instrument i, size s, open buys totalling B lots, open sells totalling S lots):
 *
 *   need_i = max(imOf(s), imOf(s + B), imOf(s - S)) + lossBuys_i + lossSells_i
 *   imOf(x) = x > 0 ? x * imLong_i : -x * imShort_i                 (formulas.ts lotRisk)
 *   lossBuys_i  = sum over buy orders  of lots * (max(p * tickValue - mark_i, 0) + feePerLot)
 *   lossSells_i = sum over sell orders of lots * (max(mark_i - p * tickValue, 0) + feePerLot)
 *   feePerLot   = ceil(p * tickValue * maxFeePpm / 10^6)             (fees round up on every fill)
 *
 * and an order is accepted only if `equity >= sum_i need_i` with the order counted among the open
 * ones (equity = collateral after lazy funding + sum size * mark, as the circuit computes it), and if
 * both ends `s + B` and `s - S` are sizes the circuit can hold (formulas.ts sizeInRange: on an
 * instrument whose lot is worth 0 at the mark, margin alone would not stop a position growing past them).
 *
 * A long option's imLong is its whole mark (formulas.ts lotRisk), so a buy of it needs its limit price
 * times lots plus fees out of equity the other positions do not already need: the premium is paid, not
 * borrowed against the option (paper Definition 6).
 *
 * Why it is safe: any combination of partial fills leaves position i in [s - S, s + B], where the
 * convex imOf is at most the larger endpoint, and loses at most lossBuys + lossSells of equity at mark
 * (a fill at a better price than the limit, as a taker gets, loses less). A fill of l lots lowers
 * equity by at most what it removes from `need`, so the rule still holds after it: every DERIV_TRADE
 * the engine produces leaves both parties at `equity >= IM`, which the circuit requires. Marks move
 * only with a new oracle update; then the service re-checks every account (and cancels the orders of
 * those no longer covered) before anything else trades.
 */
import { Side } from "../protocol/constants.ts";
import { feeAmount } from "../protocol/fees.ts";
import { accountRisk, settleFunding, sizeInRange, type DerivAccount, type InstrumentState, type LotRisk } from "../derivatives/formulas.ts";

/** The part of an open order the rule needs (lots still open). */
export type OpenOrder = { instrumentId: number; side: Side; priceTicks: bigint; lots: bigint; maxFeePpm: number };

export type MarginView = {
  /** Collateral after lazy funding plus sum size * mark. */
  equity: bigint;
  /** Initial and maintenance margin of the positions alone (what the circuit checks). */
  im: bigint;
  mm: bigint;
  /** What equity must cover with the open orders' worst case (the acceptance rule above). */
  required: bigint;
  /** Whether every position stays in the circuit's range however the open orders fill. */
  sizesInRange: boolean;
};

function imOf(size: bigint, r: LotRisk): bigint {
  return size > 0n ? size * r.imLong : -size * r.imShort;
}

/** The worst-case loss at mark of one open order filling completely (price beyond mark plus fees). */
export function orderLoss(o: OpenOrder, inst: InstrumentState, r: LotRisk): bigint {
  const perLot = o.priceTicks * inst.tickValue;
  const adverse = o.side === Side.BUY ? perLot - r.mark : r.mark - perLot;
  return o.lots * ((adverse > 0n ? adverse : 0n) + feeAmount(perLot, o.maxFeePpm));
}

/** Equity, IM, MM and the acceptance requirement of `acc` with `orders` open, at `risks` and funding `indexes`. */
export function marginView(
  acc: DerivAccount,
  orders: readonly OpenOrder[],
  instruments: readonly InstrumentState[],
  risks: readonly LotRisk[],
): MarginView {
  const funded = settleFunding(acc, instruments.map((i) => i.fundingIndex));
  const { equity, im, mm } = accountRisk(funded, risks);
  let required = 0n;
  let sizesInRange = true;
  funded.positions.forEach((p, i) => {
    const r = risks[i];
    let buys = 0n;
    let sells = 0n;
    let loss = 0n;
    for (const o of orders) {
      if (o.instrumentId !== i) continue;
      if (o.side === Side.BUY) buys += o.lots;
      else sells += o.lots;
      loss += orderLoss(o, instruments[i], r);
    }
    const worst = [imOf(p.size, r), imOf(p.size + buys, r), imOf(p.size - sells, r)].reduce((a, b) => (a > b ? a : b));
    required += worst + loss;
    sizesInRange &&= sizeInRange(p.size + buys) && sizeInRange(p.size - sells);
  });
  return { equity, im, mm, required, sizesInRange };
}
