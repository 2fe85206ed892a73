/**
 * The batch pipeline: turns the intake side's queue of accepted transactions into proven batches on
 * the custodian, one at a time.
 *
 *   select (batchSelection.ts) -> build the witness on a state transaction -> check the batch's
 *   signatures in one verifier call -> prove (and verify the proof) -> log the batch -> post -> confirmed
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
 * (lateness, or the custodian refuses its stamp: BadTimestamp) is abandoned: logged, its state
 * transaction rolled back, its entries put back at the head of the queue.
 *
 * The proven batch between its log record and its confirmation is the batch in flight: its state
 * transaction stays open until the chain holds it. Replay rebuilds it from the `batch` record and
 * follows it through `sent`, `posted` and `abandon` records (applyRecord).
 *
 * The pipeline talks to the intake side only through BatchIntake (the queue, the proven state, the
 * rejection path) and to the journal through BatchJournal.
 */
import { createHash } from "node:crypto";
import type { Hash } from "viem";
import type { SignatureCheck, SignatureVerifier } from "../crypto/signatureVerifier.ts";
import { buildBatch, isDerivTx, type BuiltBatch } from "../batch/batchWitness.ts";
import { TxRejected } from "../batch/slotWitness.ts";
import type { BatchTx } from "../protocol/transactions.ts";
import { BatchPostError, type ChainContext, type CustodianClient } from "../chain/custodianClient.ts";
import { toCalldataProof, type CalldataProof } from "../protocol/calldataProof.ts";
import type { CircuitParams } from "../protocol/params.ts";
import { OracleRejected, type SignedOracleUpdate } from "../derivatives/oracleStep.ts";
import type { ExchangeState } from "../state/exchangeState.ts";
import type { AbandonRecord, BatchRecord, PostedRecord, RejectRecord, SentRecord } from "../persistence/records.ts";
import type { CircuitKeys } from "../../fpga-prover/device.ts";
import type { VerifiedProver } from "../../fpga-prover/prover.ts";
import { calculateWitness, witnessFailureChain } from "../../fpga-prover/witness.ts";
import { isWitnessFailure } from "../../fpga-prover/pool/index.ts";
import { sameOracleUpdate, selectBatch, type BatchSelection, type PendingEntry } from "./batchSelection.ts";
import { circuitRefused, findCircuitRefusal } from "./circuitRefusal.ts";
import { sentTransactionOutcome } from "./sentTransaction.ts";
import type { Journal } from "./journal.ts";
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
  /** The chain holds a batch of `txs` (instruments it registered become tradable). */
  batchPosted(txs: readonly BatchTx[]): void;
}

/** What the pipeline needs from the journal: logging its steps, the time input, a snapshot once a batch is done. */
export type BatchJournal = Pick<Journal, "persist" | "now" | "maybeSnapshot">;

/**
 * The pipeline's settings (the sequencer's own options object: SequencerOptions documents each), read
 * at each use, so a prover swapped in the options is the one the next batch uses.
 */
export type BatchSettings = {
  keys: CircuitKeys;
  prover: VerifiedProver;
  chain: ChainContext;
  postMargin?: number;
  enforceBuilderRules?: boolean;
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
  /** The number the next batch is expected to get (restored from a snapshot; the chain's counter decides). */
  batchNumber: number;
  /** Told each posted batch, with its proof (observers). */
  onPosted: (batch: PostedBatch & { proof: CalldataProof }) => void;
  log: (line: string) => void;
};

/** A proven batch between its log record and its confirmation on chain (or its abandonment). */
type InFlightBatch = {
  batchNumber: number;
  /** The queue entries it consumed (markers included), in order: they go back to the queue if it is abandoned. */
  entries: PendingEntry[];
  txs: BatchTx[];
  /** Its stamp. */
  timestamp: number;
  /** The state transaction that holds its effects: committed once the chain holds it, rolled back if it is abandoned. */
  proven: StateTransaction;
  /**
   * A transaction posting it may have reached the node (one was handed to it, or the batch was recovered
   * from the log, where a send just before the crash leaves no trace): it is then given up only once no
   * block can take it any more.
   */
  mayBeSent: boolean;
  publicData: Uint8Array;
  proof: CalldataProof;
  /** Hash of the transaction that posts it, once sent. */
  txHash: Hash | null;
  timings: Omit<PostedBatch["timings"], "postMs">;
};

