/**
 * The exchange core, in the exchange-core / LMAX shape: synchronous, no I/O, fed by records. Each
 * change to intake is one log record (sequencer/persistence/records.ts) handed to `apply`, live and in
 * replay alike; the record carries its time, so the core reads no clock, writes no log and checks no
 * signature (the Sequencer around it does those, then journals the record once it applied).
 *
 * It owns intake state: the trading keys, the order-storage slots (the live signed order of each, the
 * last id used in each), the withdrawal and transfer nonces, the queue of accepted transactions waiting
 * for a batch, and the rejection path that corrects intake when no batch can prove one of them. It
 * builds the derivatives service (bound to its own queue, order ids and event path; only the oracle key
 * read comes from outside) and the matching engine over it, and drives them and the spot risk module, turning fills into
 * trade transactions, and tells its observers (`CoreObservers`) what the engine did and what left the
 * queue, as it happens.
 */
import type { PublicKey } from "../crypto/babyjub.ts";
import { txAccounts, type BatchTx, type ForcedCloseTx, type ForcedWithdrawTx } from "../protocol/transactions.ts";
import { forcedWithdrawHonoured } from "../state/forcedWithdrawal.ts";
import { CancelReason, type EngineEvent, type FillEvent, type MarketRegistry, type MatchingEngine } from "../matching/index.ts";
import { INSTRUMENT_MARKET_BASE, JUDGED_AT_MARKS_TYPES, QUOTE_TOKEN_ID, REQUEST_TYPES, Side, TxType } from "../protocol/constants.ts";
import { isOption } from "../derivatives/formulas.ts";
import { cancelFault, hasTrigger, immediateExpiryFault, triggerCrossed, triggerFault, withdrawalFault, type Cancel, type Order, type RequestFault, type Signed, type Transfer, type Withdrawal } from "../protocol/messages.ts";
import type { CircuitParams } from "../protocol/params.ts";
import type { SpotRisk } from "../risk/spotRisk.ts";
import { instrumentOf, type DerivativesRisk } from "../risk/derivativesRisk.ts";
import { DerivativesService, type Liquidator } from "./derivatives.ts";
import type { SignedOracleUpdate } from "../derivatives/oracleStep.ts";
import type { OracleOutcome } from "../wire/responses.ts";
import { cancelledOrder, ordersStored, type AwaitingRequest, type PendingEntry } from "./batchSelection.ts";
import { MAX_TRIGGER_ORDERS_PER_ACCOUNT, TriggerBook } from "../matching/triggers.ts";
import { checkOrder } from "../matching/validate.ts";
import { RequestRejected } from "./requestRejected.ts";
import type { ExchangeState } from "../state/exchangeState.ts";
import type {
  CancelRecord, ExpireRecord, ForcedOutcomeRecord, OracleRecord, OrderRecord, RejectRecord, RequestRecord, TransferRecord, WithdrawRecord,
} from "../persistence/records.ts";
import { sortedEntries, type SequencerSnapshot } from "./snapshot.ts";

/** The records the core applies: every change to intake (the batch pipeline's own records are not its). */
export type IntakeRecord = RequestRecord | OrderRecord | CancelRecord | WithdrawRecord | TransferRecord | OracleRecord | ExpireRecord | RejectRecord | ForcedOutcomeRecord;

/**
 * A transaction taken out of the queue because no batch can prove it: the builder's code and message,
 * the transaction, the accounts it concerns, when.
 */
export type TxRejection = { code: string; message: string; tx: BatchTx; accounts: number[]; time: number };

/** The intake part of a snapshot (SequencerSnapshot). */
export type IntakeSnapshot = Pick<SequencerSnapshot, "keys" | "liveBySlot" | "slotIds" | "nextNonce" | "pending" | "awaitingMarks" | "staleOracleTime" | "rebaseOwed" | "requestsSeen" | "triggers" | "deferredCancels">;

/** Who is told what happened, synchronously, as it happens. */
export type CoreObservers = {
  /**
   * The events of one command the engine executed (refused ones included), with the incoming order of a placement; or
   * the cancellations of resting orders expired at a record's time (MatchingEngine.expire) or of a held order dropped,
   * with no `done`.
   */
  engine(events: readonly EngineEvent[], incoming: Signed<Order> | undefined): void;
  /** A transaction left the queue (rejectPending). */
  rejected(rejection: TxRejection): void;
  /**
   * The account's trading key changed (a rotation taken into intake: tradingKey answers `publicKey` from now on),
   * told before the rotation's key-rotated cancels, so that what was authenticated by the old key ends first.
   */
  keyChanged(accountId: number, publicKey: PublicKey): void;
  /** A line for the operator's log. */
  log(line: string): void;
};

/**
 * The parts the core drives (the Sequencer builds them, restored from a snapshot or new), and what the
 * core needs to build the rest itself: the matching engine over the derivatives risk engine, and the
 * derivatives service (its I/O, the custodian's oracle key, and its liquidator).
 */
export type CoreParts = {
  params: CircuitParams;
  markets: MarketRegistry;
  risk: SpotRisk;
  /** Builds the matching engine (restored or new) over the derivatives service's risk engine. */
  engine(derivativesRisk: DerivativesRisk): MatchingEngine;
  /** The custodian's registered oracle key, compressed, or null (a chain read: DerivativesHost.oracleKey). */
  oracleKey(): Promise<bigint | null>;
  /** Wall-clock milliseconds, which pace those reads (DerivativesHost.wallClockMs). */
  wallClockMs(): number;
  /** The operator's liquidator; without it nothing is liquidated. */
  liquidator?: Liquidator;
  /** The transactions of the batches taken from the queue and not yet on chain (an abandoned one gives them back to the queue's head). */
  inFlight(): readonly BatchTx[];
  /** The state proven batches commit to (read: order-storage slots; a rejection rebases derivatives on it). */
  state: ExchangeState;
  /** The fees of a market an on-chain request registers. */
  makerFeePpm: number;
  takerFeePpm: number;
  observers: CoreObservers;
};

/**
 * The exchange's cancels that the proven state records (OPERATOR_CANCEL): the risk engine's (`uncovered`), the
 * resting order of a self-trade (`self-trade`), a reduce-only order's remainder (`reduce-only`), an incoming order's
 * remainder past MAX_FILLS_PER_ORDER (`fill-limit`), an order met for a fill while its account had no position slot
 * for it (`position-slots`: a resting maker, which the circuit would fill once the account has a slot again) and the
 * open and held orders of a key rotation (`key-rotated`: the replaced key's orders cannot be filled while the new key
 * is registered, but would be again if the account ever registered the old key back): orders that rested, or whose
 * fills are in the proven state, and that would otherwise stay fillable within their signed limits. Rare by
 * nature, so a spot slot each is cheap; IOC remainders (every unfilled market order) are not (G12).
 */
export const PROVEN_CANCEL_REASONS: ReadonlySet<CancelReason> = new Set([
  CancelReason.UNCOVERED, CancelReason.SELF_TRADE, CancelReason.REDUCE_ONLY, CancelReason.KEY_ROTATED, CancelReason.FILL_LIMIT,
  CancelReason.POSITION_SLOTS,
]);

/** The transactions that move an account's derivatives state (exchangeCore.ts #tradeKept). */
const MOVES_DERIVATIVES: ReadonlySet<number> = new Set([
  TxType.DERIV_TRADE, TxType.LIQUIDATE, TxType.SETTLE, TxType.TRANSFER, TxType.FORCED_COLLATERAL_WITHDRAW, TxType.DELEVERAGE, TxType.FORCED_CLOSE,
]);

/** The account and nonce of a nonced request (WITHDRAW, TRANSFER), or null. */
function noncedOf(tx: BatchTx): { accountId: number; nonce: number } | null {
  return tx.type === TxType.WITHDRAW || tx.type === TxType.TRANSFER ? { accountId: tx.request.accountId, nonce: tx.request.nonce } : null;
}

/** A request its owner forces through the custodian's queue: a forced withdrawal or a forced close. */
export type ForcedTx = ForcedWithdrawTx | ForcedCloseTx;

/** Whether a forced request is judged at an oracle update's marks, so that only a batch with one serves it (FORCED_COLLATERAL_WITHDRAW, FORCED_CLOSE). */
export function judgedAtMarks(tx: BatchTx): tx is ForcedTx {
  return JUDGED_AT_MARKS_TYPES.includes(tx.type);
}

/**
 * Where a forced request enters the queue: right after the last pending on-chain request (the custodian's
 * queue order), the last pending entry (proven cancels aside) of an account it moves (so the batch applies it to the state intake
 * decided its outcome on) and, for one judged at marks, the last entry tagged with an oracle update (a batch
 * uses one update, and updates only move forward); ahead of everything else (other accounts' trades,
 * cancels, withdrawals), which the batch selection (a prefix of the queue) then serves after it.
 */
