/**
 * Per-account index: live orders by (accountId, orderId) for O(1) cancel and lookup, and the ids an account
 * can no longer use, so a signed order can never be replayed (DUPLICATE_ORDER_ID).
 *
 * An account's live orders iterate in acceptance (seq) order: entries are inserted at acceptance and a
 * Map keeps insertion order.
 *
 * Used ids follow the state's order storage (circuits/SPEC.md "State": order `id` lives in slot `id mod
 * idSlots`, and a slot only takes ids above the one it holds): per account and slot the index keeps the latest
 * accepted id, and every id at or below it in that slot counts as used. So memory is bounded by the slots an
 * account has used (4^orderLevels), not by the orders it ever placed: a market maker replacing quotes all day, or
 * a client sending IOC orders that never fill, adds nothing once each slot has been used.
 */
import type { RestingOrder } from "./bookSide.ts";

export class OrderIndex {
  readonly #live = new Map<number, Map<bigint, RestingOrder>>();
  /** accountId -> (slot -> the latest accepted id in it). */
  readonly #latest = new Map<number, Map<bigint, bigint>>();
  readonly #idSlots: bigint;

  /** @param idSlots Order storage slots per account (4^orderLevels); 2^40, one per order id, keeps every id apart. */
  constructor(idSlots: bigint) {
    if (idSlots < 1n) throw new RangeError(`idSlots=${idSlots}: at least one slot`);
    this.#idSlots = idSlots;
  }

  /** Whether `orderId` is at or below the latest accepted id of its slot (it can never be accepted again). */
  isUsed(accountId: number, orderId: bigint): boolean {
    const latest = this.#latest.get(accountId)?.get(orderId % this.#idSlots);
    return latest !== undefined && orderId <= latest;
  }

  /** Records `orderId` as accepted: the latest id of its slot unless a higher one is already there. */
  markUsed(accountId: number, orderId: bigint): void {
    let slots = this.#latest.get(accountId);
    if (slots === undefined) this.#latest.set(accountId, (slots = new Map()));
    const slot = orderId % this.#idSlots;
    const latest = slots.get(slot);
    if (latest === undefined || orderId > latest) slots.set(slot, orderId);
  }

  /**
   * Forgets that the id was used (an order taken out of the book as if never accepted: MatchingEngine's unplace):
   * its slot goes back to the id one slot-cycle below, so `orderId` itself is free again and every id below it in
   * the slot stays used. Only the slot's latest id can be unmarked (the one live order of its slot).
   */
  unmarkUsed(accountId: number, orderId: bigint): void {
    const slots = this.#latest.get(accountId);
    const slot = orderId % this.#idSlots;
    if (slots?.get(slot) !== orderId) return;
    if (orderId >= this.#idSlots) slots.set(slot, orderId - this.#idSlots);
    else slots.delete(slot);
    if (slots.size === 0) this.#latest.delete(accountId);
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

  /** The latest used id of every used slot per account, accounts ascending, ids ascending (what markUsed restores). */
  usedIds(): [accountId: number, orderIds: bigint[]][] {
    return [...this.#latest.entries()].sort((a, b) => a[0] - b[0]).map(([a, slots]) => [a, [...slots.values()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))]);
  }
}
