/**
 * Fee rules shared by the engine (which picks the rate of each fill) and the risk modules (which charge it).
 * Rounding matches the TRADE rule of circuits/SPEC.md: fee = ceil(quote * feePpm / 10^6), per fill.
 */
export { feeAmount } from "../protocol/fees.ts";

/** The rate charged to one side of a fill: the market's rate, capped by what the order signed for. */
export function effectiveFeePpm(configuredPpm: number, orderMaxFeePpm: number): number {
  return configuredPpm < orderMaxFeePpm ? configuredPpm : orderMaxFeePpm;
}
