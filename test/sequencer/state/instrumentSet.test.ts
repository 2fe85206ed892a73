/**
 * sequencer/state/instrumentSet.ts, the TypeScript side of a batch's marked set over an instrument tree: the tree's
 * leaves are the instruments' leaves, a set is loaded and written back in id order, and a set the circuit has no
 * witness for (too many entries, ids not strictly increasing, an id outside the tree) is refused with its code,
 * writing nothing. The circuit side: test/circuits/lib/instrumentSet.test.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { EMPTY_INSTRUMENT, registeredInstrument } from "../../../sequencer/derivatives/formulas.ts";
import { emptySetId, InstrumentSetRejected, loadInstrumentSet } from "../../../sequencer/state/instrumentSet.ts";
import { InstrumentTree } from "../../../sequencer/state/instrumentTable.ts";
import { INSTRUMENTS } from "../../helpers/derivatives.ts";

const [perp, future] = INSTRUMENTS.map((spec) => registeredInstrument(spec, EMPTY_INSTRUMENT));
const refusal = (code: string) => (e: unknown) => e instanceof InstrumentSetRejected && e.code === code;

describe("instrument set (instrumentSet.ts)", () => {
  it("loads a set in id order, writes each entry back, and pads it with unused entries at the reserved id", () => {
    const t = new InstrumentTree(2);
    t.set(4, perp!);
    const before = t.root;
    const w = loadInstrumentSet(t, [{ id: 4, after: { ...perp!, holders: 1 } }, { id: 9, after: future! }], 4);
    assert.equal(w.oldRoot, before);
    assert.equal(w.newRoot, t.root);
    assert.deepEqual(w.ids, [4, 9, 16, 16]);
    assert.equal(emptySetId(2), 16);
    assert.deepEqual(w.before, [perp, EMPTY_INSTRUMENT, EMPTY_INSTRUMENT, EMPTY_INSTRUMENT]);
    assert.deepEqual(w.inputs.used, [1n, 1n, 0n, 0n]);
    assert.equal(t.instrument(4).holders, 1);
    assert.deepEqual(t.instrument(9), future);
    // each entry's path is taken where the chain stands: the second entry's root includes the first write
    const fresh = new InstrumentTree(2);
    fresh.set(4, { ...perp!, holders: 1 });
    assert.deepEqual(w.inputs.siblings[1], fresh.proof(9));
  });

  it("refuses a set the circuit has no witness for, with its code, writing nothing", () => {
    const t = new InstrumentTree(2);
    t.set(4, perp!);
    const root = t.root;
    const entry = (id: number) => ({ id, after: future! });
    assert.throws(() => loadInstrumentSet(t, [entry(1), entry(2), entry(3)], 2), refusal("SET_TOO_LARGE"));
    assert.throws(() => loadInstrumentSet(t, [entry(4), entry(4)], 4), refusal("SET_ORDER"));
    assert.throws(() => loadInstrumentSet(t, [entry(5), entry(4)], 4), refusal("SET_ORDER"));
    // an id outside the tree, after a valid entry: the valid one is not written either
    assert.throws(() => loadInstrumentSet(t, [entry(4), entry(16)], 4), refusal("SET_ID_RANGE"));
    assert.throws(() => loadInstrumentSet(t, [entry(-1)], 4), refusal("SET_ID_RANGE"));
    assert.throws(() => t.set(1.5, perp!), RangeError);
    assert.equal(t.root, root);
    assert.deepEqual(t.instrument(4), perp);
  });
});