const NO_TIMINGS = { buildMs: 0, witnessMs: 0, proveMs: 0, verifyMs: 0 };

type StateTransaction = ReturnType<ExchangeState["begin"]>;

/** The 0x-hex sha256 of a batch's public data (what its log record holds). */
function sha256Hex(data: Uint8Array): string {
  return `0x${createHash("sha256").update(data).digest("hex")}`;
}

/** The batch pipeline of one sequencer (see the module comment). */
export class BatchPipeline {
  readonly #o: BatchPipelineOptions;
  readonly #intake: BatchIntake;
  readonly #journal: BatchJournal;
  /** The custodian's timestamp window, read once. */
  #window: TimestampWindow | null = null;
  readonly #health: BatchHealth = { consecutiveFailures: 0, lastError: null, lastBatchAt: null };
  #batchNumber: number;
  /** The proven batch being posted: it left the queue and is retried until the chain holds it. */
  #inFlight: InFlightBatch | null = null;
  /** True while a batch is built and proved: the state then holds it uncommitted. */
  #building = false;
  /**
   * True from an abandonment until the next batch is posted (live and at replay, so a restart keeps it):
   * the rebuilt batch is stamped at chain time.
   */
  #abandonedSincePost = false;
  /** runBatch calls run one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve();

  /** A pipeline with nothing in flight, numbering from `opts.batchNumber`. */
  constructor(opts: BatchPipelineOptions) {
    this.#o = opts;
    this.#intake = opts.intake;
    this.#journal = opts.journal;
    this.#batchNumber = opts.batchNumber;
  }

  /** The number after the last batch this pipeline saw posted (the snapshot's). */
  get batchNumber(): number {
    return this.#batchNumber;
  }

  /** True while a batch is being built or is in flight: the state then holds an unconfirmed batch (no snapshot). */
  get busy(): boolean {
    return this.#building || this.#inFlight !== null;
  }

  /** The number of the proven batch waiting to be posted, or null. */
  get unpostedBatch(): number | null {
    return this.#inFlight?.batchNumber ?? null;
  }

  /** The transactions of the batch in flight (none when there is none). */
  get inFlightTxs(): readonly BatchTx[] {
    return this.#inFlight?.txs ?? [];
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

  /** Follows a logged batch step at replay: the batch rebuilt in flight, its transaction sent, posted or abandoned. */
  applyRecord(r: BatchRecord | SentRecord | PostedRecord | AbandonRecord): void {
    switch (r.t) {
      case "batch":
        return this.#replayBatch(r);
      case "sent":
        this.#loggedInFlight(r).txHash = r.txHash as Hash;
        return;
      case "posted":
        return this.#settle(this.#loggedInFlight(r));
      case "abandon":
        return this.#unbuild(this.#loggedInFlight(r));
    }
  }

  /** The batch in flight a logged step names, or an error when it is not the one in flight. */
  #loggedInFlight(r: SentRecord | PostedRecord | AbandonRecord): InFlightBatch {
    const what = { sent: "sent", posted: "posted", abandon: "abandoned" }[r.t];
    if (this.#inFlight?.batchNumber !== r.batchNumber) throw new Error(`batch ${r.batchNumber} ${what} but not in flight`);
    return this.#inFlight;
  }

  /**
   * Rebuilds a logged batch from the first `count` entries of the pending queue (what it consumed, not
   * what the queue would select now: transactions accepted while it was proven follow it in the queue
   * and may fit); its public data must hash as logged. As live, it stays on an open state transaction
   * until a `posted` record commits it or an `abandon` record rolls it back.
   */
  #replayBatch(r: BatchRecord): void {
    const { pending, state, params } = this.#intake;
    if (this.#inFlight) throw new Error(`batch ${r.batchNumber} logged while batch ${this.#inFlight.batchNumber} is unconfirmed`);
    if (r.count > pending.length) throw new Error(`batch ${r.batchNumber} holds ${r.count} pending transactions, the queue has ${pending.length}`);
    const { count, txs, oracle } = selectBatch(pending.slice(0, r.count), params);
    if (r.count !== count) throw new Error(`batch ${r.batchNumber}: its ${r.count} pending transactions do not make one batch (${count} do)`);
    const proven = state.begin();
    try {
      const batch = buildBatch(state, txs, { batchNumber: r.batchNumber, timestamp: r.timestamp, verifySignatures: false, oracle });
      const hash = sha256Hex(batch.publicData);
      if (hash !== r.publicDataHash) throw new Error(`batch ${r.batchNumber} rebuilds with public data ${hash}, the log says ${r.publicDataHash}`);
      this.#inFlight = {
        batchNumber: r.batchNumber, entries: pending.splice(0, r.count), txs, timestamp: r.timestamp, proven, mayBeSent: true,
        publicData: batch.publicData, proof: r.proof, txHash: null, timings: NO_TIMINGS,
      };
    } catch (e) {
      proven.rollback();
      throw e;
    }
  }

