/**
 * Which instruments a batch's marked set must hold, and how many derivatives transactions fit one set
 * (circuits/DERIVATIVES.md "At exchange scale", build step 1: "the batcher groups transactions so that every
 * instrument a touched account holds or trades is in the set"; circuits/lib/instrumentSet.circom).
 *
 * Margin is cross: a slot that touches an account values every position it holds, so the set must hold, for each
 * derivatives transaction taken, the instruments its accounts hold and the instrument it names (the one traded,
 * liquidated, settled, closed, deleveraged or registered). Over a prefix of transactions, the instruments any touched
 * account holds at any point of the batch are those it held at the batch's start or one a transaction of the prefix
 * names (a position opens only by a transaction naming its instrument), so the union of those, over the prefix, is
 * enough: `planInstrumentSet` takes the longest prefix whose union fits M.
 *
 * Liveness: one transaction alone needs at most 2K - 1 instruments (a trade between two accounts of K positions each:
 * the opening side holds at most K - 1 others, or both hold the traded one), so with M >= 2K - 1 every transaction
 * intake accepts fits a batch of its own (`setFloor`); a plan never takes 0 transactions of a non-empty queue then.
 *
 * Not yet used by the batch builder: the batch circuit still reads the whole instrument vector.
 */
import { marketInstrument, TxType } from "../protocol/constants.ts";
import { txAccounts, type BatchTx } from "../protocol/transactions.ts";
import { isDerivTx } from "./batchWitness.ts";

/** The smallest set every single transaction fits, with K position slots per account: 2K - 1. */
export function setFloor(positionSlots: number): number {
  return 2 * positionSlots - 1;
}

/** A transaction's accounts whose positions its derivatives slot reads (its slot's A and B: none for a spot transaction), and the instrument it names (null: none). */
export function setNeeds(tx: BatchTx, instruments: number): { accounts: number[]; instrument: number | null } {
  const accounts = isDerivTx(tx) ? txAccounts(tx) : [];
  switch (tx.type) {
    case TxType.DERIV_TRADE:
      return { accounts, instrument: marketInstrument(tx.buy.marketId, instruments)?.id ?? null };
    case TxType.LIQUIDATE:
      return { accounts, instrument: marketInstrument(tx.liquidator.marketId, instruments)?.id ?? null };
    case TxType.DELEVERAGE:
    case TxType.FORCED_CLOSE:
    case TxType.SETTLE:
    case TxType.REGISTER_INSTRUMENT:
      return { accounts, instrument: tx.instrumentId };
    default: // TRANSFER, FORCED_COLLATERAL_WITHDRAW: an account, no instrument; spot, NOOP, INSURANCE_WITHDRAW: neither
      return { accounts, instrument: null };
  }
}

/** A plan: how many of the transactions one set serves, and the set's ids (strictly increasing, at most M). */
export type SetPlan = {
  readonly taken: number;
  readonly ids: readonly number[];
  /** When the first transaction alone does not fit (taken 0 of a non-empty list): the instruments it needs. */
  readonly unfit?: readonly number[];
};

/**
 * The longest prefix of `txs` (in queue order) whose instruments fit a set of `m`: each transaction's named instrument
 * and every instrument its accounts hold at the batch's start (`heldBy`), plus the instruments every batch's set holds
 * (`always`: what the oracle step itself loads). A transaction without an account or an instrument (spot, NOOP, a fund
 * withdrawal) needs nothing and is always taken. When the first transaction alone does not fit, nothing is taken and
 * `unfit` says what it needs: the caller rejects it (the builder's rejection path), which cannot happen with
 * m >= setFloor(K) for a transaction intake accepted.
 */
export function planInstrumentSet(
  txs: readonly BatchTx[], heldBy: (accountId: number) => Iterable<number>, m: number, instruments: number, always: Iterable<number> = [],
): SetPlan {
  const set = new Set<number>(always);
  if (set.size > m) throw new RangeError(`the oracle step's ${set.size} instruments exceed a set of ${m}`);
  let taken = 0;
  for (const tx of txs) {
    const { accounts, instrument } = setNeeds(tx, instruments);
    const needs = new Set<number>(instrument === null ? [] : [instrument]);
    for (const a of accounts) for (const id of heldBy(a)) needs.add(id);
    const union = new Set([...set, ...needs]);
    if (union.size > m) {
      return taken === 0 ? { taken, ids: sorted(set), unfit: sorted(needs) } : { taken, ids: sorted(set) };
    }
    for (const id of needs) set.add(id);
    taken++;
  }
  return { taken, ids: sorted(set) };
}

const sorted = (s: Set<number>): number[] => [...s].sort((a, b) => a - b);
