/**
 * A bounded in-memory record of each market's recent trades, fed by the fills the account history
 * (history.ts) records: what GET /v1/markets/:id/trades serves, so a client opened late (the web page)
 * can draw candles and a trade list from before it connected. It mirrors the engine's outcomes; it
 * decides nothing. A trade's `tradeId` is the fill id history.ts gives it (the same in both accounts'
 * fills), counting trades from 1 across markets, so ids increase with time within a market.
 *
 * Bounds: per market the newest `maxTradesPerMarket` trades (up to twice that between trims). With a fill
 * store (fillStore.ts) the server feeds it the stored trades on start, so a restart keeps them, and reads
 * older pages from the store.
 */
import type { TradeRecord } from "../wire/responses.ts";
import { appendBounded, newestFirst, type FillRecord } from "./history.ts";

export type { TradeRecord };

/** A trade as GET /v1/markets/:id/trades shows it, from its maker's fill. */
export const tradeOf = (f: FillRecord): TradeRecord =>
  ({ tradeId: f.fillId, marketId: f.marketId, priceTicks: f.priceTicks, lots: f.lots, makerSide: f.side, time: f.time });

export class MarketTrades {
  readonly #markets = new Map<number, TradeRecord[]>();
  readonly #max: number;

  constructor(maxTradesPerMarket = 1000) {
    this.#max = maxTradesPerMarket;
  }

  /** How many trades per market this record serves (what a fill store reads back on start). */
  get tradesKept(): number {
    return this.#max;
  }

  /** Takes in the fills of one command (history.ts records each trade once per side: the maker's is kept). */
  record(fills: readonly FillRecord[]): void {
    for (const f of fills) {
      if (f.role !== "maker") continue;
      let list = this.#markets.get(f.marketId);
      if (!list) this.#markets.set(f.marketId, (list = []));
      appendBounded(list, tradeOf(f), this.#max);
    }
  }

  /** The market's trades, newest first, at most `limit`; with `before` only those with a smaller id (paging back). */
  list(marketId: number, limit: number, before?: number): TradeRecord[] {
    return newestFirst(this.#markets.get(marketId) ?? [], (t) => t.tradeId, limit, before);
  }
}
