/**
 * sequencer/derivatives/marking.ts: a marking's marks are the batch's (the oracle step prices every option of the
 * table the same), its tree commits them in entry order, and everything the marking circuit has no witness for is
 * refused with its code before anything is built.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildMarking, markingLevels, markLeaf, markOf, marksKey, markPath, MarkingRejected } from "../../../sequencer/derivatives/marking.ts";
import { InstrumentKind } from "../../../sequencer/protocol/constants.ts";
import { oracleMessage } from "../../../sequencer/protocol/messages.ts";
import { DEVNET_PARAMS, PRODUCTION_PARAMS, TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { EMPTY_SLICE } from "../../../sequencer/protocol/volSlices.ts";
import { QuadTree } from "../../../sequencer/crypto/quadTree.ts";
import { derivativesState, EXPIRY, NOW, oracleRisks, oracleUpdate, PRICE, tableOptions, VOL } from "../../helpers/derivatives.ts";

const p = TEST_PARAMS;
const optionIds = () => tableOptions().map((e) => e.id);

describe("marking (sequencer/derivatives/marking.ts)", () => {
  it("marks every option of the table as the batch's oracle step does, skewed or not", () => {
    for (const update of [oracleUpdate(), oracleUpdate({ volSlices: [{ underlying: 0, expiry: EXPIRY, levelPpm: VOL, slopePpm: -400_000n }, EMPTY_SLICE] }), oracleUpdate({ prices: [PRICE * 3n] })]) {
      const risks = oracleRisks(derivativesState(), update);
      const m = buildMarking(update, tableOptions(), p);
      assert.deepEqual(m.marks.map((x) => x.mark), optionIds().map((id) => risks[id].mark));
      assert.ok(m.marks[0].mark > 0n, "the call is priced (the put may be worth nothing far out of the money)");
    }
  });

  it("commits entry c at leaf c of a tree of 4^levels leaves; the message hash is the oracle's signed message", () => {
    const update = oracleUpdate();
    const entries = tableOptions().reverse();
    const m = buildMarking(update, entries, p);
    assert.equal(m.messageHash, oracleMessage(update));
    assert.equal(m.marksKey, marksKey(m.messageHash, m.marksRoot));
    assert.equal(m.inputs.marksKey, m.marksKey);
    entries.forEach(({ id, instrument }, c) => {
      assert.equal(m.marks[c].leaf, markLeaf(id, instrument, m.marks[c].mark));
      assert.equal(QuadTree.rootFrom(c, m.marks[c].leaf, markPath(m, c)), m.marksRoot);
    });
    assert.equal(QuadTree.rootFrom(entries.length, 0n, markPath(m, entries.length)), m.marksRoot, "the rest are empty leaves");
    assert.notEqual(buildMarking(update, tableOptions(), p).marksRoot, m.marksRoot, "the order is the tree's");
  });

  it("a leaf names the instrument's generation and terms: a reused id's new option has another leaf", () => {
    const [{ id, instrument }] = tableOptions();
    const mark = markOf(instrument, oracleUpdate());
    assert.notEqual(markLeaf(id, { ...instrument, generation: 1 }, mark), markLeaf(id, instrument, mark));
    assert.notEqual(markLeaf(id, { ...instrument, strike: instrument.strike + 1n }, mark), markLeaf(id, instrument, mark));
  });

  it("an expired option is marked at no time left (its intrinsic value) without a slice; one with time left needs its slice", () => {
    const [{ instrument: call }] = tableOptions();
    const after = oracleUpdate({ time: EXPIRY + 100, prices: [PRICE + 1_000_000_000n], volSlices: [EMPTY_SLICE, EMPTY_SLICE] });
    assert.equal(markOf(call, after), (1_000_000_000n * call.lotSizeE6) / 100_000_000n);
    assert.throws(() => markOf({ ...call, expiry: NOW + 10 }, oracleUpdate()), (e: unknown) => e instanceof MarkingRejected && e.code === "UNPRICED_OPTION");
  });

  const refusals: [string, () => unknown, MarkingRejected["code"]][] = [
    ["a future is not an option", () => buildMarking(oracleUpdate(), [{ id: 1, instrument: derivativesState().instruments[1] }], p), "NOT_AN_OPTION"],
    ["more options than leaves", () => buildMarking(oracleUpdate(), [...tableOptions(), ...tableOptions(), ...tableOptions()], p), "TOO_MANY_OPTIONS"],
    ["an update of another shape", () => buildMarking(oracleUpdate({ rates: [0n] }), tableOptions(), p), "BAD_ORACLE_SHAPE"],
    ["a price below 2^16", () => buildMarking(oracleUpdate({ prices: [1_000n] }), tableOptions(), p), "BAD_ORACLE_VALUE"],
    ["a time of 2^32 (the signed word would alias)", () => buildMarking({ ...oracleUpdate(), time: 2 ** 32 }, tableOptions(), p), "BAD_ORACLE_VALUE"],
    ["a funding epoch of 2^32", () => buildMarking({ ...oracleUpdate(), fundingEpoch: 2 ** 32 }, tableOptions(), p), "BAD_ORACLE_VALUE"],
    ["a rate past 24 signed bits", () => buildMarking({ ...oracleUpdate(), rates: [1n << 23n, 0n, 0n, 0n] }, tableOptions(), p), "BAD_ORACLE_VALUE"],
    ["a malformed vol table", () => buildMarking(oracleUpdate({ volSlices: [EMPTY_SLICE, { underlying: 0, expiry: EXPIRY, levelPpm: VOL, slopePpm: 0n }] }), tableOptions(), p), "BAD_ORACLE_VALUE"],
    ["an underlying the update does not price", () => buildMarking(oracleUpdate(), [{ id: 2, instrument: { ...tableOptions()[0].instrument, underlying: 1 } }], p), "BAD_OPTION_TERMS"],
    ["a strike below 2^16", () => buildMarking(oracleUpdate(), [{ id: 2, instrument: { ...tableOptions()[0].instrument, strike: 5n } }], p), "BAD_OPTION_TERMS"],
    ["a lot of 2^40", () => buildMarking(oracleUpdate(), [{ id: 2, instrument: { ...tableOptions()[0].instrument, lotSizeE6: 1n << 40n } }], p), "BAD_OPTION_TERMS"],
    ["an option with time left and no slice", () => buildMarking(oracleUpdate(), [{ id: 2, instrument: { ...tableOptions()[0].instrument, expiry: EXPIRY + 1 } }], p), "UNPRICED_OPTION"],
  ];
  for (const [what, build, code] of refusals) {
    it(`refuses ${what} (${code})`, () => {
      assert.throws(build, (e: unknown) => e instanceof MarkingRejected && e.code === code);
    });
  }

  it("one proof marks every option id of a parameter set", () => {
    assert.deepEqual([TEST_PARAMS, PRODUCTION_PARAMS, DEVNET_PARAMS].map(markingLevels), [1, 2, 3]);
    for (const q of [TEST_PARAMS, PRODUCTION_PARAMS, DEVNET_PARAMS]) assert.ok(4 ** markingLevels(q) >= q.optionInstruments);
  });

  it("kinds: only calls and puts", () => {
    for (const kind of [InstrumentKind.NONE, InstrumentKind.PERPETUAL, InstrumentKind.FUTURE]) {
      assert.throws(() => markOf({ ...tableOptions()[0].instrument, kind }, oracleUpdate()), (e: unknown) => e instanceof MarkingRejected && e.code === "NOT_AN_OPTION");
    }
  });
});
