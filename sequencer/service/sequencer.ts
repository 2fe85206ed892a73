/**
 * The sequencer: one process that accepts signed orders, cancels and withdrawals (soft confirmation
 * at once), matches them, and turns everything into proven batches posted to the custodian.
 *
 *   intake (signature, order-slot and risk checks) -> matching engine -> pending transactions
 *   pending transactions -> batch witness -> prover -> second verification -> custodian.submitBatch
 *
 * The matching engine and the spot risk module hold the rules of matching and reservation; this file
 * only wires them to the proven state and the chain.
 */
import { verifyMessage, type PublicKey } from "../crypto/babyjub.ts";
import { jsSignatureVerifier, type SignatureCheck, type SignatureVerifier } from "../crypto/signatureVerifier.ts";
import { buildBatch } from "../batch/batchWitness.ts";
import type { BatchTx } from "../batch/transactions.ts";
import { CustodianClient, type ChainContext } from "../chain/custodianClient.ts";
import { toCalldataProof } from "../chain/proof.ts";
import { MarketRegistry, MatchingEngine, type EngineEvent, type FillEvent } from "../matching/index.ts";
import { INSTRUMENT_MARKET_BASE, Side, TxType } from "../protocol/constants.ts";
import { cancelMessage, orderMessage, transferMessage, withdrawalMessage, type Cancel, type Order, type Signed, type Transfer, type Withdrawal } from "../protocol/messages.ts";
import type { CircuitParams } from "../protocol/params.ts";
import { SpotRisk } from "../risk/spotRisk.ts";
import { RoutedRisk } from "../risk/routedRisk.ts";
import type { SignedOracleUpdate } from "../derivatives/oracleStep.ts";
import { DerivativesService, type Liquidator, type OracleOutcome } from "./derivatives.ts";
import { selectBatch, type PendingEntry } from "./batchSelection.ts";
import { ExchangeState } from "../state/exchangeState.ts";
import type { CircuitKeys } from "../../fpga-prover/device.ts";
import type { VerifiedProver } from "../../fpga-prover/prover.ts";

export type SequencerOptions = {
  params: CircuitParams;
  keys: CircuitKeys;
  /** Proves batches and checks each proof before it is posted (a ProverPool or a SingleDeviceProver). */
  prover: VerifiedProver;
  chain: ChainContext;
  makerFeePpm?: number;
  takerFeePpm?: number;
  /** Checks trading-key signatures at intake (default: the JavaScript reference, one at a time). */
  verifier?: SignatureVerifier;
  log?: (line: string) => void;
  /** The operator's liquidator account (sequencer/service/derivatives.ts); without it nothing is liquidated. */
  liquidator?: Liquidator;
};

/** Why the sequencer refused a request. Nothing changed. */
export class RequestRejected extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

/** The outcome of one request of a batched intake call: the engine's events, or why it was refused. */
export type IntakeOutcome = { events: EngineEvent[] } | { rejected: RequestRejected };

export type PostedBatch = {
  batchNumber: number;
  txHash: string | null;
  transactions: number;
  timings: { buildMs: number; witnessMs: number; proveMs: number; verifyMs: number; postMs: number };
};

export class Sequencer {
  readonly params: CircuitParams;
  readonly markets = new MarketRegistry();
  readonly risk = new SpotRisk();
  readonly engine: MatchingEngine;
  /** Instruments, oracle updates, derivatives risk, liquidations and settlements. */
  readonly derivatives: DerivativesService;
  /** The state proven batches commit to (advanced when a batch is built). */
  readonly state: ExchangeState;
  readonly custodian: CustodianClient;
  private readonly opts: SequencerOptions;
  private readonly keys = new Map<number, PublicKey>();
  /** The live signed order of each account's order-storage slot: a slot holds at most one. */
  private readonly liveBySlot = new Map<string, Signed<Order>>();
  /** Highest order id accepted per account and order-storage slot: a slot's ids only grow. */
  private readonly slotIds = new Map<string, bigint>();
  private readonly nextNonce = new Map<number, number>();
  /** Transactions waiting for a batch, with the time the sequencer accepted them. */
  private readonly pending: PendingEntry[] = [];
  private requestsSeen = 0;
  private batchNumber = 0;

