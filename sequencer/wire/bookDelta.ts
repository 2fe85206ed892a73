/**
 * Order book deltas of the stream: the levels of a top-N view that changed between two views (a level
 * that left the view, emptied or pushed below the top N, is sent with lots "0" and orders 0), and the
 * client's side, applying a delta to its copy. diff then apply gives back the new view exactly.
 */
import type { Depth, DepthLevel } from "../matching/index.ts";

export type BookDelta = { bids: DepthLevel[]; asks: DepthLevel[] };

function diffSide(prev: readonly DepthLevel[], next: readonly DepthLevel[]): DepthLevel[] {
  const before = new Map(prev.map((l) => [l.priceTicks, l]));
  const out: DepthLevel[] = [];
  for (const l of next) {
    const b = before.get(l.priceTicks);
    before.delete(l.priceTicks);
    if (!b || b.lots !== l.lots || b.orders !== l.orders) out.push(l);
  }
  for (const gone of before.values()) out.push({ priceTicks: gone.priceTicks, lots: 0n, orders: 0 });
  return out;
}

/** The changed levels from `prev` to `next` (both top-N views, best first). */
export function diffDepth(prev: Depth, next: Depth): BookDelta {
  return { bids: diffSide(prev.bids, next.bids), asks: diffSide(prev.asks, next.asks) };
}

export function isEmptyDelta(d: BookDelta): boolean {
  return d.bids.length === 0 && d.asks.length === 0;
}

function applySide(side: readonly DepthLevel[], changes: readonly DepthLevel[], better: (a: bigint, b: bigint) => boolean, levels: number): DepthLevel[] {
  const byPrice = new Map(side.map((l) => [l.priceTicks, l]));
  for (const c of changes) {
    if (c.lots === 0n) byPrice.delete(c.priceTicks);
    else byPrice.set(c.priceTicks, c);
  }
  return [...byPrice.values()].sort((a, b) => (better(a.priceTicks, b.priceTicks) ? -1 : 1)).slice(0, levels);
}

/** `view` with `delta` applied, cut to `levels` per side. */
export function applyDelta(view: Depth, delta: BookDelta, levels: number): Depth {
  return {
    bids: applySide(view.bids, delta.bids, (a, b) => a > b, levels),
    asks: applySide(view.asks, delta.asks, (a, b) => a < b, levels),
  };
}
