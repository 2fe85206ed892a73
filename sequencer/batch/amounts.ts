/** Trade amounts, computed exactly as the circuit does (SPEC.md, TRADE rule 7). */
import { FEE_DENOMINATOR } from "../protocol/constants.ts";
import type { Market } from "../state/exchangeState.ts";

/** ceil(notional * ppm / 10^6): fees round up, never in the trader's favour. */
export function feeOf(notional: bigint, feePpm: number | bigint): bigint {
  const scaled = notional * BigInt(feePpm);
  return (scaled + FEE_DENOMINATOR - 1n) / FEE_DENOMINATOR;
}

export function tradeAmounts(m: Market, lots: bigint, priceTicks: bigint, buyFeePpm: number, sellFeePpm: number) {
  const base = lots * m.sizeUnit;
  const quote = lots * priceTicks * m.priceUnit;
  return { base, quote, buyFee: feeOf(quote, buyFeePpm), sellFee: feeOf(quote, sellFeePpm) };
}
