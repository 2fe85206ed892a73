/**
 * Hand-made states for the exit rule's tests (test/sequencer/exit/, test/circuits/exit/): an ExchangeState
 * at TEST_PARAMS whose instruments and account 5 are written directly (no batch), so each figure of the
 * rule can be worked out by hand.
 */
import type { InstrumentState } from "../../../sequencer/derivatives/formulas.ts";
import { InstrumentKind } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { emptyDerivAccount, ExchangeState } from "../../../sequencer/state/exchangeState.ts";

export const E8 = 100_000_000n;
/** 1e-8 quote per unit of `quote` whole quote units. */
export const px = (quote: bigint) => quote * E8;
export const P = px(3_000n);
/** Lots of 0.01 underlying: lotValue(X) = X / 10^4 quote units; at 3,000 a lot is worth 30,000,000 (30 quote). */
const lot = { underlying: 0, lotSizeE6: 10_000n, tickValue: 100n, imPpm: 100_000n, mmPpm: 50_000n, fundingCapPpm: 0n, fundingIndex: 0n, settlePrice: 0n, holders: 0, generation: 0 };
export const PERP: InstrumentState = { ...lot, kind: InstrumentKind.PERPETUAL, strike: 0n, expiry: 0, fundingCapPpm: 1_000n };
export const FUTURE: InstrumentState = { ...lot, kind: InstrumentKind.FUTURE, strike: 0n, expiry: 1_800_000_000 };
export const CALL: InstrumentState = { ...lot, kind: InstrumentKind.CALL, strike: P, expiry: 1_800_000_000 };
export const PUT: InstrumentState = { ...lot, kind: InstrumentKind.PUT, strike: P, expiry: 1_800_000_000 };

/** A state with `instruments` registered and account 5 holding `spot`, `collateral` and positions `sizes` (snapshots `snaps`; at most 3 non-zero: the position slots). */
export function handMade(o: { instruments?: InstrumentState[]; spot?: bigint[]; collateral?: bigint; sizes?: bigint[]; snaps?: bigint[] }): ExchangeState {
  const state = new ExchangeState(TEST_PARAMS);
  (o.instruments ?? [PERP, FUTURE, CALL, PUT]).forEach((inst, i) => state.setInstrument(i, inst));
  (o.spot ?? []).forEach((b, t) => state.setBalance(5, t, b));
  const deriv = emptyDerivAccount(TEST_PARAMS.instruments);
  deriv.collateral = o.collateral ?? 0n;
  (o.sizes ?? []).forEach((s, i) => (deriv.positions[i] = { size: s, snapshot: o.snaps?.[i] ?? 0n }));
  state.setDeriv(5, deriv);
  state.commitAccount(5);
  return state;
}

