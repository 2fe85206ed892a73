/**
 * The sequencer: one process that accepts signed orders, cancels and withdrawals (soft confirmation
 * at once), matches them, and turns everything into proven batches posted to the custodian.
 *
 *   intake (signature, order-slot and risk checks) -> matching engine -> pending transactions
 *   pending transactions -> batch witness -> prover -> second verification -> custodian.submitBatch
 *
 * One accepted request must never stop settlement (issue 11). Intake applies the stateless rules the
 * witness builder applies through the same functions (protocol/messages.ts: withdrawalFault, ...), and
 * state changes that invalidate resting orders cancel them (a trading-key rotation cancels the orders
 * the old key signed). A transaction that still cannot be proven (an order expired by the batch's
 * stamp, an oracle update too old for it, a signature, a balance) is found while the batch is built:
 * buildBatch names its slot (TxRejected) and the batch's signatures are checked in one verifier call
 * before anything reaches the prover. It is taken out of the queue with a logged `reject` record (replay
 * does the same), told to observers (`rejected`: the API streams it and keeps it in history) and intake
 * is corrected for it where it can be (rejectPending); the batch is then built without it. Should the
 * prover report that the circuit refuses a batch all the same (a TypeScript/circuit mismatch), the
 * transaction it refuses is found by bisection with the witness calculator and rejected the same way,
 * with code CIRCUIT_REFUSED and the failing template:line (circuitRefusal.ts).
 *
 * Stamping, by the chain's time (the node's pending block; the sequencer's clock may run ahead or
 * behind): a batch is stamped with the latest of the custodian's last timestamp, the acceptance times
 * of its transactions and its oracle update's time, but never earlier than the chain's time minus half
 * the custodian's MAX_BATCH_AGE, so a proven batch has the other half to reach the chain even after a
 * backlog or a clock jump, and never later than the chain's time plus MAX_FUTURE_DRIFT (what was
 * accepted after that waits for the chain; batchSelection.ts). A proven batch that can no longer reach
 * the chain in time (a slow restart, a node outage, a prover failover: its stamp is older than
 * MAX_BATCH_AGE, or nearly so, by the chain's time, or the custodian refuses it with BadTimestamp) is
 * abandoned: logged (`abandon`), the proven state rolled back (the batch's state transaction stays open
 * until the chain holds it), its entries put back at the head of the queue, and the next batch takes
 * them with a fresh stamp; what that stamp can no longer prove leaves through the rejection path.
 *
 * The matching engine and the spot risk module hold the rules of matching and reservation; this file
 * checks signatures and wires the parts that hold the rest:
 *   exchangeCore.ts   intake (keys, order slots, nonces, the pending queue, the rejection path), fed by
 *                     records: synchronous, no I/O (`apply(record)`, live and in replay)
 *   journal.ts        the durable log (group commit, snapshots), the clock, replay as a loop over `apply`
 *   batchPipeline.ts  select, build, prove, post, lateness and abandonment, the batch in flight
 *   query.ts          the read-only view the API and the process read (books, accounts, markets, health)
 *   derivatives.ts    instruments, oracle updates, derivatives risk, liquidations, settlements
 *
 * Durability (with a `store`, sequencer/persistence): every command that changes anything becomes a log
 * record, which `apply` applies (live and in replay alike; it persists nothing) and which is then appended to
 * the log (nothing for a refused request) and committed before the call that made it returns (one commit per call; `placeOrders` and
 * `syncRequests` commit their whole group at once); it is durable once `durable()` resolves (a store
 * that syncs in the background reaches the disk after the call returns), which is when a caller may
 * acknowledge it. A batch is logged once built (the entries it consumed, its stamp, the hash of its
 * public data), its proof once proven, durable before it is sent; its transaction hash once sent; its
 * arrival on chain once confirmed. With `pipelineDepth` > 1 several batches are in flight at once, each
 * built on the state the previous one leaves; an abandonment takes every batch after it with it. A new Sequencer over the same store
 * restores the latest snapshot and replays the log after it through the same code (time is an input
 * recorded with each command), reaching the same books, reservations, pending transactions and state
 * root; a logged batch not yet confirmed is proven (again, if its proof was not logged) and posted by the
 * next `runBatch` exactly once, or abandoned (replay rebuilds it on an open state transaction, so an
 * `abandon` record rolls it back as it did live).
 */
