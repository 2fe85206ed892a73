/** Book deltas: diff then apply gives back the new top-N view, including levels leaving and entering it. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { applyDelta, diffDepth, isEmptyDelta } from "../../../sequencer/wire/bookDelta.ts";

const lv = (priceTicks: bigint, lots: bigint, orders = 1) => ({ priceTicks, lots, orders });

describe("book deltas", () => {
  it("sends only changed levels, removed ones with lots 0, and applying them rebuilds the view", () => {
    const prev = { bids: [lv(100n, 5n), lv(99n, 2n), lv(98n, 1n)], asks: [lv(101n, 3n), lv(102n, 4n)] };
    const next = { bids: [lv(100n, 5n), lv(98n, 1n), lv(97n, 6n, 2)], asks: [lv(101n, 1n), lv(102n, 4n)] };
    const d = diffDepth(prev, next);
    assert.deepEqual(d, { bids: [lv(97n, 6n, 2), lv(99n, 0n, 0)], asks: [lv(101n, 1n)] });
    assert.deepEqual(applyDelta(prev, d, 3), next);
    assert.equal(isEmptyDelta(diffDepth(next, next)), true);
  });

  it("keeps the client's view at N levels when a better level pushes one out", () => {
    const prev = { bids: [lv(100n, 1n), lv(99n, 1n)], asks: [] };
    const next = { bids: [lv(101n, 1n), lv(100n, 1n)], asks: [] }; // 99 fell below the top 2
    const d = diffDepth(prev, next);
    assert.deepEqual(d.bids, [lv(101n, 1n), lv(99n, 0n, 0)]);
    assert.deepEqual(applyDelta(prev, d, 2), next);
  });
});
