/**
 * The proven exchange state (ExchangeState) as a JSON-able value and back. Only non-empty leaves are
 * listed; restoring writes them through the state's own setters, so every tree is rehashed, and the
 * rebuilt root must equal the recorded one (a corrupt snapshot is refused, never half-used).
 */
import type { PublicKey } from "../crypto/babyjub.ts";
import type { CircuitParams } from "../protocol/params.ts";
import { ExchangeState, type Market } from "../state/exchangeState.ts";
import type { DerivAccount, Globals, InstrumentState } from "../derivatives/formulas.ts";

export type AccountSnapshot = {
  id: number;
  pubKey: PublicKey;
  nonce: number;
  /** [tokenId, balance] of non-zero balances. */
  balances: [number, bigint][];
  /** [slot, leaf] of non-empty order slots. */
  orders: [number, bigint][];
  /** Derivatives collateral and positions (circuits/DERIVATIVES.md). */
  deriv: DerivAccount;
  /** The instrument in each position slot (null: empty), the layout the derivatives leaf hashes. */
  positionSlots: (number | null)[];
};

export type ExchangeStateSnapshot = {
  root: bigint;
  feePool: bigint;
  accounts: AccountSnapshot[];
  markets: [number, Market][];
  instruments: InstrumentState[];
  globals: Globals;
};

export function snapshotExchangeState(state: ExchangeState): ExchangeStateSnapshot {
  return {
    root: state.root,
    feePool: state.feePool,
    accounts: state.accountIds().map((id) => {
      const a = state.account(id);
      return { id, pubKey: a.pubKey, nonce: a.nonce, balances: state.balances(id), orders: a.orders.leaves(), deriv: a.deriv, positionSlots: [...a.positionSlots] };
    }),
    markets: state.marketIds().map((id) => [id, state.market(id)!]),
    instruments: [...state.instruments],
    globals: { ...state.globals },
  };
}

/** Rebuilds the state of `snapshot`; throws if the rebuilt root is not the recorded one. */
export function restoreExchangeState(params: CircuitParams, snapshot: ExchangeStateSnapshot): ExchangeState {
  // a snapshot from before the pooled quote was part of the state root (2026-12-05) names a root no batch of this
  // code can continue from: said plainly rather than as a failed hash of a missing field
  if (typeof snapshot.globals.pooledQuote !== "bigint") {
    throw new Error("state snapshot: written before the pooled quote joined the state root (circuits/DERIVATIVES.md \"Pooled quote\"); this version cannot continue it: deploy afresh");
  }
  const state = new ExchangeState(params);
  for (const a of snapshot.accounts) {
    state.setKeyAndNonce(a.id, a.pubKey, a.nonce);
    for (const [token, value] of a.balances) state.setBalance(a.id, token, value);
    for (const [slot, leaf] of a.orders) state.setOrderLeaf(a.id, slot, leaf);
    state.setDeriv(a.id, a.deriv, a.positionSlots);
    state.commitAccount(a.id);
  }
  for (const [id, market] of snapshot.markets) state.setMarket(id, market);
  snapshot.instruments.forEach((inst, id) => state.setInstrument(id, inst));
  state.setGlobals(snapshot.globals);
  state.addFees(snapshot.feePool);
  if (state.root !== snapshot.root) throw new Error(`state snapshot: rebuilt root ${state.root} is not the recorded ${snapshot.root}`);
  return state;
}
