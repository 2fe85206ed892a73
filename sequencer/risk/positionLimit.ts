/**
 * Position slots. The batch circuit stores an account's derivatives positions in `params.positionSlots` (K)
 * slots, so an account can hold a non-zero position in at most K distinct instruments at once: a fill, or a
 * liquidation, that would open a (K+1)-th position cannot be proven. The sequencer keeps, for every account,
 *
 *   |held| <= K
 *
 * where `held` are the instruments in which the account has a non-zero position as the accepted fills (proven or
 * not, in queue order: the order the batch applies them in) leave it, by judging each change of a position when it
 * happens ({@link positionSlotsFault}):
 * - a fill: the matching engine asks, before each fill, whether each side may fill now (RiskHook.canFill): its
 *   account holds the instrument or has a free slot. A resting maker that may not is cancelled (reason
 *   position-slots, proven: it rested) and the taker goes on to the next maker (a taker always may: it passed the
 *   order rule below, and its own fills are in its own instrument);
 * - an order: refused (TOO_MANY_POSITIONS) only when it could not fill at once, its account holding K instruments,
 *   not its own; open orders do not count, so an account may rest orders on any number of instruments (a market
 *   maker quoting an option chain), each filling while the account holds its instrument or has a slot free;
 * - a liquidator's takeover: refused beyond the liquidator's slots (it takes the position on at once).
 * Closing, settling and deleveraging only take an instrument out of `held`, and a forced close only moves lots to a
 * counterparty holding the opposite position.
 */
import type { RequestFault } from "../protocol/messages.ts";

/** The code of {@link positionSlotsFault} (the matching engine's RejectCode TOO_MANY_POSITIONS). */
export const TOO_MANY_POSITIONS = "TOO_MANY_POSITIONS";

/**
 * Why an account may not take on a position in instrument `instrumentId` now, or null when it may. `held`: the
 * instruments in which the account has a non-zero position; `slots`: the circuit's position slots per account (K).
 * Refused (TOO_MANY_POSITIONS) exactly when the account does not hold the instrument and already holds K or more;
 * an instrument the account holds is always allowed (a reduce-only order, another order on it).
 */
export function positionSlotsFault(held: Iterable<number>, instrumentId: number, slots: number): RequestFault | null {
  const used = new Set(held);
  if (used.has(instrumentId) || used.size < slots) return null;
  return {
    code: TOO_MANY_POSITIONS,
    message: `instrument ${instrumentId} would be a position beyond the account's ${slots} position slots (positions in ${[...used].sort((a, b) => a - b).join(", ")})`,
  };
}
