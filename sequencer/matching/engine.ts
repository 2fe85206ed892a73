/**
 * The matching engine: a single-threaded deterministic state machine (LMAX / exchange-core style).
 * Commands go in one at a time; each yields an ordered list of events ending with `done`. The same
 * command log always gives the same events and the same books. The engine reads no clock (time is in
 * the command), never throws on bad input (it answers `rejected` with a code) and holds no risk rules
 * (it asks an injected RiskHook).
 *
 * Policies
 * - Price-time priority; the trade price is the maker's.
 * - LIMIT + GTC rests what is left; IOC cancels what is left (ioc-remainder); FOK is checked first and
 *   refused (FOK_UNFILLABLE) with no state change unless it fills entirely; POST_ONLY is refused
 *   (WOULD_CROSS) if it would meet a live resting order that would fill, or any of its own account's; the resting
 *   orders it crosses that would not fill (a spent reduce-only order, one without a position slot) are cancelled
 *   as a taker meeting them cancels them, and it rests.
 * - MARKET orders are IOC with priceTicks as the protection price (MARKET + FOK is fill-or-kill with
 *   protection; MARKET + POST_ONLY is refused, INVALID_TIME_IN_FORCE).
 * - Self-trade prevention, an engine option: CANCEL_MAKER (default) cancels the resting order of the
 *   taker's own account (reason self-trade) and keeps matching; CANCEL_TAKER cancels the taker's
 *   remainder (reason self-trade) and stops. Either way two orders of one account never trade.
 * - Expiry: an order is expired when `expiry < command time`. Expired orders are refused on entry. Resting
 *   orders leave the book at their expiry: `expire(time)` removes every resting order with `expiry < time`
 *   (reason expired, its reservation released), earliest expiry first (the older order first at the same
 *   expiry), from a min-heap on expiry (expiryIndex.ts), so a sweep costs the orders it removes, not the book's
 *   size. The exchange core calls it with each log record's time before applying the record (ExchangeCore.apply).
 *   The engine reads no clock, so between sweeps an order past its expiry may still rest: the matching loop
 *   removes one it meets (reason expired) and never fills it, and read views filter by their own clock
 *   (SequencerQuery; the API's order history reads such an order as the sweep will leave it: history.ts orderAt). A
 *   user cancel of an expired order still resting reports reason user (the sequencer sweeps at the cancel's time
 *   first, so there it finds no order). Held stop and take-profit orders are the exchange core's, swept by it at the
 *   same time (TriggerBook.expire).
 * - Order ids: an id is used once accepted; a later order with a used id (even after the first was filled
 *   or cancelled) is refused, DUPLICATE_ORDER_ID. Refused orders do not use their id, so the same signed
 *   order may be submitted again later (e.g. after a deposit). Ids share the state's order storage slots
 *   (`orderIdSlots`): an id at or below the latest accepted id of its slot counts as used, as the circuit's
 *   order storage has it, so the engine keeps one id per used slot, never every id ever accepted.
 * - Fees: an order whose signed maxFeePpm is below the market's rate for a role it can take (maker for
 *   POST_ONLY, taker for IOC/FOK/MARKET, both for GTC) is refused, MAX_FEE_TOO_LOW (fees.ts
 *   requiredMaxFeePpm); so each fill carries the market's maker/taker rate for each side (computed as
 *   min(market rate, order's maxFeePpm), which is the market's rate). A resting POST_ONLY or GTC order is
 *   the maker when it trades.
 * - Every command, refused or not, takes the next sequence number; an accepted order's seq is its command's.
 * - Fills per order: an incoming order fills at most MAX_FILLS_PER_ORDER makers; with more of the book crossed,
 *   its remainder is cancelled (fill-limit), and a FOK order that would need more fills is FOK_UNFILLABLE. Each
 *   fill is a batch transaction: one order sweeping thousands of one-lot makers (a fee of one quote unit each)
 *   would hold everyone's requests behind it for most of an hour (review of 2026-12-05).
 * - Reduce-only orders (derivatives markets only; on a spot market REDUCE_ONLY_SPOT): the risk hook's
 *   fillLimit says how many lots each may fill now (what reduces its account's position). One with no
 *   limit left on entry is refused, REDUCE_ONLY_INCREASES; each fill is capped at the limit of both sides;
 *   a taker at its limit stops and its remainder is cancelled, and a maker at its limit (met, or just
 *   filled up to it) is cancelled, both with reason reduce-only. A FOK reduce-only order whose limit is
 *   below its size is FOK_UNFILLABLE. A resting reduce-only order keeps its size: its fills are capped when
 *   they happen.
 * - Risk: the risk hook may refuse an order with a code of its own (its `refusal`: TOO_MANY_POSITIONS, a
 *   derivatives order whose account holds positions in all its position slots, none in the order's instrument),
 *   then must reserve for it (`reserve`), RISK_REJECTED when it cannot.
 * - Position slots (derivatives markets): before each fill the risk hook's canFill says whether each side may fill
 *   now (its account holds the instrument or has a free position slot, as the fills before leave it). A resting
 *   maker that may not is cancelled, reason position-slots, and matching goes on with the next maker; a taker that
 *   may not stops and its remainder is cancelled with that reason. Open orders take no slot: an account may rest
 *   orders on any number of instruments, each judged when it fills. FOK counts the makers that may not fill as
 *   filling nothing.
 *
 * Checks of a place command, in order (the first failing one is reported): MALFORMED, ZERO_SIZE,
 * SIZE_OUT_OF_RANGE, PRICE_OUT_OF_RANGE, INVALID_TIME_IN_FORCE, EXPIRED, REDUCE_ONLY_SPOT, UNKNOWN_MARKET,
 * MAX_FEE_TOO_LOW, DUPLICATE_ORDER_ID, REDUCE_ONLY_INCREASES, WOULD_CROSS / FOK_UNFILLABLE, TOO_MANY_POSITIONS,
 * RISK_REJECTED.
 *
 * Events of an accepted place command: accepted, then in matching order fills and cancellations of
 * makers met (expired, self-trade, reduce-only, position-slots), then the taker's own cancellation if any
 * (ioc-remainder, self-trade, reduce-only, fill-limit or position-slots), then done.
 */
