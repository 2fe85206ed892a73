/**
 * Whom a forced close names (docs/client.md 10, FORCED_CLOSE): the account holding the most on the other side of the
 * requester's position, in a state rebuilt from chain data (sequencer/verifier), so a trader needs nothing from the
 * operator to leave a position. The close takes as many lots as both hold.
 */
import type { ExchangeState } from "../state/exchangeState.ts";

export type CloseCounterparty = { counterpartyId: number; lots: bigint };

/**
 * The counterparty and lots of a forced close of `accountId`'s position in `instrumentId`: the account (other than
 * it) with the largest position on the other side, the lowest id among equals, and `min(|own|, theirs)` lots; null
 * when the account holds no position there or nobody holds the other side.
 */
export function closeCounterparty(state: ExchangeState, accountId: number, instrumentId: number): CloseCounterparty | null {
  const own = state.account(accountId).deriv.positions[instrumentId]?.size ?? 0n;
  if (own === 0n) return null;
  let best: CloseCounterparty | null = null;
  for (const id of state.accountIds()) {
    if (id === accountId) continue;
    const theirs = state.account(id).deriv.positions[instrumentId]?.size ?? 0n;
    const opposite = own > 0n ? -theirs : theirs;
    if (opposite > 0n && (!best || opposite > best.lots)) best = { counterpartyId: id, lots: opposite };
  }
  if (!best) return null;
  const mine = own > 0n ? own : -own;
  return { counterpartyId: best.counterpartyId, lots: mine < best.lots ? mine : best.lots };
}
