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

  constructor(held: readonly HeldOrder[] = []) {
    for (const h of held) this.hold(h.order, h.time);
  }

  hold(order: Signed<Order>, time: number): void {
    this.#held.set(`${order.accountId}:${order.orderId}`, { order, time });
  }

  /** Takes the held order out (a cancel), or undefined if it is not held. */
  take(accountId: number, orderId: bigint): HeldOrder | undefined {
    const key = `${accountId}:${orderId}`;
    const h = this.#held.get(key);
    this.#held.delete(key);
    return h;
  }

  /** Takes every held order `crossed` says fired out, in arrival order. */
  release(crossed: (o: Signed<Order>) => boolean): HeldOrder[] {
    const out: HeldOrder[] = [];
    for (const [key, h] of this.#held) {
      if (!crossed(h.order)) continue;
      this.#held.delete(key);
      out.push(h);
    }
    return out;
  }

  /** Held orders (of one account when given), in arrival order. */
  list(accountId?: number): HeldOrder[] {
    return [...this.#held.values()].filter((h) => accountId === undefined || h.order.accountId === accountId);
  }
}
