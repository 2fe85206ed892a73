/**
 * One side of one order book: price levels best first (see priceLevels.ts), each a FIFO queue of resting
 * orders. Orders are intrusive doubly-linked list nodes: O(1) append and O(1) unlink from anywhere, so a
 * cancel found through the order index costs O(1) plus, if its level empties, the level's removal.
 */
import { Side, type OrderType, type TimeInForce } from "../protocol/constants.ts";
import type { ExpiryKey } from "./expiryIndex.ts";
import { PriceLevels } from "./priceLevels.ts";
import type { DepthLevel, Order, SequencedOrder } from "./types.ts";

/** A live order: the accepted order, its fill state and its place in a level's queue. */
export class RestingOrder implements SequencedOrder {
  readonly accountId: number;
  readonly orderId: bigint;
  readonly marketId: number;
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  readonly priceTicks: bigint;
  readonly sizeLots: bigint;
  readonly maxFeePpm: number;
  readonly expiry: number;
  /** Present (true) only on a reduce-only order, as in the signed Order. */
  readonly reduceOnly?: boolean;
  readonly seq: number;
  remainingLots: bigint;
  filledLots: bigint;
  prev: RestingOrder | null = null;
  next: RestingOrder | null = null;
  level: Level | null = null;

  constructor(o: Order, seq: number, filledLots = 0n) {
    this.accountId = o.accountId;
    this.orderId = o.orderId;
    this.marketId = o.marketId;
    this.side = o.side;
    this.type = o.type;
    this.timeInForce = o.timeInForce;
    this.priceTicks = o.priceTicks;
    this.sizeLots = o.sizeLots;
    this.maxFeePpm = o.maxFeePpm;
    this.expiry = o.expiry;
    if (o.reduceOnly) this.reduceOnly = true;
    this.seq = seq;
    this.filledLots = filledLots;
    this.remainingLots = o.sizeLots - filledLots;
  }
}

/**
 * Resting orders in an expiry index (MatchingEngine.expire): live while in a book (BookSide.remove clears `level`),
 * earliest expiry first, the older order (lower seq, unique) first at the same expiry.
 */
export const RESTING_EXPIRY: ExpiryKey<RestingOrder> = {
  expiry: (o) => o.expiry,
  live: (o) => o.level !== null,
  before: (a, b) => a.expiry < b.expiry || (a.expiry === b.expiry && a.seq < b.seq),
};

/** All resting orders at one price, oldest first. */
export class Level {
  totalLots = 0n;
  count = 0;
  head: RestingOrder | null = null;
  tail: RestingOrder | null = null;
  constructor(readonly priceTicks: bigint) {}
}

export class BookSide {
  readonly #levels: PriceLevels<Level>;

  constructor(readonly side: Side) {
    this.#levels = new PriceLevels<Level>(side);
  }

  /** The best level, or undefined when the side is empty. */
  best(): Level | undefined {
    return this.#levels.best();
  }

  get levelCount(): number {
    return this.#levels.size;
  }

  /** Appends an order at the back of its price level's queue, creating the level if needed. */
  add(o: RestingOrder): void {
    let level = this.#levels.get(o.priceTicks);
    if (level === undefined) {
      level = new Level(o.priceTicks);
      this.#levels.insert(level);
    }
    o.level = level;
    o.prev = level.tail;
    o.next = null;
    if (level.tail === null) level.head = o;
    else level.tail.next = o;
    level.tail = o;
    level.count++;
    level.totalLots += o.remainingLots;
  }

  /** Unlinks an order (whatever it has left), dropping its level when it empties. */
  remove(o: RestingOrder): void {
    const level = o.level!;
    if (o.prev === null) level.head = o.next;
    else o.prev.next = o.next;
    if (o.next === null) level.tail = o.prev;
    else o.next.prev = o.prev;
    o.prev = o.next = null;
    o.level = null;
    level.count--;
    level.totalLots -= o.remainingLots;
    if (level.count === 0) this.#levels.remove(level);
  }

  /** Fills `lots` of a resting order: it keeps its place (remove it when nothing remains). */
  fill(o: RestingOrder, lots: bigint): void {
    o.remainingLots -= lots;
    o.filledLots += lots;
    o.level!.totalLots -= lots;
  }

  /**
   * The best `n` levels, best first. With `liveAt`, orders expired at that time (`expiry < liveAt`) are not counted
   * and a level of such orders only is skipped: each level shown is then walked order by order.
   */
  depth(n: number, liveAt?: number): DepthLevel[] {
    const out: DepthLevel[] = [];
    if (n <= 0) return out;
    this.#levels.forEachBestFirst((l) => {
      let lots = l.totalLots;
      let orders = l.count;
      if (liveAt !== undefined) {
        for (let o = l.head; o !== null; o = o.next) {
          if (o.expiry < liveAt) {
            lots -= o.remainingLots;
            orders--;
          }
        }
      }
      if (orders > 0) out.push({ priceTicks: l.priceTicks, lots, orders });
      return out.length < n;
    });
    return out;
  }

  /** Levels best first, for read-only scans (FOK and post-only checks). Stops when `visit` returns false. */
  forEachLevel(visit: (level: Level) => boolean): void {
    this.#levels.forEachBestFirst(visit);
  }
}
