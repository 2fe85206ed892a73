/** The protocol's fee rule (circuits/SPEC.md, TRADE rule 7): fee = ceil(notional * feePpm / 10^6), per fill. */
import { PPM } from "./constants.ts";

/** Fee in quote units for a notional at a rate in ppm, rounded up (never in the trader's favour). */
export function feeAmount(notional: bigint, feePpm: number): bigint {
  return (notional * BigInt(feePpm) + PPM - 1n) / PPM;
}
