/**
 * Resting orders by expiry: a binary min-heap on (expiry, seq), so the engine finds the orders a command's time
 * has expired without walking the books (MatchingEngine.expire). Deletion is lazy: an order that left the book
 * (filled, cancelled; BookSide.remove clears its `level`) stays in the heap until it reaches the top, where it is
 * dropped, or until a compaction, which keeps the heap within about twice the orders it held live at the previous
 * one (so a trader placing and cancelling far-expiry orders all day does not grow it). The key is total (seq is
 * unique), so the order in which expired orders come out depends only on the orders, never on how the heap was
 * built: a heap rebuilt from a snapshot gives the same sequence.
 *
 * Derived state: never snapshotted; MatchingEngine.restore adds every restored resting order again.
 */
import type { RestingOrder } from "./bookSide.ts";

/** Fewest entries before a compaction is considered (small heaps are never compacted). */
const COMPACT_SLACK = 1024;

export class ExpiryIndex {
  #heap: RestingOrder[] = [];
  /** Entries after the last compaction (live then): the heap is compacted once it holds twice that plus COMPACT_SLACK. */
  #compactedSize = 0;

  /** Entries held, live or not (for tests). */
  get size(): number {
    return this.#heap.length;
  }

  /** Adds an order that has just been put in its book. */
  add(o: RestingOrder): void {
    if (this.#heap.length >= 2 * this.#compactedSize + COMPACT_SLACK) this.#compact();
    this.#heap.push(o);
    this.#up(this.#heap.length - 1);
  }

  /** The resting order with the earliest (expiry, seq), or undefined when none rests; drops the dead entries above it. */
  peek(): RestingOrder | undefined {
    while (this.#heap.length > 0 && this.#heap[0]!.level === null) this.#pop();
    return this.#heap[0];
  }

  /**
   * Takes out and returns the resting order with the earliest (expiry, seq) if its expiry is before `time` (it is
   * expired at `time`), else undefined. The caller removes it from its book.
   */
  takeExpired(time: number): RestingOrder | undefined {
    const top = this.peek();
    if (top === undefined || top.expiry >= time) return undefined;
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

  /** Keeps the orders still in a book, re-heapified (O(n)). */
  #compact(): void {
    this.#heap = this.#heap.filter((o) => o.level !== null);
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#down(i);
    this.#compactedSize = this.#heap.length;
  }

  #up(i: number): void {
    const heap = this.#heap;
    const o = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(o, heap[parent]!)) break;
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
      if (child + 1 < n && before(heap[child + 1]!, heap[child]!)) child++;
      if (!before(heap[child]!, o)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = o;
  }
}

/** Earlier expiry first; the older order (lower seq) first at the same expiry. */
function before(a: RestingOrder, b: RestingOrder): boolean {
  return a.expiry < b.expiry || (a.expiry === b.expiry && a.seq < b.seq);
}
