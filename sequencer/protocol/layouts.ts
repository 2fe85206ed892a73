/**
 * The circuit's input layouts that TypeScript fills in: the order field array (`orderA` / `orderB` of
 * the spot and derivatives slots) and the instrument field array (the instrument leaf of
 * circuits/DERIVATIVES.md, OracleStep's table, DerivSlot's `reg`). These tables are the one source:
 * scripts/build/genCircomProtocol.ts generates the circom indices (O_*, ORDER_FIELDS, I_*, I_FIELDS,
 * I_SPEC_FIELDS) from them, and the witness builders index with them.
 */
import { ORDER_WORD_FIELDS, orderFieldValue, type Order } from "./messages.ts";

/** Values of a circuit's input signals by name (a signal, or an array of up to three dimensions), before they are written as decimal strings. */
export type CircuitInputs = Record<string, bigint | bigint[] | bigint[][] | bigint[][][]>;

/**
 * The order input array holds the fields of the two signed words (ORDER_WORD_FIELDS), in word order:
 * the circuit packs the words from it (generated PackOrderWords). Each field's circom index is O_<name>.
 */
export const ORDER_FIELDS: readonly (keyof Order)[] = ORDER_WORD_FIELDS.flatMap((word) => word.map(([name]) => name));

/** The circom name of each order field's index function (O_ACCOUNT() ...). */
export const ORDER_FIELD_CIRCOM_NAMES = {
  accountId: "ACCOUNT",
  orderId: "ID",
  marketId: "MARKET",
  side: "SIDE",
  type: "TYPE",
  timeInForce: "TIF",
  reduceOnly: "REDUCE",
  triggerType: "TRIGTYPE",
  triggerPriceTicks: "TRIGPRICE",
  priceTicks: "PRICE",
  sizeLots: "SIZE",
  maxFeePpm: "MAXFEE",
  expiry: "EXPIRY",
} as const satisfies Record<keyof Order, string>;

/** Index of each field in the order input array. */
export const ORDER_FIELD = Object.fromEntries(ORDER_FIELDS.map((f, i) => [f, i])) as Record<keyof Order, number>;

/** The order input array of a slot for a signed order (all-zero arrays stand for "no order"). */
export function orderInputs(o: Order): bigint[] {
  return ORDER_FIELDS.map((f) => orderFieldValue(o, f));
}

/**
 * The instrument's fields in leaf order, each with its circom index name I_<name>: the registered
 * parameters (the first INSTRUMENT_SPEC_FIELDS, REGISTER_INSTRUMENT's `reg` input), then the state the
 * batches update.
 */
export const INSTRUMENT_FIELDS = [
  ["kind", "KIND"],
  ["underlying", "UNDERLYING"],
  ["lotSizeE6", "LOT"],
  ["tickValue", "TICK"],
  ["imPpm", "IM"],
  ["mmPpm", "MM"],
  ["strike", "STRIKE"],
  ["expiry", "EXPIRY"],
  ["fundingCapPpm", "CAP"],
  ["fundingIndex", "FUNDING"],
  ["settlePrice", "SETTLE"],
  ["holders", "HOLDERS"],
  ["generation", "GENERATION"],
] as const;

/** How many of INSTRUMENT_FIELDS a registration sets (the rest start at 0). */
export const INSTRUMENT_SPEC_FIELDS = 9;

/** Index of each field in the instrument field array. */
export const INSTRUMENT_FIELD = Object.fromEntries(INSTRUMENT_FIELDS.map(([f], i) => [f, i])) as {
  [K in (typeof INSTRUMENT_FIELDS)[number][0]]: number;
};

/** An instrument's field array (its leaf's Poseidon inputs) from its parameters and state. */
export function instrumentInputs(i: { [K in (typeof INSTRUMENT_FIELDS)[number][0]]: bigint | number }): bigint[] {
  return INSTRUMENT_FIELDS.map(([f]) => BigInt(i[f]));
}