import { Bits, neverRests, OrderType, Side, TimeInForce } from "../protocol/constants.ts";
import { RESTING_EXPIRY, RestingOrder } from "./bookSide.ts";
import { ExpiryIndex } from "./expiryIndex.ts";
import { effectiveFeePpm, requiredMaxFeePpm } from "./fees.ts";
import type { MarketRegistry } from "./markets.ts";
import { OrderIndex } from "./orderIndex.ts";
import { OrderBook, crosses } from "./orderBook.ts";
import { noRisk, type RiskHook } from "./riskHook.ts";
import { orderFromJson, orderToJson, type EngineSnapshot } from "./snapshot.ts";
import {
  CancelReason,
  RejectCode,
  SelfTradePolicy,
  type CancelAllCommand,
  type CancelCommand,
  type Command,
  type Depth,
  type DepthLevel,
  type EngineEvent,
  type MarketParams,
  type Order,
  type OrderView,
  type PlaceCommand,
  type UnplaceCommand,
} from "./types.ts";
import { checkOrder, isOrderId, isTime, isUint } from "./validate.ts";

export type EngineOptions = {
  /** Markets the engine may trade; shared with the risk module. Markets added later become tradable. */
  readonly markets: MarketRegistry;
  /** Default: noRisk (accept everything). */
  readonly risk?: RiskHook;
  /** Default: CANCEL_MAKER. */
  readonly selfTradePolicy?: SelfTradePolicy;
  /**
   * Order storage slots per account, 4^orderLevels of the state (OrderIndex): an id at or below the latest accepted
   * id of its slot (`orderId mod orderIdSlots`) is used. Default ORDER_ID_SPACE (2^40, the id's width): every id
   * its own slot, so only the exact ids accepted are used, and memory grows with them.
   */
  readonly orderIdSlots?: bigint;
};

