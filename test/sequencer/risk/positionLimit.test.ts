/**
 * The position-slot rule (sequencer/risk/positionLimit.ts): |held| <= K, judged when a position would open. Open
 * orders take no slot; a held instrument is always allowed; a new one while fewer than K are held.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { positionSlotsFault, TOO_MANY_POSITIONS } from "../../../sequencer/risk/positionLimit.ts";
import { RejectCode } from "../../../sequencer/matching/types.ts";

const K = 3;

describe("position slots", () => {
  it("allows a new instrument while the account holds fewer than K instruments", () => {
    assert.equal(positionSlotsFault([], 3, K), null);
    assert.equal(positionSlotsFault([0], 3, K), null);
    assert.equal(positionSlotsFault([0, 1], 3, K), null);
  });

  it("refuses a new instrument once the account holds K instruments", () => {
    const fault = positionSlotsFault([0, 1, 2], 3, K);
    assert.equal(fault?.code, TOO_MANY_POSITIONS);
    assert.match(fault!.message, /instrument 3 .* 3 position slots \(positions in 0, 1, 2\)/);
    assert.equal(positionSlotsFault(new Set([0, 1, 2, 3]), 4, 4)?.code, TOO_MANY_POSITIONS, "any K");
    assert.equal(TOO_MANY_POSITIONS, RejectCode.TOO_MANY_POSITIONS, "the engine's code");
  });

  it("always allows an instrument the account holds (another fill, a reduce-only order), even at K", () => {
    for (const id of [0, 1, 2]) assert.equal(positionSlotsFault([0, 1, 2], id, K), null, `instrument ${id}`);
  });

  it("counts no open orders: only held instruments take slots (a maker may quote any number of instruments)", () => {
    // the old rule counted |held ∪ ordered|: held {0, 1} with orders on {2, 3, ...} refused a 5th; now only held counts
    assert.equal(positionSlotsFault([0, 1], 4, K), null, "held 2 of 3: a new instrument fits, whatever the orders");
    assert.equal(positionSlotsFault(new Set([0, 1]), 7, K), null);
  });

  it("frees a slot when a position closes", () => {
    assert.equal(positionSlotsFault([0, 1, 2], 3, K)?.code, TOO_MANY_POSITIONS);
    assert.equal(positionSlotsFault([0, 2], 3, K), null, "position 1 closed");
  });

  it("limits nothing when every instrument has a slot (K = instruments)", () => {
    assert.equal(positionSlotsFault([0, 1, 2], 3, 4), null);
  });
});
