/**
 * The batch pipeline: turns the intake side's queue of accepted transactions into proven batches on
 * the custodian.
 *
 *   select (batchSelection.ts) -> build the witness on a state transaction -> check the batch's
 *   signatures in one verifier call -> log the batch -> prove (and verify the proof) -> log the proof
 *   -> post -> confirmed
 *
 * Up to `pipelineDepth` batches are in flight at once (default 1): the next batch is built on the state
 * the previous one leaves (each on its own state transaction, above the one before it), logged and
 * handed to the prover while the batches before it are proven or posted, so witness building overlaps
 * proving and a prover with several devices or queue workers proves batches side by side. Batches are
 * posted oldest first; with `batchesPerPost` > 1 the proofs of the batches in flight right behind the
 * oldest are awaited and they go in the same transaction (Custodian.submitBatches), latency traded for
 * gas; otherwise posting never waits for a later batch's proof.
 *
 * A transaction the builder refuses (TxRejected names its slot; an oracle update the stamp cannot use;
 * a signature the batch verifier refuses) leaves the queue through the intake side's rejectPending and
 * the batch is built again without it. Should the prover report that the circuit refuses a batch all
 * the same (a TypeScript/circuit mismatch), the safety net finds the transaction it refuses by
 * bisection with the witness calculator (circuitRefusal.ts) and rejects it the same way.
 *
 * Stamping is by the chain's time (see sequencer.ts): never before the custodian's last batch, never
 * earlier than the chain's time minus half of MAX_BATCH_AGE (none after an abandonment), never later
 * than the chain's time plus MAX_FUTURE_DRIFT. A proven batch that can no longer reach the chain in time
 * (lateness, or the custodian refuses its stamp: BadTimestamp) is abandoned with every batch after it:
 * logged, their state transactions rolled back, their entries put back at the head of the queue.
 *
 * A batch between its log record and its confirmation is in flight: its state transaction stays open
 * until the chain holds it (committed oldest first) or it is abandoned, with every batch after it.
 * Replay rebuilds each from its `batch` record and follows it through `proved`, `sent`, `posted` and
 * `abandon` records (applyRecord); one whose proof was not logged is proven again.
 *
 * A batch that reads its option marks from a marking (BuiltBatch.marking: its key in the oracle section) is posted
 * only once the marks registry holds that key, which the custodian asks (MarksNotRecorded): the marking is proven
 * while the batch is, once per key for all the batches that read it, and recorded right before the first of them is
 * sent (markingRecorder.ts). A failure to prove or record it fails that attempt like a prover failure: the batch
 * stays in flight and the next call tries again. After a restart the rebuilt batches carry their marking again, and
 * the registry is asked before anything is proven. A batch the custodian still refuses for its marks (MarksNotRecorded:
 * a recording the chain dropped) makes the recorder forget the key, so the next attempt asks the registry again.
 *
 * The pipeline talks to the intake side only through BatchIntake (the queue, the proven state, the
 * rejection path) and to the journal through BatchJournal.
 */
import type { ForcedClose } from "../derivatives/formulas.ts";
import { publicDataDigest } from "../protocol/publicData.ts";
import type { Address, Hash } from "viem";
import type { SignatureCheck, SignatureVerifier } from "../crypto/signatureVerifier.ts";
import { buildBatch, isDerivTx, type BuiltBatch } from "../batch/batchWitness.ts";
import { TxRejected } from "../batch/slotWitness.ts";
import { marketInstrument, TxType } from "../protocol/constants.ts";
import type { BatchTx } from "../protocol/transactions.ts";
import { BatchPostError, type ChainContext, type CustodianClient } from "../chain/custodianClient.ts";
import { errorLine, WatchStopped } from "../chain/sentTransactions.ts";
import { chainMarksRegistry } from "../chain/marksRegistry.ts";
import type { Marking } from "../derivatives/marking.ts";
import { toCalldataProof, type CalldataProof } from "../protocol/calldataProof.ts";
import type { CircuitParams } from "../protocol/params.ts";
import { OracleRejected, type SignedOracleUpdate } from "../derivatives/oracleStep.ts";
import type { ExchangeState, StateTransaction } from "../state/exchangeState.ts";
import type { AbandonRecord, BatchRecord, ForcedOutcomeRecord, PostedRecord, ProvedRecord, RejectRecord, SentRecord } from "../persistence/records.ts";
import type { CircuitKeys } from "../../fpga-prover/device.ts";
import type { VerifiedProof, VerifiedProver } from "../../fpga-prover/prover.ts";
import { calculateWitness, witnessFailureChain } from "../../fpga-prover/witness.ts";
import { isWitnessFailure } from "../../fpga-prover/pool/index.ts";
import { cancelledOrder, sameOracleUpdate, selectBatch, type BatchSelection, type PendingEntry } from "./batchSelection.ts";
import { circuitRefused, findCircuitRefusal } from "./circuitRefusal.ts";
import type { Journal } from "./journal.ts";
import { markingJobId, MarksRecorder, type MarkingRecorder } from "./markingRecorder.ts";
import type { BatchHealth, Health } from "./query.ts";

/**
 * Steps of a batch: built (witness ready, proving next), proved (proof logged, nothing sent),
 * sent (transaction hash logged, receipt not seen), posted (the chain holds it, logged).
 */
export type BatchStage = "built" | "proved" | "sent" | "posted";

/** A batch the chain holds: its number, the transaction that posted it (null: found already there), its size and timings. */
export type PostedBatch = {
  batchNumber: number;
  txHash: string | null;
  transactions: number;
  timings: { buildMs: number; witnessMs: number; proveMs: number; verifyMs: number; postMs: number };
};

/** The custodian's window for a batch's timestamp, in seconds: at most maxAge behind the block's time, maxFutureDrift ahead. */
export type TimestampWindow = { maxAge: number; maxFutureDrift: number };

/** What the pipeline needs from the intake side. */
export interface BatchIntake {
  readonly params: CircuitParams;
  /** The state proven batches commit to: the pipeline builds each batch on a state transaction of it. */
  readonly state: ExchangeState;
  /**
   * Accepted transactions waiting for a batch, oldest first (shared): a batch takes its entries from the
   * head, an abandoned batch puts them back there.
   */
  readonly pending: PendingEntry[];
  /** Takes pending entry `r.index` out of the queue because no batch can prove it, corrects intake for it, logs it. */
  rejectPending(r: RejectRecord): void;
  /** Corrects intake's prediction of the spot forced withdrawal at pending entry `r.index` to the proven outcome, logs it. */
  correctForced(r: ForcedOutcomeRecord): void;
  /** The chain holds a batch of `txs`, seen at `time` (instruments it registered become tradable); it is no longer in flight. */
  batchPosted(txs: readonly BatchTx[], time: number): void;
  /** A batch stamped `time` took its entries from the head of the queue (live, once its record is logged, and at replay). */
  batchTaken(time: number): void;
  /** Whether oracle update `u` is under a key the custodian no longer has (DerivativesService.oracleKeyRetired). */
  oracleKeyRetired(u: SignedOracleUpdate): boolean;
  /** Whether the custodian's oracle key was not read since the start (DerivativesService.oracleKeyUnread). */
  oracleKeyUnread(): boolean;
  /** Reads the custodian's oracle key again (the custodian refused a batch's: OracleKeyMismatch). */
  refreshOracleKey(): Promise<void>;
}