/** The most makers one incoming order fills (see the policies above). */
export const MAX_FILLS_PER_ORDER = 64;

/** Every order id apart: 2^40 slots, one per id (Bits.orderId). */
export const ORDER_ID_SPACE = 1n << BigInt(Bits.orderId);

export class MatchingEngine {
  readonly #markets: MarketRegistry;
  readonly #risk: RiskHook;
  readonly #policy: SelfTradePolicy;
  readonly #books = new Map<number, OrderBook>();
  readonly #index: OrderIndex;
  /** Resting orders by (expiry, seq) (derived: rebuilt by restore). */
  readonly #expiries = new ExpiryIndex(RESTING_EXPIRY);
  #nextSeq = 1;

  constructor(options: EngineOptions) {
    this.#markets = options.markets;
    this.#risk = options.risk ?? noRisk;
    this.#policy = options.selfTradePolicy ?? SelfTradePolicy.CANCEL_MAKER;
    this.#index = new OrderIndex(options.orderIdSlots ?? ORDER_ID_SPACE);
  }

  get selfTradePolicy(): SelfTradePolicy {
    return this.#policy;
  }

  /** Sequence number the next command will get. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** Executes one command, appending its events to `out` (a fresh array by default), and returns `out`. */
  execute(cmd: Command, out: EngineEvent[] = []): EngineEvent[] {
    const seq = this.#nextSeq++;
    if (typeof cmd !== "object" || cmd === null || !isTime(cmd.time)) {
      out.push(rejected(cmd?.kind === "place" ? cmd.order : cmd, RejectCode.MALFORMED));
    } else if (cmd.kind === "place") {
      this.#place(cmd, seq, out);
    } else if (cmd.kind === "cancel") {
      this.#cancel(cmd, out);
    } else if (cmd.kind === "cancelAll") {
      this.#cancelAll(cmd, out);
    } else if (cmd.kind === "unplace") {
      this.#unplace(cmd, out);
    } else {
      out.push(rejected(cmd, RejectCode.MALFORMED));
    }
    out.push({ type: "done", seq });
    return out;
  }

  /**
   * Removes every resting order expired at `time` (`expiry < time`), earliest expiry first (the older order first at
   * the same expiry): each reported cancelled with reason expired and its reservation released, as when the matching
   * loop meets one. Not a command: it takes no sequence number and appends no `done`. Appends to `out` (a fresh array
   * by default) and returns it; nothing when nothing has expired (or `time` is not a valid time).
   */
  expire(time: number, out: EngineEvent[] = []): EngineEvent[] {
    if (!isTime(time)) return out;
    for (let o = this.#expiries.takeExpired(time); o !== undefined; o = this.#expiries.takeExpired(time)) {
      this.#removeResting(o, CancelReason.EXPIRED, this.#markets.get(o.marketId)!, out);
    }
    return out;
  }

  /** Whether a resting order is expired at `time` (`expire(time)` would remove something). */
  hasExpired(time: number): boolean {
    return isTime(time) && this.#expiries.hasExpired(time);
  }

  // ---- commands ---------------------------------------------------------------------------------

