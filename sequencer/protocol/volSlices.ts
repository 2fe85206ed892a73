/**
 * The oracle's implied-vol table as it is signed and published (circuits/DERIVATIVES.md, "Vol slices"): one slice
 * per (underlying, expiry), each a level and a skew slope; the oracle signs one field per slice and the public data
 * carries its 11 bytes. How a slice prices an option: sequencer/derivatives/volSurface.ts.
 */
import { Bits, MIN_VOL_PPM, SETTLEMENT_MAX_UNDERLYINGS } from "./constants.ts";

/** One vol slice: the implied vol of the options on `underlying` expiring at `expiry`, with its skew. */
export type VolSlice = {
  underlying: number;
  /** Unix seconds; > 0 in a slice that is not empty. */
  expiry: number;
  /** At-the-money implied vol, ppm, in [2^13, 2^23) (0: an empty slice). */
  levelPpm: bigint;
  /** Skew: ppm of vol per 1.00 of moneyness (K - S) / S, in [-2^23, 2^23). */
  slopePpm: bigint;
};

/** The slice that fills the table's unused entries (after every slice in use). */
export const EMPTY_SLICE: VolSlice = { underlying: 0, expiry: 0, levelPpm: 0n, slopePpm: 0n };
/** The largest vol the clamp gives: Black-Scholes' domain ends at 2^23. */
export const MAX_VOL_PPM = (1n << BigInt(Bits.volPpm)) - 1n;
/** The slope is stored and signed as slope + 2^23 (3 bytes). */
export const SLOPE_OFFSET = 1n << BigInt(Bits.volSlope - 1);

/** Whether `s` is an unused entry (level 0; then all zero in a valid table). */
export const isEmptySlice = (s: VolSlice): boolean => s.levelPpm === 0n;
/** The order of slices in use: by underlying, then expiry (strictly increasing, so no key twice). */
const sliceKey = (s: VolSlice): bigint => (BigInt(s.underlying) << 32n) | BigInt(s.expiry);

/**
 * Why `slices` is not a valid table for `underlyings` underlyings, or null (VolSlices of volSurface.circom): each
 * slice is empty (all zero) or has underlying < underlyings, expiry in [1, 2^32), level in [2^13, 2^23) and slope in
 * [-2^23, 2^23); the slices in use come first, strictly increasing by (underlying, expiry).
 */
export function sliceTableFault(slices: readonly VolSlice[], underlyings: number): string | null {
  for (const [e, s] of slices.entries()) {
    if (isEmptySlice(s)) {
      if (s.underlying !== 0 || s.expiry !== 0 || s.slopePpm !== 0n) return `slice ${e} is empty (level 0) but not all zero`;
      continue;
    }
    if (!Number.isInteger(s.underlying) || s.underlying < 0 || s.underlying >= underlyings) return `slice ${e}: underlying ${s.underlying} is not one of the ${underlyings}`;
    if (!Number.isInteger(s.expiry) || s.expiry <= 0 || s.expiry >= 2 ** Bits.time) return `slice ${e}: expiry ${s.expiry} outside [1, 2^32)`;
    if (s.levelPpm < MIN_VOL_PPM || s.levelPpm > MAX_VOL_PPM) return `slice ${e}: level ${s.levelPpm} outside [2^13, 2^23)`;
    if (s.slopePpm < -SLOPE_OFFSET || s.slopePpm >= SLOPE_OFFSET) return `slice ${e}: slope ${s.slopePpm} outside [-2^23, 2^23)`;
    if (e > 0 && isEmptySlice(slices[e - 1])) return `slice ${e} follows an empty slice: the slices in use come first`;
    if (e > 0 && sliceKey(slices[e - 1]) >= sliceKey(s)) return `slice ${e} is not after slice ${e - 1} by (underlying, expiry)`;
  }
  return null;
}

/**
 * The field the oracle signs for a slice, whose 11 big-endian bytes are its public data:
 * `underlying << 80 | expiry << 48 | level << 24 | (slope + 2^23)`. Throws a RangeError when a part does not fit.
 */
export function sliceWord(s: VolSlice): bigint {
  const part = (name: string, v: bigint, bits: number): bigint => {
    if (v < 0n || v >= 1n << BigInt(bits)) throw new RangeError(`vol slice ${name}=${v} does not fit in ${bits} bits`);
    return v;
  };
  if (s.underlying >= SETTLEMENT_MAX_UNDERLYINGS) throw new RangeError(`vol slice underlying=${s.underlying} is beyond ${SETTLEMENT_MAX_UNDERLYINGS - 1}`);
  return (part("underlying", BigInt(s.underlying), 8) << 80n) | (part("expiry", BigInt(s.expiry), Bits.time) << 48n)
    | (part("level", s.levelPpm, Bits.volPpm) << 24n) | part("slope", s.slopePpm + SLOPE_OFFSET, Bits.volSlope);
}

/** The slice of `sliceWord`'s word (the public data's 11 bytes). */
export function sliceOfWord(w: bigint): VolSlice {
  const mask = (bits: number) => (1n << BigInt(bits)) - 1n;
  return {
    underlying: Number(w >> 80n),
    expiry: Number((w >> 48n) & mask(32)),
    levelPpm: (w >> 24n) & mask(24),
    slopePpm: (w & mask(24)) - SLOPE_OFFSET,
  };
}

/** A table of `count` slices holding `used` (sorted by underlying, then expiry) and EMPTY_SLICE after; throws when they do not fit. */
export function sliceTable(used: readonly VolSlice[], count: number): VolSlice[] {
  if (used.length > count) throw new RangeError(`${used.length} vol slices (one per underlying and expiry of the live options) for a table of ${count}`);
  const sorted = [...used].sort((a, b) => (sliceKey(a) < sliceKey(b) ? -1 : sliceKey(a) > sliceKey(b) ? 1 : 0));
  return [...sorted, ...Array.from({ length: count - used.length }, () => EMPTY_SLICE)];
}
