/**
 * A bounded in-memory index of each account's orders and fills, fed by the Sequencer's engine events:
 * what the API serves as order history (filled and cancelled orders, which the engine forgets) and
 * fills, and what the private stream sends. It mirrors the engine's outcomes; it decides nothing. It
 * also keeps the account's rejections: accepted transactions no batch could prove, which the sequencer
 * took out of its queue (Sequencer `rejected` events); a rejected trade's fill is marked `rejected`.
 *
 * Bounds: per account, the newest `maxFillsPerAccount` fills (up to twice that between trims) and `maxOrdersPerAccount` orders (open
 * orders are never dropped; the oldest closed ones go first), and at most `maxAccounts` accounts (the
 * least recently active one is dropped). Orders and rejections are not durable: a restart starts without
 * them; fills are, when the server has a fill store (fillStore.ts: `restore` reads them back).
 */
import { Side, TxType } from "../protocol/constants.ts";
import type { TxRejection } from "../service/sequencer.ts";
import type { Order, Signed } from "../protocol/messages.ts";
import { CancelReason, type EngineEvent, type FillEvent } from "../matching/index.ts";

export type OrderStatus = "open" | "filled" | "cancelled";

/**
 * An order as the API reports it (GET /v1/orders, the private stream), open or closed: the signed fields
 * (without the signature) and its outcome so far. The engine's OrderView is a live resting order.
 */
export type OrderStatusView = Order & {
  status: OrderStatus;
  filledLots: bigint;
  remainingLots: bigint;
  cancelReason: CancelReason | null;
};

/** One side of one trade, as the account that took part sees it. `fillId` counts trades from 1. */
export type FillRecord = {
  fillId: number;
  accountId: number;
  orderId: bigint;
  marketId: number;
  side: Side;
  role: "maker" | "taker";
  priceTicks: bigint;
  lots: bigint;
  feePpm: number;
  /** Unix seconds when the index saw the trade. */
  time: number;
  /** Set when no batch could prove the trade: the rejection's code (the fill did not settle). */
  rejected?: string;
};

/**
 * An accepted transaction of the account that no batch could prove, taken out of the sequencer's queue:
 * the builder's code and message, the transaction's type, and what it was for this account.
 */
export type RejectionRecord = {
  rejectionId: number;
  accountId: number;
  code: string;
  message: string;
  txType: number;
  /** Unix seconds (the sequencer's clock) when it was rejected. */
  time: number;
  details: Record<string, bigint | number | boolean>;
};

/** What one command changed, per account: the order records it touched and the fills it made. */
export type HistoryChanges = { orders: OrderStatusView[]; fills: FillRecord[] };

export type HistoryOptions = {
  maxOrdersPerAccount?: number;
  maxFillsPerAccount?: number;
  maxAccounts?: number;
  /** Told when a recorded fill is marked rejected (the durable fill store follows it: fillStore.ts). */
  onFillRejected?: (fill: FillRecord, code: string) => void;
  /** The time fills are stamped with, unix seconds: the sequencer's clock (Sequencer.now; default the wall clock). */
  clock?: () => number;
};

/**
 * `held`: the orders with a record here that are held again until their trigger (a stop or take-profit order taken
 * out of the book with reason trigger-uncrossed, then `held`): their record reads cancelled, yet the order is live.
 */
type AccountLog = { orders: Map<bigint, OrderStatusView>; fills: FillRecord[]; rejections: RejectionRecord[]; held: Set<bigint> };

const orderFields = ({ signature: _s, ...order }: Signed<Order>): Order => order;

/** What a cancel with `reason` makes of an order's record (`record`; `orderAt` reads an expired live order so). */
const cancelledFields = (reason: CancelReason) => ({ status: "cancelled" as const, remainingLots: 0n, cancelReason: reason });

