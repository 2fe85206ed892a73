/**
 * Which pending transactions the next batch takes: the longest prefix of the queue that fits the
 * batch's slots and keeps the order the chain and the circuit apply things in.
 *
 * - Spot transactions fill the spot slots, derivatives transactions the derivatives slots.
 * - A batch applies its spot slots before its derivatives slots: a spot transaction queued after a
 *   derivatives one is applied before it. That is safe only when nothing it does depends on what the
 *   derivatives one did: so once a derivatives transaction other than an unsigned on-chain request
 *   (UNSIGNED_DERIV_REQUESTS: REGISTER_INSTRUMENT, FORCED_COLLATERAL_WITHDRAW, FORCED_CLOSE, INSURANCE_WITHDRAW,
 *   which move only collateral, positions, the instrument table and the insurance fund, none of which a spot
 *   transaction reads) is taken, the prefix stops at the next spot transaction (a withdrawal of quote moved
 *   out of collateral by an earlier TRANSFER, a key rotation after a derivatives order it signed, an order
 *   slot a spot trade reuses after a derivatives fill emptied it, ...), unless it is a proven cancel (CANCEL,
 *   OPERATOR_CANCEL) of an order slot no derivatives fill taken stores: a cancel reads nothing else, and cancels
 *   queue behind everything (exchangeCore.ts enqueue), so they would otherwise wait for a batch without derivatives
 *   activity, which may never come. The custodian takes the requests in
 *   any merge of the two classes that is its queue (BatchRecords.sol `_inQueueOrder`), so forced withdrawals
 *   and forced collateral withdrawals or closes queued alternately still fill a batch.
 * - A batch carries one oracle update: every derivatives transaction is tagged with the update it was
 *   accepted under (its marks are what its margin check used), and the prefix stops at a tag other
 *   than the first one. A forced collateral withdrawal or close is judged at its update's marks, and the
 *   circuit serves it only in a batch with an update: one whose update could no longer be used is untagged until
 *   the next fresh update judges it again (exchangeCore.ts), and the prefix stops before it meanwhile. A
 *   marker (a NOOP tagged with an update) takes no slot: it makes a batch use an update that must be
 *   applied even with nothing else (a funding tick, an expiry).
 * - Time (when a `floor` is given, i.e. when the sequencer builds a batch; a replay passes none): the
 *   batch is stamped with the latest of the floor (the custodian's last timestamp, and the earliest
 *   stamp the custodian will still accept once the batch is proven), the acceptance times of its
 *   entries and its oracle update's time: a moment at which every transaction in it had been accepted,
 *   as early as that allows. Every entry has a deadline: the expiry of each order a trade fills, the second
 *   before the expiry of the dated instrument a derivatives fill trades, and its oracle update's time +
 *   MAX_ORACLE_AGE. The prefix stops before an entry that would raise the
 *   stamp past an earlier entry's deadline, or whose own deadline the stamp has passed while it alone
 *   would be provable: that entry starts the next batch. An entry that no stamp at or after the floor
 *   can prove (it waited too long: a backlog, a clock jump) is taken, and the batch builder refuses it
 *   (the sequencer's rejection path).
 * - The `ceiling` (the chain's time + the custodian's MAX_FUTURE_DRIFT) bounds the stamp from above: the
 *   custodian refuses a batch stamped later. An entry accepted after it (the sequencer's clock runs ahead
 *   of the chain's) is not taken: it waits, with everything behind it, until the chain's time catches up.
 */
import { isDerivTx } from "../batch/batchWitness.ts";
import type { BatchTx } from "../protocol/transactions.ts";
import type { SignedOracleUpdate } from "../derivatives/oracleStep.ts";
import type { ForcedClose } from "../derivatives/formulas.ts";
import { JUDGED_AT_MARKS_TYPES, MAX_ORACLE_AGE, TxType } from "../protocol/constants.ts";
import type { CircuitParams } from "../protocol/params.ts";

/**
 * A transaction waiting for a batch, with the time intake accepted it, the oracle update a derivatives one was
 * checked at, and for a forced request the outcome intake predicted (`honoured`; for a spot FORCED_WITHDRAW
 * ExchangeCore corrects it when the builder proves the other: ForcedOutcomeRecord; one judged at marks has it undone
 * when its update can no longer be used).
 */
export type PendingEntry = {
  tx: BatchTx;
  time: number;
  oracle?: SignedOracleUpdate;
  honoured?: boolean;
  /** An honoured FORCED_CLOSE's close in intake's view (DerivativesRisk.forceClose), to take it back if its update can no longer be used. */
  close?: ForcedClose;
  /**
   * The account whose order made this fill, as the taker (backlog.ts fair queueing counts an account's own waiting
   * transactions: a maker filled by others is not charged for them). Intake's bookkeeping only: no rule reads it.
   */
  taker?: number;
};

/**
 * An on-chain request admitted to the core but held out of the queue until an oracle update, or (`behind`) until no
 * forced collateral withdrawal waits for a batch or in one not yet on chain (exchangeCore.ts, awaitingMarks).
 */
export type AwaitingRequest = { tx: BatchTx; time: number; behind?: true };

export type BatchSelection = {
  /** How many entries from the head of the queue the batch consumes. */
  count: number;
  /** The transactions to build (markers left out), in queue order. */
  txs: BatchTx[];
  /** The oracle update the batch uses, or null (no derivatives activity). */
  oracle: SignedOracleUpdate | null;
  /** The stamp (see the file comment); the floor, or 0, when nothing is selected. */
  timestamp: number;
};

