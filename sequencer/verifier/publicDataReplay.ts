/**
 * Replays one batch's public-data records onto a rebuilt state with the sequencer's own code
 * (txFromRecord + buildBatch), so the verifier never carries a second copy of the state transition.
 */
import { buildBatch, isDerivTx, type BuiltBatch } from "../batch/batchWitness.ts";
import { applyDerivTx } from "../batch/derivSlotWitness.ts";
import { oracleFromSection, txFromRecord } from "../protocol/recordDecoder.ts";
import { applyTx } from "../batch/slotWitness.ts";
import type { BatchTx, DerivTx, SpotTx } from "../protocol/transactions.ts";
import { applyOracleStep } from "../derivatives/oracleStep.ts";
import type { OracleSection, SlotRecord } from "../protocol/publicData.ts";
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
export function replayBatch(
  state: ExchangeState,
  records: readonly SlotRecord[],
  opts: { batchNumber: number; timestamp: number; oracle?: OracleSection },
): BuiltBatch {
  const ctx = { timestamp: opts.timestamp, verifySignatures: false };
  const oracle = opts.oracle ? oracleFromSection(opts.oracle) : null;
  const txs: BatchTx[] = [];
  const probe = state.begin();
  try {
    // The oracle step first, as buildBatch does: derivatives records see its marks and settlements.
    const step = applyOracleStep(state, oracle, opts.timestamp, true, false);
    const dctx = { ...ctx, oracleUsed: step.section.used, startInstruments: [...state.instruments], risks: step.risks, unpriced: step.unpriced };
    records.forEach((record, slot) => {
      try {
        const tx = txFromRecord(record, state);
        if (isDerivTx(tx)) applyDerivTx(state, tx, dctx);
        else applyTx(state, tx, ctx);
        txs.push(tx);
      } catch (e) {
        throw new ReplayError(slot, e);
      }
    });
  } finally {
    probe.rollback();
  }
  const spotSlots = state.params.slots;
  const sections = { spot: txs.slice(0, spotSlots) as SpotTx[], deriv: txs.slice(spotSlots) as DerivTx[] };
  const t = state.begin();
  const built = buildBatch(state, sections, { batchNumber: opts.batchNumber, timestamp: opts.timestamp, oracle, verifySignatures: false });
  // A forced request's outcome is not part of the request (txFromRecord drops it): the replay decides it
  // again, and the posted record must carry the same one (the circuit proves it; a verifier checks it too).
  const outcome = (r: SlotRecord | undefined) => (r && "honoured" in r ? r.honoured : undefined);
  const wrong = records.findIndex((r, slot) => outcome(built.records[slot]) !== outcome(r));
  if (wrong >= 0) {
    t.rollback();
    throw new ReplayError(wrong, new Error(`the record says honoured = ${outcome(records[wrong])}, the state decides ${outcome(built.records[wrong])}`));
  }
  t.commit();
  return built;
}
