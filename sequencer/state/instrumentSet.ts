/**
 * The instrument table as a quad tree and a batch's marked set over it (circuits/DERIVATIVES.md "At exchange scale",
 * build steps 1 and 3; circuits/lib/instrumentSet.circom): leaf i is instrument i's leaf (exchangeState.ts#
 * instrumentLeaf), an id never registered holds the empty instrument's leaf, and a batch loads the M instruments it
 * names by their paths and writes them back, chained, in increasing id order. Mirrors InstrumentSet(levels, M): the
 * same order rules, the same leaves, the same root after.
 *
 * Not yet the state's table: the batch still hashes the whole vector (exchangeState.ts#instrumentsHash).
 */
import { QuadTree, type QuadProof } from "../crypto/quadTree.ts";
import { EMPTY_INSTRUMENT, type InstrumentState } from "../derivatives/formulas.ts";
import { instrumentFields, instrumentLeaf } from "./exchangeState.ts";

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

/** The instrument table as a quad tree of 4^levels leaves: what `instrumentsHash` becomes with the tree. */
export class InstrumentTree {
  readonly levels: number;
  readonly tree: QuadTree;
  readonly #instruments = new Map<number, InstrumentState>();

  constructor(levels: number) {
    this.levels = levels;
    this.tree = new QuadTree(levels, instrumentLeaf(EMPTY_INSTRUMENT));
  }

  get root(): bigint {
    return this.tree.root;
  }

  get capacity(): number {
    return this.tree.capacity;
  }

  /** Instrument `id` (the empty instrument where none was written). */
  instrument(id: number): InstrumentState {
    this.#checkId(id);
    return this.#instruments.get(id) ?? EMPTY_INSTRUMENT;
  }

  set(id: number, instrument: InstrumentState): void {
    this.#checkId(id);
    this.tree.set(id, instrumentLeaf(instrument));
    this.#instruments.set(id, instrument);
  }

  proof(id: number): QuadProof {
    this.#checkId(id);
    return this.tree.proof(id);
  }

  #checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.capacity) {
      throw new InstrumentSetRejected("SET_ID_RANGE", `instrument id ${id} outside a table of ${this.capacity}`);
    }
  }
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
    table.instrument(id); // its range
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
