/**
 * Off-curve Baby Jubjub "keys" for the dishonest-operator hunt (issue 11, finding 1), in the form the
 * generator needs (a key's y and the sign of its x, which is all the compressed key the public data and
 * the custodian see): the curve algebra is test/circuits/offCurveKeys.ts's, which explains why an x' whose
 * third Edwards doubling has x = 0 makes the key sign every message.
 */
import { FIELD_MODULUS as P } from "../../sequencer/protocol/constants.ts";
import { forgeableX, onCurve } from "../circuits/offCurveKeys.ts";

const HALF = (P - 1n) / 2n;
/** The sign bit of the compressed form: 1 iff x > (p-1)/2. */
export const signOf = (x: bigint): 0 | 1 => (x > HALF ? 1 : 0);

/** An x' with the given sign such that (x', y) is off the curve and signs every message, or null when this y has none. */
export function forgingX(y: bigint, sign: 0 | 1): bigint | null {
  if (y % P === 0n) return null; // the quartic is A^2 t^2: its only root t = 0 gives x' = 0, no forgery
  const x = forgeableX([sign ? P - 1n : 0n, y]);
  return x !== null && !onCurve([x, y]) ? x : null;
}

/** A pseudo-random x' with the given sign, (x', y) off the curve (from `random`, a source of field elements). */
export function offCurveX(y: bigint, sign: 0 | 1, random: () => bigint): bigint {
  for (;;) {
    const x = random() % P;
    if (signOf(x) === sign && !onCurve([x, y])) return x;
  }
}
