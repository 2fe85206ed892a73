/**
 * The instrument table as a quad tree and a batch's marked set over it (circuits/DERIVATIVES.md "At exchange scale",
 * build steps 1 and 3; circuits/lib/instrumentSet.circom): leaf i is instrument i's leaf (instrumentTable.ts#
 * instrumentLeaf), an id never registered holds the empty instrument's leaf, and a batch loads the M instruments it
 * names by their paths and writes them back, chained, in increasing id order. Mirrors InstrumentSet(levels, M): the
 * same order rules, the same leaves, the same root after.
 *
 * The tree is the state's table (instrumentTable.ts); batches do not read the set yet: they read the whole table and
 * compute the same root from it.
 */
import { EMPTY_INSTRUMENT, type InstrumentState } from "../derivatives/formulas.ts";
import { instrumentFields, type InstrumentTree } from "./instrumentTable.ts";

/** Why a set cannot be built (the circuit has no witness for it). */
export class InstrumentSetRejected extends Error {
  constructor(
    readonly code: "SET_TOO_LARGE" | "SET_ORDER" | "SET_ID_RANGE",
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** The id an unused entry of the set carries (the circuit's EMPTY_SET_ID): 4^levels, no instrument's. */
export function emptySetId(levels: number): number {
  return 4 ** levels;
}

/** One entry of a batch's set: the instrument's id and its state when the batch is done (the batch may leave it as it was). */
export type SetEntry = { readonly id: number; readonly after: InstrumentState };

/** A batch's marked set, loaded and written back: the circuit's input and the roots before and after. */
export type InstrumentSetWitness = {
  readonly oldRoot: bigint;
  readonly newRoot: bigint;
  /** The set's ids in order, unused entries at emptySetId(levels). */
  readonly ids: readonly number[];
  /** Each entry's instrument as the batch found it (the empty instrument for an unused entry). */
  readonly before: readonly InstrumentState[];
  /** InstrumentSet(levels, M)'s input. */
  readonly inputs: { oldRoot: bigint; ids: bigint[]; used: bigint[]; leaf: bigint[][]; after: bigint[][]; siblings: bigint[][][] };
};

/**
 * Loads `entries` (ids strictly increasing) from `table` and writes each one's `after` state back, in order, as
 * InstrumentSet(table.levels, m) proves it; pads to `m` entries with unused ones. Writes `table` (its root is the
 * witness's newRoot); refuses, writing nothing, a set the circuit has no witness for. `enforceRules: false` (tests
 * only, as the batch builder's) skips the order rule, so a dishonest operator's chained set can be built and shown
 * refused by the circuit.
 */
export function loadInstrumentSet(table: InstrumentTree, entries: readonly SetEntry[], m: number, opts: { enforceRules?: boolean } = {}): InstrumentSetWitness {
  if (entries.length > m) throw new InstrumentSetRejected("SET_TOO_LARGE", `${entries.length} instruments in a set of ${m}`);
  entries.forEach(({ id }, k) => {
    if (!Number.isInteger(id) || id < 0 || id >= table.capacity) {
      throw new InstrumentSetRejected("SET_ID_RANGE", `instrument id ${id} outside a table of ${table.capacity}`);
    }
    if ((opts.enforceRules ?? true) && k > 0 && id <= entries[k - 1].id) {
      throw new InstrumentSetRejected("SET_ORDER", `set ids must strictly increase: ${id} after ${entries[k - 1].id}`);
    }
  });
  const oldRoot = table.root;
  // Each entry is read where the chain stands (for distinct ids, as the batch found it; for a dishonest set, after the
  // writes before it, so its path and its leaf agree and only the order rule refuses it).
  const before: InstrumentState[] = [];
  const siblings: bigint[][][] = [];
  for (const { id, after } of entries) {
    before.push(table.instrument(id));
    siblings.push(table.proof(id));
    table.set(id, after);
  }
  const unused = m - entries.length;
  const empty = emptySetId(table.levels);
  const zeroPath = Array.from({ length: table.levels }, () => [0n, 0n, 0n]);
  const zeroFields = instrumentFields(EMPTY_INSTRUMENT); // every field 0, as the circuit requires of an unused entry
  const ids = [...entries.map((e) => e.id), ...Array<number>(unused).fill(empty)];
  return {
    oldRoot,
    newRoot: table.root,
    ids,
    before: [...before, ...Array<InstrumentState>(unused).fill(EMPTY_INSTRUMENT)],
    inputs: {
      oldRoot,
      ids: ids.map(BigInt),
      used: ids.map((_, k) => (k < entries.length ? 1n : 0n)),
      leaf: [...before.map(instrumentFields), ...Array.from({ length: unused }, () => zeroFields)],
      after: [...entries.map((e) => instrumentFields(e.after)), ...Array.from({ length: unused }, () => zeroFields)],
      siblings: [...siblings, ...Array.from({ length: unused }, () => zeroPath)],
    },
  };
}
