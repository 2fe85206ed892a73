/**
 * Per-account index: live orders by (accountId, orderId) for O(1) cancel and lookup, and every order id
 * an account has had accepted, so a signed order can never be replayed (DUPLICATE_ORDER_ID).
 *
 * An account's live orders iterate in acceptance (seq) order: entries are inserted at acceptance and a
 * Map keeps insertion order. Used ids are kept forever: memory grows with the number of orders ever
 * accepted (pruning would need a rule from the circuit's order-slot storage; see circuits/SPEC.md).
 */
import type { RestingOrder } from "./bookSide.ts";

export class OrderIndex {
  readonly #live = new Map<number, Map<bigint, RestingOrder>>();
  readonly #used = new Map<number, Set<bigint>>();

  isUsed(accountId: number, orderId: bigint): boolean {
    return this.#used.get(accountId)?.has(orderId) ?? false;
  }

  markUsed(accountId: number, orderId: bigint): void {
    let ids = this.#used.get(accountId);
    if (ids === undefined) this.#used.set(accountId, (ids = new Set()));
    ids.add(orderId);
  }

  /** Forgets that the id was used (an order taken out of the book as if never accepted: MatchingEngine's unplace). */
  unmarkUsed(accountId: number, orderId: bigint): void {
    const ids = this.#used.get(accountId);
    ids?.delete(orderId);
    if (ids?.size === 0) this.#used.delete(accountId);
  }

  get(accountId: number, orderId: bigint): RestingOrder | undefined {
    return this.#live.get(accountId)?.get(orderId);
  }

  add(o: RestingOrder): void {
    let orders = this.#live.get(o.accountId);
    if (orders === undefined) this.#live.set(o.accountId, (orders = new Map()));
    orders.set(o.orderId, o);
  }

  remove(o: RestingOrder): void {
    const orders = this.#live.get(o.accountId)!;
    orders.delete(o.orderId);
    if (orders.size === 0) this.#live.delete(o.accountId);
  }

  /** The account's live orders, oldest first. Removing the order being visited is allowed. */
  ofAccount(accountId: number): Iterable<RestingOrder> {
    return this.#live.get(accountId)?.values() ?? [];
  }

  /** Used ids per account, accounts ascending, ids in the order they were used. */
  usedIds(): [accountId: number, orderIds: bigint[]][] {
    return [...this.#used.entries()].sort((a, b) => a[0] - b[0]).map(([a, ids]) => [a, [...ids]]);
  }
}
