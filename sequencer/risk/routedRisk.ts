/**
 * One RiskHook for the engine over both kinds of market: orders on instrument markets
 * (marketId >= INSTRUMENT_MARKET_BASE) go to the derivatives risk engine, all others to spot risk.
 */
import { INSTRUMENT_MARKET_BASE } from "../protocol/constants.ts";
import type { RiskHook } from "../matching/riskHook.ts";
import type { FillEvent, MarketParams, OrderView, RejectCode } from "../matching/types.ts";

export class RoutedRisk implements RiskHook {
  constructor(readonly spot: RiskHook, readonly derivatives: RiskHook) {}

  #of(marketId: number): RiskHook {
    return marketId >= INSTRUMENT_MARKET_BASE ? this.derivatives : this.spot;
  }

  reserve(order: OrderView, market: MarketParams): boolean {
    return this.#of(order.marketId).reserve(order, market);
  }

  onFill(fill: FillEvent, maker: OrderView, taker: OrderView, market: MarketParams): void {
    this.#of(fill.marketId).onFill(fill, maker, taker, market);
  }

  release(order: OrderView, remainingLots: bigint, market: MarketParams): void {
    this.#of(order.marketId).release(order, remainingLots, market);
  }

  fillLimit(order: OrderView, market: MarketParams): bigint | undefined {
    return this.#of(order.marketId).fillLimit?.(order, market);
  }

  canFill(order: OrderView, market: MarketParams): boolean {
    return this.#of(order.marketId).canFill?.(order, market) ?? true;
  }

  refusal(order: OrderView, market: MarketParams): RejectCode | null {
    return this.#of(order.marketId).refusal?.(order, market) ?? null;
  }
}