export function forcedPosition(pending: readonly PendingEntry[], tx: ForcedTx): number {
  const moved = txAccounts(tx);
  let at = 0;
  pending.forEach((e, i) => {
    // (a proven cancel moves nothing a forced request reads: it stays in the cancels' lane behind: see enqueue)
    if (cancelledOrder(e.tx)) return;
    const mustFollow = REQUEST_TYPES.includes(e.tx.type) || txAccounts(e.tx).some((a) => moved.includes(a))
      || (judgedAtMarks(tx) && e.oracle !== undefined);
    if (mustFollow) at = i + 1;
  });
  return at;
}

/**
 * Proven cancels (CANCEL, OPERATOR_CANCEL) one account may have in the queue at once. Each takes a batch slot, and
 * one account can cause thousands (a cancel of every order of its 4,096 slots, a self-trade sweep, a key rotation).
 * Cancels form the queue's tail, a lane of their own: every other entry is queued ahead of them (enqueue), so they
 * hold nobody's entries back, and batches take them with the room left. Within the lane each account has at most
 * this many; the rest wait in its deferred list and join the lane's tail as those are batched (refillCancels), so a
 * flood of one account delays only its own cancels' proofs. Intake takes the order off the book at once either way:
 * only the proof waits (a proof the operator could always withhold: it protects against an operator's fill later).
 */
export const QUEUED_CANCELS_PER_ACCOUNT = 8;



/** Refuses a request for a stateless fault (the function the witness builder applies too). */
function refuseFault(fault: RequestFault | null): void {
  if (fault) throw new RequestRejected(fault.code, fault.message);
}

/** Intake state and its rules, fed by records (see the module comment): synchronous, no I/O. */
export class ExchangeCore {
  readonly #parts: CoreParts;
  /** The matching engine (built by `parts.engine`, after the derivatives service). */
  readonly engine: MatchingEngine;
  /** Instruments, oracle updates, derivatives risk, transfers, liquidations and expiry settlements (built here, bound to this core). */
  readonly derivatives: DerivativesService;
  readonly #keys = new Map<number, PublicKey>();
  /** The live signed order of each account's order-storage slot: a slot holds at most one. */
  readonly #liveBySlot = new Map<string, Signed<Order>>();
  /** The slots of the live orders that carry a trigger, held or placed (what #reholdUncrossed walks): kept by #setLive and #deleteLive. */
  readonly #triggerSlots = new Set<string>();
  /** How many of #triggerSlots each account has (MAX_TRIGGER_ORDERS_PER_ACCOUNT). */
  readonly #triggerCount = new Map<number, number>();
  /** Highest order id accepted per account and order-storage slot: a slot's ids only grow. */
  readonly #slotIds = new Map<string, bigint>();
  /** Highest order id accepted per account, over all its slots (what claimOrderId starts above; kept by #takeSlot). */
  readonly #maxOrderId = new Map<number, bigint>();
  readonly #nextNonce = new Map<number, number>();
  /** Transactions waiting for a batch, with the time they were accepted (shared with the batch pipeline). */
  readonly pending: PendingEntry[] = [];
  /**
   * On-chain requests admitted but held out of the queue until an oracle update: a forced request judged at marks
   * (a collateral withdrawal or a close, judgedAtMarks) that arrived without a fresh update (the circuit never serves
   * it without one), or a collateral withdrawal its margin honours while the collateral side does not cover it
   * (judgeUntagged), then every request the custodian queued after it, which the custodian consumes in queue order. Trading goes on meanwhile.
   * The next accepted update admits them in order (releaseAwaiting); without updates they stay, and the custodian's
   * deadline opens exodus, which is what a trader whose exit no batch can judge is owed.
   * Also held (`behind`): every on-chain request but another one judged at marks that arrives while a forced request
   * judged at marks (a collateral withdrawal or a close) waits in the queue or in a batch not yet on chain, until the
   * chain holds them (batchPosted). Queued behind it, such a request would pin it there (the custodian consumes its
   * queue in order), and were its oracle update to go stale before a batch on chain served it (rejectPending; an
   * abandoned batch gives its entries back to the queue's head), it could neither leave the queue for the held
   * requests nor be judged where the batch applies it: that stopped every batch (review of 2026-12-06, the case stop
   * 43 left open; for a forced close, stop 46's review: until then a close whose update went stale in an outage or
   * under a retired oracle key kept its place and stopped every batch, spot trades and withdrawals included, until
   * the next fresh update). Forced requests judged at marks queued back to back leave together (holdOutOfQueue). The
   * cost: a request behind them waits until the last of them is on chain.
   */
  readonly #awaitingMarks: AwaitingRequest[] = [];
  /** Stop and take-profit orders waiting for their trigger (they hold their storage slot meanwhile). */
  readonly triggers: TriggerBook;
  #requestsSeen = 0;
  /**
   * The time of the newest oracle update a batch could no longer use for a forced request judged at it (rejectPending).
   * Such requests are judged only at a newer update: the update's age is measured from the batch's stamp, which the
   * chain's clock bounds from below, and intake's freshness from its own clock; were the chain's clock ahead by more
   * than the margin between them (MAX_ORACLE_AGE - ORACLE_FRESHNESS), judging again at the same update would be
   * refused again at once, and batch building would loop without end.
   */
  #staleOracleTime = 0;
  /** Proven cancels beyond QUEUED_CANCELS_PER_ACCOUNT, by account, in arrival order: they enter the queue as its queued ones are batched. */
  readonly #deferredCancels = new Map<number, PendingEntry[]>();
  /**
   * A rejected transaction tagged with an oracle update (a derivatives trade, liquidation, settlement) was taken out
   * while other tagged entries waited: its effect stays in the derivatives view (which is not undone fill by fill),
   * so the view is put back on the proven state as soon as no tagged entry waits any more (batchTaken; or a later
   * rejection that finds none). Without it, intake would judge margins and liquidations on a position never proven.
   * 0 when none is owed, else the newest oracle update time a rejected entry was tagged with (the rebase keeps the
   * latest update only when it is newer: DerivativesService.rebase).
   */
  #rebaseOwed = 0;

  /** A core over `parts`, with the intake and derivatives state of `snap` (a snapshot's) or empty. */
  constructor(parts: CoreParts, snap?: IntakeSnapshot & Pick<SequencerSnapshot, "derivatives">) {
    this.#parts = parts;
    const engine = () => this.engine;
    this.derivatives = new DerivativesService({
      params: parts.params, get engine() { return engine(); }, markets: parts.markets, spot: parts.risk,
      enqueue: (tx, time, oracle) => this.enqueue(tx, time, oracle), claimOrderId: (accountId) => this.claimOrderId(accountId),
      absorb: (events, time) => this.absorb(events, time), oracleKey: () => parts.oracleKey(), wallClockMs: () => parts.wallClockMs(), log: (line) => parts.observers.log(line),
      makerFeePpm: parts.makerFeePpm, takerFeePpm: parts.takerFeePpm,
    }, parts.liquidator);
    if (snap) this.derivatives.restore(snap.derivatives);
    this.engine = parts.engine(this.derivatives.risk);
    this.triggers = new TriggerBook(snap?.triggers ?? []);
    if (snap) {
      for (const [k, v] of snap.keys) this.#keys.set(k, v);
      for (const [k, v] of snap.liveBySlot) this.#setLive(k, v);
      for (const [k, v] of snap.slotIds) this.#takeSlot(Number(k.slice(0, k.indexOf(":"))), k, v);
      for (const [k, v] of snap.nextNonce) this.#nextNonce.set(k, v);
      this.pending.push(...snap.pending);
      this.#awaitingMarks.push(...(snap.awaitingMarks ?? []));
      this.#staleOracleTime = snap.staleOracleTime ?? 0;
      this.#rebaseOwed = snap.rebaseOwed === true ? Number.MAX_SAFE_INTEGER : (snap.rebaseOwed ?? 0); // (true: a snapshot of before 2026-12-05 evening)
      this.#requestsSeen = snap.requestsSeen;
      for (const [accountId, entries] of snap.deferredCancels ?? []) this.#deferredCancels.set(accountId, [...entries]);
    }
  }