/**
 * A copy of the record as it reads at `time` (unix seconds, the sequencer's clock): an order still live (`live`: open,
 * or held again) whose expiry has passed (`expiry < time`) reads as the next record's sweep will leave it
 * (ExchangeCore.apply: cancelled, reason expired, nothing remaining, as `record` takes that cancel), though no record
 * has swept it yet, as the book and openOrders leave it out (SequencerQuery): a trader polling its order after its
 * expiry sees it expired, and the sweep's own order message then shows that same state.
 */
export function orderAt(rec: OrderStatusView, time: number, live = rec.status === "open"): OrderStatusView {
  return live && rec.expiry < time ? { ...rec, ...cancelledFields(CancelReason.EXPIRED) } : { ...rec };
}

export class AccountHistory {
  readonly #accounts = new Map<number, AccountLog>();
  readonly #maxOrders: number;
  readonly #maxFills: number;
  readonly #maxAccounts: number;
  readonly #onFillRejected?: (fill: FillRecord, code: string) => void;
  readonly #clock: () => number;
  #fillId = 0;
  #rejectionId = 0;

  constructor(opts: HistoryOptions = {}) {
    this.#maxOrders = opts.maxOrdersPerAccount ?? 1000;
    this.#maxFills = opts.maxFillsPerAccount ?? 1000;
    this.#maxAccounts = opts.maxAccounts ?? 100_000;
    this.#onFillRejected = opts.onFillRejected;
    this.#clock = opts.clock ?? (() => Math.floor(Date.now() / 1000));
  }

  /** How many fills per account this index serves (what a fill store reads back on start). */
  get fillsKept(): number {
    return this.#maxFills;
  }

