/**
 * The sequencer's derivatives side (circuits/DERIVATIVES.md): instruments from proven
 * REGISTER_INSTRUMENT requests become engine markets; signed oracle updates are checked against the
 * custodian's oracle key and applied to an instrument table (funding ticks, expiry settlements, marks);
 * after each update the service cancels the open orders margin no longer covers, liquidates accounts
 * below maintenance margin against the operator's liquidator account, and settles every position in
 * an instrument that expired. Transfers between spot quote balance and collateral are checked here.
 *
 * Every derivatives transaction it produces is tagged with the oracle update whose marks it was
 * checked at; the batcher (batchSelection.ts) puts it in a batch that uses that update, so the batch
 * proves exactly what was checked. Updates that change the instrument table (a funding tick, an
 * expiry) are queued as markers so a batch always applies them, in order.
 */
import { compressPublicKey } from "../crypto/babyjub.ts";
import type { BatchTx, RegisterInstrumentTx } from "../protocol/transactions.ts";
import { lotRisk, registeredInstrument, withinLiquidationBand, type InstrumentState } from "../derivatives/formulas.ts";
import { applyOracleStep, OracleRejected, type SignedOracleUpdate } from "../derivatives/oracleStep.ts";
import { CancelReason, type EngineEvent, type MarketRegistry, type MatchingEngine } from "../matching/index.ts";
import {
  Bits, IMMEDIATE_ORDER_TTL, InstrumentKind, MAX_ORACLE_AGE, instrumentMarketId, OrderType, Side, TimeInForce, TxType,
} from "../protocol/constants.ts";

/**
 * The most lots one LIQUIDATE or DELEVERAGE moves: a record's lots (and the liquidator order's size) are 40-bit
 * fields, while a position may grow to 2^47 lots over several fills (formulas.ts SIZE_LIMIT). A larger position is
 * closed over several passes, MAX_CLOSE_LOTS each.
 */
export const MAX_CLOSE_LOTS = (1n << BigInt(Bits.lots)) - 1n;
/** The highest price a liquidator's order can name (a 40-bit order field): a mark beyond it is not liquidated by order. */
const MAX_PRICE_TICKS = (1n << BigInt(Bits.priceTicks)) - 1n;
import { transferFault, type Order, type Signed, type Transfer } from "../protocol/messages.ts";
import type { CircuitParams } from "../protocol/params.ts";
import { unpricedOptions, volsByInstrument } from "../derivatives/volSurface.ts";
import { DerivativesRisk, instrumentOf } from "../risk/derivativesRisk.ts";
import type { SpotRisk } from "../risk/spotRisk.ts";
import type { OracleOutcome } from "../wire/responses.ts";
import { signOrder } from "../protocol/signing.ts";
import { ExchangeState } from "../state/exchangeState.ts";
import { restoreExchangeState, snapshotExchangeState, type ExchangeStateSnapshot } from "../persistence/stateSnapshot.ts";
import type { DerivativesRiskSnapshot } from "../risk/derivativesRisk.ts";
import { NOOP } from "../protocol/transactions.ts";
import { RequestRejected } from "./requestRejected.ts";

/** An instrument market has no base token: this id marks it in the market registry (never a real token). */
export const NO_BASE_TOKEN = 0xffff;
/** Orders and transfers need an update at most this old, so their batch is within MAX_ORACLE_AGE of it. */
export const ORACLE_FRESHNESS = MAX_ORACLE_AGE - 60;

/**
 * How long the service trusts the custodian's answer that it has no oracle key yet, and how often at most it asks
 * again when an update comes under a key other than the one it knows (ms): anyone may post updates, and each read
 * costs the operator's node a call.
 */
export const NO_KEY_RECHECK_MS = 10_000;
/**
 * How old the service's copy of the custodian's oracle key may be when an update under it is checked (ms): the
 * timelock may replace the key (setOracleKey), and the copy follows within this time or at the first update under
 * the new key.
 */
export const ORACLE_KEY_RECHECK_MS = 60_000;

/** What the service needs from the exchange core (which builds it) and, through it, the sequencer (oracleKey, log, fees). */
export type DerivativesHost = {
  params: CircuitParams;
  engine: MatchingEngine;
  markets: MarketRegistry;
  spot: SpotRisk;
  /** Queues a transaction accepted at `time` (the record's) for a batch (tagged with the oracle update it needs). */
  enqueue(tx: BatchTx, time: number, oracle?: SignedOracleUpdate): void;
  /** A fresh order id of `accountId` whose order-storage slot is free (the liquidator's orders), claimed. */
  claimOrderId(accountId: number): bigint;
  /** Lets the core see engine events the service caused (cancellations) at `time` (the record's). */
  absorb(events: readonly EngineEvent[], time: number): void;
  /** The custodian's registered oracle key, compressed, or null. */
  oracleKey(): Promise<bigint | null>;
  /** Wall-clock milliseconds (Date.now; tests move it): they pace the reads of the custodian's key. */
  wallClockMs(): number;
  log(line: string): void;
  makerFeePpm: number;
  takerFeePpm: number;
};

