/**
 * The price levels of one book side, kept sorted worst -> best: a two-level B+tree, i.e. a sorted array of
 * sorted blocks of at most 2*load levels (load 64 by default).
 *
 * - best level: last element of the last block, O(1); adding a new best level or removing the best is a
 *   push/pop, O(1) (the common case: activity is at the top of the book);
 * - find / insert / remove anywhere: binary search over the blocks' last prices, then within one block,
 *   O(log n), plus a splice inside one block (<= 2*load elements) and, when a block splits, merges or
 *   empties, a splice of the block array (n / load elements).
 *
 * Why not one flat sorted array: a splice deep in it moves every level above, which measured ~70 us per
 * insert or remove with 10^5 levels (a cheap way to slow the engine down: rest orders at far-away
 * prices). Why no price -> level Map: V8 Maps degrade when the same key is set and deleted over and over
 * (deleted entries stay in the bucket chain until a rehash), which is what a level flickering at the top
 * of the book does (~10 us per operation with 10^4 entries, measured). Figures: scripts/bench/matching.ts.
 */
import { Side } from "../protocol/constants.ts";

export interface PricedLevel {
  readonly priceTicks: bigint;
}

export class PriceLevels<L extends PricedLevel> {
  /** Blocks in order, each sorted worst -> best, never empty. */
  readonly #blocks: L[][] = [];
  readonly #isBid: boolean;
  readonly #load: number;
  #size = 0;

  constructor(side: Side, load = 64) {
    this.#isBid = side === Side.BUY;
    this.#load = load;
  }

  get size(): number {
    return this.#size;
  }

  best(): L | undefined {
    const last = this.#blocks[this.#blocks.length - 1];
    return last === undefined ? undefined : last[last.length - 1];
  }

  /** The level at `price`, if any. */
  get(price: bigint): L | undefined {
    const best = this.best();
    if (best === undefined || best.priceTicks === price) return best;
    if (this.#better(price, best.priceTicks)) return undefined;
    const block = this.#blocks[this.#blockFor(price)];
    const l = block[this.#lowerBound(block, price)];
    return l !== undefined && l.priceTicks === price ? l : undefined;
  }

  /** Inserts a level whose price is not present. */
  insert(level: L): void {
    const blocks = this.#blocks;
    this.#size++;
    const lastBlock = blocks[blocks.length - 1];
    const price = level.priceTicks;
    if (lastBlock === undefined) {
      blocks.push([level]);
      return;
    }
    let bi: number;
    let i: number;
    if (this.#better(price, lastBlock[lastBlock.length - 1].priceTicks)) {
      bi = blocks.length - 1;
      i = lastBlock.length;
    } else {
      bi = this.#blockFor(price);
      i = this.#lowerBound(blocks[bi], price);
    }
    const block = blocks[bi];
    if (i === block.length) block.push(level);
    else block.splice(i, 0, level);
    if (block.length > 2 * this.#load) blocks.splice(bi + 1, 0, block.splice(this.#load));
  }

  /** Removes a present level. */
  remove(level: L): void {
    const blocks = this.#blocks;
    const lastBlock = blocks[blocks.length - 1];
    if (lastBlock === undefined) throw new Error("price level not found (book corrupted)");
    let bi: number;
    let i: number;
    if (lastBlock[lastBlock.length - 1] === level) {
      bi = blocks.length - 1;
      i = lastBlock.length - 1;
    } else {
      bi = this.#blockFor(level.priceTicks);
      i = this.#lowerBound(blocks[bi], level.priceTicks);
    }
    const block = blocks[bi];
    if (block[i] !== level) throw new Error("price level not found (book corrupted)");
    this.#size--;
    if (i === block.length - 1) block.pop();
    else block.splice(i, 1);
    if (block.length === 0) {
      blocks.splice(bi, 1);
    } else if (block.length < this.#load >> 1 && blocks.length > 1) {
      // Merge a small block into a neighbour (split again if that makes it too big).
      const into = bi > 0 ? bi - 1 : bi;
      const merged = blocks[into];
      for (const l of blocks[into + 1]) merged.push(l);
      blocks.splice(into + 1, 1);
      if (merged.length > 2 * this.#load) blocks.splice(into + 1, 0, merged.splice(merged.length >> 1));
    }
  }

  /** Visits levels best first until `visit` returns false. */
  forEachBestFirst(visit: (level: L) => boolean): void {
    const blocks = this.#blocks;
    for (let b = blocks.length - 1; b >= 0; b--) {
      const block = blocks[b];
      for (let i = block.length - 1; i >= 0; i--) if (!visit(block[i])) return;
    }
  }

  /** Index of the block where `price` is or would go: the first whose last level is `price` or better; the last block if none. */
  #blockFor(price: bigint): number {
    const blocks = this.#blocks;
    let lo = 0;
    let hi = blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const block = blocks[mid];
      const p = block[block.length - 1].priceTicks;
      if (p === price || this.#better(p, price)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Index in `block` of the first level whose price is `price` or better (block.length if none). */
  #lowerBound(block: L[], price: bigint): number {
    let lo = 0;
    let hi = block.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = block[mid].priceTicks;
      if (p === price || this.#better(p, price)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Is price a better than price b on this side? */
  #better(a: bigint, b: bigint): boolean {
    return this.#isBid ? a > b : a < b;
  }
}
