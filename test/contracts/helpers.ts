/**
 * Shared helpers for the custodian tests: Baby Jubjub points (plain bigint arithmetic, so the tests do not
 * depend on circomlibjs), batch building with the protocol's TS encoders, and a state snapshot used to check
 * that rejected batches change nothing.
 */
import { FIELD_MODULUS, HEADER_BYTES, oracleSectionBytes, TxType } from "../../sequencer/protocol/constants.ts";
import type { CircuitParams } from "../../sequencer/protocol/params.ts";
import { encodePublicData, unusedOracleSection, type BatchHeader, type OracleSection, type SlotRecord } from "../../sequencer/protocol/publicData.ts";
import { bytesToHex, type Hex } from "viem";

const P = FIELD_MODULUS;
const A = 168700n;
const D = 168696n;

/** circomlib's Base8 generator of the prime-order subgroup. */
export const BASE8: Point = [
  5299619240641551281634865583518297030282874472190772894086521144482721001553n,
  16950150798460657717958625567821834550301663161624707787222815936182638968203n,
];

export type Point = readonly [x: bigint, y: bigint];

const mod = (a: bigint): bigint => ((a % P) + P) % P;

function modPow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}

const inv = (a: bigint): bigint => modPow(a, P - 2n);

/** Twisted Edwards addition on Baby Jubjub (complete formulas, affine). */
export function addPoints([x1, y1]: Point, [x2, y2]: Point): Point {
  const t = mod(D * x1 * x2 * y1 * y2);
  const x3 = mod((x1 * y2 + y1 * x2) * inv(mod(1n + t)));
  const y3 = mod((y1 * y2 - A * x1 * x2) * inv(mod(1n - t)));
  return [x3, y3];
}

export function mulPoint(point: Point, k: bigint): Point {
  let acc: Point = [0n, 1n];
  let p = point;
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) acc = addPoints(acc, p);
    p = addPoints(p, p);
  }
  return acc;
}

export function isOnCurve([x, y]: Point): boolean {
  const xx = mod(x * x);
  const yy = mod(y * y);
  return mod(A * xx + yy) === mod(1n + D * xx * yy);
}

/** A public key for tests: k * Base8. */
export const pubKeyOf = (k: bigint): Point => mulPoint(BASE8, k);

/** The protocol's compressed key (circuits/SPEC.md), from the sequencer's implementation. */
export { compressPublicKey as compressKey } from "../../sequencer/crypto/babyjub.ts";

/** A square root mod P (Tonelli-Shanks), or undefined. Used to build low-order points in tests. */
export function sqrtMod(n: bigint): bigint | undefined {
  n = mod(n);
  if (n === 0n) return 0n;
  if (modPow(n, (P - 1n) / 2n) !== 1n) return undefined;
  let q = P - 1n;
  let s = 0n;
  while ((q & 1n) === 0n) {
    q >>= 1n;
    s++;
  }
  let z = 2n;
  while (modPow(z, (P - 1n) / 2n) !== P - 1n) z++;
  let m = s;
  let c = modPow(z, q);
  let t = modPow(n, q);
  let r = modPow(n, (q + 1n) / 2n);
  while (t !== 1n) {
    let i = 0n;
    let t2 = t;
    while (t2 !== 1n) {
      t2 = (t2 * t2) % P;
      i++;
    }
    const b = modPow(c, 1n << (m - i - 1n));
    m = i;
    c = (b * b) % P;
    t = (t * c) % P;
    r = (r * b) % P;
  }
  return r;
}

/** The sizes that shape a batch's public data. */
export type BatchShape = Pick<CircuitParams, "slots" | "derivSlots" | "underlyings" | "instruments">;

/** Offset of the first record in public data of this shape: header plus oracle section. */
export const recordsOffset = (shape: BatchShape): number => HEADER_BYTES + oracleSectionBytes(shape.underlyings, shape.instruments);

function padWithNoops(records: readonly SlotRecord[], slots: number, what: string): SlotRecord[] {
  if (records.length > slots) throw new RangeError(`${records.length} ${what} records for ${slots} slots`);
  const padded: SlotRecord[] = [...records];
  while (padded.length < slots) padded.push({ type: TxType.NOOP });
  return padded;
}

/**
 * Public data for a batch of `shape`: `spot` records then NOOPs in the spot slots, `opts.deriv` then NOOPs in
 * the derivatives slots, and `opts.oracle` (default: the unused oracle section of a spot-only batch).
 */
export function batchBytes(
  header: BatchHeader,
  spot: readonly SlotRecord[],
  shape: BatchShape,
  opts: { deriv?: readonly SlotRecord[]; oracle?: OracleSection } = {},
): Uint8Array {
  const records = [...padWithNoops(spot, shape.slots, "spot"), ...padWithNoops(opts.deriv ?? [], shape.derivSlots, "derivatives")];
  return encodePublicData(header, opts.oracle ?? unusedOracleSection(shape.underlyings, shape.instruments), records);
}

export const hex = (b: Uint8Array): Hex => bytesToHex(b);

/** A recognisable proof: the custodian passes it through to the verifier. */
export const PROOF: readonly [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint] = [
  11n, 12n, 21n, 22n, 23n, 24n, 31n, 32n,
];