/** The operator's liquidator: an account with a registered trading key and collateral. */
export type Liquidator = { accountId: number; key: Uint8Array };

/** The service's part of a sequencer snapshot. */
export type DerivativesSnapshot = {
  /** The instrument table and globals (an otherwise empty state). */
  table: ExchangeStateSnapshot;
  latest: SignedOracleUpdate | null;
  oracleKey: bigint | null;
  risk: DerivativesRiskSnapshot;
};


export class DerivativesService {
  readonly risk: DerivativesRisk;
  /** Instrument table and globals as the accepted updates and proven registrations leave them. */
  #table: ExchangeState;
  #latest: SignedOracleUpdate | null = null;
  /**
   * The custodian's oracle key as last read (compressed), or the key of the latest update applied (an applied
   * update's key was the custodian's when it was accepted: so replay leaves it as the live service had it).
   */
  #oracleKey: bigint | null = null;
  /**
   * The key replay leaves when no update is current (a rebase cleared it): the latest applied update's, or the
   * restored snapshot's. A snapshot records it, not #oracleKey, which a live read of the custodian may have moved on
   * (reads are not logged): so a snapshot is a function of the log, and a restart reads the custodian's key again at
   * its first check (oracleKeyUnread).
   */
  #replayedKey: bigint | null = null;
  /** Wall-clock ms before which checkOracleKey does not ask the custodian again for a key it did not have. */
  #noKeyUntil = 0;
  /** Wall-clock ms of the last read of the custodian's key (0: not read since this service started). */
  #keyReadAt = 0;
  /** Whether a read of the custodian's key has answered (or failed) since this service started. */
  #keyReadDone = false;
  /** Set by setOracleKey: the key is given, never read from the custodian (offline use, tests). */
  #keyGiven = false;
  /** The read of the custodian's key in flight, shared by every check that wants one meanwhile. */
  #keyRead: Promise<void> | null = null;

  constructor(private readonly host: DerivativesHost, readonly liquidator?: Liquidator) {
    this.#table = new ExchangeState(host.params);
    this.risk = new DerivativesRisk(host.params.instruments, host.params.positionSlots);
  }

  /** Sets the oracle key (compressed) instead of reading it from the custodian (offline use, tests). */
  setOracleKey(compressed: bigint): void {
    this.#oracleKey = compressed;
    this.#keyGiven = true;
  }

  /**
   * Whether `u` is under an oracle key the custodian no longer has (the timelock replaced it: setOracleKey on the
   * custodian): no batch carrying it can be accepted any more (OracleKeyMismatch), so what waits on it is taken back
   * as for an update grown too old (BatchPipeline). False while no key is known.
   */
  oracleKeyRetired(u: SignedOracleUpdate): boolean {
    return this.#oracleKey !== null && compressPublicKey(u.key) !== this.#oracleKey;
  }

  /**
   * Whether no read of the custodian's key has answered since this service started, one in flight counting as
   * unread (a restart: the key known is the latest update's, from the log or the snapshot, and the timelock may have
   * replaced it since), unless it was given.
   */
  oracleKeyUnread(): boolean {
    return !this.#keyGiven && !this.#keyReadDone;
  }

  /**
   * Reads the custodian's oracle key again (at once; checkOracleKey does so on its own schedule), unless the key was
   * given (setOracleKey). One read at a time: calls meanwhile share it. A new key is logged; a failed read keeps the
   * key known and is logged, and the next read waits NO_KEY_RECHECK_MS (a node that fails must not make every update
   * fail: the known key goes on serving the oracle's).
   */
  refreshOracleKey(): Promise<void> {
    if (this.#keyGiven) return Promise.resolve();
    // (done once it answered or failed: a caller that waits for the first read waits for this one, not for its start)
    this.#keyRead ??= this.#readOracleKey().finally(() => ((this.#keyRead = null), (this.#keyReadDone = true)));
    return this.#keyRead;
  }

  async #readOracleKey(): Promise<void> {
    this.#keyReadAt = this.host.wallClockMs();
    let key: bigint | null;
    try {
      key = await this.host.oracleKey();
    } catch (e) {
      this.#noKeyUntil = this.host.wallClockMs() + NO_KEY_RECHECK_MS;
      this.host.log(`reading the custodian's oracle key failed (${e instanceof Error ? e.message : String(e)}): the key known is kept`);
      return;
    }
    if (key === null) {
      this.#noKeyUntil = this.host.wallClockMs() + NO_KEY_RECHECK_MS;
      return;
    }
    if (this.#oracleKey !== null && key !== this.#oracleKey) {
      this.host.log(`the custodian's oracle key changed (${this.#oracleKey.toString(16)} -> ${key.toString(16)}): updates under the old key are refused, and what waits on one is taken back when its batch is built`);
    }
    this.#oracleKey = key;
  }

  /** The latest accepted oracle update. */
  get latest(): SignedOracleUpdate | null {
    return this.#latest;
  }

  get instruments(): readonly InstrumentState[] {
    return this.#table.instruments;
  }

