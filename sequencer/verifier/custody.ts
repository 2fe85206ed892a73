/**
 * What the state and the custodian owe of one token, for the custody check a verifier shows beside what the
 * custodian holds (the web explorer's custody table): the spot balances of the accounts that have not exited, the
 * quote held outside spot balances (token 0: the state's pooled quote, circuits/DERIVATIVES.md "Pooled quote", less
 * what exits already paid of it in exodus), what the custodian owes outside the state (`owed`: credits not
 * pulled, deposits no batch consumed), and in exodus the exits' spot remainders still waiting (what an exit could not
 * pay of a token and recorded for claimExitRemainder, RULES.md EX8: not in `owed` until paid, and no longer in the
 * exited account's balances). Custody holds when the custodian holds at least `claims`.
 */
import { QUOTE_TOKEN_ID } from "../protocol/constants.ts";
import type { ExchangeState } from "../state/exchangeState.ts";

export type CustodyClaims = { balances: bigint; pooled: bigint; remainders: bigint; claims: bigint };

/** An exit remainder's event (ExitRemainderRecorded or ExitRemainderPaid): its token and amount. */
export type RemainderEvent = { tokenId: number; amount: bigint };

/**
 * The exit remainders still waiting, per token id: what the custodian's ExitRemainderRecorded events recorded less
 * what its ExitRemainderPaid events paid (each remainder is recorded once, by the account's one exit, and paid once,
 * in full).
 */
export function pendingRemainders(recorded: readonly RemainderEvent[], paid: readonly RemainderEvent[]): Map<number, bigint> {
  const out = new Map<number, bigint>();
  for (const e of recorded) out.set(e.tokenId, (out.get(e.tokenId) ?? 0n) + e.amount);
  for (const e of paid) out.set(e.tokenId, (out.get(e.tokenId) ?? 0n) - e.amount);
  return out;
}

/**
 * The claims on token `tokenId`: `accountIds` are the accounts still to exit (every account outside exodus),
 * `owed` the custodian's `owed(tokenId)`, `derivativesPaid` its `exodusDerivativesPaid()` (0 outside exodus),
 * `remainders` the token's exit remainders still waiting (pendingRemainders; 0 outside exodus). The
 * pooled quote, not the raw collateral, is what the collateral, the fund and the pool are owed together: funding not
 * yet settled moves collateral between accounts only, and an exit pays a derivatives claim (an equity) out of it.
 */
export function custodyClaims(state: ExchangeState, tokenId: number, accountIds: readonly number[], owed: bigint, derivativesPaid: bigint, remainders = 0n): CustodyClaims {
  const balances = accountIds.reduce((a, id) => a + state.balance(id, tokenId), 0n);
  const pooled = tokenId === QUOTE_TOKEN_ID ? state.globals.pooledQuote - derivativesPaid : 0n;
  return { balances, pooled, remainders, claims: balances + pooled + owed + remainders };
}
