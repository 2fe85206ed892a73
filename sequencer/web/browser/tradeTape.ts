/**
 * The page's record of each market's trades: the history the server keeps (GET /v1/markets/:id/trades,
 * read when a market is shown and again after a stream gap) merged with the stream's `trade` messages,
 * one entry per trade id, so a trade seen both ways counts once and one lost in a gap comes back.
 */
import { marketTrades } from "../../sdk/client.ts";
import type { TradeRecord } from "../../wire/responses.ts";
import type { Trade } from "./charts.ts";

/** Trades read from the server on each load (the route's largest page). */
export const HISTORY_LIMIT = 1000;

export type TapeTrade = Trade & { tradeId: number; makerSide: number };

export class TradeTape {
  readonly #markets = new Map<number, Map<number, TapeTrade>>();

  /** Adds trades (from the route or the stream); a trade already held is kept once. */
  add(trades: readonly Pick<TradeRecord, "tradeId" | "marketId" | "priceTicks" | "lots" | "makerSide" | "time">[]): void {
    for (const t of trades) {
      let m = this.#markets.get(t.marketId);
      if (!m) this.#markets.set(t.marketId, (m = new Map()));
      m.set(t.tradeId, { tradeId: t.tradeId, time: t.time, price: Number(t.priceTicks), lots: Number(t.lots), makerSide: t.makerSide });
    }
  }

  /** Reads the market's recent trades from the server at `url` and adds them. */
  async load(url: string, marketId: number): Promise<void> {
    this.add((await marketTrades(url, marketId, { limit: HISTORY_LIMIT })).trades);
  }

  /** The market's trades, oldest first. */
  of(marketId: number): TapeTrade[] {
    return [...(this.#markets.get(marketId)?.values() ?? [])].sort((a, b) => a.tradeId - b.tradeId);
  }
}