import { INSTRUMENT_MARKET_BASE } from "../protocol/constants.ts";
import type { HeldOrder } from "../matching/triggers.ts";
import { EventEmitter } from "node:events";
import type { Address } from "viem";
import { verifyMessage, type PublicKey } from "../crypto/babyjub.ts";
import { messageValue, type SignatureCheck, type SignatureVerifier, type SignedMessage } from "../crypto/signatureVerifier.ts";
import { defaultSignatureVerifier } from "../crypto/nativeSignatureVerifier.ts";
import type { BatchTx } from "../protocol/transactions.ts";
import { CustodianClient, type ChainContext } from "../chain/custodianClient.ts";
import type { CalldataProof } from "../protocol/calldataProof.ts";
import { MarketRegistry, MatchingEngine, type EngineEvent } from "../matching/index.ts";
import {
  cancelMessage, oracleMessage, orderMessageInputs, transferMessage, withdrawalMessage, type Cancel, type Order, type Signed, type Transfer, type Withdrawal,
} from "../protocol/messages.ts";
import type { CircuitParams } from "../protocol/params.ts";
import { SpotRisk } from "../risk/spotRisk.ts";
import { RoutedRisk } from "../risk/routedRisk.ts";
import type { DerivativesRisk } from "../risk/derivativesRisk.ts";
import type { SignedOracleUpdate } from "../derivatives/oracleStep.ts";
import type { DerivativesService, Liquidator } from "./derivatives.ts";
import type { OracleOutcome } from "../wire/responses.ts";
import { RequestRejected } from "./requestRejected.ts";
import { fairQueueFrom, refuseWhenAccountBacklogged, refuseWhenBacklogged } from "./backlog.ts";
import { ExchangeState } from "../state/exchangeState.ts";
import type {
  CancelRecord, ExpireRecord, LogRecord, OracleRecord, OrderRecord, RequestRecord, TransferRecord, WithdrawRecord,
} from "../persistence/records.ts";
import { SNAPSHOT_VERSION, type SequencerSnapshot } from "./snapshot.ts";
import { restoreExchangeState, snapshotExchangeState } from "../persistence/stateSnapshot.ts";
import { checkReplayRules } from "../persistence/logRules.ts";
import type { SequencerStore } from "../persistence/store.ts";
import { Journal } from "./journal.ts";
import { ExchangeCore, type TxRejection } from "./exchangeCore.ts";
import { txAccounts } from "../protocol/transactions.ts";
import { cancelledOrder } from "./batchSelection.ts";
import { BatchPipeline, type BatchIntake, type BatchStage, type PostedBatch, type TimestampWindow } from "./batchPipeline.ts";
import type { MarkingRecorder } from "./markingRecorder.ts";
import type { CircuitKeys } from "../../fpga-prover/device.ts";
import type { VerifiedProver } from "../../fpga-prover/prover.ts";
import { SequencerQuery, type BatchHealth, type ExchangeQuery, type Health, type TreasuryView } from "./query.ts";

export type SequencerOptions = {
  params: CircuitParams;
  keys: CircuitKeys;
  /**
   * The marking circuit's artifacts for `params` (scripts/build/markingCircuit.ts), with `marksRegistry`, the registry
   * the custodian reads (immutable): a batch that reads option marks from a marking (its key in the oracle section)
   * is sent only once the registry holds that key, its marking proven by `prover` beside the batch and recorded from
   * the operator's wallet (BatchPipeline, markingRecorder.ts). Without them such a batch is never sent (the batch
   * attempt fails, saying so).
   */
  markingKeys?: CircuitKeys;
  /** The custodian's marks registry (contracts/MarksRegistry.sol); goes with `markingKeys`. */
  marksRegistry?: Address;
  /** Replaces the recorder made from `markingKeys` and `marksRegistry` (a test's chain without a registry contract). */
  markings?: MarkingRecorder;
  /** Proves batches and checks each proof before it is posted (a ProverPool or a SingleDeviceProver). */
  prover: VerifiedProver;
  chain: ChainContext;
  makerFeePpm?: number;
  takerFeePpm?: number;
  /** Checks trading-key signatures at intake (default: native batch verification when the addon is built, else the JavaScript reference). */
  verifier?: SignatureVerifier;
  log?: (line: string) => void;
  /**
   * Durable log (sequencer/persistence/sqliteStore.ts). Without one everything lives in memory only.
   * With one, the constructor recovers whatever the store holds.
   */
  store?: SequencerStore;
  /**
   * When the single-request calls (placeOrder, cancelOrder, requestWithdrawal, acceptRequest) commit:
   * "each" (default) before they return; "deferred" once per event-loop turn, for all the calls of that
   * turn together (group commit under load): the caller must `await durable()` before acknowledging.
   */
  commit?: "each" | "deferred";
  /** Recover from the latest snapshot plus the log after it (default), or from the whole log (audits). */
  recoverFrom?: "snapshot" | "log";
  /** Snapshot after this many log records (default 10,000; 0: never). Snapshots bound the replay at restart. */
  snapshotEvery?: number;
  /** The time input of intake, unix seconds (default: the wall clock). Logged with each command. */
  clock?: () => number;
  /** Wall-clock milliseconds (default Date.now): they pace the reads of the custodian's oracle key (tests move them). */
  wallClockMs?: () => number;
  /** Told each step of a batch's life, after it is durable (metrics, fault-injection tests). */
  onBatchStage?: (stage: BatchStage, batchNumber: number) => void;
  /** The operator's liquidator account (sequencer/service/derivatives.ts); without it nothing is liquidated. */
  liquidator?: Liquidator;
  /**
   * Seconds of the custodian's MAX_BATCH_AGE a proven batch must still have left, by the chain's time,
   * when it is first sent (default 60, at most a quarter of MAX_BATCH_AGE): one with less is abandoned
   * and rebuilt with a fresh stamp rather than sent to arrive too late.
   */
  postMargin?: number;
  /**
   * Test only (default true): false builds batches with the witness builder's rule checks off
   * (buildBatch enforceRules), so a transaction the circuit refuses reaches the prover as it would with
   * a TypeScript/circuit mismatch: the CIRCUIT_REFUSED safety net's tests.
   */
  enforceBuilderRules?: boolean;
  /**
   * How many batches may be in flight at once (default 1): each is built on the state the one before it
   * leaves, logged, and proven while the ones before it are proven or posted, so witness building and
   * proving overlap, and a prover with several devices or queue workers proves them side by side. A
   * batch behind others is built only once the queue fills a batch's spot slots.
   */
  pipelineDepth?: number;
  /**
   * How many batches one transaction posts (default 1; Custodian.submitBatches verifies their proofs
   * together): once the oldest batch in flight is proven, the proofs of the batches in flight right
   * behind it are awaited, up to this many batches in all, and they go on chain together. This trades
   * latency for gas; with a depth above it, the batches behind the group are proven meanwhile.
   */
  batchesPerPost?: number;
  /**
   * Backpressure (backlog.ts): at this many transactions waiting for batches (pendingTransactions), new orders,
   * withdrawals and transfers are refused BACKLOG_FULL until batches catch up; cancels, oracle updates and on-chain
   * requests are always taken. Default: no bound (tests that queue freely); the sequencer process and the devnet
   * use defaultMaxBacklog(params).
   */
  maxBacklog?: number;
};