  /** The intake state as a JSON-able value (the snapshot format). */
  snapshot(): IntakeSnapshot {
    return {
      keys: sortedEntries(this.#keys),
      liveBySlot: sortedEntries(this.#liveBySlot),
      slotIds: sortedEntries(this.#slotIds),
      nextNonce: sortedEntries(this.#nextNonce),
      pending: [...this.pending],
      ...(this.#awaitingMarks.length > 0 ? { awaitingMarks: [...this.#awaitingMarks] } : {}),
      ...(this.#staleOracleTime > 0 ? { staleOracleTime: this.#staleOracleTime } : {}),
      ...(this.#rebaseOwed ? { rebaseOwed: this.#rebaseOwed } : {}),
      requestsSeen: this.#requestsSeen,
      triggers: this.triggers.list(),
      ...(this.#deferredCancels.size > 0 ? { deferredCancels: sortedEntries(this.#deferredCancels).map(([a, list]) => [a, [...list]] as [number, PendingEntry[]]) } : {}),
    };
  }

  /** The on-chain requests held until an oracle update (see awaitingMarks), in queue order. */
  get awaitingMarks(): readonly AwaitingRequest[] {
    return this.#awaitingMarks;
  }

  /** How many on-chain requests (the queue's first ones) have been admitted. */
  get requestsSeen(): number {
    return this.#requestsSeen;
  }

  /** The trading key registered for `accountId` (usable at once, proven with its batch). */
  tradingKey(accountId: number): PublicKey | undefined {
    return this.#keys.get(accountId);
  }

  /** The nonce the account's next withdrawal or transfer must carry (one sequence for both). */
  nextNonce(accountId: number): number {
    return this.#nextNonce.get(accountId) ?? 0;
  }

  /**
   * The queued transactions the account's own requests made: the fills its orders took as the taker, its
   * withdrawals and transfers (backlog.ts fair queueing). Fills of its resting orders by others, and what no
   * trader asked for (liquidations, settlements, on-chain requests, cancels), are not its own.
   */
  waitingBy(accountId: number): number {
    let n = 0;
    for (const e of this.pending) {
      const tx = e.tx;
      const own = tx.type === TxType.WITHDRAW || tx.type === TxType.TRANSFER ? tx.request.accountId === accountId : e.taker === accountId;
      if (own) n++;
    }
    return n;
  }

  /**
   * The one entry of every change to intake, live and in replay: applies `r` (its time is the record's)
   * and returns the engine events of an order or cancel, the outcome of an oracle update, else nothing.
   * Every record first takes the resting orders expired at its time out of the books and the held stop and
   * take-profit orders expired at it out of the trigger book (`expire`; an `expire` record does only that), so their
   * reservations, storage slots and trigger-order counts are free for the record itself.
   * It persists nothing: the Sequencer appends the record once it applied, replay reads it from the
   * log. A refused request throws RequestRejected and changes nothing but that sweep (which the Sequencer
   * logs as an `expire` record ahead of it: expiryDue).
   */
  apply(r: OrderRecord | CancelRecord): EngineEvent[];
  apply(r: OracleRecord): OracleOutcome;
  apply(r: IntakeRecord): EngineEvent[] | OracleOutcome | void;
  apply(r: IntakeRecord): EngineEvent[] | OracleOutcome | void {
    this.#expire(r.time);
    switch (r.t) {
      case "expire":
        return;
      case "request":
        return this.#admitRequest(r.tx, r.time, r.index);
      case "order":
        return this.#placeVerified(r.order, r.time);
      case "cancel":
        return this.#cancelVerified(r.cancel, r.time);
      case "withdraw":
        return this.#withdrawVerified(r.withdrawal, r.time);
      case "transfer":
        return this.#transferVerified(r.transfer, r.time);
      case "oracle": {
        const outcome = this.derivatives.applyOracleUpdate(r.update, r.time);
        this.#reholdUncrossed(r.time);
        this.#releaseTriggers(r.time);
        this.#judgeUntagged(r.time);
        this.#releaseAwaiting(r.time);
        return outcome;
      }
      case "reject":
        return this.#rejectPending(r);
      case "forced":
        return this.#correctForced(r);
    }
  }

  /**
   * Whether a record at `time` would take a resting or held order out as expired (the Sequencer then logs an `expire`
   * record first).
   */
  expiryDue(time: number): boolean {
    return this.engine.hasExpired(time) || this.triggers.hasExpired(time);
  }

  /**
   * Takes the resting orders expired at `time` out of the books (MatchingEngine.expire: cancelled, reason expired,
   * reservations released), their storage slots freed (absorb), then the held stop and take-profit orders expired at
   * `time` out of the trigger book (TriggerBook.expire, earliest expiry first: each cancelled, reason expired, its
   * storage slot and its place among the account's trigger orders freed; it reserved nothing). Nothing queued for a
   * batch: the circuit refuses a fill after the order's expiry (G12). Until 2026-12-07 a held order was dropped only
   * at the next oracle update (releaseTriggers), holding its slot until then.
   */
  #expire(time: number): void {
    const events = this.engine.expire(time);
    if (events.length > 0) this.absorb(events, time);
    for (const { order } of this.triggers.expire(time)) this.#dropHeld(order, CancelReason.EXPIRED, false);
  }

  /** Queues a transaction for a batch; a derivatives one is tagged with the oracle update it was checked at. */
  enqueue(tx: BatchTx, time: number, oracle = this.derivatives.oracleFor(tx), taker?: number): void {
    const entry: PendingEntry = oracle ? { tx, time, oracle } : { tx, time };
    if (taker !== undefined) entry.taker = taker;
    const cancel = cancelledOrder(tx);
    if (cancel) {
      this.#dropOlderCancel(cancel);
      const deferred = this.#deferredCancels.get(cancel.accountId);
      if (deferred || this.#queuedCancels(cancel.accountId) >= QUEUED_CANCELS_PER_ACCOUNT) {
        if (deferred) deferred.push(entry);
        else this.#deferredCancels.set(cancel.accountId, [entry]);
        return;
      }
      this.pending.push(entry); // the cancels' lane: the tail
      return;
    }
    // ahead of the cancels' lane: right after the last other entry (entries other than cancels keep their order)
    let at = this.pending.length;
    while (at > 0 && cancelledOrder(this.pending[at - 1].tx)) at--;
    // a cancel of an older order of a slot this one fills goes first (the slot's rule: OrderStorage)
    for (const o of ordersStored(tx)) {
      const slot = this.#parts.state.orderSlotIndex(o.orderId);
      const older = (e: PendingEntry) => {
        const c = cancelledOrder(e.tx);
        return c !== null && c.accountId === o.accountId && c.orderId < o.orderId && this.#parts.state.orderSlotIndex(c.orderId) === slot;
      };
      for (let i = at; i < this.pending.length; i++) {
        if (!older(this.pending[i])) continue;
        const [moved] = this.pending.splice(i, 1);
        this.pending.splice(at++, 0, moved);
      }
      const deferred = this.#deferredCancels.get(o.accountId);
      const k = deferred?.findIndex(older) ?? -1;
      if (k >= 0) {
        this.pending.splice(at++, 0, ...deferred!.splice(k, 1));
        if (deferred!.length === 0) this.#deferredCancels.delete(o.accountId);
      }
    }
    this.pending.splice(at, 0, entry);
  }

  /**
   * Drops the waiting cancel (queued, not in a batch yet, or deferred) of an older order of the slot of `cancel`: the
   * newer one proves both (the slot then stores the newer id cancelled, and the circuit fills no older id of it), so an
   * account waits with at most one cancel per slot (and a fill of the slot pulls at most one ahead of itself).
   */
  #dropOlderCancel(cancel: { accountId: number; orderId: bigint }): void {
    const slot = this.#parts.state.orderSlotIndex(cancel.orderId);
    const older = (e: PendingEntry) => {
      const c = cancelledOrder(e.tx);
      return c !== null && c.accountId === cancel.accountId && c.orderId < cancel.orderId && this.#parts.state.orderSlotIndex(c.orderId) === slot;
    };
    // (every one: an abandoned batch puts its cancel back at the head while a newer one of the slot waits in the lane)
    for (let i = this.pending.length - 1; i >= 0; i--) if (older(this.pending[i])) this.pending.splice(i, 1);
    const deferred = this.#deferredCancels.get(cancel.accountId);
    if (deferred) {
      for (let k = deferred.length - 1; k >= 0; k--) if (older(deferred[k])) deferred.splice(k, 1);
      if (deferred.length === 0) this.#deferredCancels.delete(cancel.accountId);
    }
  }

  /** How many proven cancels of `accountId` wait in the queue. */
  #queuedCancels(accountId: number): number {
    let n = 0;
    for (const e of this.pending) if (cancelledOrder(e.tx)?.accountId === accountId) n++;
    return n;
  }

  /**
   * Moves deferred cancels into the queue, at its tail (the cancels' lane), until each account has
   * QUEUED_CANCELS_PER_ACCOUNT there (accounts in id order): after a batch took entries, and after a rejection.
   * None is ever dropped: a fill of a newer order of its slot pulls it ahead of itself first (enqueue).
   */
  #refillCancels(): void {
    if (this.#deferredCancels.size === 0) return;
    const queued = new Map<number, number>();
    for (const e of this.pending) {
      const c = cancelledOrder(e.tx);
      if (c) queued.set(c.accountId, (queued.get(c.accountId) ?? 0) + 1);
    }
    for (const [accountId, list] of sortedEntries(this.#deferredCancels)) {
      let n = queued.get(accountId) ?? 0;
      while (n < QUEUED_CANCELS_PER_ACCOUNT && list.length > 0) {
        this.pending.push(list.shift()!);
        n++;
      }
      if (list.length === 0) this.#deferredCancels.delete(accountId);
    }
  }

  /**
   * An on-chain request (keys, deposits, markets, instruments, forced withdrawals) takes effect at once and waits for
   * a batch, unless it is held until an oracle update (awaitingMarks); `index`: its place in the custodian's queue.
   */
  #admitRequest(tx: BatchTx, time: number, index?: number): void {
    if (index !== undefined) this.#requestsSeen = index + 1;
    const first = this.#awaitingMarks.length === 0;
    const behind = first && !judgedAtMarks(tx) && this.#judgedAtMarksQueued();
    if (!first || behind || (judgedAtMarks(tx) && !this.#judgingOracle(time))) {
      this.#awaitingMarks.push(behind ? { tx, time, behind } : { tx, time });
      const until = behind ? "behind a forced request judged at marks, until a batch on chain serves it" : first ? "until a fresh oracle update" : "behind the held requests";
      this.#parts.observers.log(`on-chain request of type ${tx.type} held ${until} (${this.#awaitingMarks.length} held)`);
      return;
    }
    if (tx.type === TxType.REGISTER_KEY) {
      const old = this.#keys.get(tx.accountId);
      this.#keys.set(tx.accountId, tx.pubKey);
      // A new key makes the orders the old one signed unprovable (their fills are checked under the key
      // the state holds then): they leave the book now (issue 11, finding 7).
      if (old && (old[0] !== tx.pubKey[0] || old[1] !== tx.pubKey[1])) {
        this.#parts.observers.keyChanged(tx.accountId, tx.pubKey);
        // the account's signed cancels still waiting (in the cancels' lane, or deferred) will be proven after the new
        // key, which is queued ahead of them: as the operator's (unsigned)
        for (const list of [this.pending, this.#deferredCancels.get(tx.accountId) ?? []]) {
          list.forEach((e, i) => {
            if (e.tx.type === TxType.CANCEL && e.tx.request.accountId === tx.accountId) {
              list[i] = { ...e, tx: { type: TxType.OPERATOR_CANCEL, accountId: tx.accountId, orderId: e.tx.request.orderId } };
            }
          });
        }
        this.absorb(this.engine.execute({ kind: "cancelAll", time, accountId: tx.accountId, reason: CancelReason.KEY_ROTATED }), time);
        for (const h of this.triggers.list(tx.accountId)) {
          this.#dropHeld(h.order, CancelReason.KEY_ROTATED);
          this.enqueue({ type: TxType.OPERATOR_CANCEL, accountId: tx.accountId, orderId: h.order.orderId }, time);
        }
      }
    } else if (tx.type === TxType.DEPOSIT) this.#parts.risk.credit(tx.accountId, tx.tokenId, tx.amount);
    else if (tx.type === TxType.REGISTER_MARKET) {
      this.#parts.markets.add({
        marketId: tx.marketId, baseTokenId: tx.baseTokenId, sizeUnit: tx.sizeUnit, priceUnit: tx.priceUnit,
        makerFeePpm: this.#parts.makerFeePpm, takerFeePpm: this.#parts.takerFeePpm,
      });
    } else if (tx.type === TxType.FORCED_WITHDRAW || tx.type === TxType.FORCED_COLLATERAL_WITHDRAW || tx.type === TxType.FORCED_CLOSE) {
      this.#admitForced(tx, time);
      return;
    } else if (tx.type === TxType.FEE_WITHDRAW || tx.type === TxType.INSURANCE_WITHDRAW) {
      // The treasury's withdrawals wait behind everything pending, so the batch judges them on the state intake
      // has now; only the insurance fund is part of intake's view (liquidations' bad-debt cover reads it).
      const honoured = tx.type === TxType.INSURANCE_WITHDRAW ? this.derivatives.risk.withdrawInsurance(tx.amount) : undefined;
      this.#parts.observers.log(`${tx.type === TxType.FEE_WITHDRAW ? "fee pool" : "insurance fund"} withdrawal of ${tx.amount} queued${honoured === undefined ? "" : `: ${honoured ? "honoured" : "refused"} (as the batch will prove)`}`);
    } else if (tx.type !== TxType.REGISTER_INSTRUMENT) throw new Error(`transaction type ${tx.type} is not an on-chain request`);
    // (an instrument becomes tradable once its registration is proven: DerivativesService.onBatchPosted)
    this.enqueue(tx, time);
  }

  /** Admits the held requests in order, at `time` (an oracle update's record); they are held again from the first one judged at marks still without a fresh update. */
  #releaseAwaiting(time: number): void {
    for (const held of this.#awaitingMarks.splice(0)) this.#admitRequest(held.tx, time);
  }

  /** Whether a forced request judged at marks (a collateral withdrawal or a close) waits in the queue or in a batch not yet on chain (the on-chain requests arriving meanwhile are held: awaitingMarks). */
  #judgedAtMarksQueued(): boolean {
    return this.pending.some((e) => judgedAtMarks(e.tx)) || this.#parts.inFlight().some(judgedAtMarks);
  }

  /**
   * A forced withdrawal or close the account's owner queued on the custodian. Intake predicts its outcome
   * with the rule the batch proves (state/forcedWithdrawal.ts; formulas.ts forcedCloseFault) on its own view of the
   * accounts, which is the state the batch applies it to (see forcedPosition); honoured, the balance or collateral
   * leaves at once, reserved or not, or the lots pass to the counterparty, and the orders an account no longer covers
   * are cancelled (reason UNCOVERED), so no later fill of them is unprovable. Refused, nothing moves: the batch proves the refusal. It is queued
   * ahead of the pending transactions the ordering rules let it pass (forcedPosition), so the next batches
   * serve it within the custodian's deadline however much trading waits.
   */
  #admitForced(tx: ForcedTx, time: number): void {
    if (tx.type === TxType.FORCED_WITHDRAW) {
      const { accountId, tokenId, amount } = tx;
      const honoured = forcedWithdrawHonoured(this.#parts.risk.balance(accountId, tokenId), amount);
      if (honoured) this.#parts.risk.adjust(accountId, tokenId, -amount);
      this.#logForced(tx, honoured);
      if (honoured) this.#cancelUncovered(accountId, time);
      this.#insertForced({ tx, time, honoured });
      return;
    }
    // a collateral withdrawal or a close is judged at a fresh oracle update, which its batch uses (admitRequest held it until one)
    this.#insertForced({ tx, time });
    this.#judgeUntagged(time);
  }

  /**
   * Puts a forced request's entry where forcedPosition says, dated no later than the entries it passes: it
   * arrived after them, and the batch is stamped with the latest time of its entries, so its own time would push
   * the stamp past the expiry of orders they fill (those trades, provable before it came, would then be
   * rejected). Nothing in a forced withdrawal depends on the stamp; a collateral one's oracle update still bounds
   * its batch's stamp from below (batchSelection.ts).
   */
  #insertForced(entry: PendingEntry & { tx: ForcedTx }): void {
    const at = forcedPosition(this.pending, entry.tx);
    const time = this.pending.slice(at).reduce((t, e) => Math.min(t, e.time), entry.time);
    this.pending.splice(at, 0, { ...entry, time });
  }

  /**
   * Moves the forced request judged at marks at pending entry `i` (a collateral withdrawal or a close) to the head of
   * the held requests (awaitingMarks), with the ones queued on chain after it (the custodian consumes its queue in
   * order), their predictions undone; the requests already held were queued on chain after them. The only on-chain
   * requests queued behind a forced request judged at marks are other such ones (the rest that arrive while one waits
   * for a batch on chain are held: admitRequest), whose effect is a prediction that can be taken back. Were another
   * kind behind it (its effect in intake's view, which what was accepted after it may use: only from a snapshot of
   * older rules), it keeps its place.
   */
  #holdOutOfQueue(i: number): void {
    const behind = this.pending.slice(i + 1).filter((p) => REQUEST_TYPES.includes(p.tx.type));
    if (behind.some((p) => !judgedAtMarks(p.tx))) return;
    const moved = [this.pending[i], ...behind];
    for (const e of moved) this.pending.splice(this.pending.indexOf(e), 1);
    for (const e of behind) if (e.oracle) this.#undoJudged(e);
    this.#awaitingMarks.unshift(...moved.map((e) => ({ tx: e.tx, time: e.time })));
  }

  /**
   * Judges every forced request of the queue judged at marks that carries no oracle update (just admitted, or
   * untagged because its update could no longer be used: rejectPending) at the latest update, if it is fresh at
   * `time`: intake predicts the outcome the batch will prove at its marks and applies an honoured one at once (the
   * amount out of collateral; the close's lots to the counterparty, DerivativesRisk.forceClose), cancelling the orders
   * the accounts no longer cover (UNCOVERED). Without a fresh update they wait, and the batch selection stops before
   * them. A collateral withdrawal its margin honours while the collateral side does not cover it (no batch can serve
   * it: DERIVATIVES.md "Pooled quote") stops the judging of the ones after it and leaves the queue for awaitingMarks,
   * with the requests queued after it: the next update admits it again behind its liquidations and deleverage and
   * what was accepted meanwhile, and judges it there; if the side never covers it, the custodian's deadline opens exodus.
   */
  #judgeUntagged(time: number): void {
    const oracle = this.#judgingOracle(time);
    if (!oracle) return;
    for (let i = 0; i < this.pending.length; i++) {
      const e = this.pending[i];
      if (!judgedAtMarks(e.tx) || e.oracle) continue;
      if (e.tx.type === TxType.FORCED_CLOSE) {
        const { accountId, counterpartyId, instrumentId, lots } = e.tx;
        const close = this.derivatives.risk.forceClose(accountId, counterpartyId, instrumentId, lots);
        this.#logForced(e.tx, close !== null);
        this.pending[i] = { tx: e.tx, time: e.time, oracle, honoured: close !== null, ...(close ? { close } : {}) };
        if (close) for (const a of [accountId, counterpartyId]) this.#cancelUncovered(a, time);
        continue;
      }
      const { accountId, tokenId, amount } = e.tx;
      const outcome = tokenId === 0 ? this.derivatives.risk.forceDebitCollateral(accountId, amount) : "refused";
      if (outcome === "side") {
        this.#parts.observers.log(
          `${this.#forcedText(e.tx)} by account ${accountId}: its margin covers it, the collateral side (${this.derivatives.risk.collateralSide}) does not; it waits for liquidations and deleverage, judged again at the next oracle update`,
        );
        // Out of the queue, at the head of the held requests (the on-chain requests queued after it then wait behind it,
        // as the custodian consumes its queue in order). Left in the queue, it stopped every batch before it: nothing
        // accepted after it was proven (trading; a transfer into collateral that restores the side; the next update's
        // deleverage), yet that update judged it on intake's view, which counts them, while the batch applies it ahead
        // of them: judged honoured (or, after a deleverage, refused), it was unprovable there (DERIVATIVES_SHORTFALL) at
        // every update, for ever. Released by the next update, it enters the queue again behind everything that update
        // and the time since brought (forcedPosition), where intake's view is the state the batch applies it to. (The
        // forced collateral withdrawals queued on chain behind it leave with it, the only requests that can be behind
        // it: holdOutOfQueue.)
        this.#holdOutOfQueue(i);
        return;
      }
      const honoured = outcome === "honoured";
      this.#logForced(e.tx, honoured);
      this.pending[i] = { tx: e.tx, time: e.time, oracle, honoured };
      if (honoured) this.#cancelUncovered(accountId, time);
    }
  }