  constructor(opts: SequencerOptions) {
    this.opts = opts;
    this.params = opts.params;
    this.state = new ExchangeState(opts.params);
    const engine = () => this.engine;
    this.derivatives = new DerivativesService({
      params: opts.params, get engine() { return engine(); }, markets: this.markets, spot: this.risk,
      enqueue: (tx, oracle) => this.enqueue(tx, oracle), absorb: (events) => this.absorb(events),
      oracleKey: () => this.custodian.oracleKey(), now: () => this.now(), log: (line) => this.log(line),
      makerFeePpm: opts.makerFeePpm ?? 0, takerFeePpm: opts.takerFeePpm ?? 0,
    }, opts.liquidator);
    this.engine = new MatchingEngine({ markets: this.markets, risk: new RoutedRisk(this.risk, this.derivatives.risk) });
    this.custodian = new CustodianClient(opts.chain);
  }

  get pendingTransactions(): number {
    return this.pending.length;
  }

  /** The prover's metrics (queue depth, throughput, latency per stage, device health), when it reports any. */
  proverMetrics(): object | null {
    return this.opts.prover.metrics?.() ?? null;
  }

  /** The transactions waiting for a batch, oldest first. */
  peekPending(): readonly BatchTx[] {
    return this.pending.map((p) => p.tx);
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private now(): number {
    return Math.floor(Date.now() / 1000);
  }

  private enqueue(tx: BatchTx, oracle = this.derivatives.oracleFor(tx)): void {
    this.pending.push({ tx, time: this.now(), oracle });
  }

  // ---- intake ----------------------------------------------------------------------------------

  /** Pulls new on-chain requests (keys, deposits, markets) into the pending queue, in queue order. */
  async syncRequests(): Promise<number> {
    const requests = await this.custodian.requests(this.requestsSeen);
    for (const r of requests) {
      this.acceptRequest(r.tx);
      this.requestsSeen = r.index + 1;
    }
    return requests.length;
  }

  /** Admits one on-chain request (in queue order): its effect is usable at once and it waits for a batch. */
  acceptRequest(tx: BatchTx): void {
    if (tx.type === TxType.REGISTER_KEY) this.keys.set(tx.accountId, tx.pubKey);
    else if (tx.type === TxType.DEPOSIT) this.risk.credit(tx.accountId, tx.tokenId, tx.amount);
    else if (tx.type === TxType.REGISTER_MARKET) {
      this.markets.add({
        marketId: tx.marketId, baseTokenId: tx.baseTokenId, sizeUnit: tx.sizeUnit, priceUnit: tx.priceUnit,
        makerFeePpm: this.opts.makerFeePpm ?? 0, takerFeePpm: this.opts.takerFeePpm ?? 0,
      });
    } else if (tx.type !== TxType.REGISTER_INSTRUMENT) throw new Error(`transaction type ${tx.type} is not an on-chain request`);
    this.enqueue(tx);
  }

  /** The check of one signed request, or why it cannot be checked (no key, malformed message). */
  private signatureCheck(accountId: number, message: () => bigint, signature: Signed<object>["signature"]): SignatureCheck {
    const publicKey = this.keys.get(accountId);
    if (!publicKey) throw new RequestRejected("NO_TRADING_KEY", `account ${accountId} has no registered trading key`);
    let m: bigint;
    try {
      m = message();
    } catch (e) {
      throw new RequestRejected("MALFORMED", (e as Error).message);
    }
    return { message: m, signature, publicKey };
  }

  /** Throws BAD_SIGNATURE unless the verifier accepted `check` and the key it used is still the account's. */
  private requireVerified(accountId: number, check: SignatureCheck, verdict: boolean, what: string): void {
    if (!verdict || this.keys.get(accountId) !== check.publicKey) {
      throw new RequestRejected("BAD_SIGNATURE", `${what} is not signed by account ${accountId}'s trading key`);
    }
  }

  private requireSigned(accountId: number, message: () => bigint, sig: Signed<object>["signature"], what: string): void {
    const check = this.signatureCheck(accountId, message, sig);
    this.requireVerified(accountId, check, verifyMessage(check.message, check.signature, check.publicKey), what);
  }

  /** Places a signed order; returns the engine's events (accepted/rejected, fills, cancels). */
  placeOrder(order: Signed<Order>): EngineEvent[] {
    this.requireSigned(order.accountId, () => orderMessage(order), order.signature, "order");
    return this.placeVerified(order);
  }

  /**
   * Places many signed orders, in order, with all their signatures checked in one call to the
   * configured verifier (where batching pays). Each order gets its own outcome; a refused order
   * changes nothing and does not stop the others.
   */
  async placeOrders(orders: readonly Signed<Order>[]): Promise<IntakeOutcome[]> {
    const checks: (SignatureCheck | RequestRejected)[] = orders.map((o) => {
      try {
        return this.signatureCheck(o.accountId, () => orderMessage(o), o.signature);
      } catch (e) {
        if (e instanceof RequestRejected) return e;
        throw e;
      }
    });
    const toVerify = checks.filter((c): c is SignatureCheck => !(c instanceof RequestRejected));
    const verdicts = await (this.opts.verifier ?? jsSignatureVerifier).verifyBatch(toVerify);
    let v = 0;
    return orders.map((order, i) => {
      const check = checks[i];
      if (check instanceof RequestRejected) return { rejected: check };
      const verdict = verdicts[v++];
      try {
        this.requireVerified(order.accountId, check, verdict, "order");
        return { events: this.placeVerified(order) };
      } catch (e) {
        if (e instanceof RequestRejected) return { rejected: e };
        throw e;
      }
    });
  }

  private placeVerified(order: Signed<Order>): EngineEvent[] {
    const slot = this.slotKey(order.accountId, order.orderId);
    const last = this.slotIds.get(slot);
    if (last !== undefined && order.orderId <= last) {
      throw new RequestRejected("ORDER_ID_REUSED", `order id ${order.orderId} must exceed ${last}, the last id in its storage slot`);
    }
    if (this.liveBySlot.has(slot)) throw new RequestRejected("ORDER_SLOT_BUSY", `a live order of account ${order.accountId} uses the storage slot of order id ${order.orderId}`);

    this.derivatives.checkOrder(order, this.now());
    const events = this.engine.execute({ kind: "place", time: this.now(), order });
    if (events.some((e) => e.type === "accepted")) {
      this.slotIds.set(slot, order.orderId);
      this.liveBySlot.set(slot, order);
    }
    this.absorb(events, order);
    return events;
  }

  /** Cancels a live order with a signed cancel, which a batch then proves (the order can never fill again). */
  cancelOrder(cancel: Signed<Cancel>): EngineEvent[] {
    this.requireSigned(cancel.accountId, () => cancelMessage(cancel), cancel.signature, "cancel");
    const events = this.engine.execute({ kind: "cancel", time: this.now(), accountId: cancel.accountId, orderId: cancel.orderId });
    if (events.some((e) => e.type === "cancelled")) this.enqueue({ type: TxType.CANCEL, request: cancel });
    this.absorb(events);
    return events;
  }

  /** Accepts a signed withdrawal when the account's available (unreserved) balance covers it. */
  requestWithdrawal(w: Signed<Withdrawal>): void {
    this.requireSigned(w.accountId, () => withdrawalMessage(w), w.signature, "withdrawal");
    const expected = this.nextNonce.get(w.accountId) ?? 0;
    if (w.nonce !== expected) throw new RequestRejected("BAD_NONCE", `withdrawal nonce ${w.nonce}, expected ${expected}`);
    if (!this.risk.debit(w.accountId, w.tokenId, w.amount)) {
      throw new RequestRejected("INSUFFICIENT_BALANCE", `account ${w.accountId} cannot withdraw ${w.amount} of token ${w.tokenId}`);
    }
    this.nextNonce.set(w.accountId, expected + 1);
    this.enqueue({ type: TxType.WITHDRAW, request: w });
  }

  /** Accepts a signed transfer between the spot quote balance and collateral (checks: derivatives.acceptTransfer). */
  requestTransfer(t: Signed<Transfer>): void {
    this.requireSigned(t.accountId, () => transferMessage(t), t.signature, "transfer");
    const expected = this.nextNonce.get(t.accountId) ?? 0;
    if (t.nonce !== expected) throw new RequestRejected("BAD_NONCE", `transfer nonce ${t.nonce}, expected ${expected}`);
    this.derivatives.acceptTransfer(t);
    this.nextNonce.set(t.accountId, expected + 1);
    this.enqueue({ type: TxType.TRANSFER, request: t });
  }

  /** Accepts a signed oracle update (funding, expiry, margin re-checks and liquidations follow). */
  acceptOracleUpdate(update: SignedOracleUpdate): Promise<OracleOutcome> {
    return this.derivatives.acceptOracleUpdate(update);
  }

  private slotKey(accountId: number, orderId: bigint): string {
    return `${accountId}:${this.state.orderSlotIndex(orderId)}`;
  }

  private liveOrder(accountId: number, orderId: bigint): Signed<Order> | undefined {
    const o = this.liveBySlot.get(this.slotKey(accountId, orderId));
    return o && o.orderId === orderId ? o : undefined;
  }

  private forget(accountId: number, orderId: bigint): void {
    if (this.liveOrder(accountId, orderId)) this.liveBySlot.delete(this.slotKey(accountId, orderId));
  }

  /** Turns fills into trade transactions and forgets orders that left the book. */
  private absorb(events: readonly EngineEvent[], incoming?: Signed<Order>): void {
    // (also called by the derivatives service for the cancellations it causes)
    for (const e of events) {
      if (e.type === "fill") this.enqueue(this.tradeOf(e, incoming));
      else if (e.type === "cancelled") this.forget(e.accountId, e.orderId);
    }
    for (const e of events) {
      if (e.type !== "fill") continue;
      for (const [acc, id] of [[e.makerAccount, e.makerOrderId], [e.takerAccount, e.takerOrderId]] as const) {
        if (!this.engine.order(acc, id)) this.forget(acc, id);
      }
    }
  }

  private tradeOf(fill: FillEvent, incoming?: Signed<Order>): BatchTx {
    const signed = (acc: number, id: bigint) => {
      const o = this.liveOrder(acc, id) ?? (incoming && incoming.accountId === acc && incoming.orderId === id ? incoming : undefined);
      if (!o) throw new Error(`internal: no signed order ${acc}:${id} for a fill`);
      return o;
    };
    const maker = signed(fill.makerAccount, fill.makerOrderId);
    const taker = signed(fill.takerAccount, fill.takerOrderId);
    const makerBuys = fill.makerSide === Side.BUY;
    return {
      type: fill.marketId >= INSTRUMENT_MARKET_BASE ? TxType.DERIV_TRADE : TxType.TRADE,
      buy: makerBuys ? maker : taker,
      sell: makerBuys ? taker : maker,
      lots: fill.lots,
      priceTicks: fill.priceTicks,
      buyFeePpm: makerBuys ? fill.makerFeePpm : fill.takerFeePpm,
      sellFeePpm: makerBuys ? fill.takerFeePpm : fill.makerFeePpm,
    };
  }

  // ---- batching ---------------------------------------------------------------------------------

  /**
   * Proves and posts the next batch of up to `slots` pending transactions. Returns null when nothing is
   * pending. A transaction leaves the queue only once its batch is on-chain; on any failure the state
   * is rolled back and the error is thrown to the caller (never dropped).
   */
  async runBatch(): Promise<PostedBatch | null> {
    if (this.pending.length === 0) return null;
    const { count, txs, oracle } = selectBatch(this.pending, this.params);
    // The batch is stamped with the time its first transaction was accepted: every order it fills was
    // live (not expired) then, and later batches carry later transactions, so stamps never go back.
    // A batch using an oracle update is not stamped before it.
    const timestamp = Math.max(this.pending[0].time, await this.custodian.lastTimestamp(), oracle?.time ?? 0);
    // The chain's batch counter numbers the batch; its root must be ours, or this sequencer is out of sync.
    const [chainCount, chainRoot] = await Promise.all([this.custodian.batchCount(), this.custodian.stateRoot()]);
    if (chainRoot !== this.state.root) {
      throw new Error(`out of sync: the custodian's root ${chainRoot} is not the sequencer's ${this.state.root}`);
    }
    this.batchNumber = chainCount;
    const t = this.state.begin();
    try {
      const t0 = performance.now();
      const batch = buildBatch(this.state, txs, { batchNumber: this.batchNumber, timestamp, verifySignatures: false, oracle });
      const t1 = performance.now();
      const proved = await this.opts.prover.prove(this.batchNumber, this.opts.keys, batch.circuitInput, batch.publicInput.toString());
      const p0 = performance.now();
      const txHash = await this.custodian.submitBatch(this.batchNumber, batch.publicData, toCalldataProof(proved.proof));
      const postMs = performance.now() - p0;
      t.commit();
      this.pending.splice(0, count);
      this.derivatives.onBatchPosted(txs);
      const posted: PostedBatch = {
        batchNumber: this.batchNumber++,
        txHash,
        transactions: txs.length,
        timings: { buildMs: t1 - t0, witnessMs: proved.timings.witnessMs, proveMs: proved.timings.proveMs, verifyMs: proved.timings.verifyMs, postMs },
      };
      this.log(`batch ${posted.batchNumber}: ${txs.length} tx, proved in ${Math.round(posted.timings.proveMs)} ms, posted ${txHash}`);
      return posted;
    } catch (e) {
      t.rollback();
      throw e;
    }
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
          const oldest = this.pending[0];
          const due = oldest && (this.pending.length >= this.params.slots || Date.now() - oldest.time * 1000 >= maxWaitMs);
          if (due) {
            await this.runBatch();
            continue;
          }
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
    for (let b = await this.runBatch(); b; b = await this.runBatch()) out.push(b);
    return out;
  }
}
