/**
 * Position slots (DERIVATIVES.md "Positions"): an account stores its derivatives positions in
 * `params.positionSlots` slots, each `(instrumentId + 1, size, snapshot)` or `(0, 0, 0)` when empty, and its
 * derivatives leaf hashes the collateral and the slots. The layout is canonical (the circuit's
 * `PositionWrite`, `circuits/lib/positions.circom`): a position opens in the lowest empty slot and its slot
 * empties when it goes flat, so the state, the witness builder and anyone replaying the public data place every
 * position in the same slot. One source for the layout rule and the leaf; `test/circuits/positions.test.ts`
 * checks it against the circuit.
 */
import { poseidon } from "../crypto/poseidon.ts";
import type { DerivAccount } from "../derivatives/formulas.ts";
import { fieldOf } from "../crypto/field.ts";

/** Which instrument each slot holds (`null`: empty), slot order. */
export type PositionLayout = readonly (number | null)[];

/** Positions per Poseidon of the derivatives leaf's chain (3 fields each, with the running hash: 16 inputs). */
export const SLOTS_PER_HASH = 5;

export function emptyLayout(slots: number): PositionLayout {
  return Array.from({ length: slots }, () => null);
}

/**
 * The slot of the account's position in `instrumentId`: the slot holding it, else the lowest empty one, else
 * `null` (every slot holds another instrument: opening a position there is TOO_MANY_POSITIONS).
 */
export function positionSlot(layout: PositionLayout, instrumentId: number): number | null {
  const held = layout.indexOf(instrumentId);
  if (held >= 0) return held;
  const free = layout.indexOf(null);
  return free >= 0 ? free : null;
}

/**
 * The layout after the account's positions move from `before` to `after`: a slot whose instrument went flat
 * empties, and each instrument newly held takes the lowest empty slot (in id order; a derivatives transaction
 * moves one instrument per account). `null` when they do not fit.
 */
export function layoutAfter(layout: PositionLayout, before: DerivAccount, after: DerivAccount): PositionLayout | null {
  const next = layout.map((id) => (id !== null && after.positions[id].size === 0n ? null : id));
  for (let id = 0; id < after.positions.length; id++) {
    if (after.positions[id].size === 0n || next.includes(id)) continue;
    if (before.positions[id].size !== 0n) throw new Error(`position layout: instrument ${id} is held but in no slot`);
    const free = next.indexOf(null);
    if (free < 0) return null;
    next[free] = id;
  }
  return next;
}

/** The slots as the circuit reads them: id + 1 (0 when empty), size and snapshot (signed values, not reduced). */
export function slotValues(d: DerivAccount, layout: PositionLayout): { id: bigint[]; size: bigint[]; snap: bigint[] } {
  return {
    id: layout.map((id) => (id === null ? 0n : BigInt(id + 1))),
    size: layout.map((id) => (id === null ? 0n : d.positions[id].size)),
    snap: layout.map((id) => (id === null ? 0n : d.positions[id].snapshot)),
  };
}

/**
 * The derivatives leaf (`DerivLeaf`): h = c, then h = Poseidon(h, id, size, snap, ... of the next five slots)
 * for each group of five slots, signed values mod p.
 */
export function derivLeaf(d: DerivAccount, layout: PositionLayout): bigint {
  const { id, size, snap } = slotValues(d, layout);
  let h = fieldOf(d.collateral);
  for (let first = 0; first < Math.max(layout.length, 1); first += SLOTS_PER_HASH) {
    const fields: bigint[] = [];
    for (let k = first; k < Math.min(first + SLOTS_PER_HASH, layout.length); k++) fields.push(id[k], size[k], snap[k]);
    h = poseidon([h, ...fields.map(fieldOf)]);
  }
  return h;
}
