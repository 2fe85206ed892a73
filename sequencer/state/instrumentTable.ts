/**
 * The instrument table's commitment (circuits/DERIVATIVES.md "Instruments and global state", H2a): a quad tree of
 * 4^levels leaves, leaf i the Poseidon of instrument i's fields, an id never registered (and every id past the table's
 * size) the empty instrument's leaf. `instrumentsHash` is its root. The batch circuit still reads the whole table and
 * computes the same root from it (InstrumentTableRoot); a batch's marked set loads entries by their paths from the same
 * tree (instrumentSet.ts, InstrumentSet), so the commitment does not change when batches read the set.
 */
import { fieldOf } from "../crypto/field.ts";
import { poseidon } from "../crypto/poseidon.ts";
import { emptyHashes, QuadTree, type QuadProof } from "../crypto/quadTree.ts";
import { EMPTY_INSTRUMENT, type InstrumentState } from "../derivatives/formulas.ts";
import { instrumentInputs } from "../protocol/layouts.ts";

/** An instrument's leaf fields as the circuits read them (layouts.ts INSTRUMENT_FIELDS order, the circuit's I_*; signed values as field elements). */
export function instrumentFields(i: InstrumentState): bigint[] {
  return instrumentInputs(i).map(fieldOf);
}

/** Poseidon of the instrument's fields in leaf order (instrumentFields). */
export function instrumentLeaf(i: InstrumentState): bigint {
  return poseidon(instrumentFields(i));
}

/** The most levels a table can have: 4^8 leaves hold every 16-bit instrument id (Bits.instrumentId). */
export const MAX_INSTRUMENT_LEVELS = 8;

/** The levels of the tree that holds a table of `n` instruments: the fewest, at least one, with 4^levels >= n (the circuit's INSTRUMENT_LEVELS). */
export function instrumentLevels(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 4 ** MAX_INSTRUMENT_LEVELS) throw new RangeError(`bad instrument table size ${n}`);
  let levels = 1;
  while (4 ** levels < n) levels++;
  return levels;
}

/** emptyInstrumentNodes()[l]: the root of a subtree of height l that holds no instrument (the circuit's EMPTY_INSTRUMENT_NODE(l)). */
export function emptyInstrumentNodes(): readonly bigint[] {
  return emptyHashes(MAX_INSTRUMENT_LEVELS, instrumentLeaf(EMPTY_INSTRUMENT));
}

/** The instrument table as a quad tree of 4^levels leaves, its root the state's `instrumentsHash`. */
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
      throw new RangeError(`instrument id ${id} outside a table of ${this.capacity}`);
    }
  }
}
