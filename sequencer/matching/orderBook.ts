/**
 * The order book of one market: bids and asks, plus the read-only scans that decide POST_ONLY and FOK
 * before anything changes.
 */
import { Side } from "../protocol/constants.ts";
import { BookSide, type RestingOrder } from "./bookSide.ts";
import { SelfTradePolicy, type Depth } from "./types.ts";

/** Does a taker on `takerSide` with limit `takerPrice` trade with a maker resting at `makerPrice`? */
export function crosses(takerSide: Side, takerPrice: bigint, makerPrice: bigint): boolean {
  return takerSide === Side.BUY ? makerPrice <= takerPrice : makerPrice >= takerPrice;
}

export class OrderBook {
  readonly bids = new BookSide(Side.BUY);
  readonly asks = new BookSide(Side.SELL);

  constructor(readonly marketId: number) {}

  side(side: Side): BookSide {
    return side === Side.BUY ? this.bids : this.asks;
  }

  opposite(side: Side): BookSide {
    return side === Side.BUY ? this.asks : this.bids;
  }

  /**
   * Would `taker` meet a live (unexpired) resting order on entry: one of its own account, or one of another that
   * `mayFill` (the engine's: not a spent reduce-only order nor one without a position slot, which the matching loop
   * cancels when it meets them instead of filling)?
   */
  wouldTrade(taker: RestingOrder, time: number, mayFill: (o: RestingOrder) => boolean = () => true): boolean {
    let found = false;
    this.opposite(taker.side).forEachLevel((level) => {
      if (!crosses(taker.side, taker.priceTicks, level.priceTicks)) return false;
      for (let m = level.head; m !== null; m = m.next) {
        if (m.expiry >= time && (m.accountId === taker.accountId || mayFill(m))) {
          found = true;
          return false;
        }
      }
      return true;
    });
    return found;
  }

  /**
   * Could `taker` be filled entirely on entry? Mirrors the matching loop without changing anything:
   * expired makers are skipped; an own-account maker is skipped under CANCEL_MAKER (it would be
   * cancelled) and ends the match under CANCEL_TAKER (the taker would be cancelled there). `limitOf` gives
   * a maker's fill limit now (a reduce-only maker's: the engine's RiskHook.fillLimit; 0 for one that may not fill,
   * RiskHook.canFill); every fill of a
   * maker's account in this sweep is on the makers' side, so it lowers that account's limits by its lots. At most
   * `maxFills` makers fill (the engine's MAX_FILLS_PER_ORDER).
   */
  canFillEntirely(
    taker: RestingOrder, time: number, policy: SelfTradePolicy, limitOf: (o: RestingOrder) => bigint | undefined = () => undefined, maxFills = Infinity,
  ): boolean {
    let available = 0n;
    let fills = 0;
    let result = false;
    const filledBy = new Map<number, bigint>();
    this.opposite(taker.side).forEachLevel((level) => {
      if (!crosses(taker.side, taker.priceTicks, level.priceTicks)) return false;
      for (let m = level.head; m !== null; m = m.next) {
        if (m.expiry < time) continue;
        if (m.accountId === taker.accountId) {
          if (policy === SelfTradePolicy.CANCEL_TAKER) return false;
          continue;
        }
        const before = filledBy.get(m.accountId) ?? 0n;
        const limit = limitOf(m);
        let lots = m.remainingLots;
        if (limit !== undefined) lots = limit - before < lots ? (limit > before ? limit - before : 0n) : lots;
        if (taker.remainingLots - available < lots) lots = taker.remainingLots - available;
        if (lots > 0n && ++fills > maxFills) return false; // (the engine stops an order at maxFills fills)
        filledBy.set(m.accountId, before + lots);
        available += lots;
        if (available >= taker.remainingLots) {
          result = true;
          return false;
        }
      }
      return true;
    });
    return result;
  }

  /** The best `levels` levels of each side; with `liveAt`, of the orders not expired at that time only (BookSide.depth). */
  depth(levels: number, liveAt?: number): Depth {
    return { bids: this.bids.depth(levels, liveAt), asks: this.asks.depth(levels, liveAt) };
  }
}
