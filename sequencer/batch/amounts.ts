/** Trade amounts, computed exactly as the circuit does (SPEC.md, TRADE rule 7). */
import { feeAmount } from "../protocol/fees.ts";
import type { Market } from "../state/exchangeState.ts";

export function tradeAmounts(m: Market, lots: bigint, priceTicks: bigint, buyFeePpm: number, sellFeePpm: number) {
  const base = lots * m.sizeUnit;
  const quote = lots * priceTicks * m.priceUnit;
  return { base, quote, buyFee: feeAmount(quote, buyFeePpm), sellFee: feeAmount(quote, sellFeePpm) };
}
