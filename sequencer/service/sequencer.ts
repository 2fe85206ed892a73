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
import { EventEmitter } from "node:events";
import { verifyMessage, type PublicKey } from "../crypto/babyjub.ts";
import type { SignatureCheck, SignatureVerifier } from "../crypto/signatureVerifier.ts";
import { defaultSignatureVerifier } from "../crypto/nativeSignatureVerifier.ts";
import { buildBatch } from "../batch/batchWitness.ts";
import type { BatchTx } from "../batch/transactions.ts";
import { CustodianClient, type ChainContext } from "../chain/custodianClient.ts";
import { toCalldataProof, type CalldataProof } from "../chain/proof.ts";
import { MarketRegistry, MatchingEngine, type EngineEvent, type FillEvent } from "../matching/index.ts";
import { Side, TxType } from "../protocol/constants.ts";
import { cancelMessage, orderMessage, withdrawalMessage, type Cancel, type Order, type Signed, type Withdrawal } from "../protocol/messages.ts";
import type { CircuitParams } from "../protocol/params.ts";
import { SpotRisk } from "../risk/spotRisk.ts";
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
  /** Checks trading-key signatures at intake (default: native batch verification when the addon is built, else the JavaScript reference). */
  verifier?: SignatureVerifier;
  log?: (line: string) => void;
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

/**
 * What observers (the API's history, stream and batch log) are told, synchronously, as it happens:
 * `engine`: the events of one command the engine executed (refused ones included), with the incoming
 * order when it was a placement; `batch`: a batch was proven and posted, with its proof.
 */
export type SequencerEvents = {
  engine: [events: readonly EngineEvent[], incoming: Signed<Order> | undefined];
  batch: [batch: PostedBatch & { proof: CalldataProof }];
};

export class Sequencer {
  readonly params: CircuitParams;
  readonly markets = new MarketRegistry();
  readonly risk = new SpotRisk();
  readonly engine: MatchingEngine;
  /** The state proven batches commit to (advanced when a batch is built). */
  readonly state: ExchangeState;
  readonly custodian: CustodianClient;
  readonly events = new EventEmitter<SequencerEvents>();
  private readonly opts: SequencerOptions;
  private readonly keys = new Map<number, PublicKey>();
  /** The live signed order of each account's order-storage slot: a slot holds at most one. */
  private readonly liveBySlot = new Map<string, Signed<Order>>();
  /** Highest order id accepted per account and order-storage slot: a slot's ids only grow. */
  private readonly slotIds = new Map<string, bigint>();
  private readonly nextNonce = new Map<number, number>();
  /** Transactions waiting for a batch, with the time the sequencer accepted them. */
  private readonly pending: { tx: BatchTx; time: number }[] = [];
  private requestsSeen = 0;
  private batchNumber = 0;

  private readonly verifier: SignatureVerifier;

  constructor(opts: SequencerOptions) {
    this.opts = opts;
    this.verifier = opts.verifier ?? defaultSignatureVerifier();
    this.params = opts.params;
    this.state = new ExchangeState(opts.params);
    this.engine = new MatchingEngine({ markets: this.markets, risk: this.risk });
    this.custodian = new CustodianClient(opts.chain);
  }

  get pendingTransactions(): number {
    return this.pending.length;
  }

  /** The trading key registered for `accountId` (usable at once, proven with its batch). */
  tradingKey(accountId: number): PublicKey | undefined {
    return this.keys.get(accountId);
  }

  /** The nonce the account's next withdrawal must carry. */
  withdrawalNonce(accountId: number): number {
    return this.nextNonce.get(accountId) ?? 0;
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

  private enqueue(tx: BatchTx): void {
    this.pending.push({ tx, time: this.now() });
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
    } else throw new Error(`transaction type ${tx.type} is not an on-chain request`);
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
    const verdicts = await this.verifier.verifyBatch(toVerify);
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
    this.events.emit("engine", events, incoming);
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
      type: TxType.TRADE,
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
    const entries = this.pending.slice(0, this.params.slots);
    const txs = entries.map((e) => e.tx);
    // The batch is stamped with the time its first transaction was accepted: every order it fills was
    // live (not expired) then, and later batches carry later transactions, so stamps never go back.
    const timestamp = Math.max(entries[0].time, await this.custodian.lastTimestamp());
    // The chain's batch counter numbers the batch; its root must be ours, or this sequencer is out of sync.
    const [chainCount, chainRoot] = await Promise.all([this.custodian.batchCount(), this.custodian.stateRoot()]);
    if (chainRoot !== this.state.root) {
      throw new Error(`out of sync: the custodian's root ${chainRoot} is not the sequencer's ${this.state.root}`);
    }
    this.batchNumber = chainCount;
    const t = this.state.begin();
    try {
      const t0 = performance.now();
      const batch = buildBatch(this.state, txs, { batchNumber: this.batchNumber, timestamp, verifySignatures: false });
      const t1 = performance.now();
      const proved = await this.opts.prover.prove(this.batchNumber, this.opts.keys, batch.circuitInput, batch.publicInput.toString());
      const p0 = performance.now();
      const proof = toCalldataProof(proved.proof);
      const txHash = await this.custodian.submitBatch(this.batchNumber, batch.publicData, proof);
      const postMs = performance.now() - p0;
      t.commit();
      this.pending.splice(0, txs.length);
      const posted: PostedBatch = {
        batchNumber: this.batchNumber++,
        txHash,
        transactions: txs.length,
        timings: { buildMs: t1 - t0, witnessMs: proved.timings.witnessMs, proveMs: proved.timings.proveMs, verifyMs: proved.timings.verifyMs, postMs },
      };
      this.log(`batch ${posted.batchNumber}: ${txs.length} tx, proved in ${Math.round(posted.timings.proveMs)} ms, posted ${txHash}`);
      this.events.emit("batch", { ...posted, proof });
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
