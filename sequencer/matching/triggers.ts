/**
 * Stop and take-profit orders held until their trigger (docs/client.md 6.8): the signed order carries a
 * trigger type and price (messages.ts Order.triggerType, triggerPriceTicks); the exchange core holds it
 * here, out of the book, and places it once an accepted oracle update's mark of the instrument crosses
 * the trigger (messages.ts triggerCrossed). Deterministic: orders are kept and released in arrival order.
 */
import type { Order, Signed } from "../protocol/messages.ts";

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

  constructor(held: readonly HeldOrder[] = []) {
    for (const h of held) this.hold(h.order, h.time);
  }

  hold(order: Signed<Order>, time: number): void {
    const key = `${order.accountId}:${order.orderId}`;
    this.#held.set(key, { order, time });
    let keys = this.#byAccount.get(order.accountId);
    if (!keys) this.#byAccount.set(order.accountId, (keys = new Set()));
    keys.add(key);
  }

  /** Takes the held order out (a cancel), or undefined if it is not held. */
  take(accountId: number, orderId: bigint): HeldOrder | undefined {
    const key = `${accountId}:${orderId}`;
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