  /** How many order records (and rejections) per account a fill store reads back on start. */
  get recordsKept(): number {
    return Math.max(this.#maxOrders, this.#maxFills);
  }

  /** The account fills a fill store kept (oldest first) and its last fill id: new fills continue after it. */
  restore(fills: readonly FillRecord[], lastFillId: number): void {
    for (const f of fills) this.#addFill({ ...f });
    this.#fillId = Math.max(this.#fillId, lastFillId);
  }

  /**
   * The order records and rejections a store kept (each account's oldest first) and its last rejection id:
   * closed orders are listed again, an open order's later fills and cancel update its record, and new
   * rejections continue the ids.
   */
  restoreRecords(orders: readonly OrderStatusView[], rejections: readonly RejectionRecord[], lastRejectionId: number): void {
    for (const o of orders) this.#addOrder(o.accountId, { ...o });
    for (const r of rejections) this.#addRejection(this.#touch(r.accountId), { ...r, details: { ...r.details } });
    this.#rejectionId = Math.max(this.#rejectionId, lastRejectionId);
  }

  /** Takes in one command's events (the incoming order when it was a placement); returns what changed. */
  record(events: readonly EngineEvent[], incoming?: Signed<Order>): HistoryChanges {
    const changed = new Set<OrderStatusView>();
    const fills: FillRecord[] = [];
    const time = this.#clock();
    for (const e of events) {
      if (e.type === "accepted" && incoming && incoming.accountId === e.accountId && incoming.orderId === e.orderId) {
        const rec: OrderStatusView = { ...orderFields(incoming), status: "open", filledLots: 0n, remainingLots: incoming.sizeLots, cancelReason: null };
        this.#addOrder(e.accountId, rec);
        changed.add(rec);
      } else if (e.type === "fill") {
        const id = ++this.#fillId;
        for (const f of [this.#fillOf(e, id, "maker", time), this.#fillOf(e, id, "taker", time)]) {
          this.#addFill(f);
          fills.push(f);
          const rec = this.#log(f.accountId)?.orders.get(f.orderId);
          if (rec) {
            rec.filledLots += f.lots;
            rec.remainingLots -= f.lots;
            if (rec.remainingLots === 0n) rec.status = "filled";
            changed.add(rec);
          }
        }
      } else if (e.type === "cancelled") {
        const log = this.#log(e.accountId);
        const rec = log?.orders.get(e.orderId);
        log?.held.delete(e.orderId);
        if (rec) {
          Object.assign(rec, cancelledFields(e.reason));
          changed.add(rec);
        }
      } else if (e.type === "held" || e.type === "triggered") {
        // a record's order held again (trigger-uncrossed) is live while its record reads cancelled: orderAt
        const log = this.#log(e.accountId);
        if (e.type === "triggered") log?.held.delete(e.orderId);
        else if (log?.orders.has(e.orderId)) log.held.add(e.orderId);
      }
    }
    return { orders: [...changed].map((r) => ({ ...r })), fills };
  }

  /** Takes in a rejection (Sequencer `rejected`); returns one record per account it concerns, for the private stream. */
  recordRejection(r: TxRejection): RejectionRecord[] {
    const rejectionId = ++this.#rejectionId;
    return [...new Set(r.accounts)].map((accountId) => {
      const rec: RejectionRecord = { rejectionId, accountId, code: r.code, message: r.message, txType: r.tx.type, time: r.time, details: rejectionDetails(r, accountId) };
      const log = this.#touch(accountId);
      this.#addRejection(log, rec);
      if (r.tx.type === TxType.TRADE || r.tx.type === TxType.DERIV_TRADE) {
        const { lots, priceTicks } = r.tx;
        const orderId = rec.details.orderId;
        const fill = log.fills.findLast((f) => f.orderId === orderId && f.lots === lots && f.priceTicks === priceTicks && f.rejected === undefined);
        if (fill) {
          fill.rejected = r.code;
          this.#onFillRejected?.(fill, r.code);
        }
      }
      return { ...rec, details: { ...rec.details } };
    });
  }

  /** The account's rejections, newest first. */
  rejections(accountId: number, limit = 100): RejectionRecord[] {
    return [...(this.#accounts.get(accountId)?.rejections ?? [])].reverse().slice(0, limit).map((r) => ({ ...r, details: { ...r.details } }));
  }

  /** The order's record as it reads now (orderAt, at the clock), or undefined when the index never saw it or has dropped it. */
  order(accountId: number, orderId: bigint): OrderStatusView | undefined {
    const log = this.#accounts.get(accountId);
    const r = log?.orders.get(orderId);
    return r && this.#at(log!, r, this.#clock());
  }

  /** The account's orders as they read now (orderAt, at the clock), newest first, optionally of one status only (as they read). */
  orders(accountId: number, opts: { status?: OrderStatus; limit?: number } = {}): OrderStatusView[] {
    const log = this.#accounts.get(accountId);
    if (!log) return [];
    const time = this.#clock();
    const limit = opts.limit ?? log.orders.size;
    const out: OrderStatusView[] = [];
    for (const r of [...log.orders.values()].reverse()) {
      if (out.length >= limit) break;
      const at = this.#at(log, r, time);
      if (!opts.status || at.status === opts.status) out.push(at);
    }
    return out;
  }

  /** `r` of `log` at `time` (orderAt): live when open or held again. */
  #at(log: AccountLog, r: OrderStatusView, time: number): OrderStatusView {
    return orderAt(r, time, r.status === "open" || log.held.has(r.orderId));
  }

  /** The account's fills, newest first; with `beforeFillId` only older ones (paging). */
  fills(accountId: number, opts: { limit?: number; beforeFillId?: number } = {}): FillRecord[] {
    const all = this.#accounts.get(accountId)?.fills ?? [];
    return newestFirst(all, (f) => f.fillId, opts.limit ?? all.length, opts.beforeFillId);
  }

  #fillOf(e: FillEvent, fillId: number, role: "maker" | "taker", time: number): FillRecord {
    const maker = role === "maker";
    const side = maker ? e.makerSide : e.makerSide === Side.BUY ? Side.SELL : Side.BUY;
    return {
      fillId, accountId: maker ? e.makerAccount : e.takerAccount, orderId: maker ? e.makerOrderId : e.takerOrderId,
      marketId: e.marketId, side, role, priceTicks: e.priceTicks, lots: e.lots, feePpm: maker ? e.makerFeePpm : e.takerFeePpm, time,
    };
  }

  #log(accountId: number): AccountLog | undefined {
    return this.#accounts.get(accountId);
  }

  /** The account's log, created (and marked most recently active) on demand. */
  #touch(accountId: number): AccountLog {
    let log = this.#accounts.get(accountId);
    if (log) this.#accounts.delete(accountId);
    else log = { orders: new Map(), fills: [], rejections: [], held: new Set() };
    this.#accounts.set(accountId, log);
    if (this.#accounts.size > this.#maxAccounts) this.#accounts.delete(this.#accounts.keys().next().value!);
    return log;
  }

  #addOrder(accountId: number, rec: OrderStatusView): void {
    const { orders, held } = this.#touch(accountId);
    orders.set(rec.orderId, rec);
    held.delete(rec.orderId);
    if (orders.size <= this.#maxOrders) return;
    for (const [id, r] of orders) {
      if (r.status !== "open") {
        orders.delete(id);
        held.delete(id);
        return;
      }
    }
  }

  #addRejection(log: AccountLog, r: RejectionRecord): void {
    log.rejections.push(r);
    if (log.rejections.length > this.#maxFills * 2) log.rejections.splice(0, log.rejections.length - this.#maxFills);
  }

  #addFill(f: FillRecord): void {
    appendBounded(this.#touch(f.accountId).fills, f, this.#maxFills);
  }
}

/** Appends `item`; past twice `max` items, the oldest go so that `max` are left (trimmed in steps, not on every append). */
export function appendBounded<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max * 2) list.splice(0, list.length - max);
}

