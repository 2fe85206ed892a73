/**
 * The instrument table's commitment (sequencer/state/instrumentTable.ts): the tree's shape for a table of N, its empty
 * subtrees (what the circuit's generated EMPTY_INSTRUMENT_NODE holds), and the state's instrumentsHash as its root,
 * rolled back with the state. The circuit's InstrumentTableRoot is checked against it in
 * test/circuits/batch/globalsHash.test.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { QuadTree } from "../../../sequencer/crypto/quadTree.ts";
import { EMPTY_INSTRUMENT, registeredInstrument } from "../../../sequencer/derivatives/formulas.ts";
import { DEVNET_PARAMS } from "../../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { emptyInstrumentNodes, instrumentLeaf, instrumentLevels, InstrumentTree, MAX_INSTRUMENT_LEVELS } from "../../../sequencer/state/instrumentTable.ts";
import { INSTRUMENTS } from "../../helpers/derivatives.ts";

const [perp, future] = INSTRUMENTS.map((spec) => registeredInstrument(spec, EMPTY_INSTRUMENT));

describe("instrument table (instrumentTable.ts)", () => {
  it("a never-written id holds the empty instrument; the root is the quad root of the instruments' leaves", () => {
    const t = new InstrumentTree(5);
    assert.equal(t.capacity, 1_024);
    assert.deepEqual(t.instrument(1_023), EMPTY_INSTRUMENT);
    assert.equal(t.root, new QuadTree(5, instrumentLeaf(EMPTY_INSTRUMENT)).root);
    t.set(700, perp!);
    const q = new QuadTree(5, instrumentLeaf(EMPTY_INSTRUMENT));
    q.set(700, instrumentLeaf(perp!));
    assert.equal(t.root, q.root);
    assert.deepEqual(t.instrument(700), perp);
    assert.throws(() => t.set(1_024, perp!), RangeError);
    assert.throws(() => t.instrument(-1), RangeError);
  });

  it("a table of N takes the fewest levels, at least one, whose tree holds N; a size with no tree is refused", () => {
    const cases: [number, number][] = [[1, 1], [4, 1], [5, 2], [16, 2], [17, 3], [48, 3], [64, 3], [65, 4], [1_024, 5], [4 ** 8, 8]];
    for (const [n, levels] of cases) assert.equal(instrumentLevels(n), levels, `N = ${n}`);
    for (const bad of [0, -4, 1.5, 4 ** MAX_INSTRUMENT_LEVELS + 1]) assert.throws(() => instrumentLevels(bad), RangeError, `N = ${bad}`);
  });

  it("the empty subtrees are the roots of trees that hold nothing, from the empty instrument's leaf up", () => {
    const nodes = emptyInstrumentNodes();
    assert.equal(nodes.length, MAX_INSTRUMENT_LEVELS + 1);
    assert.equal(nodes[0], instrumentLeaf(EMPTY_INSTRUMENT));
    for (let l = 1; l <= MAX_INSTRUMENT_LEVELS; l++) assert.equal(nodes[l], new InstrumentTree(l).root, `height ${l}`);
  });

  it("the state's instrumentsHash is the tree's root over its table; a rolled-back registration leaves it as it was, and no change of an instrument bypasses it", () => {
    const n = DEVNET_PARAMS.instruments;
    const state = new ExchangeState(DEVNET_PARAMS);
    const tree = new InstrumentTree(instrumentLevels(n));
    assert.equal(state.instrumentsHash(), tree.root);
    state.setInstrument(0, perp!);
    state.setInstrument(n - 1, future!);
    tree.set(0, perp!);
    tree.set(n - 1, future!);
    assert.equal(state.instrumentsHash(), tree.root);
    const before = state.instrumentsHash();
    const tx = state.begin();
    state.setInstrument(n - 1, { ...future!, holders: 3 });
    assert.notEqual(state.instrumentsHash(), before);
    tx.rollback();
    assert.equal(state.instrumentsHash(), before);
    assert.deepEqual(state.instruments[n - 1], future);
    assert.throws(() => state.setInstrument(n, perp!), RangeError); // past the table, though the tree has room
    assert.equal(state.instrumentsHash(), before);
    // the state keeps its own frozen copy: the tree hashed the leaf when it was written, so no change may bypass it
    const mine = { ...future!, holders: 7 };
    state.setInstrument(1, mine);
    const written = state.instrumentsHash();
    mine.holders = 8;
    assert.equal(state.instruments[1]!.holders, 7);
    assert.throws(() => { (state.instruments[1] as { holders: number }).holders = 9; }, TypeError);
    assert.equal(state.instrumentsHash(), written);
  });
});
