/**
 * Fee rules shared by the engine (which picks the rate of each fill) and the risk modules (which charge it).
 * Rounding matches the TRADE rule of circuits/SPEC.md: fee = ceil(quote * feePpm / 10^6), per fill.
 */
import { neverRests, TimeInForce } from "../protocol/constants.ts";
import type { MarketParams, Order } from "./types.ts";

export { feeAmount } from "../protocol/fees.ts";

/**
 * The highest rate `order` can be charged in `market`, over the roles its time in force lets it take:
 * POST_ONLY only rests (maker); IOC, FOK and MARKET orders only take (taker); a GTC limit order takes on
 * entry and makes once it rests (either). The engine refuses an order whose signed maxFeePpm is below it
 * (MAX_FEE_TOO_LOW), so every fill is charged the market's own rate (issue 11, finding 10: an order
 * signed with maxFeePpm 0 used to trade free).
 */
export function requiredMaxFeePpm(order: Order, market: MarketParams): number {
  if (order.timeInForce === TimeInForce.POST_ONLY) return market.makerFeePpm;
  if (neverRests(order)) return market.takerFeePpm;
  return Math.max(market.makerFeePpm, market.takerFeePpm);
}

/**
 * The rate charged to one side of a fill: the market's rate, capped by what the order signed for. Since
 * the engine admits only orders whose maximum covers the market's rate for their roles (requiredMaxFeePpm),
 * this is the market's rate; the cap keeps a fill provable (the circuit's fee <= maxFeePpm) whatever happens.
 */
export function effectiveFeePpm(configuredPpm: number, orderMaxFeePpm: number): number {
  return configuredPpm < orderMaxFeePpm ? configuredPpm : orderMaxFeePpm;
}
