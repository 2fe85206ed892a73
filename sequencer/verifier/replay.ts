/**
 * Replays one batch's public-data records onto a rebuilt state with the sequencer's own code
 * (txFromRecord + buildBatch), so the verifier never carries a second copy of the state transition.
 */
import { buildBatch, type BuiltBatch } from "../batch/batchWitness.ts";
import { txFromRecord } from "../batch/replay.ts";
import { applyTx } from "../batch/slotWitness.ts";
import type { BatchTx } from "../batch/transactions.ts";
import type { SlotRecord } from "../protocol/publicData.ts";
import type { ExchangeState } from "../state/exchangeState.ts";

/** A record could not be turned into a transaction, or the transaction breaks a rule of the circuit. */
export class ReplayError extends Error {
  readonly slot: number;
  constructor(slot: number, cause: unknown) {
    super(`slot ${slot}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.slot = slot;
  }
}

/**
 * Applies `records` to `state` as one batch and returns what buildBatch built (header, records,
 * public data). All-or-nothing: on a ReplayError (or any error) the state is left as it was.
 *
 * Records are converted one at a time against the state the previous ones produced (a WITHDRAW takes
 * the account's current nonce, and two withdrawals of one account may share a batch), on a probe that
 * is rolled back; then buildBatch applies the resulting transactions for real.
 */
export function replayBatch(state: ExchangeState, records: readonly SlotRecord[], opts: { batchNumber: number; timestamp: number }): BuiltBatch {
  const ctx = { timestamp: opts.timestamp, verifySignatures: false };
  const txs: BatchTx[] = [];
  const probe = state.begin();
  try {
    records.forEach((record, slot) => {
      try {
        const tx = txFromRecord(record, state);
        applyTx(state, tx, ctx);
        txs.push(tx);
      } catch (e) {
        throw new ReplayError(slot, e);
      }
    });
  } finally {
    probe.rollback();
  }
  return buildBatch(state, txs, { ...opts, verifySignatures: false });
}
