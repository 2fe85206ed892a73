/**
 * Live orders by expiry: a binary min-heap on (expiry, then a tie-break), so a sweep finds the orders a record's
 * time has expired without walking them all: the engine's resting orders (MatchingEngine.expire, on (expiry, seq))
 * and the held stop and take-profit orders (TriggerBook.expire, on (expiry, account, order id)). Deletion is lazy:
 * an entry that is no longer live (an order that left the book: BookSide.remove clears its `level`; a held order
 * fired or cancelled) stays in the heap until it reaches the top, where it is dropped, or until a compaction, which
 * keeps the heap within about twice the entries it held live at the previous one (so a trader placing and
 * cancelling far-expiry orders all day does not grow it). The key must be total (the tie-break tells any two
 * entries apart), so the order in which expired entries come out depends only on the entries, never on how the heap
 * was built: a heap rebuilt from a snapshot gives the same sequence.
 *
 * Derived state: never snapshotted; MatchingEngine.restore and the TriggerBook's constructor add every restored
 * order again.
 */

/** Fewest entries before a compaction is considered (small heaps are never compacted). */
const COMPACT_SLACK = 1024;

/** How an index reads its entries: the expiry, whether an entry is still live, and the total order (`before`: a first). */
export type ExpiryKey<T> = {
  expiry(t: T): number;
  live(t: T): boolean;
  /** Whether `a` comes out before `b`; must be total and put the earlier expiry first. */
  before(a: T, b: T): boolean;
};

export class ExpiryIndex<T> {
  readonly #key: ExpiryKey<T>;
  #heap: T[] = [];
  /** Entries after the last compaction (live then): the heap is compacted once it holds twice that plus COMPACT_SLACK. */
  #compactedSize = 0;

  constructor(key: ExpiryKey<T>) {
    this.#key = key;
  }

  /** Entries held, live or not (for tests). */
  get size(): number {
    return this.#heap.length;
  }

  /** Adds an entry that has just become live. */
  add(o: T): void {
    if (this.#heap.length >= 2 * this.#compactedSize + COMPACT_SLACK) this.#compact();
    this.#heap.push(o);
    this.#up(this.#heap.length - 1);
  }

  /** The live entry that comes out first, or undefined when none is live; drops the dead entries above it. */
  peek(): T | undefined {
    while (this.#heap.length > 0 && !this.#key.live(this.#heap[0]!)) this.#pop();
    return this.#heap[0];
  }

  /** Whether a live entry is expired at `time` (its expiry is before it). */
  hasExpired(time: number): boolean {
    const next = this.peek();
    return next !== undefined && this.#key.expiry(next) < time;
  }

  /**
   * Takes out and returns the live entry that comes out first if its expiry is before `time` (it is expired at
   * `time`), else undefined. The caller removes it from where it lives (its book, the trigger book).
   */
  takeExpired(time: number): T | undefined {
    const top = this.peek();
    if (top === undefined || this.#key.expiry(top) >= time) return undefined;
    this.#pop();
    return top;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.#down(0);
    }
  }

  /** Keeps the live entries, re-heapified (O(n)). */
  #compact(): void {
    this.#heap = this.#heap.filter((o) => this.#key.live(o));
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#down(i);
    this.#compactedSize = this.#heap.length;
  }

  #up(i: number): void {
    const heap = this.#heap;
    const o = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#key.before(o, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = o;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const o = heap[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.#key.before(heap[child + 1]!, heap[child]!)) child++;
      if (!this.#key.before(heap[child]!, o)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = o;
  }
}
