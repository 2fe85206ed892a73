/**
 * What the sequencer writes to its durable log, one record per accepted command or batch step
 * (LMAX style: the log is the source of truth for intake; replaying it through the same code rebuilds
 * the books, reservations, order slots, nonces, pending transactions and proven state exactly).
 *
 * Each intake record carries the time input the sequencer used for it (unix seconds), so replay reads no
 * clock. `expire` takes the resting and held orders expired at its time out of the books and the trigger book. `reject` takes a transaction no batch can prove out of the queue. Batch records bracket a
 * batch's life: `batch` (built and proven, before anything is sent),
 * `sent` (its transaction hash, before the receipt is awaited) and `posted` (the chain holds it), or
 * `abandon` (too old for the custodian: rebuilt with a fresh stamp).
 */
import type { BatchTx } from "../protocol/transactions.ts";
import type { CalldataProof } from "../protocol/calldataProof.ts";
import type { SignedOracleUpdate } from "../derivatives/oracleStep.ts";
import type { ForcedClose } from "../derivatives/formulas.ts";
import type { Cancel, Order, Signed, Transfer, Withdrawal } from "../protocol/messages.ts";

/** An on-chain request admitted in queue order (`index` is its queue index when it came from the chain). */
export type RequestRecord = { t: "request"; tx: BatchTx; time: number; index?: number };
/** A signed order that reached the matching engine (accepted or refused there: both take a sequence number). */
export type OrderRecord = { t: "order"; order: Signed<Order>; time: number };
/** A signed cancel that reached the matching engine. */
export type CancelRecord = { t: "cancel"; cancel: Signed<Cancel>; time: number };
/** An accepted signed withdrawal. */
export type WithdrawRecord = { t: "withdraw"; withdrawal: Signed<Withdrawal>; time: number };
/** An accepted signed transfer between spot quote balance and derivatives collateral. */
export type TransferRecord = { t: "transfer"; transfer: Signed<Transfer>; time: number };
/**
 * An accepted oracle update (its key checked against the custodian's): the funding, settlements,
 * order cancellations and liquidations it caused are replayed from it.
 */
export type OracleRecord = { t: "oracle"; update: SignedOracleUpdate; time: number };
/**
 * Resting orders expired at `time` (`expiry < time`) leave the books, and held stop and take-profit orders expired at
 * it the trigger book (ExchangeCore.apply sweeps them before every intake record; MatchingEngine.expire,
 * TriggerBook.expire). Written just before an intake record whose time expires a resting or held order,
 * so that the sweep is on the log even when that record is refused (a refused request is not logged, and the
 * reservations and slots the sweep released would otherwise be free live and not in replay until the next record).
 */
export type ExpireRecord = { t: "expire"; time: number };
/**
 * Batch `batchNumber` consumes the first `count` pending entries (batchSelection.ts), is stamped `timestamp`
 * and its public data hashes to `publicDataHash` (sha256, 0x-hex). Written once it is built, before it is
 * proven: from then on it is the batch in flight, and batches built behind it (the pipeline proves several
 * at once) take the entries after its own. `proof` is present only in records written before the pipeline
 * proved several batches at once, when a batch was logged once proven; otherwise a ProvedRecord follows.
 */
export type BatchRecord = { t: "batch"; batchNumber: number; count: number; timestamp: number; publicDataHash: string; proof?: CalldataProof };
/** Batch `batchNumber`, logged in flight, is proven by `proof` (checked before it was logged). */
export type ProvedRecord = { t: "proved"; batchNumber: number; proof: CalldataProof };
/**
 * The pending entry at `index` (counted from the head of the queue when the record was written) cannot
 * be proven by any batch (`code`, `message`: the batch builder's reason, or the circuit's: CIRCUIT_REFUSED): it leaves the queue, with the
 * entries that cannot be proven without it (a withdrawal's or transfer's later nonces), and intake is
 * corrected for it where it can be (ExchangeCore rejectPending). Written while a batch is built, before
 * the batch's own record; `time` is when.
 */
export type RejectRecord = { t: "reject"; index: number; code: string; message: string; time: number };
/**
 * The batch builder proves the forced request at pending entry `index` `honoured` where intake had predicted the
 * other outcome. A spot forced withdrawal: intake judged it on its view of the account, which counted a pending
 * transaction before it that was rejected since (RejectRecord). A forced collateral withdrawal or close judged
 * again at a fresh oracle update (its first could no longer be used): intake judged it on its view then, which
 * counted what was queued behind it. Intake follows the proof (ExchangeCore correctForced): the balance, the
 * collateral, or the positions (`close`: a forced close proven honoured, its direction and mark, BuiltBatch
 * forcedCloses). Written while a batch is built, before the batch's own record; `time` is when.
 */
export type ForcedOutcomeRecord = { t: "forced"; index: number; honoured: boolean; close?: ForcedClose; time: number };
/**
 * Batch `batchNumber`, logged and not on chain, is given up with every batch logged after it: because the
 * custodian can no longer take it in time (`reason`: its stamp is older than MAX_BATCH_AGE before the
 * chain's time, or too close to it to be sent, and no transaction of it can still be mined), or because
 * the circuit refuses it (its refused transaction is rejected next). The proven state goes back to before
 * it, the entries of all of them return to the head of the queue in their order, and the next batch takes
 * them with a fresh stamp (BatchPipeline: abandonment, service/batchPipeline.ts). `time` is when.
 */
export type AbandonRecord = { t: "abandon"; batchNumber: number; reason: string; time: number };
/** The transaction posting batch `batchNumber` was sent (its receipt not yet seen). */
export type SentRecord = { t: "sent"; batchNumber: number; txHash: string };
/** The chain holds batch `batchNumber` (txHash null: it was found already there); `time` is when the sequencer saw it. */
export type PostedRecord = { t: "posted"; batchNumber: number; txHash: string | null; time: number };

export type LogRecord =
  | RequestRecord | OrderRecord | CancelRecord | WithdrawRecord | TransferRecord | OracleRecord | ExpireRecord | RejectRecord | ForcedOutcomeRecord | BatchRecord | ProvedRecord
  | SentRecord | PostedRecord | AbandonRecord;

/** A record with its position in the log (1, 2, 3, ...; never reused). */
export type LoggedRecord = { seq: number; record: LogRecord };