  /** The update a forced request judged at marks is judged at now: the latest, if fresh at `time` and newer than staleOracleTime. */
  #judgingOracle(time: number): SignedOracleUpdate | undefined {
    const oracle = this.derivatives.forcedOracle(time);
    return oracle && oracle.time > this.#staleOracleTime ? oracle : undefined;
  }

  /** Takes back intake's prediction of a forced request judged at marks (its update can no longer be used). */
  #undoJudged(entry: PendingEntry): void {
    if (!entry.honoured) return;
    if (entry.tx.type === TxType.FORCED_CLOSE && entry.close) {
      const { accountId, counterpartyId, instrumentId, lots } = entry.tx;
      this.derivatives.risk.undoForceClose(accountId, counterpartyId, instrumentId, lots, entry.close);
    } else if (entry.tx.type === TxType.FORCED_COLLATERAL_WITHDRAW) {
      this.derivatives.risk.creditCollateral(entry.tx.accountId, entry.tx.amount);
    }
  }

  #logForced(tx: ForcedTx, honoured: boolean): void {
    this.#parts.observers.log(`${this.#forcedText(tx)} by account ${tx.accountId}: ${honoured ? "honoured" : "refused"} (as the batch will prove)`);
  }

  /** "forced withdrawal of 5 (token 0)", "forced close of 3 lots of instrument 1 against account 2", ... */
  #forcedText(tx: ForcedTx): string {
    return tx.type === TxType.FORCED_CLOSE
      ? `forced close of ${tx.lots} lots of instrument ${tx.instrumentId} against account ${tx.counterpartyId}`
      : `forced ${tx.type === TxType.FORCED_WITHDRAW ? "withdrawal" : "collateral withdrawal"} of ${tx.amount} (token ${tx.tokenId})`;
  }

  /**
   * The builder proves the forced request at pending entry `r.index` with the other outcome than intake predicted
   * (ForcedOutcomeRecord: intake's view then was not the state the batch applies it to). Intake follows the proof:
   * a spot withdrawal's amount leaves intake's balance or returns to it; a collateral withdrawal's leaves the
   * collateral or returns; a forced close's lots pass to the counterparty at the proven mark (`r.close`) or return
   * (the entry's own close). The orders an account no longer covers are cancelled (UNCOVERED). Reached through
   * `apply` (live, the pipeline's record is then logged; replay).
   */
  #correctForced(r: ForcedOutcomeRecord): void {
    const entry = this.pending[r.index];
    const forced = entry?.tx.type === TxType.FORCED_WITHDRAW || entry?.tx.type === TxType.FORCED_COLLATERAL_WITHDRAW || entry?.tx.type === TxType.FORCED_CLOSE;
    const isClose = entry?.tx.type === TxType.FORCED_CLOSE;
    // a close honoured both ways is corrected when the batch made it another way (r.close)
    if (!forced || entry.honoured === undefined || (entry.honoured === r.honoured && !(isClose && r.honoured)) || (isClose && r.honoured && !r.close)) {
      throw new Error(`pending entry ${r.index} is not a forced request predicted ${r.honoured ? "refused, or made another way" : "honoured"}`);
    }
    const tx = entry.tx as ForcedTx;
    const risk = this.derivatives.risk;
    let accounts = [tx.accountId];
    if (tx.type === TxType.FORCED_CLOSE) {
      const { accountId, counterpartyId, instrumentId, lots } = tx;
      if (entry.honoured && entry.close) risk.undoForceClose(accountId, counterpartyId, instrumentId, lots, entry.close);
      if (r.honoured) risk.applyForceClose(accountId, counterpartyId, instrumentId, lots, r.close!);
      accounts = [accountId, counterpartyId];
      const { close: _, ...rest } = entry;
      this.pending[r.index] = { ...rest, honoured: r.honoured, ...(r.honoured ? { close: r.close! } : {}) };
    } else {
      const { accountId, tokenId, amount } = tx;
      if (tx.type === TxType.FORCED_WITHDRAW) this.#parts.risk.adjust(accountId, tokenId, r.honoured ? -amount : amount);
      else if (r.honoured) risk.takeCollateral(accountId, amount);
      else risk.creditCollateral(accountId, amount);
      this.pending[r.index] = { ...entry, honoured: r.honoured }; // a new entry: a snapshot taken before keeps the old one
    }
    const how = entry.honoured === r.honoured
      ? "honoured as made at its queue place, not as intake made it"
      : `${r.honoured ? "honoured" : "refused"}, not as intake predicted`;
    this.#parts.observers.log(`${this.#forcedText(tx)} by account ${tx.accountId}: the batch proves it ${how}; intake follows`);
    if (r.honoured) for (const a of accounts) this.#cancelUncovered(a, r.time);
  }

  /** Cancels every resting order of an account whose spot balances or margin no longer cover them (reason UNCOVERED). */
  #cancelUncovered(accountId: number, time: number): void {
    const uncovered = this.#parts.risk.uncovered(accountId).length > 0 || !this.derivatives.risk.covered(accountId);
    if (uncovered && this.engine.openOrders(accountId).length > 0) {
      this.absorb(this.engine.execute({ kind: "cancelAll", time, accountId, reason: CancelReason.UNCOVERED }), time);
    }
  }

  /** Places a signed order (its signature checked): order-slot rules, derivatives checks, then the engine; returns its events. */
  #placeVerified(order: Signed<Order>, time: number): EngineEvent[] {
    const slot = this.#slotKey(order.accountId, order.orderId);
    const last = this.#slotIds.get(slot);
    if (last !== undefined && order.orderId <= last) {
      throw new RequestRejected("ORDER_ID_REUSED", `order id ${order.orderId} must exceed ${last}, the last id in its storage slot`);
    }
    if (this.#liveBySlot.has(slot)) throw new RequestRejected("ORDER_SLOT_BUSY", `a live order of account ${order.accountId} uses the storage slot of order id ${order.orderId}`);
    refuseFault(immediateExpiryFault(order, time));
    this.derivatives.checkOrder(order, time);
    if (hasTrigger(order)) return this.#hold(order, time);
    return this.#place(order, time);
  }

  /** The engine's placement of a signed order whose slot rules were checked: takes its slot when accepted. */
  #place(order: Signed<Order>, time: number): EngineEvent[] {
    const slot = this.#slotKey(order.accountId, order.orderId);
    const events = this.engine.execute({ kind: "place", time, order });
    if (events.some((e) => e.type === "accepted")) {
      this.#takeSlot(order.accountId, slot, order.orderId);
      this.#setLive(slot, order);
    }
    this.absorb(events, time, order);
    return events;
  }

  /**
   * Holds a stop or take-profit order (docs/client.md 6.8) until an oracle update's mark crosses its trigger:
   * the engine's stateless checks now (the same codes, thrown), its storage slot taken meanwhile (so its id
   * counts as used and its slot is busy), no margin reserved until it is placed. A trigger the latest mark
   * has already crossed places it at once.
   */
  #hold(order: Signed<Order>, time: number): EngineEvent[] {
    refuseFault(triggerFault(order));
    const code = checkOrder(order, time);
    if (code !== null) throw new RequestRejected(code, `order ${order.orderId} of account ${order.accountId}: ${code}`);
    if ((this.#triggerCount.get(order.accountId) ?? 0) >= MAX_TRIGGER_ORDERS_PER_ACCOUNT) {
      throw new RequestRejected("TOO_MANY_TRIGGER_ORDERS", `account ${order.accountId} has ${MAX_TRIGGER_ORDERS_PER_ACCOUNT} stop and take-profit orders, held or in the book (the most at once): cancel one, or wait until one leaves the book`);
    }
    const held: EngineEvent[] = [{ type: "held", accountId: order.accountId, orderId: order.orderId, marketId: order.marketId }];
    if (this.#crossedNow(order)) {
      // fires at once: placed as any order, its slot taken only if the engine accepts it (a refusal leaves its id
      // unused, as the answer says: review of 2026-12-05)
      const triggered: EngineEvent[] = [{ type: "triggered", accountId: order.accountId, orderId: order.orderId, marketId: order.marketId }];
      this.#parts.observers.engine(held, order);
      this.#parts.observers.engine(triggered, order);
      return [...held, ...triggered, ...this.#place(order, time)];
    }
    const slot = this.#slotKey(order.accountId, order.orderId);
    this.#takeSlot(order.accountId, slot, order.orderId);
    this.#setLive(slot, order);
    this.triggers.hold(order, time);
    this.#parts.observers.engine(held, order);
    // Nothing else fires now: every other held order was judged at the latest marks when it came or when they moved
    // (an oracle update releases them all). Walking the whole trigger book here cost every new stop order every
    // account's held orders (review of 2026-12-05: quadratic, 2.5 ms of event loop an order at 45,000 held).
    return held;
  }

  /** Whether the latest marks cross the trigger of `o` (an instrument without a mark crosses nothing). */
  #crossedNow(o: Order): boolean {
    const risk = this.derivatives.risk;
    const risks = risk.risks;
    const id = instrumentOf(o.marketId, risk.instrumentCount);
    // a mark of 0 is no mark for a future or a perpetual, a real one for an option worth less than a quote unit a lot
    // (tradable, DerivativesRisk.untradable: a stop on a worthless option must fire too; review of 2026-12-06)
    return risks !== null && id !== null && id < risks.length && (risks[id]!.mark > 0n || isOption(risk.instruments[id]!.kind))
      && triggerCrossed(o, risks[id]!.mark, risk.instruments[id]!.tickValue);
  }

  /**
   * A stop or take-profit order fills for the first time only at a mark that crosses its trigger (the circuit's
   * TriggerFill): one placed when a mark crossed it, still in the book with nothing filled, whose trigger the
   * latest marks no longer cross, leaves the book as if never placed (the engine's unplace, reported as cancelled
   * with reason trigger-uncrossed: its reservation released; its storage slot stays taken) and is held again
   * ("held"), to be placed again when a mark crosses it. A partly filled one stays. It walks the live orders with a
   * trigger only (#triggerSlots), not every resting order.
   */
  #reholdUncrossed(time: number): void {
    if (!this.derivatives.risk.risks) return;
    // by account and order id, live and after a restore alike (the set's own order is insertion order, which a
    // snapshot does not keep: a restart then placed them again in another order and a batch rebuilt differently)
    const orders = [...this.#triggerSlots].map((slot) => this.#liveBySlot.get(slot)!).sort((a, b) => a.accountId - b.accountId || (a.orderId < b.orderId ? -1 : a.orderId > b.orderId ? 1 : 0));
    for (const order of orders) {
      if (this.#crossedNow(order)) continue;
      const resting = this.engine.order(order.accountId, order.orderId);
      if (!resting || resting.filledLots !== 0n) continue; // held already, or partly filled
      const events = this.engine.execute({ kind: "unplace", time, accountId: order.accountId, orderId: order.orderId, reason: CancelReason.TRIGGER_UNCROSSED });
      if (!events.some((e) => e.type === "cancelled")) throw new Error(`internal: unplace of resting order ${order.accountId}:${order.orderId} refused`);
      this.triggers.hold(order, time);
      events.push({ type: "held", accountId: order.accountId, orderId: order.orderId, marketId: order.marketId });
      this.#parts.observers.engine(events, order);
    }
  }

  /**
   * Places, in arrival order, every held order whose trigger the latest marks crossed ("triggered", then the
   * engine's events as for any order arriving now); one whose instrument is no longer tradable at `time` (settled,
   * or past its expiry by the record's clock though the update was signed before it: DerivativesService.placeFault)
   * is cancelled (reason trigger-untradable). None is expired at `time`: the oracle record's sweep dropped those
   * (#expire, before the update applies). Returns the events.
   */
  #releaseTriggers(time: number): EngineEvent[] {
    const risk = this.derivatives.risk;
    if (!risk.risks) return [];
    const released = this.triggers.release((o) => this.#crossedNow(o));
    const events: EngineEvent[] = [];
    for (const { order } of released) {
      this.#deleteLive(this.#slotKey(order.accountId, order.orderId));
      const triggered: EngineEvent[] = [{ type: "triggered", accountId: order.accountId, orderId: order.orderId, marketId: order.marketId }];
      this.#parts.observers.engine(triggered, order);
      events.push(...triggered);
      if (this.derivatives.placeFault(order.marketId, time)) {
        events.push(...this.#dropHeld(order, CancelReason.TRIGGER_UNTRADABLE, false));
        continue;
      }
      events.push(...this.#place(order, time));
    }
    return events;
  }

  /** Drops a held order (no longer in the trigger book when `take` is false) with a cancellation event; its slot is freed. */
  #dropHeld(order: Signed<Order>, reason: CancelReason, take = true): EngineEvent[] {
    if (take) this.triggers.take(order.accountId, order.orderId);
    this.#forget(order.accountId, order.orderId);
    const events: EngineEvent[] = [{
      type: "cancelled", accountId: order.accountId, orderId: order.orderId, marketId: order.marketId, reason, remainingLots: order.sizeLots,
    }];
    this.#parts.observers.engine(events, undefined);
    return events;
  }

  /** Cancels a live order with a signed cancel (its signature checked); a cancel that removed it waits for a batch. */
  #cancelVerified(cancel: Signed<Cancel>, time: number): EngineEvent[] {
    refuseFault(cancelFault(cancel));
    const held = this.triggers.take(cancel.accountId, cancel.orderId);
    if (held) {
      // proven like any cancel, so the signed order can never be filled afterwards
      this.enqueue({ type: TxType.CANCEL, request: cancel }, time);
      return this.#dropHeld(held.order, CancelReason.USER, false);
    }
    const events = this.engine.execute({ kind: "cancel", time, accountId: cancel.accountId, orderId: cancel.orderId });
    if (events.some((e) => e.type === "cancelled")) this.enqueue({ type: TxType.CANCEL, request: cancel }, time);
    this.absorb(events, time);
    return events;
  }

  /** Debits a signed withdrawal (its signature checked) from the available balance, advances the nonce and queues it. */
  #withdrawVerified(w: Signed<Withdrawal>, time: number): void {
    refuseFault(withdrawalFault(w, this.#parts.params.balanceLevels));
    this.#requireNonce(w.accountId, w.nonce, "withdrawal");
    if (!this.#parts.risk.debit(w.accountId, w.tokenId, w.amount)) {
      throw new RequestRejected("INSUFFICIENT_BALANCE", `account ${w.accountId} cannot withdraw ${w.amount} of token ${w.tokenId}`);
    }
    this.#nextNonce.set(w.accountId, w.nonce + 1);
    this.enqueue({ type: TxType.WITHDRAW, request: w }, time);
  }

  /** Throws BAD_NONCE unless `nonce` is the account's next one. */
  #requireNonce(accountId: number, nonce: number, what: string): void {
    const expected = this.#nextNonce.get(accountId) ?? 0;
    if (nonce !== expected) throw new RequestRejected("BAD_NONCE", `${what} nonce ${nonce}, expected ${expected}`);
  }

  /** Moves a signed transfer (its signature checked) between spot quote and collateral, advances the nonce and queues it. */
  #transferVerified(t: Signed<Transfer>, time: number): void {
    this.#requireNonce(t.accountId, t.nonce, "transfer");
    this.derivatives.acceptTransfer(t, time);
    this.#nextNonce.set(t.accountId, t.nonce + 1);
    this.enqueue({ type: TxType.TRANSFER, request: t }, time);
  }

  /** The key of the order-storage slot order id `orderId` of `accountId` uses. */
  #slotKey(accountId: number, orderId: bigint): string {
    return `${accountId}:${this.#parts.state.orderSlotIndex(orderId)}`;
  }

  /**
   * An order id of `accountId` above every id it used, in a storage slot with no live order, recorded as
   * the slot's last id (for orders the operator signs itself: the liquidator's).
   */
  claimOrderId(accountId: number): bigint {
    let id = this.#maxOrderId.get(accountId) ?? 0n;
    // every slot holding a live order (the account rests one in each): none to claim; the caller logs and skips
    // rather than looping for ever (review of 2026-12-05)
    for (let tries = 4 ** this.#parts.state.params.orderLevels; ; tries--) {
      if (tries === 0) throw new Error(`account ${accountId} has a live order in every order slot: no order id to claim`);
      id++;
      if (!this.#liveBySlot.has(this.#slotKey(accountId, id))) break;
    }
    this.#takeSlot(accountId, this.#slotKey(accountId, id), id);
    return id;
  }

  /** Records `orderId` as the last id of `accountId`'s storage slot `slot` (and the account's highest if it is). */
  #takeSlot(accountId: number, slot: string, orderId: bigint): void {
    this.#slotIds.set(slot, orderId);
    if (orderId > (this.#maxOrderId.get(accountId) ?? 0n)) this.#maxOrderId.set(accountId, orderId);
  }

  /** The live signed order `orderId` of `accountId`, if it holds its storage slot. */
  #liveOrder(accountId: number, orderId: bigint): Signed<Order> | undefined {
    const o = this.#liveBySlot.get(this.#slotKey(accountId, orderId));
    return o && o.orderId === orderId ? o : undefined;
  }

  /** Frees the storage slot of an order that left the book. */
  #forget(accountId: number, orderId: bigint): void {
    if (this.#liveOrder(accountId, orderId)) this.#deleteLive(this.#slotKey(accountId, orderId));
  }

  #setLive(slot: string, order: Signed<Order>): void {
    this.#liveBySlot.set(slot, order);
    if (hasTrigger(order)) {
      if (!this.#triggerSlots.has(slot)) this.#countTrigger(order.accountId, 1);
      this.#triggerSlots.add(slot);
    } else if (this.#triggerSlots.delete(slot)) this.#countTrigger(order.accountId, -1);
  }

  #deleteLive(slot: string): void {
    const order = this.#liveBySlot.get(slot);
    this.#liveBySlot.delete(slot);
    if (this.#triggerSlots.delete(slot) && order) this.#countTrigger(order.accountId, -1);
  }

  /** Moves account `accountId`'s count of stop and take-profit orders, held or in the book, by `by`. */
  #countTrigger(accountId: number, by: 1 | -1): void {
    const n = (this.#triggerCount.get(accountId) ?? 0) + by;
    if (n === 0) this.#triggerCount.delete(accountId);
    else this.#triggerCount.set(accountId, n);
  }

  /**
   * Turns fills into trade transactions and forgets orders that left the book. An order the exchange cancelled
   * for one of PROVEN_CANCEL_REASONS is queued as an OPERATOR_CANCEL, so the proven state cancels it too and no
   * later batch can fill it within its signed limits (a trader's own cancel is queued as CANCEL by cancelVerified;
   * the circuit itself refuses fills after expiry, of a replaced key and on a settled instrument; an IOC
   * remainder is not proven: RULES.md G12).
   */
  absorb(events: readonly EngineEvent[], time: number, incoming?: Signed<Order>): void {
    for (const e of events) {
      if (e.type === "fill") {
        const trade = this.#tradeOf(e, incoming);
        this.enqueue(trade, time, this.derivatives.oracleFor(trade), e.takerAccount);
      }
      else if (e.type === "cancelled") {
        this.#forget(e.accountId, e.orderId);
        if (PROVEN_CANCEL_REASONS.has(e.reason)) this.enqueue({ type: TxType.OPERATOR_CANCEL, accountId: e.accountId, orderId: e.orderId }, time);
      }
    }
    for (const e of events) {
      if (e.type !== "fill") continue;
      for (const [acc, id] of [[e.makerAccount, e.makerOrderId], [e.takerAccount, e.takerOrderId]] as const) {
        if (!this.engine.order(acc, id)) this.#forget(acc, id);
      }
    }
    this.#parts.observers.engine(events, incoming);
  }

  /** The trade transaction of a fill, with both signed orders (the incoming one may not be live yet). */
  #tradeOf(fill: FillEvent, incoming?: Signed<Order>): BatchTx {
    const signed = (acc: number, id: bigint) => {
      const o = this.#liveOrder(acc, id) ?? (incoming && incoming.accountId === acc && incoming.orderId === id ? incoming : undefined);
      if (!o) throw new Error(`internal: no signed order ${acc}:${id} for a fill`);
      return o;
    };
    const maker = signed(fill.makerAccount, fill.makerOrderId);
    const taker = signed(fill.takerAccount, fill.takerOrderId);
    const makerBuys = fill.makerSide === Side.BUY;
    return {
      type: fill.marketId < INSTRUMENT_MARKET_BASE ? TxType.TRADE : TxType.DERIV_TRADE,
      buy: makerBuys ? maker : taker,
      sell: makerBuys ? taker : maker,
      lots: fill.lots,
      priceTicks: fill.priceTicks,
      buyFeePpm: makerBuys ? fill.makerFeePpm : fill.takerFeePpm,
      sellFeePpm: makerBuys ? fill.takerFeePpm : fill.makerFeePpm,
    };
  }

  /**
   * Takes pending entry `r.index` out of the queue because no batch can prove it, with the entries that
   * cannot be proven without it: the account's later withdrawals and transfers (their nonces follow
   * its nonce, which the state will not reach). Intake is corrected (unwind): the account's next nonce
   * is the rejected one again, a withdrawal's debit is returned, a transfer moved back, a spot trade's
   * balance moves undone, orders no longer covered cancelled; derivatives: DerivativesService.rebase.
   * An on-chain request
   * cannot leave (the custodian consumes its queue in order): that throws, and the custodian must refuse
   * such requests; but a forced collateral withdrawal whose oracle update grew too old keeps its place,
   * untagged, to be judged again at a fresh update (its intake debit undone). Reached through `apply` (live,
   * the pipeline's record is then logged; replay) and told to observers (`rejected`).
   */
  #rejectPending(r: RejectRecord): void {
    const head = this.pending[r.index];
    if (!head) throw new Error(`no pending entry ${r.index} to reject`);
    if (judgedAtMarks(head.tx) && head.oracle) {
      // Its oracle update can no longer be used (too old for any batch now): it keeps its place untagged, intake's
      // prediction is undone (with the update's other effects by rebase, or alone), and the latest update judges it
      // again if fresh, else the next one (judgeUntagged). Never proven without marks: that refusal would be the
      // operator's choice. With no fresh update it leaves the queue for the held requests, with the forced requests
      // judged at marks queued behind it (the only requests that can be: holdOutOfQueue), so the batches go on
      // without it (a forced close kept its place until stop 46, and the batch selection stopped before it, spot work
      // included, until a fresh update). A collateral withdrawal needs it as judgeUntagged's "side" does: left at the head, the next update judged it on intake's view, which counts
      // that update's deleverage queued behind it, while the batch applies it ahead of the deleverage, so it was
      // unprovable at every update and stopped every batch for good (review of 2026-12-06, High). Released by the
      // next update, it enters the queue behind that update's liquidations and deleverage (forcedPosition).
      this.#staleOracleTime = Math.max(this.#staleOracleTime, head.oracle.time);
      this.pending[r.index] = { tx: head.tx, time: head.time };
      if (!this.#judgingOracle(r.time)) this.#holdOutOfQueue(r.index);
      if (!this.pending.some((e) => e.oracle)) this.#rebase(r.time, Math.max(this.#rebaseOwed, head.oracle.time));
      else this.#undoJudged(head);
      this.#parts.observers.log(`forced request (type ${head.tx.type}) of account ${head.tx.accountId}: its oracle update cannot be proven any more (${r.code}); it waits to be judged at a fresh one`);
      this.#judgeUntagged(r.time);
      return;
    }
    if (REQUEST_TYPES.includes(head.tx.type)) {
      throw new Error(`the on-chain request at pending entry ${r.index} cannot be proven (${r.message}); the custodian's queue cannot skip it`);
    }
    const nonced = noncedOf(head.tx);
    const indexes = [r.index];
    if (nonced) {
      for (let i = r.index + 1; i < this.pending.length; i++) if (noncedOf(this.pending[i].tx)?.accountId === nonced.accountId) indexes.push(i);
    }
    const entries = indexes.map((i) => this.pending[i]);
    for (let k = indexes.length - 1; k >= 0; k--) {
      this.pending.splice(indexes[k], 1);
      this.#unwind(entries[k].tx, r.time);
    }
    if (nonced) this.#nextNonce.set(nonced.accountId, nonced.nonce);
    // Derivatives effects are not undone one by one (but a trade's, where unwind finds that exact): once nothing tagged
    // with an oracle update waits, the derivatives service is put back on the proven state (which then holds everything
    // accepted); until then the rebase is owed (batchTaken).
    for (const e of entries) if (e.oracle) this.#rebaseOwed = Math.max(this.#rebaseOwed, e.oracle.time);
    this.#rebaseIfOwed(r.time);
    this.#refillCancels();
    entries.forEach((entry, k) => {
      const rejection: TxRejection = k === 0
        ? { code: r.code, message: r.message, tx: entry.tx, accounts: txAccounts(entry.tx), time: r.time }
        : { code: "NONCE_GAP", message: `account ${nonced!.accountId}'s request with nonce ${nonced!.nonce} was rejected (${r.code})`, tx: entry.tx, accounts: txAccounts(entry.tx), time: r.time };
      this.#parts.observers.log(`rejected a pending transaction (type ${entry.tx.type}, accounts ${rejection.accounts.join(", ")}): ${rejection.code}: ${rejection.message}`);
      this.#parts.observers.rejected(rejection);
    });
  }

  /**
   * A batch took its entries from the head of the queue (live, or its record replayed; `time`: its stamp): the
   * derivatives view is put back on the proven state if a rebase is owed and no tagged entry waits any more.
   */
  batchTaken(time: number): void {
    this.#rebaseIfOwed(time);
    this.#refillCancels();
  }

  /**
   * The chain holds a batch of `txs` (seen at `time`; live, or its `posted` record replayed), no longer in flight:
   * the instruments it registered become tradable, and the requests held behind a forced request judged at marks
   * (awaitingMarks, `behind`) enter the queue once none waits for a batch or in one not yet on chain.
   */
  batchPosted(txs: readonly BatchTx[], time: number): void {
    this.derivatives.onBatchPosted(txs);
    if (this.#awaitingMarks[0]?.behind && !this.#judgedAtMarksQueued()) this.#releaseAwaiting(time);
  }

  #rebaseIfOwed(time: number): void {
    if (this.#rebaseOwed && !this.pending.some((e) => e.oracle)) this.#rebase(time, this.#rebaseOwed);
  }

  /**
   * The derivatives view put back on the proven state (which holds everything accepted once no tagged entry waits);
   * the latest update kept only if newer than `refusedUpTo`, the newest update a rejected entry was tagged with.
   */
  #rebase(time: number, refusedUpTo: number): void {
    this.derivatives.rebase(this.#parts.state, time, refusedUpTo);
    // an insurance withdrawal is untagged, so one may still wait: intake paid it from its fund, which the proven
    // state does not hold yet; judged again in queue order on the rebased view (the view the batch applies it to)
    for (const e of this.pending) if (e.tx.type === TxType.INSURANCE_WITHDRAW) this.derivatives.risk.withdrawInsurance(e.tx.amount);
    this.#rebaseOwed = 0;
    // the marks may have moved (the latest update applied again on the proven table): triggers judged again, as an
    // oracle update judges them (a new stop order is judged alone: #hold)
    this.#reholdUncrossed(time);
    this.#releaseTriggers(time);
  }

  /**
   * Corrects intake for a rejected transaction (see rejectPending): its spot and collateral moves are
   * undone whatever happened since (a balance may go negative until what spent it is rejected in turn),
   * and an account whose balances or margin no longer cover its resting orders has them cancelled.
   * A derivatives trade is taken out of the derivatives risk engine's accounts when that is exact (#tradeKept;
   * DerivativesRisk.unwindFill: its position slots and margin free at once); other derivatives effects stay there
   * until the rebase (rejectPending).
   */
  #unwind(tx: BatchTx, time: number): void {
    if (tx.type === TxType.WITHDRAW) {
      this.#parts.risk.adjust(tx.request.accountId, tx.request.tokenId, tx.request.amount);
    } else if (tx.type === TxType.TRANSFER) {
      const { accountId, amount, toCollateral } = tx.request;
      this.#parts.risk.adjust(accountId, QUOTE_TOKEN_ID, toCollateral ? amount : -amount);
      this.derivatives.risk.creditCollateral(accountId, toCollateral ? -amount : amount);
    } else if (tx.type === TxType.TRADE) {
      const market = this.#parts.markets.get(tx.buy.marketId);
      if (!market) throw new Error(`internal: a trade in unknown market ${tx.buy.marketId}`);
      this.#parts.risk.unwindFill(
        { buyAccount: tx.buy.accountId, sellAccount: tx.sell.accountId, lots: tx.lots, priceTicks: tx.priceTicks, buyFeePpm: tx.buyFeePpm, sellFeePpm: tx.sellFeePpm },
        market,
      );
    } else if (tx.type === TxType.DERIV_TRADE) {
      const t = { marketId: tx.buy.marketId, buyAccount: tx.buy.accountId, sellAccount: tx.sell.accountId, lots: tx.lots, priceTicks: tx.priceTicks, buyFeePpm: tx.buyFeePpm, sellFeePpm: tx.sellFeePpm };
      const why = this.#tradeKept([t.buyAccount, t.sellAccount]);
      if (why) this.#parts.observers.log(`the derivatives risk engine keeps a rejected trade in market ${t.marketId} until the rebase (${why})`);
      else {
        this.derivatives.risk.unwindFill(t, (a) => this.#parts.state.account(a).deriv);
        this.derivatives.settleStranded(time);
      }
    } else if (tx.type !== TxType.CANCEL && tx.type !== TxType.OPERATOR_CANCEL && tx.type !== TxType.NOOP) {
      this.#parts.observers.log(`the derivatives risk engine keeps the effect of a rejected transaction of type ${tx.type} (accounts ${txAccounts(tx).join(", ")})`);
    }
    for (const accountId of txAccounts(tx)) this.#cancelUncovered(accountId, time);
  }

  /**
   * Why a rejected derivatives trade between `accounts` cannot be taken out of the derivatives view at once (then the
   * owed rebase puts the view right), or null when it can (DerivativesRisk.unwindFill: both accounts put back on the
   * proven state). That is exact only when their view is the proven accounts plus this trade: no earlier rejection's
   * effect is kept in the view (any rebase owed), and nothing else of either account that moves derivatives state
   * waits in the queue (a later trade, a liquidation, settlement, deleverage or forced close, a transfer or forced
   * collateral withdrawal: each was judged on the positions and margin the trade left). Reviews of 2026-12-07: an undo
   * under a liquidation left an account short lots it never held, one under a funding tick paid funding on undone
   * lots, one under a reduce-only close cancelled a covered order for good, and one beside a kept rejection let a
   * transfer through that the batch refused.
   */
  #tradeKept(accounts: readonly number[]): string | null {
    if (this.#rebaseOwed) return "an earlier rejection's effects wait for it";
    const dependent = this.pending.find((e) => MOVES_DERIVATIVES.has(e.tx.type) && txAccounts(e.tx).some((a) => accounts.includes(a)));
    return dependent ? `a queued transaction of type ${dependent.tx.type} touches account ${txAccounts(dependent.tx).find((a) => accounts.includes(a))}` : null;
  }
}
