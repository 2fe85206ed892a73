/**
 * Position slots at intake. The batch circuit stores an account's derivatives positions in
 * `params.positionSlots` (K) slots, so an account can hold a non-zero position in at most K distinct
 * instruments at once: a fill, or a liquidation, that would open a (K+1)-th position cannot be proven.
 * Intake keeps, for every account,
 *
 *   |held ∪ ordered| <= K
 *
 * where `held` are the instruments in which the account has a non-zero position and `ordered` those in which
 * it has an open (reserved) order, by refusing an order, or a liquidator's takeover, on an instrument outside
 * both sets once they already cover K instruments ({@link positionSlotsFault}). Every fill of an accepted order
 * then fits in a slot: a fill only moves its instrument from `ordered` to `held`; closing, settling and
 * deleveraging only take one out of `held`, and a cancel or a complete fill one out of `ordered`.
 */
import type { RequestFault } from "../protocol/messages.ts";

/** The code of {@link positionSlotsFault} (the matching engine's RejectCode TOO_MANY_POSITIONS). */
export const TOO_MANY_POSITIONS = "TOO_MANY_POSITIONS";

/**
 * Why an account may not take on instrument `instrumentId`, or null when it may. `held`: the instruments in which
 * the account has a non-zero position; `ordered`: those in which it has open orders; `slots`: the circuit's
 * position slots per account (K). Refused (TOO_MANY_POSITIONS) exactly when the account neither holds nor has an
 * order on the instrument and the two sets together already name K or more instruments; an instrument the account
 * holds or has an order on is always allowed (a reduce-only order, another order on the same instrument).
 */
export function positionSlotsFault(held: Iterable<number>, ordered: Iterable<number>, instrumentId: number, slots: number): RequestFault | null {
  const used = new Set([...held, ...ordered]);
  if (used.has(instrumentId) || used.size < slots) return null;
  return {
    code: TOO_MANY_POSITIONS,
    message: `instrument ${instrumentId} would be a position beyond the account's ${slots} position slots (positions or open orders in ${[...used].sort((a, b) => a - b).join(", ")})`,
  };
}