export type { BatchStage, PostedBatch, TimestampWindow };

export { RequestRejected };

/** Per signed request of a group checked with one verifier call (Sequencer.verifyGroup): its check and verdict, or why it could not be checked. */
export type VerifiedRequest = { check: SignatureCheck; verdict: boolean } | RequestRejected;

/** Orders whose signatures were checked (Sequencer.verifyOrders, verifyGroup), ready to be placed in order: `verified[i]` is orders[i]'s. */
export type VerifiedOrders = { orders: readonly Signed<Order>[]; verified: readonly VerifiedRequest[] };

/** A signed request other than an order that the intake verifies with the orders around it (Sequencer.verifyGroup). */
export type SignedCommand = { cancel: Signed<Cancel> } | { withdrawal: Signed<Withdrawal> } | { transfer: Signed<Transfer> };

/** The outcome of one request of a batched intake call: the engine's events, or why it was refused. */
export type IntakeOutcome = { events: EngineEvent[] } | { rejected: RequestRejected };

/**
 * What observers (the API's history, stream and batch log) are told, synchronously, as it happens:
 * `engine`: the events of one command the engine executed (refused ones included), with the incoming
 * order when it was a placement, or of resting orders leaving the book without a command of the engine (expired at a
 * record's time, ExchangeCore.apply; a held order dropped, expired at a record's time among other reasons: no `done` then); `batch`: a batch was proven and posted, with its proof; `key`: an account's
 * trading key was replaced (a rotation: signatures of the old key no longer count), before the rotation's cancels.
 */
export type SequencerEvents = {
  engine: [events: readonly EngineEvent[], incoming: Signed<Order> | undefined];
  batch: [batch: PostedBatch & { proof: CalldataProof }];
  rejected: [rejection: TxRejection];
  key: [accountId: number, publicKey: PublicKey];
};

export type { BatchHealth, TxRejection };

export { txAccounts };


/**
 * The sequencer service: signature checks, then the exchange core (ExchangeCore: order-slot, nonce and
 * risk checks, the matching engine, the pending queue and the rejection path, fed by records), and the
 * wiring of the journal, the batch pipeline, chain sync, the service loop and the query view around it
 * (see the module comment). Its public methods are the commands.
 */
export class Sequencer {
  readonly params: CircuitParams;
  readonly markets: MarketRegistry;
  readonly risk: SpotRisk;
  readonly engine: MatchingEngine;
  /** The state proven batches commit to (advanced when a batch is built). */
  readonly state: ExchangeState;
  readonly custodian: CustodianClient;
  readonly events = new EventEmitter<SequencerEvents>();
  /** The read-only view of books, orders, accounts, risk, markets, instruments and health (the API's). */
  readonly query: ExchangeQuery;
  private readonly opts: SequencerOptions;
  /** Intake state and its rules, fed by records (exchangeCore.ts): keys, order slots, nonces, the pending queue. */
  private readonly core: ExchangeCore;
  /** The durable log, the clock (the time input of intake), snapshots and replay. */
  private readonly journal: Journal;
  /** Select, build, prove, post: the proven batches (and the batch in flight). */
  private readonly pipeline: BatchPipeline;

  private readonly verifier: SignatureVerifier;

