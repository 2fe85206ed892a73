/**
 * Markings for the marking circuit's tests and hunt: an update with two underlyings (so a mark's price is a
 * selection) and a skewed vol table, and option sets that cover a call, a skewed put on the second underlying, a
 * reused id, an expired option, and the ranges' edges (strikes at 2^16 and just under 2^50, the largest lot).
 */
import { EMPTY_INSTRUMENT, type InstrumentState } from "../../sequencer/derivatives/formulas.ts";
import type { MarkEntry } from "../../sequencer/derivatives/marking.ts";
import { InstrumentKind } from "../../sequencer/protocol/constants.ts";
import type { OracleUpdate } from "../../sequencer/protocol/messages.ts";
import { TEST_PARAMS, type CircuitParams } from "../../sequencer/protocol/params.ts";
import type { VolSlice } from "../../sequencer/protocol/volSlices.ts";
import { EXPIRY, NOW, oracleUpdate, PRICE, VOL } from "./derivatives.ts";

/** The test set with a second underlying. */
export const MARKING_PARAMS: CircuitParams = { ...TEST_PARAMS, underlyings: 2 };
export const PRICE_1 = 2_000_000_000n; // 20.00 quote
export const slice = (underlying: number, expiry: number, slopePpm = 0n): VolSlice => ({ underlying, expiry, levelPpm: VOL, slopePpm });

/** An update for MARKING_PARAMS: epoch 7, both underlyings priced, one slice each at EXPIRY (the second skewed). */
export const markingUpdate = (fields: Partial<OracleUpdate> = {}): OracleUpdate =>
  oracleUpdate({ fundingEpoch: 7, prices: [PRICE, PRICE_1], volSlices: [slice(0, EXPIRY), slice(1, EXPIRY, -300_000n)], ...fields });

/** An option (a call on underlying 0 at PRICE, expiring at EXPIRY) with `fields` changed. */
export const option = (fields: Partial<InstrumentState>): InstrumentState => ({
  ...EMPTY_INSTRUMENT, kind: InstrumentKind.CALL, underlying: 0, lotSizeE6: 10_000n, tickValue: 100n, imPpm: 100_000n, mmPpm: 50_000n, strike: PRICE, expiry: EXPIRY, ...fields,
});

/** A call on underlying 0, a skewed put on underlying 1 out of the money, a reused id's call, and an expired put in the money. */
export const MIXED_ENTRIES: MarkEntry[] = [
  { id: 2, instrument: option({}) },
  { id: 3, instrument: option({ kind: InstrumentKind.PUT, underlying: 1, strike: 1_500_000_000n, lotSizeE6: 1_000_000n }) },
  { id: 2, instrument: option({ generation: 3, strike: PRICE / 2n }) },
  { id: 3, instrument: option({ kind: InstrumentKind.PUT, expiry: NOW - 60, strike: PRICE + 100_000_000n }) },
];

/** The ranges' edges: the lowest strike with the largest lot, a strike just under 2^50, a put far out of the money. */
export const EDGE_ENTRIES: MarkEntry[] = [
  { id: 0, instrument: option({ strike: 1n << 16n, lotSizeE6: (1n << 40n) - 1n }) },
  { id: 1, instrument: option({ strike: (1n << 50n) - 1n }) },
  { id: 2, instrument: option({ kind: InstrumentKind.PUT, underlying: 1, strike: 1n << 16n }) },
  { id: 3, instrument: option({ kind: InstrumentKind.CALL, underlying: 1, strike: PRICE_1 * 3n, generation: 65_535 }) },
];