/** What the pipeline needs from the journal: logging its steps, the time input, a snapshot once a batch is done. */
export type BatchJournal = Pick<Journal, "persist" | "now" | "maybeSnapshot">;

/**
 * The pipeline's settings (the sequencer's own options object: SequencerOptions documents each), read
 * at each use, so a prover swapped in the options is the one the next batch uses.
 */
export type BatchSettings = {
  keys: CircuitKeys;
  markingKeys?: CircuitKeys;
  marksRegistry?: Address;
  prover: VerifiedProver;
  chain: ChainContext;
  postMargin?: number;
  enforceBuilderRules?: boolean;
  pipelineDepth?: number;
  batchesPerPost?: number;
  onBatchStage?: (stage: BatchStage, batchNumber: number) => void;
};

/** How the pipeline is set up. */
export type BatchPipelineOptions = {
  intake: BatchIntake;
  journal: BatchJournal;
  custodian: CustodianClient;
  settings: BatchSettings;
  /** Checks each batch's signatures in one call before it reaches the prover. */
  verifier: SignatureVerifier;
  /** Proves and records the markings batches read (default: a MarksRecorder from the settings' markingKeys and marksRegistry). */
  markings?: MarkingRecorder;
  /** The number the next batch is expected to get (restored from a snapshot; the chain's counter decides). */
  batchNumber: number;
  /** Whether a batch was abandoned since the last one posted (restored from a snapshot; see abandonedSincePost). */
  abandonedSincePost?: boolean;
  /** Told each posted batch, with its proof (observers). */
  onPosted: (batch: PostedBatch & { proof: CalldataProof }) => void;
  log: (line: string) => void;
};

/** What became of a batch's proof: the prover's answer, or its failure (kept, never an unhandled rejection). */
type ProofOutcome = { ok: true; proved: VerifiedProof } | { ok: false; error: unknown };

/** A selection built on an open state transaction, with the queue entries it took (still the queue's first ones). */
type BuiltSelection = { sel: BatchSelection; batch: BuiltBatch; t: StateTransaction; taken: readonly PendingEntry[] };

/**
 * A batch in flight: logged once built, proven (its proof logged), then posted; until the chain holds it
 * (or it is abandoned) its state transaction stays open, above those of the batches before it.
 */
type InFlightBatch = {
  batchNumber: number;
  /** The queue entries it consumed (markers included), in order: they go back to the queue if it is abandoned. */
  entries: PendingEntry[];
  /** What it was built from (its transactions, stamp and oracle update). */
  sel: BatchSelection;
  /** The state transaction that holds its effects: committed once the chain holds it, rolled back if it is abandoned. */
  proven: StateTransaction;
  /**
   * A transaction posting it may have reached the node (one was handed to it, or its proof was recovered
   * from the log, where a send just before the crash leaves no trace): it is then given up only once no
   * block can take it any more.
   */
  mayBeSent: boolean;
  publicData: Uint8Array;
  /** The marking it reads its option marks from (its key in the oracle section): recorded before it is sent; null when none. */
  marking: Marking | null;
  /** What the prover is given, kept until the proof is logged. */
  input: { circuitInput: Record<string, unknown>; publicSignals: string[] } | null;
  /** Its proof, once logged. */
  proof: CalldataProof | null;
  /** The proof being computed (null: none asked for since the last failure, or proven). */
  proving: Promise<ProofOutcome> | null;
  /**
   * Every hash logged for the transaction that posts it, oldest first (replacements at its nonce follow the first;
   * a restart keeps them all, so an earlier one mined is found): empty until sent, emptied by a fresh send.
   */
  txHashes: Hash[];
  timings: Omit<PostedBatch["timings"], "postMs">;
};

const NO_TIMINGS = { buildMs: 0, witnessMs: 0, proveMs: 0, verifyMs: 0 };

/** The batch pipeline of one sequencer (see the module comment). */
export class BatchPipeline {
  readonly #o: BatchPipelineOptions;
  readonly #intake: BatchIntake;
  readonly #journal: BatchJournal;
  /** The custodian's timestamp window, read once. */
  #window: TimestampWindow | null = null;
  readonly #health: BatchHealth = { consecutiveFailures: 0, lastError: null, lastBatchAt: null };
  #batchNumber: number;
  /**
   * The batches in flight, oldest first: logged, left the queue, proven or being proven, posted oldest
   * first and retried until the chain holds them.
   */
  readonly #inFlight: InFlightBatch[] = [];
  /** True while a batch is built: the state then holds it uncommitted and unlogged. */
  #building = false;
  /**
   * True from an abandonment until the next batch is posted (live, at replay and in snapshots, so a restart keeps
   * it): the rebuilt batch is stamped at chain time.
   */
  #abandonedSincePost = false;
  /** runBatches calls run one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Why the custodian refused a proof in the current runBatches call (InvalidProof), for its health bookkeeping. */
  #refusal: string | null = null;
  /** Proves and records the markings batches read: the options', else made from the settings at first use (null: none configured). */
  #markings: MarkingRecorder | null;

  /** A pipeline with nothing in flight, numbering from `opts.batchNumber`. */
  constructor(opts: BatchPipelineOptions) {
    this.#o = opts;
    this.#intake = opts.intake;
    this.#journal = opts.journal;
    this.#batchNumber = opts.batchNumber;
    this.#abandonedSincePost = opts.abandonedSincePost ?? false;
    const { markingKeys, marksRegistry } = opts.settings;
    if ((markingKeys === undefined) !== (marksRegistry === undefined)) throw new Error("markingKeys and marksRegistry go together: a marking is proven with the one and recorded in the other");
    this.#markings = opts.markings ?? null;
  }

  /** Whether a batch was abandoned since the last one posted (the snapshot's: the next batch is stamped at chain time). */
  get abandonedSincePost(): boolean {
    return this.#abandonedSincePost;
  }

  /** The number after the last batch this pipeline saw posted (the snapshot's). */
  get batchNumber(): number {
    return this.#batchNumber;
  }