  /**
   * Proves and posts the next batch of up to `slots` pending transactions; first, a proven batch not yet
   * confirmed (after a failed post or a restart) is posted, never twice, or abandoned when it can no
   * longer reach the chain in time (its entries are then proven again with a fresh stamp). Returns null
   * when nothing was posted: nothing pending, or what is pending waits for the chain's time, or a fresh
   * batch was abandoned at once. A transaction leaves the queue once its batch is on chain, or through
   * the rejection path. A failure before the proof is logged rolls the state back; after it, the proven
   * batch stays in flight and the next call retries posting it. Errors are thrown to the caller (never
   * dropped). Calls run one at a time.
   */
  runBatch(): Promise<PostedBatch | null> {
    const h = this.#health;
    const run = this.#queue.then(() => this.#runBatchNow()).then(
      (posted) => {
        h.consecutiveFailures = 0;
        if (posted) h.lastBatchAt = this.#journal.now();
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

  /** One runBatch call: post the batch in flight, or prove the next one and post it. */
  async #runBatchNow(): Promise<PostedBatch | null> {
    // Two rounds: a batch abandoned as too old (its entries back in the queue) is proven again at once.
    for (let round = 0; round < 2; round++) {
      if (!this.#inFlight) {
        if (this.#intake.pending.length === 0) return null;
        await this.#proveNext();
        if (!this.#inFlight) return null; // every pending transaction was rejected, or what is left waits for the chain's time
      }
      const posted = await this.#postInFlight(this.#inFlight);
      if (posted) return posted;
    }
    return null;
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
   * Builds and proves the next batch, makes it the batch in flight and logs it (committed) before
   * anything is sent. A transaction the builder refuses (TxRejected names its slot; an oracle update
   * the stamp cannot use; a signature the batch verifier refuses) leaves the queue through
   * rejectPending and the batch is built again without it: nothing reaches the prover that the circuit
   * would refuse. Should the circuit refuse the batch all the same (the prover says so: a TypeScript /
   * circuit mismatch), the safety net finds the transaction it refuses (rejectCircuitRefusal) and the
   * batch is built again without it. Returns without a batch when every pending transaction was
   * rejected, or the next one waits for the chain's time.
   */
  async #proveNext(): Promise<void> {
    const custodian = this.#o.custodian;
    const state = this.#intake.state;
    // The chain's batch counter numbers the batch; its root must be ours, or this sequencer is out of sync.
    const [chainCount, chainRoot, lastTimestamp, chainTime, window] = await Promise.all([
      custodian.batchCount(), custodian.stateRoot(), custodian.lastTimestamp(), custodian.chainTime(), this.#timestampWindow(),
    ]);
    if (chainRoot !== state.root) {
      throw new Error(`out of sync: the custodian's root ${chainRoot} is not the sequencer's ${state.root}`);
    }
    const batchNumber = chainCount;
    // Never stamped before the custodian's last batch, nor so early that the proven batch could be too
    // old for the custodian when it arrives (half of MAX_BATCH_AGE is left for proving and posting), nor
    // later than the custodian takes (MAX_FUTURE_DRIFT after the chain's time): by the chain's clock.
    // After an abandonment the whole window goes to proving (stamped at chain time): a prover slower than
    // half of MAX_BATCH_AGE would otherwise see every rebuilt batch abandoned again.
    const slack = this.#abandonedSincePost ? 0 : Math.floor(window.maxAge / 2);
    const floor = Math.max(lastTimestamp, chainTime - slack);
    const ceiling = chainTime + window.maxFutureDrift;
    this.#building = true;
    let t: StateTransaction | null = null;
    try {
      for (;;) {
        const t0 = performance.now();
        const built = await this.#buildNext(batchNumber, floor, ceiling);
        if (!built) return;
        const { sel, batch } = built;
        t = built.t;
        const buildMs = performance.now() - t0;
        this.#stage("built", batchNumber);
        let proved: Awaited<ReturnType<VerifiedProver["prove"]>>;
        try {
          proved = await this.#o.settings.prover.prove(batchNumber, this.#o.settings.keys, batch.circuitInput, batch.publicInput.toString());
        } catch (e) {
          if (!circuitRefused(e)) throw e;
          t.rollback();
          t = null;
          await this.#rejectCircuitRefusal(sel, batchNumber, e);
          continue;
        }
        this.#building = false;
        const proof = toCalldataProof(proved.proof);
        // The state transaction stays open while the batch is in flight: abandoning it rolls it back.
        this.#inFlight = {
          batchNumber, entries: this.#intake.pending.splice(0, sel.count), txs: sel.txs, timestamp: sel.timestamp, proven: t, mayBeSent: false,
          publicData: batch.publicData, proof, txHash: null,
          timings: { buildMs, witnessMs: proved.timings.witnessMs, proveMs: proved.timings.proveMs, verifyMs: proved.timings.verifyMs },
        };
        t = null;
        this.#journal.persist({ t: "batch", batchNumber, count: sel.count, timestamp: sel.timestamp, publicDataHash: sha256Hex(batch.publicData), proof }, true);
        break;
      }
    } finally {
      t?.rollback();
      this.#building = false;
    }
    this.#stage("proved", batchNumber);
  }

  /**
   * Selects and builds the next batch on an open state transaction (returned with it), taking out of
   * the queue what the builder refuses (see proveNext), or null when nothing is left to build.
   */
  async #buildNext(batchNumber: number, floor: number, ceiling: number): Promise<{ sel: BatchSelection; batch: BuiltBatch; t: StateTransaction } | null> {
    const { pending, state, params } = this.#intake;
    for (;;) {
      const sel = selectBatch(pending, params, floor, ceiling);
      if (sel.count === 0) {
        if (pending.length > 0) this.#o.log(`the next pending transaction was accepted after the chain's time + MAX_FUTURE_DRIFT (${ceiling}): it waits for the chain`);
        return null;
      }
      const t = state.begin();
      const checks: { slot: number; check: SignatureCheck }[] = [];
      try {
        const batch = this.#build(sel, batchNumber, (slot, check) => checks.push({ slot, check }));
        const verdicts = await this.#o.verifier.verifyBatch(checks.map((c) => c.check));
        const bad = verdicts.indexOf(false);
        if (bad >= 0) throw new TxRejected("BAD_SIGNATURE", `slot ${checks[bad].slot}: a signature does not verify under the key the state holds`, checks[bad].slot);
        return { sel, batch, t };
      } catch (e) {
        t.rollback();
        if (e instanceof TxRejected && e.slot !== undefined) this.#rejectSlot(sel, e);
        else if (e instanceof OracleRejected && sel.oracle) this.#rejectOracle(sel, sel.oracle, e.code, e.message);
        else throw e;
      }
    }
  }

  /** Builds the batch of `sel` (or of its first `prefix` transactions) on the state, as proveNext does. */
  #build(sel: BatchSelection, batchNumber: number, collectSignatures?: (slot: number, check: SignatureCheck) => void, prefix = sel.txs.length): BuiltBatch {
    return buildBatch(this.#intake.state, sel.txs.slice(0, prefix), {
      batchNumber, timestamp: sel.timestamp, verifySignatures: false, oracle: sel.oracle, collectSignatures, enforceRules: this.#o.settings.enforceBuilderRules,
    });
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
    if (found.index < 0 && sel.oracle) return this.#rejectOracle(sel, sel.oracle, "CIRCUIT_REFUSED", `the oracle update: ${where}`);
    const tx = sel.txs[found.index];
    const index = tx ? this.#intake.pending.findIndex((p) => p.tx === tx) : -1;
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

