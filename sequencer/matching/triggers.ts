/**
 * Stop and take-profit orders held until their trigger (docs/client.md 6.8): the signed order carries a
 * trigger type and price (messages.ts Order.triggerType, triggerPriceTicks); the exchange core holds it
 * here, out of the book, and places it once an accepted oracle update's mark of the instrument crosses
 * the trigger (messages.ts triggerCrossed). Deterministic: orders are kept and released in arrival order. One past
 * its expiry is taken out by the sweep at the next record's time (`expire`, ExchangeCore.apply), as resting orders are.
 */
import type { Order, Signed } from "../protocol/messages.ts";
import { ExpiryIndex } from "./expiryIndex.ts";

/**
 * The most stop and take-profit orders one account may have at once, held or in the book (TOO_MANY_TRIGGER_ORDERS
 * beyond): enough for a stop-loss and a take-profit on each of 16 positions. A held order adds nothing to the batch
 * queue and reserves no margin, so it passed the backlog bound and fair queueing whenever it was placed, and every
 * held order whose trigger an update crosses fires inside that update, which is never refused: one account holding
 * thousands (one per order slot, each sweeping up to 64 makers) queued a flood of fills at one update, past the age
 * its oracle update may have in a batch, ahead of everyone's forced requests (review of 2026-12-06, Medium). Orders
 * in the book count too: one placed at once (its trigger already crossed) is held again when an update uncrosses it,
 * which a cap on held orders alone did not see (the review of the first cap).
 */
export const MAX_TRIGGER_ORDERS_PER_ACCOUNT = 32;

/** A held order and the time it arrived. */
export type HeldOrder = { order: Signed<Order>; time: number };

export class TriggerBook {
  /** By "account:orderId", in arrival order (a Map keeps insertion order). */
  readonly #held = new Map<string, HeldOrder>();
  /** The keys of each account's held orders, in arrival order: an account's list costs its own orders, not everyone's. */
  readonly #byAccount = new Map<number, Set<string>>();
  /**
   * The held orders by (expiry, account, order id): a key that depends on the orders only, so a sweep takes them in
   * the same order live, in replay and after a restore (derived: the constructor rebuilds it). An entry is live while
   * it is the one held under its key (a fired, cancelled or swept order's entry is dropped lazily).
   */
  readonly #expiries = new ExpiryIndex<HeldOrder>({
    expiry: (h) => h.order.expiry,
    live: (h) => this.#held.get(keyOf(h.order)) === h,
    before: ({ order: a }, { order: b }) =>
      a.expiry < b.expiry || (a.expiry === b.expiry && (a.accountId < b.accountId || (a.accountId === b.accountId && a.orderId < b.orderId))),
  });

  constructor(held: readonly HeldOrder[] = []) {
    for (const h of held) this.hold(h.order, h.time);
  }

  hold(order: Signed<Order>, time: number): void {
    const key = keyOf(order);
    const h = { order, time };
    this.#held.set(key, h);
    this.#expiries.add(h);
    let keys = this.#byAccount.get(order.accountId);
    if (!keys) this.#byAccount.set(order.accountId, (keys = new Set()));
    keys.add(key);
  }

  /**
   * Takes out every held order expired at `time` (`expiry < time`), earliest expiry first (by account, then order id,
   * at the same expiry); nothing when none has. The caller drops them (reason expired).
   */
  expire(time: number): HeldOrder[] {
    const out: HeldOrder[] = [];
    for (let h = this.#expiries.takeExpired(time); h !== undefined; h = this.#expiries.takeExpired(time)) {
      this.#forget(h.order.accountId, keyOf(h.order));
      out.push(h);
    }
    return out;
  }

  /** Whether a held order is expired at `time` (`expire(time)` would take something out). */
  hasExpired(time: number): boolean {
    return this.#expiries.hasExpired(time);
  }

  /** Takes the held order out (a cancel), or undefined if it is not held. */
  take(accountId: number, orderId: bigint): HeldOrder | undefined {
    const key = keyOf({ accountId, orderId });
    const h = this.#held.get(key);
    if (h) this.#forget(accountId, key);
    return h;
  }

  #forget(accountId: number, key: string): void {
    this.#held.delete(key);
    const keys = this.#byAccount.get(accountId);
    keys?.delete(key);
    if (keys?.size === 0) this.#byAccount.delete(accountId);
  }

  /** Takes every held order `crossed` says fired out, in arrival order. */
  release(crossed: (o: Signed<Order>) => boolean): HeldOrder[] {
    const out: HeldOrder[] = [];
    for (const [key, h] of this.#held) {
      if (!crossed(h.order)) continue;
      this.#forget(h.order.accountId, key);
      out.push(h);
    }
    return out;
  }

  /** Held orders (of one account when given), in arrival order. */
  list(accountId?: number): HeldOrder[] {
    if (accountId === undefined) return [...this.#held.values()];
    return [...(this.#byAccount.get(accountId) ?? [])].map((key) => this.#held.get(key)!);
  }
}

/** The trigger book's key of an order: "account:orderId". */
function keyOf(o: Pick<Order, "accountId" | "orderId">): string {
  return `${o.accountId}:${o.orderId}`;
}
