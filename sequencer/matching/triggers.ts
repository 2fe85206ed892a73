/**
 * Stop and take-profit orders held until their trigger (docs/client.md 6.8): the signed order carries a
 * trigger type and price (messages.ts Order.triggerType, triggerPriceTicks); the exchange core holds it
 * here, out of the book, and places it once an accepted oracle update's mark of the instrument crosses
 * the trigger (messages.ts triggerCrossed). Deterministic: orders are kept and released in arrival order.
 */
import type { Order, Signed } from "../protocol/messages.ts";

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
