/**
 * Marking proofs (circuits/DERIVATIVES.md, "Marking proofs"; circuits/marking/marking.circom): the Black-Scholes marks
 * of up to 4^levels options under one signed oracle update, committed in a quad tree whose root a marking proof vouches
 * for, so an option is priced once per update and read by path wherever its mark is needed. Mirrors the circuit: the
 * same checks, the same marks (formulas.ts#optionMark at its slice's vol), the same leaves and root.
 */
import { poseidon } from "../crypto/poseidon.ts";
import { Bits, InstrumentKind, MIN_ORACLE_PRICE, MIN_VOL_PPM } from "../protocol/constants.ts";
import { oracleMessage, settlementWord, type OracleUpdate } from "../protocol/messages.ts";
import type { CircuitParams } from "../protocol/params.ts";
import { sliceTableFault } from "../protocol/volSlices.ts";
import { QuadTree, type QuadProof } from "../crypto/quadTree.ts";
import { optionMark, type InstrumentState } from "./formulas.ts";
import { findSlice, sliceInputs, sliceVol } from "./volSurface.ts";

/** Why a marking cannot be built (the circuit has no witness for it). */
export class MarkingRejected extends Error {
  constructor(
    readonly code: "BAD_ORACLE_SHAPE" | "BAD_ORACLE_VALUE" | "NOT_AN_OPTION" | "BAD_OPTION_TERMS" | "UNPRICED_OPTION" | "TOO_MANY_OPTIONS",
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** One option a marking prices: its instrument id and its state (only its terms and generation are read). */
export type MarkEntry = { readonly id: number; readonly instrument: InstrumentState };

/** One marked option: its id, generation, mark per lot (quote units) and its leaf in the marks tree. */
export type Mark = { readonly id: number; readonly generation: number; readonly mark: bigint; readonly leaf: bigint };

/** A marking: the marks of its entries under one update, the tree that commits them, and the circuit's input. */
export type Marking = {
  /** The oracle's signed message (messages.ts#oracleMessage): the marking proof's first public input. */
  readonly messageHash: bigint;
  /** The root of the marks tree: the second public input. */
  readonly marksRoot: bigint;
  /** marksKey(messageHash, marksRoot): the third public input, what the marks registry records. */
  readonly marksKey: bigint;
  readonly levels: number;
  /** The marked entries' marks, in entry order (entry c sits at leaf c; a null entry and entries past the list are empty leaves, 0). */
  readonly marks: readonly Mark[];
  readonly tree: QuadTree;
  /** The marking circuit's input (Marking(levels, O, U, N)). */
  readonly inputs: Record<string, bigint | bigint[]>;
};

const RATE_OFFSET = 1n << BigInt(Bits.fundingRate - 1);
const MAX_PRICE = 1n << BigInt(Bits.oraclePrice);

/** The smallest tree (at least one level) with a leaf for every option id of `p`'s table: one proof marks them all. */
export function markingLevels(p: CircuitParams): number {
  let levels = 1;
  while (4 ** levels < p.optionInstruments) levels++;
  return levels;
}

/**
 * The word that names a marking on chain: Poseidon(messageHash, marksRoot). The marks registry records it when it
 * verifies a marking proof (whose third public input it is), and a batch that reads these marks carries it, so one
 * 32-byte word ties the batch's oracle message to a proven marks root.
 */
export function marksKey(messageHash: bigint, marksRoot: bigint): bigint {
  return poseidon([messageHash, marksRoot]);
}

/** The leaf of one marked option: Poseidon(id, generation, kind, underlying, strike, expiry, lot, mark) (MarkedOption). */
export function markLeaf(id: number, inst: InstrumentState, mark: bigint): bigint {
  return poseidon([BigInt(id), BigInt(inst.generation), BigInt(inst.kind), BigInt(inst.underlying), inst.strike, BigInt(inst.expiry), inst.lotSizeE6, mark]);
}

/** Why option `inst` has no mark under `update` (MarkedOption's checks), or null. */
export function markFault(inst: InstrumentState, update: OracleUpdate): { code: MarkingRejected["code"]; message: string } | null {
  if (inst.kind !== InstrumentKind.CALL && inst.kind !== InstrumentKind.PUT) return { code: "NOT_AN_OPTION", message: `kind ${inst.kind} is not a call or a put` };
  if (!Number.isInteger(inst.underlying) || inst.underlying < 0 || inst.underlying >= update.prices.length) {
    return { code: "BAD_OPTION_TERMS", message: `underlying ${inst.underlying} is not one of the update's ${update.prices.length}` };
  }
  if (inst.strike < MIN_ORACLE_PRICE || inst.strike >= MAX_PRICE) return { code: "BAD_OPTION_TERMS", message: `strike ${inst.strike} outside [2^16, 2^50)` };
  if (!Number.isInteger(inst.expiry) || inst.expiry < 0 || inst.expiry >= 2 ** Bits.time) return { code: "BAD_OPTION_TERMS", message: `expiry ${inst.expiry} outside 32 bits` };
  if (inst.lotSizeE6 < 0n || inst.lotSizeE6 >= 1n << BigInt(Bits.lotSize)) return { code: "BAD_OPTION_TERMS", message: `lot ${inst.lotSizeE6} outside ${Bits.lotSize} bits` };
  if (inst.expiry > update.time && findSlice(update.volSlices, inst.underlying, inst.expiry) < 0) {
    return { code: "UNPRICED_OPTION", message: `the update has no vol slice for underlying ${inst.underlying} at expiry ${inst.expiry}: a mark is never taken at the floor vol` };
  }
  return null;
}

/**
 * The mark per lot of option `inst` under `update` (MarkedOption): Black-Scholes at its underlying's price, its
 * slice's vol at its strike and max(expiry - time, 0) seconds left (the floor vol at its expiry, where the vol is not
 * read). Throws MarkingRejected where the circuit has no witness.
 */
export function markOf(inst: InstrumentState, update: OracleUpdate): bigint {
  const fault = markFault(inst, update);
  if (fault) throw new MarkingRejected(fault.code, fault.message);
  const price = update.prices[inst.underlying];
  const e = inst.expiry > update.time ? findSlice(update.volSlices, inst.underlying, inst.expiry) : -1;
  const vol = e < 0 ? MIN_VOL_PPM : sliceVol(update.volSlices[e], inst.strike, price);
  return optionMark(inst, price, vol, update.time);
}

/** Why `update` cannot be marked by `p`'s marking circuit (its shape and the ranges the circuit checks), or null. */
export function markingUpdateFault(update: OracleUpdate, p: CircuitParams): { code: MarkingRejected["code"]; message: string } | null {
  if (update.prices.length !== p.underlyings || update.volSlices.length !== p.optionInstruments || update.rates.length !== p.instruments) {
    return { code: "BAD_ORACLE_SHAPE", message: `an update needs ${p.underlyings} prices, ${p.optionInstruments} vol slices and ${p.instruments} rates` };
  }
  for (const [name, v] of [["time", update.time], ["fundingEpoch", update.fundingEpoch]] as const) {
    if (!Number.isInteger(v) || v < 0 || v >= 2 ** Bits.time) return { code: "BAD_ORACLE_VALUE", message: `${name} ${v} outside 32 bits` };
  }
  for (const [u, price] of update.prices.entries()) {
    if (price < MIN_ORACLE_PRICE || price >= MAX_PRICE) return { code: "BAD_ORACLE_VALUE", message: `price ${u} outside [2^16, 2^50)` };
  }
  for (const [i, rate] of update.rates.entries()) {
    if (rate < -RATE_OFFSET || rate >= RATE_OFFSET) return { code: "BAD_ORACLE_VALUE", message: `rate ${i} outside ${Bits.fundingRate} signed bits` };
  }
  const slices = sliceTableFault(update.volSlices, p.underlyings);
  if (slices) return { code: "BAD_ORACLE_VALUE", message: slices };
  return null;
}

/**
 * Marks `entries` under `update` with `p`'s marking circuit of `levels` levels: each entry's mark and leaf (entry c at
 * leaf c; a null entry is an empty leaf, as the batch's oracle step leaves option id N - O + c unread), the tree's root
 * and the circuit input. Throws MarkingRejected (nothing built) for an update of another shape
 * or out of range, more entries than leaves, or an entry that is not a markable option.
 */
export function buildMarking(update: OracleUpdate, entries: readonly (MarkEntry | null)[], p: CircuitParams, levels = markingLevels(p)): Marking {
  const fault = markingUpdateFault(update, p);
  if (fault) throw new MarkingRejected(fault.code, fault.message);
  const capacity = 4 ** levels;
  if (entries.length > capacity) throw new MarkingRejected("TOO_MANY_OPTIONS", `${entries.length} options for a marking of ${capacity}`);
  const tree = new QuadTree(levels);
  const marks = entries.flatMap((entry, c) => {
    if (!entry) return [];
    const { id, instrument } = entry;
    const mark = markOf(instrument, update);
    const leaf = markLeaf(id, instrument, mark);
    tree.set(c, leaf);
    return [{ id, generation: instrument.generation, mark, leaf }];
  });
  const messageHash = oracleMessage(update);
  const key = marksKey(messageHash, tree.root);
  const column = (f: (e: MarkEntry) => bigint) => Array.from({ length: capacity }, (_, c) => {
    const entry = entries[c];
    return entry ? f(entry) : 0n;
  });
  return {
    messageHash,
    marksRoot: tree.root,
    marksKey: key,
    levels,
    marks,
    tree,
    inputs: {
      messageHash,
      marksRoot: tree.root,
      marksKey: key,
      oracleTime: BigInt(update.time),
      fundingEpoch: BigInt(update.fundingEpoch),
      prices: [...update.prices],
      ...sliceInputs(update.volSlices),
      rateWords: update.rates.map((r) => r + RATE_OFFSET),
      settleWord: settlementWord(update.settlement),
      used: column(() => 1n),
      id: column((e) => BigInt(e.id)),
      generation: column((e) => BigInt(e.instrument.generation)),
      kind: column((e) => BigInt(e.instrument.kind)),
      underlying: column((e) => BigInt(e.instrument.underlying)),
      strike: column((e) => e.instrument.strike),
      expiry: column((e) => BigInt(e.instrument.expiry)),
      lot: column((e) => e.instrument.lotSizeE6),
    },
  };
}

/** The path of entry `index`'s leaf in `marking`'s tree (QuadPath's siblings): what a reader of the mark takes. */
export function markPath(marking: Marking, index: number): QuadProof {
  return marking.tree.proof(index);
}