/**
 * The expiry of the instrument an instrument market's orders trade (its id's current generation), or 0 when none
 * binds them (a perpetual, or a market that is not the id's current instrument).
 */
export type InstrumentExpiry = (marketId: number) => number;

/**
 * The latest stamp at which `e` can be proven: its orders' expiries, its oracle update's age limit, and for a
 * fill on a dated instrument the second before the instrument's expiry (Fill refuses an expired instrument).
 */
export function entryDeadline(e: PendingEntry, instrumentExpiry: InstrumentExpiry = () => 0): number {
  let d = Infinity;
  const tx = e.tx;
  const dated = (marketId: number) => {
    const expiry = instrumentExpiry(marketId);
    return expiry > 0 ? expiry - 1 : Infinity;
  };
  if (tx.type === TxType.TRADE) d = Math.min(tx.buy.expiry, tx.sell.expiry);
  else if (tx.type === TxType.DERIV_TRADE) d = Math.min(tx.buy.expiry, tx.sell.expiry, dated(tx.buy.marketId));
  else if (tx.type === TxType.LIQUIDATE) d = Math.min(tx.liquidator.expiry, dated(tx.liquidator.marketId));
  if (e.oracle) d = Math.min(d, e.oracle.time + MAX_ORACLE_AGE);
  return d;
}

/** True for the same signed update (compared by value: entries restored from a snapshot are copies). */
export function sameOracleUpdate(a: SignedOracleUpdate, b: SignedOracleUpdate): boolean {
  return a === b || (a.time === b.time && a.signature.s === b.signature.s && a.signature.r8x === b.signature.r8x);
}

/** The account and order a proven cancel (CANCEL, OPERATOR_CANCEL) cancels, or null for other transactions. */
export function cancelledOrder(tx: BatchTx): { accountId: number; orderId: bigint } | null {
  if (tx.type === TxType.CANCEL) return { accountId: tx.request.accountId, orderId: tx.request.orderId };
  if (tx.type === TxType.OPERATOR_CANCEL) return { accountId: tx.accountId, orderId: tx.orderId };
  return null;
}

/** The orders a transaction stores in their accounts' order slots (fills): a cancel of an order of such a slot depends on it. */
export function ordersStored(tx: BatchTx): readonly { accountId: number; orderId: bigint }[] {
  if (tx.type === TxType.TRADE || tx.type === TxType.DERIV_TRADE) return [tx.buy, tx.sell];
  if (tx.type === TxType.LIQUIDATE) return [tx.liquidator];
  return [];
}

/**
 * The derivatives transactions a spot transaction queued after them may be applied before (see the file comment):
 * on-chain requests without a signature that move nothing a spot slot reads.
 */
export const UNSIGNED_DERIV_REQUESTS: readonly TxType[] = [TxType.REGISTER_INSTRUMENT, TxType.FORCED_COLLATERAL_WITHDRAW, TxType.FORCED_CLOSE, TxType.INSURANCE_WITHDRAW];

export function selectBatch(
  pending: readonly PendingEntry[], params: CircuitParams, floor?: number, ceiling = Infinity, instrumentExpiry?: InstrumentExpiry,
): BatchSelection {
  let timestamp = floor ?? 0;
  let deadline = Infinity;
  let spot = 0;
  let deriv = 0;
  let spotMustWait = false; // a derivatives transaction a later spot one may depend on was taken
  // the order slots ("account:slot") the derivatives fills taken so far store: a cancel of one of them must wait (the
  // batch applies spot slots first); any other proven cancel depends on no derivatives transaction and goes on
  const derivFilled = new Set<string>();
  const slotOf = (o: { accountId: number; orderId: bigint }) => `${o.accountId}:${o.orderId % BigInt(4 ** params.orderLevels)}`;
  let oracle: SignedOracleUpdate | null = null;
  const txs: BatchTx[] = [];
  let count = 0;
  for (const e of pending) {
    const marker = e.tx.type === TxType.NOOP && e.oracle !== undefined;
    const isDeriv = isDerivTx(e.tx);
    if (e.oracle && oracle && !sameOracleUpdate(e.oracle, oracle)) break;
    // a forced request waiting to be judged again at a fresh update (never proven without marks)
    if (JUDGED_AT_MARKS_TYPES.includes(e.tx.type) && !e.oracle) break;
    const cancel = cancelledOrder(e.tx);
    if (!isDeriv && !marker && spotMustWait && (cancel === null || derivFilled.has(slotOf(cancel)))) break;
    if (isDeriv && deriv === params.derivSlots) break;
    if (!isDeriv && !marker && spot === params.slots) break;
    const earliest = Math.max(floor ?? 0, e.time, e.oracle?.time ?? 0);
    const stamp = Math.max(timestamp, earliest);
    const due = entryDeadline(e, instrumentExpiry);
    if (stamp > ceiling) break;
    if (floor !== undefined && count > 0 && (stamp > deadline || (stamp > due && earliest <= due))) break;
    timestamp = stamp;
    if (earliest <= due) deadline = Math.min(deadline, due); // (one no stamp can save constrains nothing)
    if (e.oracle) oracle = e.oracle;
    if (isDeriv) {
      deriv++;
      if (!UNSIGNED_DERIV_REQUESTS.includes(e.tx.type)) spotMustWait = true;
      for (const o of ordersStored(e.tx)) derivFilled.add(slotOf(o));
    } else if (!marker) spot++;
    if (!marker) txs.push(e.tx);
    count++;
  }
  return { count, txs, oracle, timestamp };
}
