/**
 * Greeks of derivatives positions (off-chain, reporting only), in units of the underlying and quote:
 * options through the fixed-point Black-Scholes greeks (sequencer/derivatives/blackScholes/blackScholes.ts) at the
 * oracle's price and volatility; a perpetual or an unsettled future has delta = its size in underlying
 * units and no other Greek; settled instruments and flat positions have none.
 */
import { InstrumentKind } from "../protocol/constants.ts";
import { greeks, type Greeks } from "../derivatives/blackScholes/blackScholes.ts";
import { isOption, optionInput, type InstrumentState } from "../derivatives/formulas.ts";

export const NO_GREEKS: Greeks = { delta: 0, gamma: 0, vega: 0, theta: 0 };

/** Underlying units of `lots` lots (lotSizeE6 is in 1e-6 units). */
function units(inst: InstrumentState, lots: bigint): number {
  return (Number(lots) * Number(inst.lotSizeE6)) / 1e6;
}

/** The Greeks of `size` lots of `inst` at oracle price `price` (1e-8 quote), volatility `volPpm`, time `oracleTime`. */
export function positionGreeks(inst: InstrumentState, size: bigint, price: bigint, volPpm: bigint, oracleTime: number): Greeks {
  if (size === 0n || inst.kind === InstrumentKind.NONE || inst.settlePrice !== 0n) return NO_GREEKS;
  if (!isOption(inst.kind)) return { ...NO_GREEKS, delta: units(inst, size) };
  return greeks(
    optionInput(inst, price, volPpm, oracleTime),
    units(inst, size),
  );
}

/** Component-wise sum. */
export function addGreeks(a: Greeks, b: Greeks): Greeks {
  return { delta: a.delta + b.delta, gamma: a.gamma + b.gamma, vega: a.vega + b.vega, theta: a.theta + b.theta };
}