  /** Rejects every selected entry (markers included) that needs `oracle`, an update no stamp of this batch can use (`code`, `message`). */
  #rejectOracle(sel: BatchSelection, oracle: SignedOracleUpdate, code: string, message: string): void {
    for (let i = sel.count - 1; i >= 0; i--) {
      const tag = this.#intake.pending[i]?.oracle;
      if (tag && sameOracleUpdate(tag, oracle)) this.#reject(i, code, message);
    }
  }

  /**
   * Posts a logged batch once: a transaction sent earlier is awaited, and the chain is asked before
   * sending. Returns null, with the batch abandoned, when the custodian can no longer take it in time
   * (lateness; or the custodian's simulation refuses its stamp as too old: BadTimestamp).
   */
  async #postInFlight(b: InFlightBatch): Promise<PostedBatch | null> {
    const p0 = performance.now();
    let txHash: Hash | null | undefined;
    if (b.txHash && (await sentTransactionOutcome(this.#o.settings.chain.publicClient, b.txHash)) === "success") txHash = b.txHash;
    if (txHash === undefined) {
      const late = await this.#lateness(b);
      if (late) return this.#abandonInFlight(late);
      try {
        txHash = await this.#o.custodian.submitBatch(
          b.batchNumber, b.publicData, b.proof,
          (hash) => {
            b.txHash = hash;
            this.#journal.persist({ t: "sent", batchNumber: b.batchNumber, txHash: hash }, true);
            this.#stage("sent", b.batchNumber);
          },
          () => (b.mayBeSent = true),
        );
      } catch (e) {
        const refused = e instanceof BatchPostError && e.reason === "BadTimestamp" ? await this.#staleStamp(b) : null;
        if (refused) return this.#abandonInFlight(refused);
        throw e;
      }
    }
    const postMs = performance.now() - p0;
    b.proven.commit();
    this.#journal.persist({ t: "posted", batchNumber: b.batchNumber, txHash }, true);
    this.#settle(b, false);
    this.#stage("posted", b.batchNumber);
    const posted: PostedBatch = { batchNumber: b.batchNumber, txHash, transactions: b.txs.length, timings: { ...b.timings, postMs } };
    this.#o.log(`batch ${posted.batchNumber}: ${posted.transactions} tx, proved in ${Math.round(posted.timings.proveMs)} ms, posted ${txHash ?? "(already on chain)"}`);
    this.#o.onPosted({ ...posted, proof: b.proof });
    this.#journal.maybeSnapshot();
    return posted;
  }

  /**
   * The chain holds batch `b` (live, or a `posted` record at replay): its state transaction committed
   * (unless `commit` is false: the caller did it before logging), the intake side told, the next batch
   * number taken.
   */
  #settle(b: InFlightBatch, commit = true): void {
    if (commit) b.proven.commit();
    this.#abandonedSincePost = false;
    this.#intake.batchPosted(b.txs);
    this.#inFlight = null;
    this.#batchNumber = b.batchNumber + 1;
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
    const lastBlock = b.timestamp + window.maxAge;
    if (chainTime > lastBlock) return `stamped ${b.timestamp}, more than MAX_BATCH_AGE (${window.maxAge} s) before the chain's time ${chainTime}`;
    const margin = Math.min(this.#o.settings.postMargin ?? 60, Math.floor(window.maxAge / 4));
    if (!b.mayBeSent && chainTime + margin > lastBlock) {
      return `stamped ${b.timestamp}: at the chain's time ${chainTime} less than ${margin} s of MAX_BATCH_AGE (${window.maxAge} s) is left to post it`;
    }
    return null;
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
    return b.timestamp > chainTime ? null : `the custodian refuses its stamp ${b.timestamp} at the chain's time ${chainTime} (BadTimestamp)`;
  }

  /**
   * Gives up the batch in flight (lateness, staleStamp): logged (an `abandon` record; replay does the
   * same), the proven state rolled back to before it, its entries put back at the head of the queue in
   * their order. The next batch takes them with a fresh stamp; what that stamp can no longer prove (an
   * order expired meanwhile, an oracle update grown too old) leaves through the rejection path.
   */
  #abandonInFlight(reason: string): null {
    const b = this.#inFlight!;
    this.#unbuild(b);
    this.#journal.persist({ t: "abandon", batchNumber: b.batchNumber, reason, time: this.#journal.now() }, true);
    this.#o.log(`batch ${b.batchNumber} abandoned: ${reason}; its ${b.entries.length} queue entries are rebuilt with a fresh stamp`);
    return null;
  }

  /**
   * Undoes batch `b` in flight (abandoned live, or an `abandon` record at replay): the state without it,
   * its entries back at the head of the queue; the next batch is stamped at chain time.
   */
  #unbuild(b: InFlightBatch): void {
    b.proven.rollback();
    this.#intake.pending.unshift(...b.entries);
    this.#inFlight = null;
    this.#abandonedSincePost = true;
  }
}