  /** The funding epoch of the table (the latest accepted update's, or the proven one after a rebase): the next update's is this or one more. */
  get fundingEpoch(): number {
    return this.#table.globals.fundingEpoch;
  }

  /** The oracle update a derivatives transaction is checked at (the latest), or undefined for others. */
  oracleFor(tx: BatchTx): SignedOracleUpdate | undefined {
    const needs = tx.type === TxType.DERIV_TRADE || tx.type === TxType.LIQUIDATE || tx.type === TxType.DELEVERAGE || tx.type === TxType.SETTLE
      || tx.type === TxType.TRANSFER;
    return needs ? this.#latest ?? undefined : undefined;
  }

  /**
   * The oracle update a forced collateral withdrawal admitted at `now` is judged at: the latest one if it is
   * fresh (as intake requires for a transfer), else none, and the batch then proves it refused.
   */
  forcedOracle(now: number): SignedOracleUpdate | undefined {
    const u = this.#latest;
    return u && now - u.time <= ORACLE_FRESHNESS ? u : undefined;
  }

  #requireFreshOracle(now: number): SignedOracleUpdate {
    const u = this.#latest;
    if (!u) throw new RequestRejected("NO_ORACLE", "no oracle update accepted yet");
    if (now - u.time > ORACLE_FRESHNESS) throw new RequestRejected("STALE_ORACLE", `the latest oracle update (${u.time}) is older than ${ORACLE_FRESHNESS} s`);
    return u;
  }

  /** The market id orders on instrument `id` sign now (its generation's: constants.ts instrumentMarketId). */
  marketOf(id: number): number {
    return instrumentMarketId(id, this.instruments[id].generation, this.host.params.instruments);
  }

  /** Refuses an order on an instrument market that cannot trade now (the engine's risk check comes after). */
  checkOrder(order: Order, now: number): void {
    const id = instrumentOf(order.marketId, this.host.params.instruments);
    if (id === null) return;
    this.#requireFreshOracle(now);
    const why = this.placeFault(order.marketId, now);
    if (why) throw new RequestRejected(why, `market ${order.marketId} (instrument id ${id}) cannot be traded at ${now}`);
  }

  /**
   * Why an order on instrument market `marketId` cannot be placed at `now`, the arrival time of the record placing it
   * (a new order, or a held stop released by an oracle update): the risk view's reasons (marketUntradable, which
   * judges expiry by the latest update's time), or INSTRUMENT_EXPIRED once `now` reaches a dated instrument's
   * expiry, since the batch that fills it is stamped no earlier than `now` and Fill refuses an expired
   * instrument (an update signed before the expiry can arrive after it); null when it can.
   */
  placeFault(marketId: number, now: number): string | null {
    const why = this.risk.marketUntradable(marketId);
    if (why) return why;
    const id = instrumentOf(marketId, this.host.params.instruments)!;
    const inst = this.instruments[id];
    return inst.expiry !== 0 && now >= inst.expiry ? "INSTRUMENT_EXPIRED" : null;
  }

  /**
   * Puts the service back on the proven state `proven` (ExchangeState with every posted batch) once the
   * sequencer has taken derivatives transactions out of its queue and none tagged with an oracle update
   * is left (exchangeCore.ts rejectPending): an update no batch could use (too old for the stamp after a
   * backlog or a clock jump) must not stay applied here, nor the trades, transfers, liquidations and
   * settlements that did not settle. The instrument table, the insurance fund and every account's
   * collateral and positions become the proven ones. The latest accepted update stays when the proven state
   * last used it, or when it only moves marks on top of the proven state (no funding tick, no settlement: what
   * a batch would prove with it), is fresh at `time` and newer than `refusedUpTo` (the newest update an entry
   * was rejected under since the last rebase: it may be the one refused); it is then applied again to the
   * proven table, and the open orders its marks no longer cover are cancelled. Otherwise it is forgotten
   * (derivatives orders and transfers wait for a fresh one) and the open derivatives orders, checked at its
   * marks, are cancelled (at `time`, the rejection record's). Orders on instruments an account no longer has a
   * position slot for (a rejected trade gave back a position intake took as closed) stay: the engine judges each fill
   * against this view (RiskHook.canFill, positionLimit.ts), and a maker that has no slot then is cancelled
   * (position-slots); the proven state holds at most K positions an account, so no account here is beyond them.
   */
  rebase(proven: ExchangeState, time: number, refusedUpTo = Number.MAX_SAFE_INTEGER): void {
    const u = this.#latest;
    const current = u !== null && proven.globals.oracleTime === u.time && proven.globals.fundingEpoch === u.fundingEpoch;
    const table = new ExchangeState(this.host.params);
    proven.instruments.forEach((inst, id) => table.setInstrument(id, inst));
    table.setGlobals({ ...proven.globals });
    const again = !current && u !== null && u.time > refusedUpTo && time - u.time <= ORACLE_FRESHNESS ? marksOnlyStep(table, u) : null;
    if (!current && !again) {
      // cancelled as the risk engine's (reason UNCOVERED: margin can no longer be checked), so proven cancelled too
      for (const acc of this.risk.accountsWithOrders()) this.#cancelOrders(acc, [...new Set(this.risk.openOrders(acc).map((o) => o.instrumentId))], CancelReason.UNCOVERED, time);
      this.#latest = null;
    }
    this.#table = table;
    const snap = this.risk.snapshot();
    this.risk.restore({
      ...snap,
      instruments: [...table.instruments],
      risks: current ? snap.risks : null,
      inputs: current ? snap.inputs : null,
      accounts: snap.accounts.map(([a]) => [a, proven.account(a).deriv]),
      insuranceFund: proven.globals.insuranceFund,
    });
    if (again) this.risk.setMarket(table.instruments, again.risks, { time: u!.time, prices: u!.prices, vols: again.vols, slices: u!.volSlices });
    this.settleStranded(time, refusedUpTo);
    if (again) this.#cancelUncovered(time);
    const how = current ? "" : again ? " (the latest oracle update applied again on top of it: marks only)" : " (the latest oracle update is no longer used: waiting for a fresh one)";
    this.host.log(`derivatives put back on the proven state${how}`);
  }

  // ---- instruments --------------------------------------------------------------------------------

  /** After a batch is on chain: its REGISTER_INSTRUMENT requests are proven, so their instruments trade from now on. */
  onBatchPosted(txs: readonly BatchTx[]): void {
    for (const tx of txs) if (tx.type === TxType.REGISTER_INSTRUMENT) this.#register(tx);
  }

  // ---- snapshot -------------------------------------------------------------------------------------

  /** Everything the service holds, JSON-able (bigints aside): part of the sequencer's snapshot. */
  snapshot(): DerivativesSnapshot {
    return {
      table: snapshotExchangeState(this.#table),
      latest: this.#latest,
      // the key replay leaves (the latest update's: applyOracleUpdate), not a live read not applied yet, which is not
      // logged: a restart reads the custodian's again at its first check
      oracleKey: this.#latest ? compressPublicKey(this.#latest.key) : this.#keyGiven ? this.#oracleKey : this.#replayedKey,
      risk: this.risk.snapshot(),
    };
  }

  /** Puts the service back in the state `snapshot` recorded (on a fresh service). */
  restore(snapshot: DerivativesSnapshot): void {
    this.#table = restoreExchangeState(this.host.params, snapshot.table);
    this.#latest = snapshot.latest;
    // the latest update's key, as replay leaves it (applyOracleUpdate); read from the custodian at the first check
    this.#oracleKey = snapshot.latest ? compressPublicKey(snapshot.latest.key) : snapshot.oracleKey;
    this.#replayedKey = this.#oracleKey;
    this.risk.restore(snapshot.risk);
  }

  #register(tx: RegisterInstrumentTx): void {
    const { type: _t, instrumentId, ...spec } = tx;
    const previous = this.#table.instruments[instrumentId];
    this.#table.setInstrument(instrumentId, registeredInstrument(spec, previous));
    // a reused id: the settled instrument's bookkeeping (cost basis, realised PnL) is not the new one's, and its
    // market goes (orders for it are refused STALE_MARKET; its book is empty: #settle cancelled what rested there)
    if (previous.kind !== InstrumentKind.NONE) {
      this.risk.ledger.clearInstrument(instrumentId);
      const old = instrumentMarketId(instrumentId, previous.generation, this.host.params.instruments);
      const book = this.host.engine.depth(old, 1);
      if (book.bids.length + book.asks.length === 0) this.host.markets.remove(old);
      else this.host.log(`market ${old} of the settled instrument ${instrumentId} still has orders: kept listed`);
    }
    const marketId = instrumentMarketId(instrumentId, this.#table.instruments[instrumentId].generation, this.host.params.instruments);
    this.host.markets.add({
      marketId, baseTokenId: NO_BASE_TOKEN, sizeUnit: spec.lotSizeE6, priceUnit: spec.tickValue,
      makerFeePpm: this.host.makerFeePpm, takerFeePpm: this.host.takerFeePpm,
    });
    // Marks of the new instrument at the latest update: what a batch using it computes.
    const u = this.#latest;
    const risks = this.risk.risks ? [...this.risk.risks] : null;
    if (u && risks) {
      const inst = this.#table.instruments[instrumentId];
      risks[instrumentId] = lotRisk(inst, u.prices[inst.underlying], volsByInstrument([inst], u.prices, u.volSlices, u.time)[0], u.time);
    }
    this.risk.setMarket(this.#table.instruments, risks, null);
    this.host.log(`instrument ${instrumentId} (kind ${spec.kind}) is tradable as market ${marketId}`);
  }

  // ---- oracle ---------------------------------------------------------------------------------------

  /** Throws unless `u` is signed under the custodian's oracle key (its signature is checked by applyOracleUpdate's step). */
  async checkOracleKey(u: SignedOracleUpdate): Promise<void> {
    let compressed: bigint;
    try {
      compressed = compressPublicKey(u.key);
    } catch {
      throw new RequestRejected("BAD_ORACLE_KEY", "the update's key is not a Baby Jubjub point");
    }
    // The custodian's key is read again when the copy is ORACLE_KEY_RECHECK_MS old, or NO_KEY_RECHECK_MS old and the
    // update is under another key (or none is known): the timelock may have replaced it, and the copy must follow,
    // else the new oracle's updates were refused for good and the retired key's batched, which the custodian refuses
    // (review of 2026-12-06, Medium). Anyone may post updates: a burst under foreign keys costs one read per
    // NO_KEY_RECHECK_MS at most (the time is taken when a read starts, and concurrent checks share it).
    const age = this.host.wallClockMs() - this.#keyReadAt;
    const due = this.#oracleKey === null ? this.host.wallClockMs() >= this.#noKeyUntil : age >= (compressed === this.#oracleKey ? ORACLE_KEY_RECHECK_MS : NO_KEY_RECHECK_MS);
    if (due) await this.refreshOracleKey();
    if (this.#oracleKey === null) throw new RequestRejected("NO_ORACLE_KEY", "the custodian has no oracle key");
    if (compressed !== this.#oracleKey) throw new RequestRejected("BAD_ORACLE_KEY", "the update is not under the custodian's oracle key");
  }

  /**
   * Applies an update whose key was checked (acceptOracleUpdate, or a logged one at replay): it must not
   * come from the future nor be older than ORACLE_FRESHNESS, not go back in time, move the funding epoch by at most one, and respect every
   * rate cap (the circuit's rules), judged at `now` (the oracle record's time; the orders it cancels are
   * cancelled at it). Refused updates change nothing.
   */
  applyOracleUpdate(u: SignedOracleUpdate, now: number): OracleOutcome {
    if (u.time > now) throw new RequestRejected("ORACLE_FROM_FUTURE", `oracle time ${u.time} is in the future`);
    // A batch using it is stamped no earlier than now (the acceptance time of what it causes), and the
    // builder refuses an update more than MAX_ORACLE_AGE before the stamp: so does intake, with margin.
    if (now - u.time > ORACLE_FRESHNESS) throw new RequestRejected("STALE_ORACLE", `oracle time ${u.time} is more than ${ORACLE_FRESHNESS} s old`);
    const before = this.#table.instruments.map((i) => i.settlePrice);
    const t = this.#table.begin();
    let step;
    try {
      step = applyOracleStep(this.#table, u, u.time);
      // Every live option must find its (underlying, expiry) in the update's vol table; an option listed after the
      // update was signed is marked at the floor vol until the next one (SliceVol), never by a refused update.
      const unpriced = unpricedOptions(this.#table.instruments, u.volSlices, u.time);
      if (unpriced.length) throw new OracleRejected("NO_VOL_SLICE", `no vol slice for option ${unpriced.join(", ")} (its underlying and expiry)`);
      t.commit();
    } catch (e) {
      t.rollback();
      if (e instanceof OracleRejected) throw new RequestRejected(e.code, e.message);
      throw e;
    }
    this.#latest = u;
    this.#replayedKey = compressPublicKey(u.key);
    if (!this.#keyGiven) this.#oracleKey = this.#replayedKey;
    this.risk.setMarket(this.#table.instruments, step.risks, { time: u.time, prices: u.prices, vols: step.vols, slices: u.volSlices });
    const settled = this.#table.instruments.flatMap((inst, i) => (before[i] === 0n && inst.settlePrice !== 0n ? [i] : []));
    if (step.fundingTick || settled.length) this.host.enqueue(NOOP, now, u);
    const deleveraged: OracleOutcome["deleveraged"] = [];
    // An expiry's deficit beyond the fund goes to the other side before SETTLE pays the positions out: a settled
    // position closes at its payoff (DELEVERAGE), which SETTLE cannot share.
    if (settled.length) {
      for (const victim of this.risk.accountIds()) if (this.risk.bankruptBeyondFund(victim)) deleveraged.push(...this.#deleverage(victim, u, now));
    }
    for (const id of settled) this.#settle(id, u, now);
    this.settleStranded(now);
    const cancelled = this.#cancelUncovered(now);
    const liquidations = this.#liquidateAll(u, now, deleveraged);
    deleveraged.push(...this.#socialise(u, now));
    // a deleveraged counterparty's equity fell: the orders it no longer covers go too
    if (deleveraged.length) cancelled.push(...this.#cancelUncovered(now).filter((acc) => !cancelled.includes(acc)));
    return { fundingTick: step.fundingTick, settled, liquidations, deleveraged, cancelled };
  }

  #cancelOrders(accountId: number, instrumentIds: readonly number[], reason: CancelReason, time: number): void {
    for (const id of instrumentIds) {
      this.host.absorb(this.host.engine.execute({ kind: "cancelAll", time, accountId, marketId: this.marketOf(id), reason }), time);
    }
  }

  /** Expiry: open orders on the instrument are cancelled, every position in it is paid out (SETTLE). */
  #settle(id: number, u: SignedOracleUpdate, time: number): void {
    for (const acc of this.risk.accountsWithOrders()) {
      if (this.risk.openOrders(acc).some((o) => o.instrumentId === id)) this.#cancelOrders(acc, [id], CancelReason.EXPIRED, time);
    }
    for (const acc of this.risk.accountIds()) {
      if (this.risk.account(acc).positions[id].size === 0n) continue;
      this.risk.settle(acc, id);
      this.host.enqueue({ type: TxType.SETTLE, accountId: acc, instrumentId: id }, time, u);
    }
    this.host.log(`instrument ${id} settled at ${this.#table.instruments[id].settlePrice}`);
  }

  /**
   * Pays out (SETTLE, queued at the latest update) every position the risk view holds in an instrument its table has
   * settled. An update's expiry settles the positions the view holds then (#settle); a position the view gets back
   * afterwards, from the proven state (a rejected trade that had closed it: the rebase, or ExchangeCore's put-back of
   * the trade's accounts), was never queued, and nothing else would pay it out or free its id (review of 2026-12-07:
   * both accounts of a rejected closing trade kept a settled position for good). Also run at every update, for a
   * position whose SETTLE left the queue rejected. Nothing without a latest update fresh at `time`, nor at a rebase
   * whose rejected entries were tagged with it (`refusedUpTo`: the newest such update): a SETTLE at an update no batch
   * can use any more is rejected in turn, and queued again at that rebase, without end (review of 2026-12-07: an
   * oracle outage after an expiry looped the batch builder). The next update runs it.
   */
  settleStranded(time: number, refusedUpTo = -1): void {
    const u = this.#latest;
    if (!u || u.time <= refusedUpTo || time - u.time > ORACLE_FRESHNESS) return;
    this.#table.instruments.forEach((inst, id) => {
      if (inst.settlePrice === 0n || this.risk.openInterest[id].holders === 0) return;
      for (const acc of this.risk.accountIds()) {
        if (this.risk.account(acc).positions[id].size === 0n) continue;
        this.risk.settle(acc, id);
        this.host.enqueue({ type: TxType.SETTLE, accountId: acc, instrumentId: id }, time, u);
        this.host.log(`account ${acc}'s position in settled instrument ${id} paid out (it came back from the proven state)`);
      }
    });
  }

  /** Cancels every open derivatives order of accounts whose equity no longer covers the acceptance rule. */
  #cancelUncovered(time: number): number[] {
    const out: number[] = [];
    for (const acc of this.risk.accountsWithOrders()) {
      if (this.risk.covered(acc)) continue;
      this.#cancelOrders(acc, [...new Set(this.risk.openOrders(acc).map((o) => o.instrumentId))], CancelReason.UNCOVERED, time);
      out.push(acc);
    }
    return out;
  }

  #liquidateAll(u: SignedOracleUpdate, time: number, deleveraged: OracleOutcome["deleveraged"]): [number, number, bigint][] {
    const done: [number, number, bigint][] = [];
    const l = this.liquidator;
    for (const victim of this.risk.accountIds()) {
      if (!this.risk.belowMaintenance(victim)) continue;
      // a deficit beyond the fund goes to the other side first (DELEVERAGE), the liquidator's own too (nobody can
      // liquidate it, and a deficit left open keeps the collateral side short for everybody: DERIVATIVES.md "Pooled
      // quote"); a liquidation closes the rest
      if (this.risk.bankruptBeyondFund(victim)) deleveraged.push(...this.#deleverage(victim, u, time));
      if (victim === l?.accountId || !this.risk.belowMaintenance(victim)) continue;
      if (!l) {
        this.host.log(`account ${victim} is below maintenance margin, but no liquidator is configured`);
        continue;
      }
      const risks = this.risk.risks!;
      const positions = this.risk.account(victim).positions
        .map((p, id) => ({ id, size: p.size, value: (p.size < 0n ? -p.size : p.size) * risks[id].mark }))
        // (judged at the record's time: an update signed before a dated instrument's expiry may arrive after it)
        .filter((p) => p.size !== 0n && this.placeFault(this.marketOf(p.id), time) === null)
        .sort((a, b) => (b.value > a.value ? 1 : b.value < a.value ? -1 : 0));
      for (const p of positions) {
        if (!this.risk.belowMaintenance(victim)) break;
        // the liquidator's order is signed before anything is applied: an order it cannot sign (a field out of its
        // range) leaves the position to a later update, logged, and the update itself stays accepted and logged
        let lots: bigint | null = null;
        try {
          lots = this.#liquidate(victim, l, p.id, p.size, u, time);
        } catch (e) {
          this.host.log(`cannot liquidate account ${victim}'s position in instrument ${p.id}: ${(e as Error).message}`);
        }
        if (lots) done.push([victim, p.id, lots]);
      }
    }
    return done;
  }

  /**
   * Auto-deleveraging (DELEVERAGE; the rule is formulas.ts deleverageClose, the circuit's): while `victim`'s equity
   * plus the insurance fund is negative, its positions (largest at the mark first) close against the accounts
   * holding the other side, those with the most equity first (then the lower account id), each taking the
   * position at the mark and paying as much of the shortfall as its equity allows (formulas.ts deleverageAmount).
   * The ranking is this policy's, not a proven rule (RULES.md G13).
   */
  #deleverage(victim: number, u: SignedOracleUpdate, time: number): OracleOutcome["deleveraged"] {
    const done: OracleOutcome["deleveraged"] = [];
    const risks = this.risk.risks!;
    const positions = this.risk.account(victim).positions
      .map((p, id) => ({ id, value: (p.size < 0n ? -p.size : p.size) * risks[id].mark }))
      .filter((p) => p.value !== 0n && this.risk.deleverageable(p.id))
      .sort((a, b) => (b.value > a.value ? 1 : b.value < a.value ? -1 : 0));
    const equity = (acc: number) => this.risk.margin(acc)?.equity ?? 0n;
    for (const { id } of positions) {
      const counterparties = this.risk.accountIds()
        .filter((acc) => acc !== victim && this.risk.account(acc).positions[id].size * this.risk.account(victim).positions[id].size < 0n)
        .sort((a, b) => (equity(b) > equity(a) ? 1 : equity(b) < equity(a) ? -1 : a - b));
      for (const cp of counterparties) {
        const size = this.risk.account(victim).positions[id].size;
        if (size === 0n || !this.risk.bankruptBeyondFund(victim)) break;
        const theirs = this.risk.account(cp).positions[id].size;
        const lots = [size, theirs, MAX_CLOSE_LOTS].map((s) => (s < 0n ? -s : s)).reduce((x, y) => (x < y ? x : y));
        const amount = this.risk.deleverageAmount(victim, cp);
        if (amount === 0n || this.risk.deleverage(victim, cp, id, lots, amount, true) !== null) continue;
        this.host.enqueue({ type: TxType.DELEVERAGE, deleveragedAccountId: victim, counterpartyAccountId: cp, instrumentId: id, lots, amount }, time, u);
        this.host.log(`deleveraging: account ${victim}'s ${lots} lots of instrument ${id} passed to account ${cp} at the mark, which pays ${amount} of its deficit`);
        done.push([victim, cp, id, lots]);
      }
      if (!this.risk.bankruptBeyondFund(victim)) break;
    }
    return done;
  }

  /**
   * The last resort (a DELEVERAGE of no lots, "socialised"; the rule is formulas.ts deleverageClose, the circuit's):
   * an account left holding nothing with a deficit the insurance fund cannot cover (a liquidation or a settlement
   * closed its positions, or the other side's equity did not reach) has nobody on the other side any more, so the
   * accounts with the most equity pay it, those holding positions first, each as much as its equity allows. Named
   * instrument: one the payer holds (its position slot is the one the proof writes), else the lowest registered.
   * The ranking is this policy's, not a proven rule (RULES.md G13).
   */
  #socialise(u: SignedOracleUpdate, time: number): OracleOutcome["deleveraged"] {
    const done: OracleOutcome["deleveraged"] = [];
    const holds = (acc: number) => this.risk.account(acc).positions.findIndex((p) => p.size !== 0n);
    const anyInstrument = this.risk.instruments.findIndex((_, id) => this.risk.deleverageable(id));
    const equity = (acc: number) => this.risk.margin(acc)?.equity ?? 0n;
    for (const victim of this.risk.accountIds()) {
      if (holds(victim) !== -1 || !this.risk.bankruptBeyondFund(victim)) continue;
      const payers = this.risk.accountIds()
        .filter((acc) => acc !== victim && equity(acc) > 0n)
        .sort((a, b) => Number(holds(a) === -1) - Number(holds(b) === -1) || (equity(b) > equity(a) ? 1 : equity(b) < equity(a) ? -1 : a - b));
      for (const cp of payers) {
        if (!this.risk.bankruptBeyondFund(victim)) break;
        const held = holds(cp);
        const id = held !== -1 && this.risk.deleverageable(held) ? held : anyInstrument;
        const amount = this.risk.deleverageAmount(victim, cp);
        if (id === -1 || amount === 0n || this.risk.deleverage(victim, cp, id, 0n, amount, true) !== null) continue;
        this.host.enqueue({ type: TxType.DELEVERAGE, deleveragedAccountId: victim, counterpartyAccountId: cp, instrumentId: id, lots: 0n, amount }, time, u);
        this.host.log(`socialised loss: account ${cp} pays ${amount} of account ${victim}'s deficit, which nobody on the other side could cover`);
        done.push([victim, cp, id, 0n]);
      }
    }
    return done;
  }

  /**
   * Closes as much of `size` as the liquidator can take (halving until it stays above IM) at the mark's tick; nothing
   * when the position would be one beyond the liquidator's position slots (positionLimit.ts).
   */
  #liquidate(victim: number, l: Liquidator, id: number, size: bigint, u: SignedOracleUpdate, time: number): bigint | null {
    // the liquidator's order is signed here, never placed in the engine: its position slots are checked here (and by risk.liquidate)
    const slots = this.risk.positionSlotsFault(l.accountId, id);
    if (slots) {
      this.host.log(`the liquidator cannot take account ${victim}'s position in instrument ${id}: ${slots.message}`);
      return null;
    }
    const inst = this.#table.instruments[id];
    const mark = this.risk.risks![id].mark;
    // the tick nearest the mark, at least one: within the band, which allows a tick either way (withinLiquidationBand)
    const nearest = (mark + inst.tickValue / 2n) / inst.tickValue;
    const priceTicks = nearest < 1n ? 1n : nearest;
    if ( priceTicks > MAX_PRICE_TICKS || !withinLiquidationBand(priceTicks, inst.tickValue, mark)) {
      this.host.log(`cannot price a liquidation of instrument ${id} within the band (mark ${mark})`);
      return null;
    }
    let lots = size < 0n ? -size : size;
    if (lots > MAX_CLOSE_LOTS) lots = MAX_CLOSE_LOTS;
    while (lots > 0n && this.risk.liquidate(victim, l.accountId, id, lots, priceTicks, false) === null) lots /= 2n;
    if (lots === 0n) {
      this.host.log(`the liquidator cannot take account ${victim}'s position in instrument ${id} within its margin`);
      return null;
    }
    const order = signOrder(l.key, {
      accountId: l.accountId, orderId: this.host.claimOrderId(l.accountId), marketId: this.marketOf(id),
      side: size > 0n ? Side.BUY : Side.SELL, type: OrderType.LIMIT, timeInForce: TimeInForce.IOC, priceTicks, sizeLots: lots,
      // an IOC order: fillable by any batch that uses u (stamped after u.time, at most MAX_ORACLE_AGE after it), and
      // within the window the circuit allows orders that never rest (OrderTime: expiry - stamp <= IMMEDIATE_ORDER_TTL);
      // both hold while MAX_ORACLE_AGE <= IMMEDIATE_ORDER_TTL (test/sequencer/protocol/messages.test.ts "order time")
      maxFeePpm: 0, expiry: u.time + IMMEDIATE_ORDER_TTL,
    });
    const penalty = this.risk.liquidate(victim, l.accountId, id, lots, priceTicks, true)!;
    this.host.enqueue({ type: TxType.LIQUIDATE, liquidatedAccountId: victim, liquidator: order, lots, priceTicks, liquidatorFeePpm: 0 }, time, u);
    this.host.log(`liquidation: account ${victim}, ${lots} lots of instrument ${id} at ${priceTicks} to the liquidator, penalty ${penalty}`);
    return lots;
  }

  // ---- transfers ------------------------------------------------------------------------------------

  /**
   * Moves quote between an account's spot balance and its collateral (signature and nonce already
   * checked by the sequencer). In: the spot balance must have `amount` available. Out: the equity left
   * must cover the positions and open orders. The latest oracle update must be fresh at `time` (the
   * transfer record's). Refused transfers change nothing.
   */
  acceptTransfer(t: Signed<Transfer>, time: number): void {
    this.#requireFreshOracle(time);
    const fault = transferFault(t); // the witness builder's rule (messages.ts)
    if (fault) throw new RequestRejected(fault.code, fault.message);
    if (t.toCollateral) {
      if (!this.host.spot.debit(t.accountId, 0, t.amount)) {
        throw new RequestRejected("INSUFFICIENT_BALANCE", `account ${t.accountId} cannot move ${t.amount} quote to collateral`);
      }
      this.risk.creditCollateral(t.accountId, t.amount);
    } else {
      const refused = this.risk.debitCollateral(t.accountId, t.amount);
      if (refused === "margin") {
        throw new RequestRejected("INSUFFICIENT_MARGIN", `account ${t.accountId} cannot take ${t.amount} out of collateral and stay covered`);
      }
      if (refused === "side") {
        throw new RequestRejected(
          "DERIVATIVES_SHORTFALL",
          `the collateral side holds ${this.risk.collateralSide} (every account's collateral and the insurance fund, accounts under water netted), less than the ${t.amount} asked: gains wait for liquidations or deleverage (DERIVATIVES.md "Pooled quote")`,
        );
      }
      this.host.spot.credit(t.accountId, 0, t.amount);
    }
  }
}

/**
 * Applies update `u` to `table` (the proven instrument table) when it only moves marks there: no funding tick,
 * no instrument settled by it, every live option priced; the step, or null (the table unchanged) otherwise.
 */
function marksOnlyStep(table: ExchangeState, u: SignedOracleUpdate): ReturnType<typeof applyOracleStep> | null {
  const before = table.instruments.map((i) => i.settlePrice);
  const t = table.begin();
  try {
    const step = applyOracleStep(table, u, u.time, true, false);
    const settles = table.instruments.some((inst, i) => before[i] === 0n && inst.settlePrice !== 0n);
    if (step.fundingTick || settles || unpricedOptions(table.instruments, u.volSlices, u.time).length) {
      t.rollback();
      return null;
    }
    t.commit();
    return step;
  } catch (e) {
    t.rollback();
    if (e instanceof OracleRejected) return null;
    throw e;
  }
}