  /** True while a batch is being built or is in flight: the state then holds an unconfirmed batch (no snapshot). */
  get busy(): boolean {
    return this.#building || this.#inFlight.length > 0;
  }

  /** The number of the oldest batch in flight (logged, not yet on chain), or null. */
  get unpostedBatch(): number | null {
    return this.#inFlight[0]?.batchNumber ?? null;
  }

  /** How many batches are in flight (logged, not yet on chain). */
  get inFlightBatches(): number {
    return this.#inFlight.length;
  }

  /** The transactions of the batches in flight, oldest first (none when there is none). */
  get inFlightTxs(): readonly BatchTx[] {
    return this.#inFlight.flatMap((b) => b.sel.txs);
  }

  /** The prover's metrics (queue depth, throughput, latency per stage, device health), when it reports any. */
  proverMetrics(): object | null {
    return this.#o.settings.prover.metrics?.() ?? null;
  }

  /**
   * What stops settlement now, or nothing: batch attempts failing since the last success, and a prover
   * whose every device is unhealthy (issue 11, finding 9: the API answered "ok" meanwhile).
   */
  health(): Health {
    const problems: string[] = [];
    const h = this.#health;
    if (h.consecutiveFailures > 0) problems.push(`the last ${h.consecutiveFailures} batch attempt(s) failed: ${h.lastError?.message.split("\n")[0]}`);
    const devices = (this.proverMetrics() as { devices?: { unhealthy?: boolean }[] } | null)?.devices;
    if (devices && devices.length > 0 && devices.every((d) => d.unhealthy)) problems.push("no prover device is healthy");
    return { ok: problems.length === 0, problems, batches: { ...h, lastError: h.lastError && { ...h.lastError } } };
  }

