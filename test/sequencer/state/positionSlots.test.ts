/**
 * The position-slot layout (sequencer/state/positionSlots.ts; circuits/DERIVATIVES.md "Positions"): a position opens
 * in the lowest empty slot, a flat one empties its slot, positions beyond the slots do not fit; the state keeps the
 * layout with each account, rolls it back with a transaction and restores it from a snapshot exactly. (The leaf's
 * hash is checked against the circuit in test/circuits/derivatives/positions.test.ts.)
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { DerivAccount } from "../../../sequencer/derivatives/formulas.ts";
import { decodeJson, encodeJson } from "../../../sequencer/persistence/codec.ts";
import { restoreExchangeState, snapshotExchangeState } from "../../../sequencer/persistence/stateSnapshot.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { accountDerivLeaf, ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { derivLeaf, emptyLayout, layoutAfter, positionSlot, slotValues } from "../../../sequencer/state/positionSlots.ts";

/** An account of 4 instruments with `sizes` (snapshot 10 * id + 1 each) and collateral 7. */
const account = (...sizes: bigint[]): DerivAccount => ({ collateral: 7n, positions: sizes.map((size, id) => ({ size, snapshot: BigInt(10 * id + 1) })) });

describe("position slots", () => {
  it("names the slot holding an instrument, else the lowest empty one, else none", () => {
    assert.equal(positionSlot([2, null, 0], 0), 2);
    assert.equal(positionSlot([2, null, 0], 3), 1);
    assert.equal(positionSlot([2, 1, 0], 3), null);
    assert.equal(positionSlot(emptyLayout(3), 3), 0);
  });

  it("opens a position in the lowest empty slot and empties the slot of a flat one", () => {
    const before = account(5n, 0n, 3n, 0n);
    assert.deepEqual(layoutAfter([2, null, 0], before, account(5n, 0n, 3n, -4n)), [2, 3, 0]);
    assert.deepEqual(layoutAfter([2, null, 0], before, account(0n, 0n, 3n, 0n)), [2, null, null]);
    assert.deepEqual(layoutAfter([2, null, 0], before, account(9n, 0n, 3n, 0n)), [2, null, 0], "a held position keeps its slot");
    assert.equal(layoutAfter([2, 1, 0], account(5n, 1n, 3n, 0n), account(5n, 1n, 3n, 2n)), null, "a fourth position does not fit 3 slots");
    assert.throws(() => layoutAfter([null, null, null], before, before), /held but in no slot/);
  });

  it("reads the slots as the circuit does: id + 1, size and snapshot, zeros when empty", () => {
    assert.deepEqual(slotValues(account(5n, 0n, -3n, 0n), [2, null, 0]), { id: [3n, 0n, 1n], size: [-3n, 0n, 5n], snap: [21n, 0n, 1n] });
  });

  it("hashes the layout, not only the positions: the same positions in other slots are another leaf", () => {
    const d = account(5n, 0n, 3n, 0n);
    assert.notEqual(derivLeaf(d, [0, 2, null]), derivLeaf(d, [2, 0, null]));
  });

  describe("in the exchange state", () => {
    it("keeps each account's layout, refuses positions beyond its slots and rolls the layout back", () => {
      const state = new ExchangeState(TEST_PARAMS);
      state.setDeriv(1, account(0n, 0n, 4n, 0n));
      state.setDeriv(1, account(2n, 0n, 4n, 0n));
      assert.deepEqual(state.account(1).positionSlots, [2, 0, null]);
      const t = state.begin();
      state.setDeriv(1, account(2n, 0n, 0n, 1n));
      assert.deepEqual(state.account(1).positionSlots, [3, 0, null]);
      t.rollback();
      assert.deepEqual(state.account(1).positionSlots, [2, 0, null]);
      state.setDeriv(1, account(2n, 1n, 4n, 0n));
      assert.throws(() => state.setDeriv(1, account(2n, 1n, 4n, 1n)), /exceed its 3 slots/);
      assert.deepEqual(state.account(1).positionSlots, [2, 0, 1], "a refused write changes nothing");
    });

    it("restores a layout from a snapshot exactly (the same root), and places an older snapshot's positions in id order", () => {
      const state = new ExchangeState(TEST_PARAMS);
      state.setDeriv(1, account(0n, 0n, 4n, 0n));
      state.setDeriv(1, account(2n, 0n, 4n, 0n));
      state.commitAccount(1);
      const snap = snapshotExchangeState(state);
      const restored = restoreExchangeState(TEST_PARAMS, decodeJson(encodeJson(snap)));
      assert.deepEqual(restored.account(1).positionSlots, [2, 0, null]);
      assert.equal(accountDerivLeaf(restored.account(1)), accountDerivLeaf(state.account(1)));
      // a snapshot written before position slots: the positions go in id order, which is another leaf here
      const older = structuredClone(snap) as { accounts: { positionSlots?: unknown }[] };
      delete older.accounts[0].positionSlots;
      assert.throws(() => restoreExchangeState(TEST_PARAMS, older as typeof snap), /rebuilt root/);
    });
  });
});
