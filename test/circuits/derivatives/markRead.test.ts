/**
 * The batch's oracle step reads option marks from a marking (DERIVATIVES.md "Reading marks in the batch", RULES.md
 * MK5-MK6): each live option's mark is the leaf a marking proof computed for its own terms under the batch's signed
 * update, read by path from `marksRoot`; the oracle section publishes marksKey = Poseidon(message, marksRoot), which the
 * custodian requires its marks registry to hold. Attacks of a dishonest operator building the witness: a cheaper mark,
 * a mark of another generation of the id, a mark for an option the step does not read, and a published key that is
 * not the root's. Each is refused at its own constraint.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import { buildMarking, marksKey } from "../../../sequencer/derivatives/marking.ts";
import { oracleMessage } from "../../../sequencer/protocol/messages.ts";
import { encodePublicData, publicInputsOf } from "../../../sequencer/protocol/publicData.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { derivativesState, derivTrade, EXPIRY, NOW, oracleRisks, oracleUpdate } from "../../helpers/derivatives.ts";
import { inputFailure, loadBatchCircuit, refuses, rule, witnessFailure } from "../../helpers/circuitRules.ts";

const PERP = 0;
const CALL = 2;
const PUT = 3;
/** Leaf k of the marks tree is option id N - O + k (the test table: the call at leaf 0, the put at leaf 1). */
const leafOf = (id: number) => id - (TEST_PARAMS.instruments - TEST_PARAMS.optionInstruments);
/** A call trade of `lots` at the call's mark (its ticks). */
const callTrade = (lots = 1n) => {
  const mark = oracleRisks(derivativesState(), oracleUpdate())[CALL].mark;
  return derivTrade(CALL, lots, mark / 100n);
};
/** Replaces the witness's mark of option `id` (its leaf path and root kept): what a cheaper mark needs. */
const markOfOption = (id: number, mark: (m: bigint) => bigint) => (input: Record<string, unknown>) => {
  const marks = input.optionMarks as string[];
  marks[leafOf(id)] = String(mark(BigInt(marks[leafOf(id)])));
};

describe("the oracle step reads option marks from a marking", { timeout: 900_000 }, () => {
  before(async () => {
    await loadBatchCircuit(TEST_PARAMS);
  });

  it("an honest option trade reads both live options' marks and publishes the marking's key, Poseidon(message, marksRoot); a batch without an update reads none and publishes 0", async () => {
    const state = derivativesState();
    const update = oracleUpdate();
    const batch = buildBatch(state, [callTrade()], { batchNumber: 9, timestamp: NOW, oracle: update });
    assert.ok(batch.marking, "the batch read a marking");
    assert.deepEqual(batch.marking.marks.map((m) => m.id), [CALL, PUT], "both live options, in id order");
    assert.equal(batch.oracle.marksKey, marksKey(oracleMessage(update), batch.marking.marksRoot));
    assert.equal(batch.marking.marksKey, batch.oracle.marksKey);
    assert.equal(await inputFailure(batch.circuitInput), null, "proven");
    const empty = buildBatch(derivativesState(), [], { batchNumber: 9, timestamp: NOW });
    assert.equal(empty.oracle.marksKey, 0n);
    assert.equal(empty.marking, null);
  });

  it("refuses a cheaper mark for the call than its marking's, at MarkRead's path check", async () => {
    await refuses(derivativesState(), [callTrade()], rule("MarkRead", "read * (path.root - root) === 0"),
      { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate() }, markOfOption(CALL, (m) => m / 2n));
  });

  it("refuses the marks tree of another generation of the id (its leaf names generation + 1), at MarkRead's path check", async () => {
    const state = derivativesState();
    const update = oracleUpdate();
    const other = buildMarking(update, state.instruments.slice(CALL).map((inst, k) => ({ id: CALL + k, instrument: { ...inst, generation: inst.generation + 1 } })), TEST_PARAMS);
    await refuses(state, [callTrade()], rule("MarkRead", "read * (path.root - root) === 0"), { batchNumber: 9, timestamp: NOW, oracle: update }, (input) => {
      input.marksRoot = String(other.marksRoot);
      input.markSiblings = [0, 1].map((k) => other.tree.proof(k).map((level) => level.map(String)));
    });
  });

  it("refuses a mark for an option the step does not read (settled at its expiry), at MarkRead's zero rule", async () => {
    const settledAt = { batchNumber: 9, timestamp: EXPIRY + 1, oracle: oracleUpdate({ time: EXPIRY, prices: [310_000_000_000n] }) };
    const state = derivativesState();
    const batch = buildBatch(state, [], settledAt);
    assert.equal(batch.marking, null, "the options settle at the update: no mark is read");
    assert.equal(batch.oracle.marksKey, 0n);
    await refuses(derivativesState(), [], rule("MarkRead", "(1 - read) * mark === 0"), settledAt, markOfOption(PUT, () => 1n));
  });

  it("refuses a batch that reads marks and publishes another key (0, or the key of another root), at the public input", async () => {
    for (const claimed of [0n, marksKey(1n, 2n)]) {
      const batch = buildBatch(derivativesState(), [callTrade()], { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate() });
      batch.circuitInput.publicInput = publicInputsOf(encodePublicData(batch.header, { ...batch.oracle, marksKey: claimed }, batch.records)).map(String);
      const failure = await inputFailure(batch.circuitInput);
      assert.ok(failure?.includes(rule("Batch", "pub.chunks <== publicInput")), `key ${claimed}: refused at ${failure?.join(" < ")}`);
    }
  });

  it("a perpetual trade under an update with live options reads their marks too (every live option is marked every batch)", async () => {
    const state = derivativesState();
    const batch = buildBatch(state, [derivTrade(PERP, 1n, 300_000n)], { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate() });
    assert.notEqual(batch.oracle.marksKey, 0n);
    assert.equal(await witnessFailure(derivativesState(), [derivTrade(PERP, 1n, 300_000n)], { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate() }), null);
  });
});
