/**
 * Fee rules shared by the engine (which picks the rate of each fill) and the risk modules (which charge it).
 * Rounding matches the TRADE rule of circuits/SPEC.md: fee = ceil(quote * feePpm / 10^6), per fill.
 */
import { FEE_DENOMINATOR } from "../protocol/constants.ts";

/** The rate charged to one side of a fill: the market's rate, capped by what the order signed for. */
export function effectiveFeePpm(configuredPpm: number, orderMaxFeePpm: number): number {
  return configuredPpm < orderMaxFeePpm ? configuredPpm : orderMaxFeePpm;
}

/** Fee in quote units for a notional at a rate in ppm, rounded up. */
export function feeAmount(notional: bigint, feePpm: number): bigint {
  return (notional * BigInt(feePpm) + FEE_DENOMINATOR - 1n) / FEE_DENOMINATOR;
}
