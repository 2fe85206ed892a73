import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Side } from "../../../sequencer/protocol/constants.ts";
import { BookSide, RestingOrder } from "../../../sequencer/matching/bookSide.ts";
import { PriceLevels } from "../../../sequencer/matching/priceLevels.ts";
import { buy, prng, sell } from "../../../scripts/fixtures/matching/helpers.ts";

describe("book side: sorted levels of FIFO queues", () => {
  for (const side of [Side.BUY, Side.SELL]) {
    it(`keeps ${side === Side.BUY ? "bids" : "asks"} sorted best first through random inserts and removals`, () => {
      const r = prng(7 + side);
      const s = new BookSide(side);
      const live: RestingOrder[] = [];
      let seq = 1;
      for (let step = 0; step < 3000; step++) {
        if (live.length > 0 && r.chance(45)) {
          const o = live.splice(r.int(live.length), 1)[0];
          s.remove(o);
        } else {
          const mk = side === Side.BUY ? buy : sell;
          const o = new RestingOrder(mk(1, BigInt(seq), BigInt(r.int(500)), BigInt(1 + r.int(9))), seq++);
          s.add(o);
          live.push(o);
        }
        if (step % 50 === 0 || step === 2999) {
          const expected = new Map<bigint, { lots: bigint; orders: number }>();
          for (const o of live) {
            const l = expected.get(o.priceTicks) ?? { lots: 0n, orders: 0 };
            expected.set(o.priceTicks, { lots: l.lots + o.remainingLots, orders: l.orders + 1 });
          }
          const prices = [...expected.keys()].sort((a, b) => ((side === Side.BUY ? a > b : a < b) ? -1 : 1));
          assert.deepEqual(s.depth(1e9), prices.map((p) => ({ priceTicks: p, ...expected.get(p)! })));
          assert.equal(s.levelCount, prices.length);
          assert.equal(s.best()?.priceTicks, prices[0]);
        }
      }
    });
  }

  it("queues orders at one price first in, first out, and unlinks from anywhere in the queue", () => {
    const s = new BookSide(Side.SELL);
    const os = [1, 2, 3, 4].map((i) => new RestingOrder(sell(i, 1n, 10n, BigInt(i)), i));
    os.forEach((o) => s.add(o));
    s.remove(os[2]);
    s.remove(os[0]);
    const order: number[] = [];
    for (let o = s.best()!.head; o !== null; o = o.next) order.push(o.accountId);
    assert.deepEqual(order, [2, 4]);
    assert.deepEqual(s.depth(5), [{ priceTicks: 10n, lots: 6n, orders: 2 }]);
    s.fill(os[1], 1n);
    assert.deepEqual(s.depth(5), [{ priceTicks: 10n, lots: 5n, orders: 2 }]);
    assert.equal(os[1].filledLots, 1n);
    s.remove(os[3]);
    s.remove(os[1]);
    assert.equal(s.best(), undefined);
    assert.equal(s.levelCount, 0);
  });
});

describe("price levels: two-level B+tree", () => {
  for (const [side, load] of [[Side.BUY, 4], [Side.SELL, 5], [Side.BUY, 64]] as const) {
    it(`matches a sorted array through random inserts, removals and lookups (side ${side}, load ${load})`, () => {
      const r = prng(100 + load);
      const levels = new PriceLevels<{ priceTicks: bigint }>(side, load);
      let naive: { priceTicks: bigint }[] = []; // best first
      const better = (a: bigint, b: bigint): boolean => (side === Side.BUY ? a > b : a < b);
      for (let step = 0; step < 6000; step++) {
        const price = BigInt(r.int(step < 3000 ? 400 : 40)); // grow, then churn a narrow band (merges)
        const present = naive.find((l) => l.priceTicks === price);
        assert.equal(levels.get(price), present);
        const op = r.int(10);
        if (present && op < 5) {
          levels.remove(present);
          naive = naive.filter((l) => l !== present);
        } else if (!present && op < 7) {
          const l = { priceTicks: price };
          levels.insert(l);
          naive.push(l);
          naive.sort((a, b) => (better(a.priceTicks, b.priceTicks) ? -1 : 1));
        } else if (naive.length > 0 && op === 9) {
          const best = naive.shift()!;
          assert.equal(levels.best(), best);
          levels.remove(best);
        }
        assert.equal(levels.size, naive.length);
        assert.equal(levels.best(), naive[0]);
        if (step % 97 === 0) {
          const seen: { priceTicks: bigint }[] = [];
          levels.forEachBestFirst((l) => (seen.push(l), true));
          assert.deepEqual(seen, naive);
        }
      }
    });
  }

  it("stops iterating when told to and refuses to remove a level it does not hold", () => {
    const levels = new PriceLevels<{ priceTicks: bigint }>(Side.SELL, 2);
    for (const p of [5n, 1n, 3n, 2n, 4n]) levels.insert({ priceTicks: p });
    const seen: bigint[] = [];
    levels.forEachBestFirst((l) => (seen.push(l.priceTicks), seen.length < 3));
    assert.deepEqual(seen, [1n, 2n, 3n]);
    assert.throws(() => levels.remove({ priceTicks: 3n }), /not found/);
    assert.equal(levels.size, 5);
    assert.throws(() => new PriceLevels<{ priceTicks: bigint }>(Side.SELL).remove({ priceTicks: 3n }), /not found/);
  });
});