  #place(cmd: PlaceCommand, seq: number, out: EngineEvent[]): void {
    const o = cmd.order;
    const time = cmd.time;
    let code = checkOrder(o, time);
    const market = code === null ? this.#markets.get(o.marketId) : undefined;
    if (code === null && market === undefined) code = RejectCode.UNKNOWN_MARKET;
    if (code === null && o.maxFeePpm < requiredMaxFeePpm(o, market!)) code = RejectCode.MAX_FEE_TOO_LOW;
    if (code === null && this.#index.isUsed(o.accountId, o.orderId)) code = RejectCode.DUPLICATE_ORDER_ID;
    if (code !== null || market === undefined) {
      out.push(rejected(o, code ?? RejectCode.UNKNOWN_MARKET));
      return;
    }
    const book = this.#book(o.marketId);
    const taker = new RestingOrder(o, seq);
    const tif = o.timeInForce;
    const takerLimit = this.#limit(taker, market);
    if (takerLimit === 0n) {
      out.push(rejected(o, RejectCode.REDUCE_ONLY_INCREASES));
      return;
    }
    // (a maker that may not fill now fills nothing in this sweep: its account's fills here would be in this instrument only)
    const makerLimit = (m: RestingOrder) => (this.#mayFill(m, market) ? this.#limit(m, market) : 0n);
    // a post-only order crossing only makers the loop would cancel unfilled rests, and #match cancels them first (so
    // the book is never crossed); one crossing a maker that would fill, or its own account's order, is refused
    if (tif === TimeInForce.POST_ONLY && book.wouldTrade(taker, time, (m) => makerLimit(m) !== 0n)) {
      out.push(rejected(o, RejectCode.WOULD_CROSS));
      return;
    }
    const fillable = () => (takerLimit === undefined || takerLimit >= taker.remainingLots) && book.canFillEntirely(taker, time, this.#policy, makerLimit, MAX_FILLS_PER_ORDER);
    if (tif === TimeInForce.FOK && !fillable()) {
      out.push(rejected(o, RejectCode.FOK_UNFILLABLE));
      return;
    }
    const refusal = this.#risk.refusal?.(taker, market) ?? null;
    if (refusal !== null) {
      out.push(rejected(o, refusal));
      return;
    }
    if (!this.#risk.reserve(taker, market)) {
      out.push(rejected(o, RejectCode.RISK_REJECTED));
      return;
    }
    this.#index.markUsed(taker.accountId, taker.orderId);
    out.push({ type: "accepted", accountId: taker.accountId, orderId: taker.orderId, marketId: taker.marketId, seq });

    const stop = this.#match(taker, book, market, time, out);

    if (taker.remainingLots === 0n) {
      this.#risk.release(taker, 0n, market);
    } else if (stop !== null) {
      this.#cancelled(taker, stop, market, out);
    } else if (neverRests(o)) {
      this.#cancelled(taker, CancelReason.IOC_REMAINDER, market, out);
    } else {
      this.#rest(taker);
    }
  }

  /** The most lots `o` may fill now: undefined (no limit) unless it is reduce-only (RiskHook.fillLimit). */
  #limit(o: RestingOrder, market: MarketParams): bigint | undefined {
    return o.reduceOnly ? this.#risk.fillLimit?.(o, market) : undefined;
  }

  /** Whether `o` may fill now (RiskHook.canFill: its position slots); true with a hook that does not say. */
  #mayFill(o: RestingOrder, market: MarketParams): boolean {
    return this.#risk.canFill?.(o, market) ?? true;
  }