  /** Follows a logged batch step at replay: the batch rebuilt in flight, proven, its transaction sent, posted or abandoned. */
  applyRecord(r: BatchRecord | ProvedRecord | SentRecord | PostedRecord | AbandonRecord): void {
    switch (r.t) {
      case "batch":
        return this.#replayBatch(r);
      case "proved": {
        const b = this.#loggedInFlight(r);
        b.proof = r.proof;
        b.input = null;
        b.mayBeSent = true;
        return;
      }
      case "sent":
        return addHash(this.#loggedInFlight(r), r.txHash as Hash);
      case "posted": {
        const b = this.#loggedInFlight(r);
        if (b !== this.#inFlight[0]) throw new Error(`batch ${r.batchNumber} posted before batch ${this.#inFlight[0].batchNumber}`);
        return this.#settle(b, r.time);
      }
      case "abandon":
        return this.#unbuildFrom(this.#inFlight.indexOf(this.#loggedInFlight(r)));
    }
  }

  /** The batch in flight a logged step names, or an error when none in flight has its number. */
  #loggedInFlight(r: ProvedRecord | SentRecord | PostedRecord | AbandonRecord): InFlightBatch {
    const b = this.#inFlight.find((x) => x.batchNumber === r.batchNumber);
    if (!b) throw new Error(`batch ${r.batchNumber} ${{ proved: "proven", sent: "sent", posted: "posted", abandon: "abandoned" }[r.t]} but not in flight`);
    return b;
  }

  /**
   * Rebuilds a logged batch from the first `count` entries of the pending queue (what it consumed, not
   * what the queue would select now: transactions accepted while it was built follow it in the queue
   * and may fit), on top of the batches in flight before it; its public data must hash as logged. As
   * live, it stays on an open state transaction until a `posted` record commits it or an `abandon`
   * record rolls it back. Without a proof in its record it is proven again once the pipeline runs
   * (unless a `proved` record follows).
   */
  #replayBatch(r: BatchRecord): void {
    const { pending, state, params } = this.#intake;
    const last = this.#inFlight.at(-1);
    if (last && r.batchNumber !== last.batchNumber + 1) throw new Error(`batch ${r.batchNumber} logged after batch ${last.batchNumber}`);
    if (r.count > pending.length) throw new Error(`batch ${r.batchNumber} holds ${r.count} pending transactions, the queue has ${pending.length}`);
    const sel = { ...selectBatch(pending.slice(0, r.count), params), timestamp: r.timestamp };
    if (r.count !== sel.count) throw new Error(`batch ${r.batchNumber}: its ${r.count} pending transactions do not make one batch (${sel.count} do)`);
    const proven = state.begin();
    try {
      const batch = this.#build(sel, r.batchNumber);
      const hash = publicDataDigest(batch.publicData);
      if (hash !== r.publicDataHash) throw new Error(`batch ${r.batchNumber} rebuilds with public data ${hash}, the log says ${r.publicDataHash}`);
      this.#inFlight.push({
        batchNumber: r.batchNumber, entries: pending.splice(0, r.count), sel, proven, mayBeSent: r.proof !== undefined, publicData: batch.publicData, marking: batch.marking,
        input: r.proof ? null : { circuitInput: batch.circuitInput, publicSignals: batch.publicInputs.map(String) },
        proof: r.proof ?? null, proving: null, txHashes: [], timings: NO_TIMINGS,
      });
    } catch (e) {
      proven.rollback();
      throw e;
    }
    this.#intake.batchTaken(r.timestamp);
  }

  /** One runBatches call: the newest batch it posted, or null when it posted none. */
  async runBatch(): Promise<PostedBatch | null> {
    return (await this.runBatches()).at(-1) ?? null;
  }

  /**
   * Moves the pipeline on until something is posted: keeps up to `pipelineDepth` batches in flight
   * (each built on the state the previous one leaves, logged, and proven while the ones before it are),
   * waits for the oldest one's proof and posts it, with the batches in flight right behind it once proven
   * (up to `batchesPerPost` in one transaction, verified together by Custodian.submitBatches). A batch in flight
   * is posted never twice, or abandoned, with every batch after it, when it can no longer reach the
   * chain in time (their entries are then proven again with a fresh stamp). Returns the batches posted,
   * oldest first: none when nothing is pending, or what is pending waits for the chain's time, or a
   * batch was abandoned twice. A transaction leaves the queue once its batch is logged (back at the head
   * if its batch is abandoned), or through the rejection path. A prover failure leaves the batch in
   * flight, proven again by the next call; a failure after the proof is logged leaves it to be posted by
   * the next call. Errors are thrown to the caller (never dropped). Calls run one at a time.
   */
  runBatches(): Promise<PostedBatch[]> {
    const h = this.#health;
    const run = this.#queue.then(() => ((this.#refusal = null), this.#runBatchesNow())).then(
      (posted) => {
        // A run that posted nothing because the custodian refused its proofs failed (a verifier that is not the
        // key's would otherwise leave health ok while nothing is ever posted).
        if (this.#refusal !== null) h.lastError = { message: this.#refusal, at: this.#journal.now() };
        h.consecutiveFailures = this.#refusal !== null && !posted.length ? h.consecutiveFailures + 1 : 0;
        if (posted.length) h.lastBatchAt = this.#journal.now();
        return posted;
      },
      (e: unknown) => {
        h.consecutiveFailures++;
        h.lastError = { message: e instanceof Error ? e.message : String(e), at: this.#journal.now() };
        throw e;
      },
    );
    this.#queue = run.catch(() => {});
    return run;
  }

  /** One runBatches call (see there). */
  async #runBatchesNow(): Promise<PostedBatch[]> {
    // Two posting rounds: batches abandoned as too old (their entries back in the queue) are proven again at once.
    for (let round = 0; round < 2; ) {
      await this.#fill();
      const head = this.#inFlight[0];
      if (!head) return [];
      if (!head.proof && !(await this.#awaitProof(head))) continue; // refused by the circuit: rebuilt without the refused transaction
      await this.#awaitGroup();
      const posted = await this.#postGroup(this.#postable());
      if (posted.length) return posted;
      round++;
    }
    return [];
  }

  /** Tells the onBatchStage observer that batch `batchNumber` reached `stage`. */
  #stage(stage: BatchStage, batchNumber: number): void {
    this.#o.settings.onBatchStage?.(stage, batchNumber);
  }

  /** The custodian's timestamp window (MAX_BATCH_AGE, MAX_FUTURE_DRIFT), read once. */
  async #timestampWindow(): Promise<TimestampWindow> {
    const window = this.#window ?? (await this.#o.custodian.timestampWindow());
    this.#window = window;
    return window;
  }

  /**
   * Asks for the proofs the batches in flight lack (oldest first: after a restart or a prover failure),
   * then builds new batches behind them while fewer than `pipelineDepth` are in flight: the first one
   * from whatever is pending, a batch behind others only once the queue fills a batch's spot slots (so a
   * trickle of orders is not cut into small batches).
   */
  async #fill(): Promise<void> {
    for (const b of this.#inFlight) if (!b.proof && !b.proving) this.#startProof(b);
    const depth = Math.max(1, this.#o.settings.pipelineDepth ?? 1);
    while (this.#inFlight.length < depth) {
      const pending = this.#intake.pending.length;
      if (pending === 0 || (this.#inFlight.length > 0 && pending < this.#intake.params.slots)) return;
      const b = await this.#buildNext();
      if (!b) return;
      this.#startProof(b);
    }
  }

  /**
   * Hands batch `b`'s input to the prover; `b.proving` settles with the outcome (it never rejects). The marking it
   * reads is proven beside it (once per key; nothing when no recorder is configured: #recordMarkings refuses to send it).
   */
  #startProof(b: InFlightBatch): void {
    if (b.marking) this.#recorder()?.prepare(markingJobId(b.batchNumber), b.marking);
    const { circuitInput, publicSignals } = b.input!;
    b.proving = this.#o.settings.prover.prove(b.batchNumber, this.#o.settings.keys, circuitInput, publicSignals).then(
      (proved): ProofOutcome => ({ ok: true, proved }),
      (error: unknown): ProofOutcome => ({ ok: false, error }),
    );
  }

  /**
   * Waits for the proof of `head` (the oldest batch in flight) and logs it; true then. When the circuit
   * refuses it (the prover says so: a TypeScript/circuit mismatch), it is abandoned with every batch
   * after it, the safety net finds the transaction it refuses (rejectCircuitRefusal) and false is
   * returned: the next batch is built without it. Any other prover failure is thrown, the batch staying
   * in flight to be proven again.
   */
  async #awaitProof(head: InFlightBatch): Promise<boolean> {
    const outcome = await head.proving!;
    if (outcome.ok) {
      this.#logProof(head, outcome.proved);
      return true;
    }
    head.proving = null;
    if (!circuitRefused(outcome.error)) throw outcome.error;
    const sel = head.sel;
    this.#abandon(0, `the circuit refuses it: ${errorLine(outcome.error)}`);
    await this.#rejectCircuitRefusal(sel, head.batchNumber, outcome.error);
    return false;
  }

  /** The recorder of the markings batches read, made from the settings at first use; null when they name none. */
  #recorder(): MarkingRecorder | null {
    const { markingKeys, marksRegistry, chain } = this.#o.settings;
    if (!this.#markings && markingKeys && marksRegistry) {
      const registry = chainMarksRegistry({ publicClient: chain.publicClient, walletClient: chain.walletClient, registry: marksRegistry, posting: chain.posting });
      this.#markings = new MarksRecorder({ registry, prover: () => this.#o.settings.prover, keys: markingKeys, log: this.#o.log });
    }
    return this.#markings;
  }

  /**
   * Waits until the marks registry holds the key of every marking the batches of `group` read (proven and recorded
   * once per key): the custodian refuses a batch whose key it does not (MarksNotRecorded). Throws the failure (the
   * batches stay in flight, tried again by the next call), or, when no recorder is configured, says so.
   */
  async #recordMarkings(group: InFlightBatch[]): Promise<void> {
    for (const b of group) {
      if (!b.marking) continue;
      const recorder = this.#recorder();
      if (!recorder) {
        throw new Error(
          `batch ${b.batchNumber} reads the marks of key ${b.marking.marksKey} and this sequencer has no marking keys and marks registry ` +
            `(SequencerOptions.markingKeys, marksRegistry): not sent, the custodian would refuse it (MarksNotRecorded)`,
        );
      }
      await recorder.record(markingJobId(b.batchNumber), b.marking);
    }
  }

  /** Logs the proof of `b` (checked by the prover): from then on it may be sent. */
  #logProof(b: InFlightBatch, proved: VerifiedProof): void {
    const proof = toCalldataProof(proved.proof);
    b.proof = proof;
    b.input = null;
    b.proving = null;
    b.timings = { buildMs: b.timings.buildMs, witnessMs: proved.timings.witnessMs, proveMs: proved.timings.proveMs, verifyMs: proved.timings.verifyMs };
    this.#journal.persist({ t: "proved", batchNumber: b.batchNumber, proof }, true);
    this.#stage("proved", b.batchNumber);
  }

  /**
   * Fills the next transaction's group: waits for the proofs of the batches in flight right behind the
   * proven head, up to `batchesPerPost` batches in all, logging each (latency traded for gas: one
   * transaction and one aggregated proof check for all of them). Stops at a batch not being proven or
   * whose proof failed: it is dealt with once it is the oldest.
   */
  async #awaitGroup(): Promise<void> {
    const most = Math.max(1, this.#o.settings.batchesPerPost ?? 1);
    for (const b of this.#inFlight.slice(0, most)) {
      if (b.proof) continue;
      const outcome = b.proving && (await b.proving);
      if (!outcome?.ok) return;
      this.#logProof(b, outcome.proved);
    }
  }

  /** The proven batches at the head of the flight, at most `batchesPerPost`: what the next transaction posts. */
  #postable(): InFlightBatch[] {
    const most = Math.max(1, this.#o.settings.batchesPerPost ?? 1);
    const group: InFlightBatch[] = [];
    for (const b of this.#inFlight) {
      if (!b.proof || group.length === most) break;
      group.push(b);
    }
    return group;
  }

  /**
   * Builds the next batch behind those in flight (numbered after them, stamped no earlier than the last
   * of them), logs it (committed) and makes it the newest batch in flight, its entries out of the queue;
   * null when nothing is left to build. The first batch of an empty flight is numbered by the chain's
   * counter, whose root must be ours. A transaction the builder refuses leaves the queue through
   * rejectPending first (buildSelection).
   */
  async #buildNext(): Promise<InFlightBatch | null> {
    const custodian = this.#o.custodian;
    const state = this.#intake.state;
    const last = this.#inFlight.at(-1);
    const [chainTime, window] = await Promise.all([custodian.chainTime(), this.#timestampWindow()]);
    let batchNumber: number;
    let after: number;
    if (last) {
      batchNumber = last.batchNumber + 1;
      after = last.sel.timestamp;
    } else {
      // The chain's batch counter numbers the batch; its root must be ours, or this sequencer is out of sync.
      const [chainCount, chainRoot, lastTimestamp] = await Promise.all([custodian.batchCount(), custodian.stateRoot(), custodian.lastTimestamp()]);
      if (chainRoot !== state.root) throw new Error(`out of sync: the custodian's root ${chainRoot} is not the sequencer's ${state.root}`);
      batchNumber = chainCount;
      after = lastTimestamp;
    }
    // Never stamped before the batch before it, nor so early that the proven batch could be too old for
    // the custodian when it arrives (half of MAX_BATCH_AGE is left for proving and posting), nor later
    // than the custodian takes (MAX_FUTURE_DRIFT after the chain's time): by the chain's clock. After an
    // abandonment the whole window goes to proving (stamped at chain time): a prover slower than half of
    // MAX_BATCH_AGE would otherwise see every rebuilt batch abandoned again.
    const slack = this.#abandonedSincePost ? 0 : Math.floor(window.maxAge / 2);
    const floor = Math.max(after, chainTime - slack);
    const ceiling = chainTime + window.maxFutureDrift;
    this.#building = true;
    try {
      const t0 = performance.now();
      let built = await this.#buildSelection(batchNumber, floor, ceiling);
      // again if intake changed the prefix taken since the build's own last check (see buildSelection)
      while (built && !this.#stillFirst(built.taken)) {
        built.t.rollback();
        built = await this.#buildSelection(batchNumber, floor, ceiling);
      }
      if (!built) return null;
      const { sel, batch, t } = built;
      try {
        this.#stage("built", batchNumber);
      } catch (e) {
        t.rollback();
        throw e;
      }
      const b: InFlightBatch = {
        batchNumber, entries: this.#intake.pending.splice(0, sel.count), sel, proven: t, mayBeSent: false, publicData: batch.publicData, marking: batch.marking,
        input: { circuitInput: batch.circuitInput, publicSignals: batch.publicInputs.map(String) }, proof: null, proving: null,
        txHashes: [], timings: { ...NO_TIMINGS, buildMs: performance.now() - t0 },
      };
      this.#inFlight.push(b);
      this.#journal.persist({ t: "batch", batchNumber, count: sel.count, timestamp: sel.timestamp, publicDataHash: publicDataDigest(batch.publicData) }, true);
      this.#intake.batchTaken(sel.timestamp);
      return b;
    } finally {
      this.#building = false;
    }
  }

  /**
   * Selects and builds the next batch on an open state transaction (returned with it), taking out of
   * the queue what the builder refuses (a transaction TxRejected names by its slot; an oracle update the
   * stamp cannot use; a signature the batch verifier refuses), or null when nothing is left to build:
   * nothing reaches the prover that the circuit would refuse.
   */
  async #buildSelection(batchNumber: number, floor: number, ceiling: number): Promise<BuiltSelection | null> {
    const { pending, state, params } = this.#intake;
    for (;;) {
      const sel = selectBatch(pending, params, floor, ceiling, (marketId) => {
        const m = marketInstrument(marketId, params.instruments);
        const inst = m && state.instruments[m.id];
        return inst && inst.generation === m.generation ? inst.expiry : 0;
      });
      if (sel.count === 0) {
        if (pending.length > 0) this.#o.log(`the next pending transaction was accepted after the chain's time + MAX_FUTURE_DRIFT (${ceiling}): it waits for the chain`);
        return null;
      }
      // An update under a key the timelock replaced can never be in a batch the custodian takes (OracleKeyMismatch):
      // what waits on it is taken back as for an update grown too old (forced requests judged again at a fresh one).
      if (sel.oracle && this.#intake.oracleKeyUnread()) {
        // after a restart: the key known is the log's, and the timelock may have replaced it since; read it before
        // the first batch with an update is built (and select again: intake may have run meanwhile)
        await this.#intake.refreshOracleKey();
        continue;
      }
      if (sel.oracle && this.#intake.oracleKeyRetired(sel.oracle)) {
        this.#rejectOracle(sel.oracle, "RETIRED_ORACLE_KEY", `the oracle update of ${sel.oracle.time} is under a key the custodian no longer has`);
        continue;
      }
      const t = state.begin();
      const checks: { slot: number; check: SignatureCheck }[] = [];
      const taken = pending.slice(0, sel.count);
      try {
        const batch = this.#build(sel, batchNumber, (slot, check) => checks.push({ slot, check }));
        const verdicts = await this.#o.verifier.verifyBatch(checks.map((c) => c.check));
        // Intake ran meanwhile: a record that changed the prefix taken (an oracle update releasing a held forced
        // request, which enters ahead of other accounts' entries; a request re-judged in place) makes the selection
        // stale. Nothing of it was logged yet: build again on the queue as it is now, as a replay will.
        if (!this.#stillFirst(taken)) {
          t.rollback();
          continue;
        }
        const bad = verdicts.indexOf(false);
        if (bad >= 0) throw new TxRejected("BAD_SIGNATURE", `slot ${checks[bad].slot}: a signature does not verify under the key the state holds`, checks[bad].slot);
        this.#followForcedOutcomes(sel, batch);
        return { sel, batch, t, taken };
      } catch (e) {
        t.rollback();
        if (e instanceof TxRejected && e.slot !== undefined) this.#rejectSlot(sel, e);
        else if (e instanceof OracleRejected && sel.oracle) this.#rejectOracle(sel.oracle, e.code, e.message);
        else throw e;
      }
    }
  }

  /** Whether the queue still starts with the entries `taken` (the same objects, in order). */
  #stillFirst(taken: readonly PendingEntry[]): boolean {
    const { pending } = this.#intake;
    return taken.every((e, i) => pending[i] === e);
  }

  /** Builds the batch of `sel` (or of its first `prefix` transactions) on the state, as buildSelection does. */
  #build(sel: BatchSelection, batchNumber: number, collectSignatures?: (slot: number, check: SignatureCheck) => void, prefix = sel.txs.length): BuiltBatch {
    return buildBatch(this.#intake.state, sel.txs.slice(0, prefix), {
      batchNumber, timestamp: sel.timestamp, verifySignatures: false, oracle: sel.oracle, collectSignatures, enforceRules: this.#o.settings.enforceBuilderRules,
    });
  }

  /**
   * Intake predicted each forced request's outcome (a spot forced withdrawal when it arrived, a forced collateral
   * withdrawal or close at the oracle update that judged it); the batch proves it on the state it applies it to, at
   * its queue place. They differ when a transaction of the account before it was rejected after the prediction, or
   * when a request judged at marks was judged again (its first update could no longer be used) on a view that
   * counted what was queued behind it: then intake follows the proof (correctForced, logged), so its balances,
   * collateral and positions never part from the proven state's. The k-th record of a type is the k-th such entry of
   * the selection (each slot class in queue order).
   */
  #followForcedOutcomes(sel: BatchSelection, batch: BuiltBatch): void {
    const proven = new Map<TxType, boolean[]>();
    for (const r of batch.records) {
      if (r.type === TxType.FORCED_WITHDRAW || r.type === TxType.FORCED_COLLATERAL_WITHDRAW || r.type === TxType.FORCED_CLOSE) {
        proven.set(r.type, [...(proven.get(r.type) ?? []), r.honoured === 1n]);
      }
    }
    const seen = new Map<TxType, number>();
    const pending = this.#intake.pending;
    for (let i = 0; i < sel.count; i++) {
      const entry = pending[i];
      const type = entry.tx.type;
      const outcomes = proven.get(type);
      if (!outcomes) continue;
      const k = seen.get(type) ?? 0;
      seen.set(type, k + 1);
      const honoured = outcomes[k];
      const close = type === TxType.FORCED_CLOSE && honoured ? batch.forcedCloses[k] : null;
      if (entry.honoured === undefined) continue;
      // a close honoured both ways may still have been made another way (the other direction, another mark or index)
      if (entry.honoured === honoured && !(close && !sameClose(entry.close, close))) continue;
      this.#intake.correctForced({ t: "forced", index: i, honoured, ...(close ? { close } : {}), time: this.#journal.now() });
    }
  }

  /** Takes pending entry `index` out of the queue through the intake side's rejection path (`code`, `message`, now). */
  #reject(index: number, code: string, message: string): void {
    this.#intake.rejectPending({ t: "reject", index, code, message, time: this.#journal.now() });
  }

  /**
   * The safety net behind the builder's rules: the prover reports that the circuit refuses the batch of
   * `sel` (`refusal`). The witness calculator (a fraction of a proof's cost) finds the first transaction
   * it refuses, by bisection over prefixes of the batch (findCircuitRefusal), and that transaction leaves
   * the queue through rejectPending with code CIRCUIT_REFUSED and the failing template:line in its
   * message (every entry tagged with the batch's oracle update, if the circuit refuses the batch with
   * no transaction: its oracle step). Throws `refusal` when the calculator accepts the whole batch (the
   * refusal is not reproduced: nothing is rejected, the batch is retried).
   */
  async #rejectCircuitRefusal(sel: BatchSelection, batchNumber: number, refusal: unknown): Promise<void> {
    const witnessOf = async (k: number): Promise<string[] | null> => {
      const t = this.#intake.state.begin();
      try {
        await calculateWitness(this.#o.settings.keys.wasm, this.#build(sel, batchNumber, undefined, k).circuitInput);
        return null;
      } catch (e) {
        if (!isWitnessFailure(e instanceof Error ? e.message : String(e))) throw e;
        const chain = witnessFailureChain(e);
        return chain.length ? chain : [String(e)];
      } finally {
        t.rollback();
      }
    };
    const found = await findCircuitRefusal(sel.txs.length, witnessOf);
    if (!found) throw refusal;
    const where = `the batch circuit refuses it at ${found.chain[0]}${found.chain.length > 1 ? ` (in ${found.chain.slice(1).join(" < ")})` : ""}`;
    this.#o.log(`the prover reports batch ${batchNumber} refused by the circuit; found by bisection: ${found.index < 0 ? "its oracle step" : `transaction ${found.index}`}: ${where}`);
    if (found.index < 0 && sel.oracle) return this.#rejectOracle(sel.oracle, "CIRCUIT_REFUSED", `the oracle update: ${where}`);
    const tx = sel.txs[found.index];
    const index = tx ? this.#intake.pending.findIndex((p) => p.tx === tx) : -1;
    if (index < 0 && tx && cancelledOrder(tx)) {
      // a cancel a newer cancel of its slot replaced while the search ran (exchangeCore.ts #dropOlderCancel): gone already
      this.#o.log(`the refused cancel has left the queue meanwhile (a newer cancel of its slot replaced it)`);
      return;
    }
    if (index < 0) throw refusal; // the empty batch refused without an oracle update: nothing to take out
    this.#reject(index, "CIRCUIT_REFUSED", where);
  }

  /** Rejects the transaction of the batch's slot `e.slot` (spot slots first, then derivatives slots). */
  #rejectSlot(sel: BatchSelection, e: TxRejected): void {
    const spot = sel.txs.filter((tx) => !isDerivTx(tx));
    const deriv = sel.txs.filter(isDerivTx);
    const slot = e.slot!;
    const tx = slot < this.#intake.params.slots ? spot[slot] : deriv[slot - this.#intake.params.slots];
    const index = tx ? this.#intake.pending.findIndex((p) => p.tx === tx) : -1;
    if (index < 0 || index >= sel.count) throw new Error(`internal: batch slot ${slot} (${e.message}) is no pending transaction`);
    this.#reject(index, e.code, e.message);
  }

  /**
   * Rejects every pending entry (markers included) that needs `oracle`, an update no stamp of this batch can use
   * (`code`, `message`): no later batch, stamped no earlier, can use it either. The whole queue, not the batch's
   * first `sel.count` entries: while the circuit-refusal search awaited, intake may have queued entries ahead of
   * the batch's (a forced withdrawal), which would shift them out of that range.
   */
  #rejectOracle(oracle: SignedOracleUpdate, code: string, message: string): void {
    for (let i = this.#intake.pending.length - 1; i >= 0; i--) {
      const tag = this.#intake.pending[i]?.oracle;
      if (tag && sameOracleUpdate(tag, oracle)) this.#reject(i, code, message);
    }
  }

  /**
   * Posts the proven batches `group` (the head of the flight, oldest first) in one transaction, once: a
   * transaction sent earlier is awaited (the batches it carried are then posted), and the chain is asked
   * before sending (batches it already holds are not sent again). Returns none, with the flight
   * abandoned from its head, when the custodian can no longer take the oldest in time (lateness; or the
   * custodian's simulation refuses its stamp as too old: BadTimestamp). A group the simulation refuses
   * with BadTimestamp is posted one batch at a time instead, so the stamp refused is the one judged. While a
   * transaction of it waits unmined, the oldest's lateness is checked each round: once no block can take it any
   * more, the wait ends, the pending transaction is cancelled and the flight abandoned (#abandonLate).
   */
  async #postGroup(group: InFlightBatch[]): Promise<PostedBatch[]> {
    const head = group[0];
    const p0 = performance.now();
    let late: string | null = null;
    /** Whether the head can no longer be taken (asked while its transaction waits unmined; the reason kept). */
    const until = async () => (late = await this.#lateness(head)) !== null;
    let sent: { txHash: Hash | null; posted: InFlightBatch[] } | PostedBatch[];
    try {
      sent = (head.txHashes.length ? await this.#awaitSent(group, until) : null) ?? (await this.#send(group, until));
    } catch (e) {
      if (e instanceof WatchStopped && late !== null) return this.#abandonLate(late);
      throw e;
    }
    if (Array.isArray(sent)) return sent;
    const { txHash, posted } = sent;
    const postMs = performance.now() - p0;
    const out: PostedBatch[] = [];
    for (const b of posted) {
      b.proven.commit();
      const time = this.#journal.now();
      this.#journal.persist({ t: "posted", batchNumber: b.batchNumber, txHash, time }, true);
      this.#settle(b, time, false);
      this.#stage("posted", b.batchNumber);
      const p: PostedBatch = { batchNumber: b.batchNumber, txHash, transactions: b.sel.txs.length, timings: { ...b.timings, postMs } };
      this.#o.log(`batch ${p.batchNumber}: ${p.transactions} tx, proved in ${Math.round(p.timings.proveMs)} ms, posted ${txHash ?? "(already on chain)"}${posted.length > 1 ? ` with ${posted.length - 1} more` : ""}`);
      this.#o.onPosted({ ...p, proof: b.proof! });
      out.push(p);
    }
    this.#journal.maybeSnapshot();
    return out;
  }

  /**
   * Logs that the batches of `carried` went out in transaction `hash` (a replacement at the same nonce too, or the
   * first of a fresh send): the hash kept with the others of its nonce, a `sent` record for each batch.
   */
  #sentIn(carried: InFlightBatch[]): (hash: Hash) => void {
    return (hash) => {
      for (const b of carried) {
        addHash(b, hash);
        this.#journal.persist({ t: "sent", batchNumber: b.batchNumber, txHash: hash }, true);
      }
      for (const b of carried) this.#stage("sent", b.batchNumber);
    };
  }

  /**
   * What became of the transaction sent earlier for the head of `group` (every hash logged for its nonce; still
   * pending: waited for, replaced with higher fees, `until` may end the wait): the hash mined and the batches of
   * `group` it carried, or null when it did not post them (unknown, or reverted: they are sent again).
   */
  async #awaitSent(group: InFlightBatch[], until: () => Promise<boolean>): Promise<{ txHash: Hash; posted: InFlightBatch[] } | null> {
    const head = group[0];
    const newest = head.txHashes.at(-1);
    const n = group.findIndex((b) => b.txHashes.at(-1) !== newest);
    const carried = n < 0 ? group : group.slice(0, n);
    const outcome = await this.#o.custodian.sentOutcome(head.txHashes, { onSent: this.#sentIn(carried), until });
    return outcome.status === "success" ? { txHash: outcome.hash, posted: carried } : null;
  }

  /**
   * Sends the batches of `group` in one transaction once the chain is asked (what it holds already is not sent
   * again: null hash) and awaits it (`until` may end the wait): the hash mined and the batches posted, or none
   * when the flight was abandoned from its head (lateness; the custodian refuses the head's stamp or proof). A
   * group the custodian refuses is sent one batch at a time.
   */
  async #send(group: InFlightBatch[], until: () => Promise<boolean>): Promise<{ txHash: Hash | null; posted: InFlightBatch[] } | PostedBatch[]> {
    const head = group[0];
    const late = await this.#lateness(head);
    if (late) return this.#abandonLate(late);
    await this.#recordMarkings(group);
    // A fresh send: the hashes of an earlier transaction (reverted, or neither mined nor kept) are no longer its.
    const onSending = () => group.forEach((b) => ((b.mayBeSent = true), (b.txHashes = [])));
    const onSent = this.#sentIn(group);
    try {
      const txHash = group.length === 1
        ? await this.#o.custodian.submitBatch(head.batchNumber, head.publicData, head.proof!, onSent, onSending, until)
        : await this.#o.custodian.submitBatches(head.batchNumber, group.map((b) => ({ publicData: b.publicData, proof: b.proof! })), onSent, onSending, until);
      return { txHash, posted: group };
    } catch (e) {
      // Recorded as far as this sequencer knew, not as far as the custodian's registry knows: asked again next attempt.
      if (e instanceof BatchPostError && e.reason === "MarksNotRecorded") for (const b of group) if (b.marking) this.#recorder()?.forget(b.marking.marksKey);
      if (!(e instanceof BatchPostError && (e.reason === "BadTimestamp" || e.reason === "InvalidProof" || e.reason === "OracleKeyMismatch"))) throw e;
      // The refusal may be a later batch's (its update under a replaced key, its stamp, its proof): the batches before
      // it are still taken, so the group is sent one batch at a time and only the refused one is given up.
      if (group.length > 1) return this.#postGroup([head]);
      if (e.reason === "OracleKeyMismatch") {
        // The timelock replaced the oracle key after these batches were built: built again, where an update under the
        // old key is refused (buildSelection) and what waited on it taken back.
        await this.#intake.refreshOracleKey();
        return this.#abandon(0, "the custodian's oracle key is not the one these batches' update is under (OracleKeyMismatch): built again");
      }
      // A proof the sequencer verified and the custodian refuses (its verifier is not the key's, or a prover
      // bug): proven again from a rebuilt batch, not sent again at every run until it ages out; the run counts
      // as failed in health unless the rebuilt batch posts.
      if (e.reason === "InvalidProof") {
        this.#refusal = `batch ${head.batchNumber}: the custodian refuses its proof (InvalidProof)`;
        return this.#abandon(0, `the custodian refuses its proof (InvalidProof): proven again`);
      }
      const refused = await this.#staleStamp(head);
      if (refused) return this.#abandon(0, refused);
      throw e;
    }
  }

  /**
   * The chain holds batch `b`, the oldest in flight (live, or a `posted` record at replay): its state
   * transaction committed (unless `commit` is false: the caller did it before logging), the intake side
   * told, the next batch number taken.
   */
  #settle(b: InFlightBatch, time: number, commit = true): void {
    if (commit) b.proven.commit();
    this.#abandonedSincePost = false;
    this.#inFlight.shift();
    this.#batchNumber = b.batchNumber + 1;
    this.#intake.batchPosted(b.sel.txs, time);
  }

  /**
   * Why the custodian can no longer take batch `b` in time, by the chain's time, or null. The custodian
   * takes a batch stamped `ts` in a block whose time is at most ts + MAX_BATCH_AGE, and block times
   * only grow: once the chain's time passes that, no transaction of it can ever be mined, so it is
   * given up whatever was sent. When less than the post margin is left, it is given up only if nothing
   * of it can have reached the node (a transaction of it mined meanwhile would leave the chain with a
   * batch the sequencer rolled back). Null as well when the chain already holds the batch number
   * (submitBatch then finds it).
   */
  async #lateness(b: InFlightBatch): Promise<string | null> {
    const custodian = this.#o.custodian;
    const [count, chainTime, window] = await Promise.all([custodian.batchCount(), custodian.chainTime(), this.#timestampWindow()]);
    if (count > b.batchNumber) return null;
    const lastBlock = b.sel.timestamp + window.maxAge;
    if (chainTime > lastBlock) return `stamped ${b.sel.timestamp}, more than MAX_BATCH_AGE (${window.maxAge} s) before the chain's time ${chainTime}`;
    const margin = Math.min(this.#o.settings.postMargin ?? 60, Math.floor(window.maxAge / 4));
    if (!b.mayBeSent && chainTime + margin > lastBlock) {
      return `stamped ${b.sel.timestamp}: at the chain's time ${chainTime} less than ${margin} s of MAX_BATCH_AGE (${window.maxAge} s) is left to post it`;
    }
    return null;
  }

  /**
   * Gives up the flight as too late (`#lateness`): a transaction of its head still pending can no longer be
   * taken, so it is cancelled first (a 0-value transfer at its nonce, higher fees): otherwise the rebuilt
   * batch's transaction, at the next nonce, would wait behind it for as long as its low fee keeps it out.
   */
  async #abandonLate(reason: string): Promise<[]> {
    const { batchNumber, txHashes } = this.#inFlight[0];
    const cancel = txHashes.length ? await this.#o.custodian.cancelPending(txHashes).catch((e: unknown) => (this.#o.log(`batch ${batchNumber}: cancelling its pending transaction: ${errorLine(e)}`), null)) : null;
    if (cancel) this.#o.log(`batch ${batchNumber}: its pending transaction ${txHashes.at(-1)} is cancelled by ${cancel}`);
    return this.#abandon(0, reason);
  }

  /**
   * After the custodian's simulation refused batch `b`'s stamp (BadTimestamp: nothing was sent): why it
   * is given up, or null when the stamp is ahead of the chain's time (MAX_FUTURE_DRIFT: the chain's time
   * catches up, the batch stays and is retried). Too old, or before the last batch's stamp, it can never
   * be taken: the block the simulation ran in is no later than any block a pending transaction of it
   * could still be mined in.
   */
  async #staleStamp(b: InFlightBatch): Promise<string | null> {
    const chainTime = await this.#o.custodian.chainTime();
    return b.sel.timestamp > chainTime ? null : `the custodian refuses its stamp ${b.sel.timestamp} at the chain's time ${chainTime} (BadTimestamp)`;
  }

  /**
   * Gives up batch `i` of the flight and every batch after it (lateness, staleStamp, a circuit
   * refusal): logged (one `abandon` record naming batch `i`; replay does the same), the proven state
   * rolled back to before it, the entries of all of them put back at the head of the queue in their
   * order. The next batch takes them with a fresh stamp; what that stamp can no longer prove (an order
   * expired meanwhile, an oracle update grown too old) leaves through the rejection path.
   */
  #abandon(i: number, reason: string): [] {
    const gone = this.#inFlight.slice(i);
    this.#unbuildFrom(i);
    this.#journal.persist({ t: "abandon", batchNumber: gone[0].batchNumber, reason, time: this.#journal.now() }, true);
    const entries = gone.reduce((n, b) => n + b.entries.length, 0);
    const what = gone.length > 1 ? `batches ${gone[0].batchNumber}..${gone.at(-1)!.batchNumber}` : `batch ${gone[0].batchNumber}`;
    this.#o.log(`${what} abandoned: ${reason}; ${entries} queue entries are rebuilt with a fresh stamp`);
    return [];
  }

  /**
   * Undoes batch `i` of the flight and every batch after it (abandoned live, or an `abandon` record at
   * replay), newest first: the state without them, their entries back at the head of the queue in their
   * order (a proof still being computed for one of them is ignored); the next batch is stamped at chain
   * time.
   */
  #unbuildFrom(i: number): void {
    if (i < 0) throw new Error("internal: no such batch in flight");
    const { pending } = this.#intake;
    for (const b of this.#inFlight.splice(i).reverse()) {
      b.proven.rollback();
      pending.unshift(...b.entries);
    }
    this.#abandonedSincePost = true;
  }
}

/** Keeps `hash` among the hashes sent for batch `b`'s transaction (live, or a `sent` record at replay). */
function addHash(b: InFlightBatch, hash: Hash): void {
  if (!b.txHashes.includes(hash)) b.txHashes.push(hash);
}

/** Whether intake made a forced close as the batch proved it (direction, mark and funding index). */
function sameClose(made: ForcedClose | undefined, proven: ForcedClose): boolean {
  return made !== undefined && made.dir === proven.dir && made.mark === proven.mark && (made.index ?? proven.index) === proven.index;
}