/** Copies of the newest items of `all` (oldest first, ids increasing), newest first, at most `limit`; with `before` only ids below it (paging back). */
export function newestFirst<T extends object>(all: readonly T[], id: (t: T) => number, limit: number, before?: number): T[] {
  const out: T[] = [];
  for (let i = all.length - 1; i >= 0 && out.length < limit; i--) {
    if (before === undefined || id(all[i]) < before) out.push({ ...all[i] });
  }
  return out;
}

/** What a rejected transaction was, as the account `accountId` sees it. */
function rejectionDetails(r: TxRejection, accountId: number): RejectionRecord["details"] {
  const tx = r.tx;
  switch (tx.type) {
    case TxType.TRADE:
    case TxType.DERIV_TRADE: {
      const mine = tx.buy.accountId === accountId ? tx.buy : tx.sell;
      return { orderId: mine.orderId, marketId: mine.marketId, side: mine.side, lots: tx.lots, priceTicks: tx.priceTicks };
    }
    case TxType.WITHDRAW:
      return { tokenId: tx.request.tokenId, amount: tx.request.amount, nonce: tx.request.nonce };
    case TxType.TRANSFER:
      return { toCollateral: tx.request.toCollateral, amount: tx.request.amount, nonce: tx.request.nonce };
    case TxType.CANCEL:
      return { orderId: tx.request.orderId };
    case TxType.OPERATOR_CANCEL:
      return { orderId: tx.orderId };
    case TxType.LIQUIDATE:
      return { liquidatedAccountId: tx.liquidatedAccountId, orderId: tx.liquidator.orderId, marketId: tx.liquidator.marketId, lots: tx.lots, priceTicks: tx.priceTicks };
    case TxType.DELEVERAGE:
      return { deleveragedAccountId: tx.deleveragedAccountId, counterpartyAccountId: tx.counterpartyAccountId, instrumentId: tx.instrumentId, lots: tx.lots, amount: tx.amount };
    case TxType.SETTLE:
      return { instrumentId: tx.instrumentId };
    default:
      return {};
  }
}
