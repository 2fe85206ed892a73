/** The position-slot rule of intake (sequencer/risk/positionLimit.ts): |held ∪ ordered| <= K, an instrument already in either always allowed. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { positionSlotsFault, TOO_MANY_POSITIONS } from "../../../sequencer/risk/positionLimit.ts";
import { RejectCode } from "../../../sequencer/matching/types.ts";

const K = 3;

describe("position slots", () => {
  it("allows a new instrument while positions and orders span fewer than K instruments", () => {
    assert.equal(positionSlotsFault([], [], 3, K), null);
    assert.equal(positionSlotsFault([0], [1], 3, K), null);
    assert.equal(positionSlotsFault([0, 1], [], 3, K), null);
    assert.equal(positionSlotsFault([], [0, 1], 3, K), null);
  });

  it("refuses a new instrument once positions and orders span K instruments, whichever mix", () => {
    for (const [held, ordered] of [[[0, 1, 2], []], [[], [0, 1, 2]], [[0, 1], [2]], [[0], [1, 2]]] as const) {
      const fault = positionSlotsFault(held, ordered, 3, K);
      assert.equal(fault?.code, TOO_MANY_POSITIONS, `held ${held}, ordered ${ordered}`);
      assert.match(fault!.message, /instrument 3 .* 3 position slots .*0, 1, 2/);
    }
    assert.equal(positionSlotsFault(new Set([0, 1, 2, 3]), new Set(), 4, 4)?.code, TOO_MANY_POSITIONS, "any K");
    assert.equal(TOO_MANY_POSITIONS, RejectCode.TOO_MANY_POSITIONS, "the engine's code");
  });

  it("always allows an instrument the account holds or has orders on (another order, a reduce-only order)", () => {
    for (const id of [0, 1, 2]) {
      assert.equal(positionSlotsFault([0, 1], [2], id, K), null, `instrument ${id}`);
      assert.equal(positionSlotsFault([0, 1, 2], [], id, K), null, `instrument ${id}`);
      assert.equal(positionSlotsFault([], [0, 1, 2], id, K), null, `instrument ${id}`);
    }
  });

  it("counts an instrument both held and ordered once", () => {
    assert.equal(positionSlotsFault([0, 1], [0, 1], 3, K), null);
    assert.equal(positionSlotsFault(new Set([0, 1]), new Set([1, 2]), 3, K)?.code, TOO_MANY_POSITIONS);
  });

  it("frees a slot when a position closes or the last order on an instrument goes", () => {
    assert.equal(positionSlotsFault([0, 1, 2], [], 3, K)?.code, TOO_MANY_POSITIONS);
    assert.equal(positionSlotsFault([0, 2], [], 3, K), null, "position 1 closed");
    assert.equal(positionSlotsFault([0, 1], [2], 3, K)?.code, TOO_MANY_POSITIONS);
    assert.equal(positionSlotsFault([0, 1], [], 3, K), null, "the order on 2 cancelled or filled with no position left");
  });

  it("limits nothing when every instrument has a slot (K = instruments)", () => {
    assert.equal(positionSlotsFault([0, 1, 2], [], 3, 4), null);
  });
});