  /** Builds the sequencer, restoring the store's latest snapshot (if any) and replaying the log after it. */
  constructor(opts: SequencerOptions) {
    this.opts = opts;
    this.verifier = opts.verifier ?? defaultSignatureVerifier();
    this.params = opts.params;
    this.custodian = new CustodianClient(opts.chain);
    // No snapshot while the state holds anything unconfirmed: a batch built or in flight (busy), or a prefix of one
    // built while the circuit-refusal search runs its witnesses (an open state transaction, not yet rolled back).
    this.journal = new Journal(opts, () => (this.pipeline.busy || this.state.openTransactions > 0 ? null : this.snapshot()));
    const stored = opts.recoverFrom === "log" ? null : opts.store?.latestSnapshot();
    // before anything is restored: the log after the snapshot replays by this code's rules only if they wrote it
    const rulesNote = opts.store ? checkReplayRules(opts.store, stored ?? null) : null;
    if (rulesNote) this.log(rulesNote);
    const snap = stored?.body as SequencerSnapshot | undefined;
    if (snap && snap.version !== SNAPSHOT_VERSION) throw new Error(`unsupported sequencer snapshot version ${snap.version} (this code reads ${SNAPSHOT_VERSION})`);
    this.markets = snap ? MarketRegistry.fromJSON(snap.markets) : new MarketRegistry();
    this.risk = snap ? SpotRisk.restore(snap.risk) : new SpotRisk();
    this.state = snap ? restoreExchangeState(opts.params, snap.state) : new ExchangeState(opts.params);
    // The core builds the derivatives service (bound to itself) and then the engine over its risk engine.
    const engine = (derivativesRisk: DerivativesRisk): MatchingEngine => {
      const risk = new RoutedRisk(this.risk, derivativesRisk);
      const orderIdSlots = 4n ** BigInt(this.params.orderLevels); // the state's order storage (OrderIndex)
      return snap ? MatchingEngine.restore(snap.engine, { markets: this.markets, risk, orderIdSlots }) : new MatchingEngine({ markets: this.markets, risk, orderIdSlots });
    };
    this.core = new ExchangeCore({
      params: this.params, markets: this.markets, risk: this.risk, engine, state: this.state,
      oracleKey: () => this.custodian.oracleKey(), wallClockMs: opts.wallClockMs ?? Date.now, liquidator: opts.liquidator, inFlight: () => this.pipeline.inFlightTxs,
      makerFeePpm: opts.makerFeePpm ?? 0, takerFeePpm: opts.takerFeePpm ?? 0,
      observers: {
        engine: (events, incoming) => this.events.emit("engine", events, incoming), rejected: (r) => this.events.emit("rejected", r), log: (line) => this.log(line),
        keyChanged: (accountId, publicKey) => this.events.emit("key", accountId, publicKey),
      },
    }, snap);
    this.engine = this.core.engine;
    const intake: BatchIntake = {
      params: this.params, state: this.state, pending: this.core.pending,
      rejectPending: (r) => this.logged(r, this.apply(r)), correctForced: (r) => this.logged(r, this.apply(r)), batchPosted: (txs, time) => this.core.batchPosted(txs, time),
      batchTaken: (time) => this.core.batchTaken(time),
      oracleKeyRetired: (u) => this.derivatives.oracleKeyRetired(u), refreshOracleKey: () => this.derivatives.refreshOracleKey(),
      oracleKeyUnread: () => this.derivatives.oracleKeyUnread(),
    };
    this.pipeline = new BatchPipeline({
      intake, journal: this.journal, custodian: this.custodian, settings: opts, verifier: this.verifier, batchNumber: snap?.batchNumber ?? 0,
      abandonedSincePost: snap?.abandonedSincePost ?? false,
      onPosted: (batch) => this.events.emit("batch", batch), log: (line) => this.log(line), markings: opts.markings,
    });
    this.query = new SequencerQuery({
      params: this.params, markets: this.markets, engine: this.engine, spot: this.risk, derivatives: this.derivatives, triggers: this.core.triggers, status: this,
      now: () => this.journal.now(),
    });
    this.journal.replay(stored?.seq ?? 0, (record) => this.apply(record));
  }

  /** Instruments, oracle updates, derivatives risk, transfers, liquidations and expiry settlements (the core's). */
  get derivatives(): DerivativesService {
    return this.core.derivatives;
  }

  /** The root of the state proven batches commit to. */
  get stateRoot(): bigint {
    return this.state.root;
  }

  /** The fee pool, the insurance fund and the open bad debt of the proven state (ExchangeQuery.treasury). */
  treasury(): TreasuryView {
    const g = this.state.globals;
    return { feePool: this.state.feePool, insuranceFund: g.insuranceFund, openBadDebt: g.badDebt, pooledQuote: g.pooledQuote };
  }

  /**
   * Refuses account `accountId`'s new order, withdrawal or transfer with BACKLOG_FULL while the backlog is at
   * `maxBacklog`, or past half of it while the account has transactions of its own waiting (backlog.ts).
   */
  private refuseWhenBacklogged(accountId: number): void {
    const max = this.opts.maxBacklog;
    if (max !== undefined && this.pendingTransactions >= fairQueueFrom(max)) {
      refuseWhenBacklogged(this.backlog, max, accountId, () => this.core.waitingBy(accountId));
    }
  }