  /**
   * Matches `taker` against the book. Returns why the taker's remainder must be cancelled when it stopped
   * early (self-trade under CANCEL_TAKER; reduce-only at its limit; MAX_FILLS_PER_ORDER fills with more of the
   * book crossed; no position slot for its next fill), else null.
   */
  #match(taker: RestingOrder, book: OrderBook, market: MarketParams, time: number, out: EngineEvent[]): CancelReason | null {
    const makers = book.opposite(taker.side);
    const takerFeePpm = effectiveFeePpm(market.takerFeePpm, taker.maxFeePpm);
    const makerSide = taker.side === Side.BUY ? Side.SELL : Side.BUY;
    let fills = 0;
    while (taker.remainingLots > 0n) {
      const takerLimit = this.#limit(taker, market);
      if (takerLimit === 0n) return CancelReason.REDUCE_ONLY;
      const level = makers.best();
      if (level === undefined || !crosses(taker.side, taker.priceTicks, level.priceTicks)) return null;
      const maker = level.head!;
      if (maker.expiry < time) {
        this.#removeResting(maker, CancelReason.EXPIRED, market, out);
        continue;
      }
      if (maker.accountId === taker.accountId) {
        if (this.#policy === SelfTradePolicy.CANCEL_TAKER) return CancelReason.SELF_TRADE;
        this.#removeResting(maker, CancelReason.SELF_TRADE, market, out);
        continue;
      }
      const makerLimit = this.#limit(maker, market);
      if (makerLimit === 0n) {
        this.#removeResting(maker, CancelReason.REDUCE_ONLY, market, out);
        continue;
      }
      if (!this.#mayFill(maker, market)) {
        this.#removeResting(maker, CancelReason.POSITION_SLOTS, market, out);
        continue;
      }
      // a maker it would fill: past the cap, the remainder goes (expired, own, spent reduce-only and slotless makers were
      // passed above without a fill, so a remainder with nothing left to fill still rests)
      if (fills === MAX_FILLS_PER_ORDER) return CancelReason.FILL_LIMIT;
      if (!this.#mayFill(taker, market)) return CancelReason.POSITION_SLOTS;
      let lots = maker.remainingLots < taker.remainingLots ? maker.remainingLots : taker.remainingLots;
      if (takerLimit !== undefined && takerLimit < lots) lots = takerLimit;
      if (makerLimit !== undefined && makerLimit < lots) lots = makerLimit;
      makers.fill(maker, lots);
      taker.remainingLots -= lots;
      taker.filledLots += lots;
      const fill = {
        type: "fill",
        makerAccount: maker.accountId,
        makerOrderId: maker.orderId,
        takerAccount: taker.accountId,
        takerOrderId: taker.orderId,
        marketId: taker.marketId,
        priceTicks: level.priceTicks,
        lots,
        makerSide,
        makerFeePpm: effectiveFeePpm(market.makerFeePpm, maker.maxFeePpm),
        takerFeePpm,
      } as const;
      out.push(fill);
      fills++;
      this.#risk.onFill(fill, maker, taker, market);
      if (maker.remainingLots === 0n) {
        makers.remove(maker);
        this.#index.remove(maker);
        this.#risk.release(maker, 0n, market);
      } else if (this.#limit(maker, market) === 0n) {
        this.#removeResting(maker, CancelReason.REDUCE_ONLY, market, out);
      }
    }
    return null;
  }

  #cancel(cmd: CancelCommand, out: EngineEvent[]): void {
    const o = this.#target(cmd, true, out);
    if (o) this.#removeResting(o, CancelReason.USER, this.#markets.get(o.marketId)!, out);
  }

