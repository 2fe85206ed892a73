/**
 * The oracle's implied-vol table (circuits/DERIVATIVES.md, "Vol slices"): one slice per (underlying, expiry),
 * each a level and a skew slope, so a whole chain is priced with the vol of its expiry and the skew is the
 * oracle's signature, not the operator's choice. Mirrors circuits/derivatives/volSurface.circom.
 *
 *   vol(K, S) = clamp(level + floor(slope * (K - S) / S), 2^13, 2^23 - 1)   (ppm)
 *
 * with K the option's strike, S its underlying's index price, level in [2^13, 2^23) and slope in [-2^23, 2^23)
 * ppm of vol per 1.00 of moneyness (slope < 0: a put skew, low strikes dearer). The clamp keeps every
 * option in Black-Scholes' domain whatever the price does between two updates, so a signed table never makes
 * an update unprovable.
 */
import { MIN_VOL_PPM } from "../protocol/constants.ts";
import { isEmptySlice, MAX_VOL_PPM, type VolSlice } from "../protocol/volSlices.ts";
import { floorDiv } from "./blackScholes/fixedPoint.ts";
import { isOption, type InstrumentState } from "./formulas.ts";

/** The vol `slice` gives a strike `strike` with its underlying at `spot` (both 1e-8 quote, spot > 0): clamp(level + floor(slope (K - S) / S)). */
export function sliceVol(slice: VolSlice, strike: bigint, spot: bigint): bigint {
  const raw = slice.levelPpm + floorDiv(slice.slopePpm * (strike - spot), spot);
  return raw < MIN_VOL_PPM ? MIN_VOL_PPM : raw > MAX_VOL_PPM ? MAX_VOL_PPM : raw;
}

/** The index of the slice in use for options on `underlying` expiring at `expiry`, or -1. */
export function findSlice(slices: readonly VolSlice[], underlying: number, expiry: number): number {
  return slices.findIndex((s) => !isEmptySlice(s) && s.underlying === underlying && s.expiry === expiry);
}

/**
 * Whether the oracle step prices `inst` (its state after the update's settlement) with a signed vol: an unsettled
 * option before its expiry. An expired one awaiting settlement is marked at zero time left, where the vol does not
 * matter, so no slice is needed for it.
 */
export function needsVol(inst: InstrumentState, oracleTime: number): boolean {
  return isOption(inst.kind) && inst.settlePrice === 0n && oracleTime < inst.expiry;
}

/**
 * The vol each instrument is marked at by an update signed at `oracleTime` with `prices` and `slices` (`settled`: the
 * table after the update's settlement): `sliceVol` of its slice for an instrument that `needsVol` and has one, 2^13
 * for every other (the mark does not read it, or the option was listed after the update was signed: SliceVol).
 */
export function volsByInstrument(settled: readonly InstrumentState[], prices: readonly bigint[], slices: readonly VolSlice[], oracleTime: number): bigint[] {
  return settled.map((inst) => {
    const e = needsVol(inst, oracleTime) ? findSlice(slices, inst.underlying, inst.expiry) : -1;
    return e < 0 ? MIN_VOL_PPM : sliceVol(slices[e], inst.strike, prices[inst.underlying]);
  });
}

/** The ids of the options in `settled` that need a vol at `oracleTime` and have no slice in `slices`: an update the sequencer refuses (NO_VOL_SLICE). */
export function unpricedOptions(settled: readonly InstrumentState[], slices: readonly VolSlice[], oracleTime: number): number[] {
  return settled.flatMap((inst, id) => (needsVol(inst, oracleTime) && findSlice(slices, inst.underlying, inst.expiry) < 0 ? [id] : []));
}

/** The circuit inputs of a slice table (VolSlices): its fields as four vectors. */
export function sliceInputs(slices: readonly VolSlice[]): Record<string, bigint[]> {
  return {
    sliceUnderlying: slices.map((s) => BigInt(s.underlying)),
    sliceExpiry: slices.map((s) => BigInt(s.expiry)),
    sliceLevel: slices.map((s) => s.levelPpm),
    sliceSlope: slices.map((s) => s.slopePpm),
  };
}