  /**
   * Refuses a derivatives order or a transfer while the latest oracle update is under a key the custodian replaced
   * (RETIRED_ORACLE_KEY): taken now, it would be tagged with that update and taken back when its batch is built
   * (BatchPipeline), after its fills were reported (review of 2026-12-06). Live intake only, as the backlog checks:
   * a refused request is not logged, so replay never asks.
   */
  #refuseRetiredOracle(): void {
    // after a restart the key known is the log's: a read starts now (the first orders may pass before it answers;
    // the batch is built only after it: BatchPipeline)
    if (this.derivatives.oracleKeyUnread()) void this.derivatives.refreshOracleKey();
    const u = this.derivatives.latest;
    if (u && this.derivatives.oracleKeyRetired(u)) {
      throw new RequestRejected("RETIRED_ORACLE_KEY", "the latest oracle update is under a key the custodian replaced: retry once the new oracle's first update is accepted");
    }
  }

  /** Refuses an account's withdrawal or transfer while PENDING_REQUESTS_PER_ACCOUNT of them wait (backlog.ts): its nonces past the proven one. */
  #refuseNoncedBacklog(accountId: number): void {
    if (this.opts.maxBacklog === undefined) return;
    refuseWhenAccountBacklogged(accountId, this.core.nextNonce(accountId) - this.state.account(accountId).nonce);
  }

  /**
   * What the backlog bound counts: the transactions not yet on chain (pendingTransactions) but proven cancels, which
   * are bounded per account instead (exchangeCore.ts QUEUED_CANCELS_PER_ACCOUNT) and never refused.
   */
  get backlog(): number {
    const cancels = (txs: Iterable<BatchTx>) => {
      let n = 0;
      for (const tx of txs) if (cancelledOrder(tx)) n++;
      return n;
    };
    return this.pendingTransactions - cancels(this.core.pending.map((e) => e.tx)) - cancels(this.pipeline.inFlightTxs);
  }

  /** Transactions not yet on chain: the batch being posted, those waiting for a batch and the on-chain requests held until an oracle update. */
  get pendingTransactions(): number {
    return this.core.pending.length + this.core.awaitingMarks.length + this.pipeline.inFlightTxs.length;
  }

  /** How many on-chain requests (the queue's first ones) have been admitted. */
  get requestsAdmitted(): number {
    return this.core.requestsSeen;
  }

  /** The number of the proven batch waiting to be posted, or null. */
  get unpostedBatch(): number | null {
    return this.pipeline.unpostedBatch;
  }

  /** How many batches are in flight: logged, being proven or posted, not yet on chain. */
  get batchesInFlight(): number {
    return this.pipeline.inFlightBatches;
  }

  /** The trading key registered for `accountId` (usable at once, proven with its batch). */
  tradingKey(accountId: number): PublicKey | undefined {
    return this.core.tradingKey(accountId);
  }

  /** The nonce the account's next withdrawal or transfer must carry (one sequence for both). */
  withdrawalNonce(accountId: number): number {
    return this.core.nextNonce(accountId);
  }

  /** The prover's metrics (queue depth, throughput, latency per stage, device health), when it reports any. */
  proverMetrics(): object | null {
    return this.pipeline.proverMetrics();
  }

  /**
   * What stops settlement now, or nothing: batch attempts failing since the last success, and a prover
   * whose every device is unhealthy.
   */
  health(): Health {
    return this.pipeline.health();
  }

  /** The transactions not yet on chain, oldest first (the batch being posted first, the requests held until an oracle update last). */
  peekPending(): readonly BatchTx[] {
    return [...this.pipeline.inFlightTxs, ...this.core.pending.map((p) => p.tx), ...this.core.awaitingMarks.map((h) => h.tx)];
  }

  /** Writes a line to the configured log. */
  private log(line: string): void {
    this.opts.log?.(line);
  }


  // ---- durability (journal.ts) ----------------------------------------------------------------------

  /**
   * Resolves once every record appended so far is durable: committed (at once with the "each" policy)
   * and on stable storage (at once with a store that syncs in commit). Answer a request only after it.
   */
  durable(): Promise<void> {
    return this.journal.durable();
  }

  /**
   * Everything intake and batching hold, as a JSON-able value (the snapshot format). Throws while a batch
   * is being built or posted (the state then holds an unconfirmed batch).
   */
  snapshot(): SequencerSnapshot {
    // (a state transaction is also open while the circuit-refusal search builds prefixes of a batch)
    if (this.pipeline.busy || this.state.openTransactions > 0) throw new Error("no snapshot while a batch is being built or posted");
    const intake = this.core.snapshot();
    return {
      version: SNAPSHOT_VERSION,
      markets: this.markets.toJSON(),
      risk: this.risk.snapshot(),
      engine: this.engine.snapshot(),
      state: snapshotExchangeState(this.state),
      // every field the exchange core keeps (a field copied one by one here was once left out: rebaseOwed, staleOracleTime)
      ...intake,
      derivatives: this.derivatives.snapshot(),
      batchNumber: this.pipeline.batchNumber,
      ...(this.pipeline.abandonedSincePost ? { abandonedSincePost: true } : {}),
    };
  }

  /**
   * Applies one record, live and in replay: the batch pipeline's own records to the pipeline, every
   * other to the exchange core (ExchangeCore.apply: what it returns, it returns). It persists nothing:
   * live intake appends the record once it applied (`logged`), replay (Journal.replay) reads it from the log.
   */
  private apply(r: OrderRecord | CancelRecord): EngineEvent[];
  private apply(r: OracleRecord): OracleOutcome;
  private apply(r: LogRecord): EngineEvent[] | OracleOutcome | void;
  private apply(r: LogRecord): EngineEvent[] | OracleOutcome | void {
    switch (r.t) {
      case "batch":
      case "proved":
      case "sent":
      case "posted":
      case "abandon":
        return this.pipeline.applyRecord(r);
      default:
        // a sweep of expired orders (resting or held) is logged on its own first, so it replays even if `r` is refused (not logged)
        if (r.t !== "expire" && this.core.expiryDue(r.time)) {
          const expire: ExpireRecord = { t: "expire", time: r.time };
          this.logged(expire, this.core.apply(expire));
        }
        return this.core.apply(r);
    }
  }

  /** Live intake: appends `record` to the journal once it applied (`result`, what apply returned), and returns `result`. */
  private logged<T>(record: LogRecord, result: T): T {
    this.journal.persist(record);
    return result;
  }

  // ---- intake ----------------------------------------------------------------------------------

  /** Pulls new on-chain requests (keys, deposits, markets) into the pending queue, in queue order. */
  async syncRequests(): Promise<number> {
    const requests = (await this.custodian.requests(this.core.requestsSeen)).filter((r) => r.index >= this.core.requestsSeen);
    this.journal.grouped(() => {
      for (const r of requests) {
        const record: RequestRecord = { t: "request", tx: r.tx, time: this.journal.now(), index: r.index };
        this.logged(record, this.apply(record));
      }
    });
    return requests.length;
  }

  /** Admits one on-chain request (in queue order): its effect is usable at once and it waits for a batch. */
  acceptRequest(tx: BatchTx): void {
    const record: RequestRecord = { t: "request", tx, time: this.journal.now() };
    this.logged(record, this.apply(record));
  }


  /** The check of one signed request, or why it cannot be checked (no key, malformed message). */
  private signatureCheck(accountId: number, message: () => SignedMessage, signature: Signed<object>["signature"]): SignatureCheck {
    const publicKey = this.core.tradingKey(accountId);
    if (!publicKey) throw new RequestRejected("NO_TRADING_KEY", `account ${accountId} has no registered trading key`);
    let m: SignedMessage;
    try {
      m = message();
    } catch (e) {
      throw new RequestRejected("MALFORMED", (e as Error).message);
    }
    return { message: m, signature, publicKey };
  }

  /** Throws BAD_SIGNATURE unless the verifier accepted `check` and the key it used is still the account's. */
  private requireVerified(accountId: number, check: SignatureCheck, verdict: boolean, what: string): void {
    if (!verdict || this.core.tradingKey(accountId) !== check.publicKey) {
      throw new RequestRejected("BAD_SIGNATURE", `${what} is not signed by account ${accountId}'s trading key`);
    }
  }

  /**
   * Checks one signature synchronously: with the configured verifier when it answers a single check at
   * once (the native one does, in about 0.1 ms), else with the JavaScript reference (about 20 ms).
   */
  private requireSigned(accountId: number, message: () => SignedMessage, sig: Signed<object>["signature"], what: string): void {
    const check = this.signatureCheck(accountId, message, sig);
    this.requireVerified(accountId, check, this.signedBy(check.message, check.signature, check.publicKey), what);
  }

  /**
   * Whether `signature` signs `message` under `publicKey`, checked with the configured verifier (the native one
   * answers at once, in about 0.1 ms) or, when it answers only asynchronously, the JavaScript reference (about
   * 20 ms on the calling thread). For checks no intake record follows (a stream's authentication).
   */
  signedBy(message: SignedMessage, signature: Signed<object>["signature"], publicKey: PublicKey): boolean {
    const check: SignatureCheck = { message, signature, publicKey };
    const answer = this.verifier.verifyBatch([check]);
    return Array.isArray(answer) ? answer[0] : verifyMessage(messageValue(message), signature, publicKey);
  }

  /** `verified` (verifyGroup's entry) when given, else the signature checked now, synchronously (requireSigned). */
  private requireChecked(accountId: number, message: () => SignedMessage, sig: Signed<object>["signature"], what: string, verified?: VerifiedRequest): void {
    if (!verified) return this.requireSigned(accountId, message, sig, what);
    if (verified instanceof RequestRejected) throw verified;
    this.requireVerified(accountId, verified.check, verified.verdict, what);
  }

  /** Places a signed order; returns the engine's events (accepted/rejected, fills, cancels). */
  placeOrder(order: Signed<Order>): EngineEvent[] {
    this.requireSigned(order.accountId, () => ({ poseidon: orderMessageInputs(order) }), order.signature, "order");
    this.refuseWhenBacklogged(order.accountId);
    if (order.marketId >= INSTRUMENT_MARKET_BASE) this.#refuseRetiredOracle();
    const record: OrderRecord = { t: "order", order, time: this.journal.now() };
    return this.logged(record, this.apply(record));
  }

  /**
   * Places many signed orders, in order, with all their signatures checked in one call to the
   * configured verifier (where batching pays). Each order gets its own outcome; a refused order
   * changes nothing and does not stop the others.
   */
  async placeOrders(orders: readonly Signed<Order>[]): Promise<IntakeOutcome[]> {
    return this.placeVerifiedOrders(await this.verifyOrders(orders));
  }

  /**
   * The first half of placeOrders: checks every signature with one verifier call and changes nothing, so
   * the verification of one group can run while the previous group is placed (OrderIntake pipelines them).
   */
  async verifyOrders(orders: readonly Signed<Order>[]): Promise<VerifiedOrders> {
    return (await this.verifyGroup(orders, [])).orders;
  }

  /**
   * Checks the signatures of a group of orders and other signed requests (cancels, withdrawals, transfers) with one
   * verifier call, off the main thread for a large group (the native verifier's, from 16 checks), and changes
   * nothing: placeVerifiedOrders, cancelVerified, requestWithdrawal and requestTransfer then apply each with its entry,
   * in its turn. (Until 2026-12-06 a single cancel, withdrawal or transfer was checked on the main thread with a
   * verifier call of its own, about 0.1 ms each: one source's junk-signed cancels could hold the thread half the time.)
   */
  async verifyGroup(orders: readonly Signed<Order>[], commands: readonly SignedCommand[]): Promise<{ orders: VerifiedOrders; commands: VerifiedRequest[] }> {
    const checks = [
      ...orders.map((o) => this.#checkOf(o, () => ({ poseidon: orderMessageInputs(o) }))),
      ...commands.map((c) =>
        "cancel" in c ? this.#checkOf(c.cancel, () => cancelMessage(c.cancel))
        : "withdrawal" in c ? this.#checkOf(c.withdrawal, () => withdrawalMessage(c.withdrawal))
        : this.#checkOf(c.transfer, () => transferMessage(c.transfer))),
    ];
    const verdicts = await this.verifier.verifyBatch(checks.filter((c): c is SignatureCheck => !(c instanceof RequestRejected)));
    let v = 0;
    const verified = checks.map((c): VerifiedRequest => (c instanceof RequestRejected ? c : { check: c, verdict: verdicts[v++]! }));
    return { orders: { orders, verified: verified.slice(0, orders.length) }, commands: verified.slice(orders.length) };
  }

  /** The signature check of a signed request, or why it cannot be checked (no key, malformed message). */
  #checkOf(item: Signed<{ accountId: number }>, message: () => SignedMessage): SignatureCheck | RequestRejected {
    try {
      return this.signatureCheck(item.accountId, message, item.signature);
    } catch (e) {
      if (e instanceof RequestRejected) return e;
      throw e;
    }
  }

  /**
   * The second half of placeOrders: places verified orders in order (a key changed since verification
   * counts as a bad signature), logged as one group. `admit` is called for each order whose signature
   * holds, before anything changes; a RequestRejected it throws refuses that order (the API's
   * per-account rate limit, charged only for requests the account really signed).
   */
  placeVerifiedOrders({ orders, verified }: VerifiedOrders, admit?: (order: Signed<Order>, index: number) => void): IntakeOutcome[] {
    const time = this.journal.now();
    return this.journal.grouped(() =>
      orders.map((order, i): IntakeOutcome => {
        const v = verified[i]!;
        if (v instanceof RequestRejected) return { rejected: v };
        try {
          this.requireVerified(order.accountId, v.check, v.verdict, "order");
          this.refuseWhenBacklogged(order.accountId);
          if (order.marketId >= INSTRUMENT_MARKET_BASE) this.#refuseRetiredOracle();
          admit?.(order, i);
          const record: OrderRecord = { t: "order", order, time };
          return { events: this.logged(record, this.apply(record)) };
        } catch (e) {
          if (e instanceof RequestRejected) return { rejected: e };
          throw e;
        }
      }),
    );
  }


  /** Stop and take-profit orders held until their trigger (of one account when given), in arrival order. */
  heldOrders(accountId?: number): HeldOrder[] {
    return this.core.triggers.list(accountId);
  }

  /**
   * Cancels a live order with a signed cancel, which a batch then proves (the order can never fill
   * again). `admit` runs once the signature holds, before anything changes (see placeVerifiedOrders).
   */
  cancelOrder(cancel: Signed<Cancel>, admit?: () => void): EngineEvent[] {
    this.requireSigned(cancel.accountId, () => cancelMessage(cancel), cancel.signature, "cancel");
    return this.#applyCancel(cancel, admit);
  }

  /** cancelOrder for a cancel verifyGroup checked (`verified`, its entry): a key changed since counts as a bad signature. */
  cancelVerified(cancel: Signed<Cancel>, verified: VerifiedRequest, admit?: () => void): EngineEvent[] {
    this.requireChecked(cancel.accountId, () => cancelMessage(cancel), cancel.signature, "cancel", verified);
    return this.#applyCancel(cancel, admit);
  }

  #applyCancel(cancel: Signed<Cancel>, admit?: () => void): EngineEvent[] {
    admit?.();
    const record: CancelRecord = { t: "cancel", cancel, time: this.journal.now() };
    return this.logged(record, this.apply(record));
  }


  /**
   * Accepts a signed withdrawal when it passes the builder's stateless rules (withdrawalFault: a
   * non-zero amount, a token the state holds) and the account's available (unreserved) balance covers
   * it. `admit` as in cancelOrder; `verified`: its entry of verifyGroup (as cancelVerified's), else the signature is
   * checked here, synchronously.
   */
  requestWithdrawal(w: Signed<Withdrawal>, admit?: () => void, verified?: VerifiedRequest): void {
    this.requireChecked(w.accountId, () => withdrawalMessage(w), w.signature, "withdrawal", verified);
    this.refuseWhenBacklogged(w.accountId);
    this.#refuseNoncedBacklog(w.accountId);
    admit?.();
    const record: WithdrawRecord = { t: "withdraw", withdrawal: w, time: this.journal.now() };
    this.logged(record, this.apply(record));
  }



  /**
   * Accepts a signed transfer between the spot quote balance and derivatives collateral (checks:
   * DerivativesService.acceptTransfer). `admit` and `verified` as in requestWithdrawal.
   */
  requestTransfer(t: Signed<Transfer>, admit?: () => void, verified?: VerifiedRequest): void {
    this.requireChecked(t.accountId, () => transferMessage(t), t.signature, "transfer", verified);
    this.refuseWhenBacklogged(t.accountId);
    this.#refuseRetiredOracle();
    this.#refuseNoncedBacklog(t.accountId);
    admit?.();
    const record: TransferRecord = { t: "transfer", transfer: t, time: this.journal.now() };
    this.logged(record, this.apply(record));
  }


  /** The sequencer's clock: the time input of intake (unix seconds; the devnet moves it with the chain's). */
  now(): number {
    return this.journal.now();
  }

  /**
   * Accepts a signed oracle update: it must be under the custodian's oracle key and pass the circuit's
   * rules (DerivativesService.applyOracleUpdate). Funding, expiry settlement, cancellation of orders
   * margin no longer covers and liquidations follow at once. Logged before it returns.
   */
  async acceptOracleUpdate(update: SignedOracleUpdate): Promise<OracleOutcome> {
    await this.derivatives.checkOracleKey(update);
    // Anyone can post an update under the (public) oracle key: its signature is checked first with the configured
    // verifier (native: about 0.1 ms), so only the oracle's own updates reach the step's JavaScript check (20 ms).
    const [signed] = await this.verifier.verifyBatch([{ message: oracleMessage(update), signature: update.signature, publicKey: update.key }]);
    if (!signed) throw new RequestRejected("BAD_ORACLE_SIGNATURE", "the oracle update is not signed by its key");
    // Checked again now, with nothing awaited before it is applied: a read of the custodian's key while the signature
    // was verified may have retired this update's key (applying it would put the old key back: review of 2026-12-06).
    if (this.derivatives.oracleKeyRetired(update)) throw new RequestRejected("BAD_ORACLE_KEY", "the update is not under the custodian's oracle key (replaced meanwhile)");
    return this.journal.grouped(() => {
      const record: OracleRecord = { t: "oracle", update, time: this.journal.now() };
      return this.logged(record, this.apply(record));
    });
  }







  // ---- batching ---------------------------------------------------------------------------------

  /**
   * Moves the batch pipeline on until a batch is posted (BatchPipeline.runBatches): the newest batch
   * posted, or null when nothing was. A batch in flight is posted never twice, or abandoned when it can
   * no longer reach the chain in time. Errors are thrown to the caller. Calls run one at a time.
   */
  runBatch(): Promise<PostedBatch | null> {
    return this.pipeline.runBatch();
  }

  /** As runBatch, with every batch the call posted, oldest first (several with `batchesPerPost` > 1). */
  runBatches(): Promise<PostedBatch[]> {
    return this.pipeline.runBatches();
  }

  /**
   * The service loop: pull requests, and post a batch when a batch is full or its oldest transaction
   * has waited `maxWaitMs`. A failure (prover, chain) is reported through `onError` and retried after
   * `retryMs`; the transactions stay queued, so nothing is dropped. Returns a function that stops it.
   */
  start(opts: { pollMs?: number; maxWaitMs?: number; retryMs?: number; onError?: (e: unknown) => void } = {}): () => Promise<void> {
    const pollMs = opts.pollMs ?? 500;
    const maxWaitMs = opts.maxWaitMs ?? 2_000;
    let running = true;
    const loop = (async () => {
      while (running) {
        try {
          await this.syncRequests();
          const oldest = this.core.pending[0];
          // (waiting time on the sequencer's clock, the time input of intake: the devnet moves it)
          const due = this.pipeline.unpostedBatch !== null || (oldest && (this.core.pending.length >= this.params.slots || (this.journal.now() - oldest.time) * 1000 >= maxWaitMs));
          // (nothing posted while something is due: what is left waits for the chain's time; poll)
          if (due && (await this.runBatch())) continue;
        } catch (e) {
          (opts.onError ?? ((err) => this.log(`batch failed, will retry: ${(err as Error).message}`)))(e);
          await new Promise((r) => setTimeout(r, opts.retryMs ?? 2_000));
          continue;
        }
        await new Promise((r) => setTimeout(r, pollMs));
      }
    })();
    return async () => {
      running = false;
      await loop;
    };
  }

  /** Runs batches until nothing is pending. */
  async drain(): Promise<PostedBatch[]> {
    const out: PostedBatch[] = [];
    for (let b = await this.runBatches(); b.length; b = await this.runBatches()) out.push(...b);
    return out;
  }
}
