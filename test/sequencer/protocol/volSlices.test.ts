/** sequencer/protocol/volSlices.ts: the vol table's validity rule, its signed word, and its canonical order. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { EMPTY_SLICE, MAX_VOL_PPM, sliceOfWord, sliceTable, sliceTableFault, sliceWord, type VolSlice } from "../../../sequencer/protocol/volSlices.ts";

const T = 1_800_000_000;
const slice = (fields: Partial<VolSlice> = {}): VolSlice => ({ underlying: 0, expiry: T, levelPpm: 600_000n, slopePpm: -750_000n, ...fields });

describe("vol slices", () => {
  it("finds every fault of a table, and none in a valid one", () => {
    assert.equal(sliceTableFault([slice(), slice({ expiry: T + 1 }), slice({ underlying: 1, expiry: 1 }), EMPTY_SLICE], 2), null);
    assert.equal(sliceTableFault([slice({ levelPpm: 1n << 13n, slopePpm: -(1n << 23n) }), slice({ expiry: T + 1, levelPpm: MAX_VOL_PPM, slopePpm: (1n << 23n) - 1n })], 1), null, "the ranges' edges");
    const faults: [VolSlice[], RegExp][] = [
      [[{ ...EMPTY_SLICE, slopePpm: 1n }], /empty \(level 0\) but not all zero/],
      [[{ ...EMPTY_SLICE, expiry: T }], /empty \(level 0\) but not all zero/],
      [[slice({ underlying: 2 })], /underlying 2 is not one of the 2/],
      [[slice({ expiry: 0 })], /expiry 0 outside \[1, 2\^32\)/],
      [[slice({ expiry: 2 ** 32 })], /outside \[1, 2\^32\)/],
      [[slice({ levelPpm: (1n << 13n) - 1n })], /level 8191 outside/],
      [[slice({ levelPpm: 1n << 23n })], /level 8388608 outside/],
      [[slice({ slopePpm: 1n << 23n })], /slope 8388608 outside/],
      [[slice({ slopePpm: -(1n << 23n) - 1n })], /slope -8388609 outside/],
      [[EMPTY_SLICE, slice()], /follows an empty slice/],
      [[slice(), slice()], /slice 1 is not after slice 0/],
      [[slice({ expiry: T + 1 }), slice()], /slice 1 is not after slice 0/],
      [[slice({ underlying: 1 }), slice({ underlying: 0, expiry: T + 5 })], /slice 1 is not after slice 0/],
    ];
    for (const [table, fault] of faults) assert.match(sliceTableFault(table, 2) ?? "no fault", fault, JSON.stringify(table, (_, v) => (typeof v === "bigint" ? `${v}` : v)));
  });

  it("signs a slice as underlying << 80 | expiry << 48 | level << 24 | (slope + 2^23), and reads it back", () => {
    const s = slice({ underlying: 1 });
    assert.equal(sliceWord(s), (1n << 80n) | (BigInt(T) << 48n) | (600_000n << 24n) | ((1n << 23n) - 750_000n));
    assert.deepEqual(sliceOfWord(sliceWord(s)), s);
    assert.deepEqual(sliceOfWord(sliceWord(EMPTY_SLICE)), EMPTY_SLICE);
    assert.equal(sliceWord(EMPTY_SLICE), 1n << 23n, "an empty slice signs its zero slope's offset");
    assert.throws(() => sliceWord(slice({ levelPpm: 1n << 23n })), /level=8388608 does not fit in 23 bits/);
    assert.throws(() => sliceWord(slice({ slopePpm: 1n << 23n })), /slope=16777216 does not fit in 24 bits/);
    assert.throws(() => sliceWord(slice({ underlying: 4 })), /underlying=4 is beyond 3/);
    // docs/client.md 5.6's worked example
    assert.equal(sliceWord({ underlying: 0, expiry: 1767225600, levelPpm: 600_000n, slopePpm: -750_000n }), 497429784612541413232208n);
  });

  it("orders a table's slices by (underlying, expiry), pads it with empty slices, and refuses more than fit", () => {
    const a = slice({ underlying: 1, expiry: 5 });
    const b = slice({ expiry: T + 9 });
    const c = slice();
    const table = sliceTable([a, b, c], 4);
    assert.deepEqual(table, [c, b, a, EMPTY_SLICE]);
    assert.equal(sliceTableFault(table, 2), null);
    assert.throws(() => sliceTable([a, b, c], 2), /3 vol slices .* for a table of 2/);
  });
});