  #unplace(cmd: UnplaceCommand, out: EngineEvent[]): void {
    const o = this.#target(cmd, cmd.reason !== undefined && isCancelReason(cmd.reason), out);
    if (!o) return;
    if (o.filledLots !== 0n) {
      out.push(rejected(cmd, RejectCode.PARTLY_FILLED));
      return;
    }
    this.#removeResting(o, cmd.reason, this.#markets.get(o.marketId)!, out);
    this.#index.unmarkUsed(o.accountId, o.orderId);
  }

  /** The live order a cancel or unplace names; undefined (refused MALFORMED, or UNKNOWN_ORDER) when there is none or the command is malformed (`wellFormed` false, or bad ids). */
  #target(cmd: CancelCommand | UnplaceCommand, wellFormed: boolean, out: EngineEvent[]): RestingOrder | undefined {
    if (!wellFormed || !isUint(cmd.accountId, Bits.accountId) || !isOrderId(cmd.orderId)) {
      out.push(rejected(cmd, RejectCode.MALFORMED));
      return undefined;
    }
    const o = this.#index.get(cmd.accountId, cmd.orderId);
    if (o === undefined) out.push(rejected(cmd, RejectCode.UNKNOWN_ORDER));
    return o;
  }

  #cancelAll(cmd: CancelAllCommand, out: EngineEvent[]): void {
    const { accountId, marketId } = cmd;
    if (!isUint(accountId, Bits.accountId) || (marketId !== undefined && !isUint(marketId, Bits.marketId)) || !isCancelReason(cmd.reason)) {
      out.push(rejected(cmd, RejectCode.MALFORMED));
      return;
    }
    if (marketId !== undefined && this.#markets.get(marketId) === undefined) {
      out.push(rejected(cmd, RejectCode.UNKNOWN_MARKET));
      return;
    }
    for (const o of this.#index.ofAccount(accountId)) {
      if (marketId === undefined || o.marketId === marketId) {
        this.#removeResting(o, cmd.reason ?? CancelReason.USER, this.#markets.get(o.marketId)!, out);
      }
    }
  }

  /** Puts an order in its book, the account's index and the expiry index. */
  #rest(o: RestingOrder): void {
    this.#book(o.marketId).side(o.side).add(o);
    this.#index.add(o);
    this.#expiries.add(o);
  }

  /** Takes a live order out of its book and the index, reports it cancelled, releases its reservation. */
  #removeResting(o: RestingOrder, reason: CancelReason, market: MarketParams, out: EngineEvent[]): void {
    this.#books.get(o.marketId)!.side(o.side).remove(o);
    this.#index.remove(o);
    this.#cancelled(o, reason, market, out);
  }

  #cancelled(o: RestingOrder, reason: CancelReason, market: MarketParams, out: EngineEvent[]): void {
    out.push({
      type: "cancelled",
      accountId: o.accountId,
      orderId: o.orderId,
      marketId: o.marketId,
      reason,
      remainingLots: o.remainingLots,
    });
    this.#risk.release(o, o.remainingLots, market);
  }

  #book(marketId: number): OrderBook {
    let book = this.#books.get(marketId);
    if (book === undefined) this.#books.set(marketId, (book = new OrderBook(marketId)));
    return book;
  }

  // ---- queries ----------------------------------------------------------------------------------

  /**
   * Aggregated levels, best first, at most `levels` per side. Unknown or empty markets give empty sides. With
   * `liveAt`, the orders expired at that time (`expiry < liveAt`) that still rest (no record has swept them yet:
   * `expire`) are left out, and so are levels with nothing else; the levels are walked order by order only when
   * some resting order is expired at `liveAt` (hasExpired), so a read between sweeps costs what it did before.
   */
  depth(marketId: number, levels = 10, liveAt?: number): Depth {
    const filterAt = liveAt !== undefined && this.hasExpired(liveAt) ? liveAt : undefined;
    return this.#books.get(marketId)?.depth(levels, filterAt) ?? { bids: [], asks: [] };
  }

  bestBid(marketId: number): DepthLevel | undefined {
    return this.#books.get(marketId)?.bids.depth(1)[0];
  }

  bestAsk(marketId: number): DepthLevel | undefined {
    return this.#books.get(marketId)?.asks.depth(1)[0];
  }

  /** An account's live orders, oldest first, optionally in one market only. */
  openOrders(accountId: number, marketId?: number): OrderView[] {
    const views: OrderView[] = [];
    for (const o of this.#index.ofAccount(accountId)) {
      if (marketId === undefined || o.marketId === marketId) views.push(view(o));
    }
    return views;
  }

  /** A live order by (accountId, orderId), or undefined if it is not live (never accepted, filled or cancelled). */
  order(accountId: number, orderId: bigint): OrderView | undefined {
    const o = this.#index.get(accountId, orderId);
    return o === undefined ? undefined : view(o);
  }

  /** Can this id no longer be accepted: is it at or below the latest id the account had accepted in its slot (live or not)? */
  isOrderIdUsed(accountId: number, orderId: bigint): boolean {
    return this.#index.isUsed(accountId, orderId);
  }

  // ---- snapshot ---------------------------------------------------------------------------------

  /** The whole engine state (not the markets or the risk hook's state, which have their own). */
  snapshot(): EngineSnapshot {
    const live: RestingOrder[] = [];
    for (const book of this.#books.values()) {
      for (const side of [book.bids, book.asks]) {
        side.forEachLevel((level) => {
          for (let o = level.head; o !== null; o = o.next) live.push(o);
          return true;
        });
      }
    }
    live.sort((a, b) => a.seq - b.seq);
    return {
      version: 1,
      nextSeq: this.#nextSeq,
      selfTradePolicy: this.#policy,
      orders: live.map(orderToJson),
      usedOrderIds: this.#index.usedIds().map(([a, ids]) => [a, ids.map(String)]),
    };
  }

  /**
   * Rebuilds an engine from a snapshot. `markets` must contain every market of the snapshot's orders and
   * `risk` must be in the matching state (restore it from its own snapshot). Throws on a corrupt snapshot.
   */
  static restore(snapshot: EngineSnapshot, deps: { markets: MarketRegistry; risk?: RiskHook; orderIdSlots?: bigint }): MatchingEngine {
    if (snapshot.version !== 1) throw new Error(`unsupported engine snapshot version ${snapshot.version}`);
    if (!Object.values(SelfTradePolicy).includes(snapshot.selfTradePolicy)) throw new Error("bad selfTradePolicy");
    const engine = new MatchingEngine({ ...deps, selfTradePolicy: snapshot.selfTradePolicy });
    if (!Number.isSafeInteger(snapshot.nextSeq) || snapshot.nextSeq < 1) throw new Error("bad nextSeq");
    engine.#nextSeq = snapshot.nextSeq;
    for (const [accountId, ids] of snapshot.usedOrderIds) {
      for (const id of ids) engine.#index.markUsed(accountId, BigInt(id));
    }
    let lastSeq = 0;
    for (const j of snapshot.orders) {
      const { order, seq, filledLots } = orderFromJson(j);
      if (seq <= lastSeq || seq >= snapshot.nextSeq) throw new Error(`snapshot order seq ${seq} out of order`);
      lastSeq = seq;
      if (engine.#markets.get(order.marketId) === undefined) throw new Error(`snapshot order in unknown market ${order.marketId}`);
      if (!engine.#index.isUsed(order.accountId, order.orderId) || engine.#index.get(order.accountId, order.orderId)) {
        throw new Error(`snapshot order ${order.accountId}/${order.orderId}: id not used or duplicated`);
      }
      engine.#rest(new RestingOrder(order, seq, filledLots));
    }
    return engine;
  }
}

function view(o: RestingOrder): OrderView {
  return {
    accountId: o.accountId,
    orderId: o.orderId,
    marketId: o.marketId,
    side: o.side,
    type: o.type,
    timeInForce: o.timeInForce,
    priceTicks: o.priceTicks,
    sizeLots: o.sizeLots,
    maxFeePpm: o.maxFeePpm,
    expiry: o.expiry,
    ...(o.reduceOnly ? { reduceOnly: true } : {}),
    seq: o.seq,
    remainingLots: o.remainingLots,
    filledLots: o.filledLots,
  };
}

/** A rejection, echoing the command's ids when they have the right types. */
function rejected(src: unknown, code: RejectCode): EngineEvent {
  const r = (typeof src === "object" && src !== null ? src : {}) as Partial<Record<keyof Order, unknown>>;
  return {
    type: "rejected",
    accountId: isUint(r.accountId, Bits.accountId) ? r.accountId : null,
    orderId: typeof r.orderId === "bigint" ? r.orderId : null,
    code,
  };
}

/** A command's optional cancel reason: absent, or one of CancelReason. */
function isCancelReason(reason: unknown): boolean {
  return reason === undefined || (Object.values(CancelReason) as unknown[]).includes(reason);
}
