/**
 * The read-only query interface of the exchange: everything the API (sequencer/api) and the process's
 * IPC read, answered from the sequencer's parts without handing them out. Readers see books, orders,
 * accounts, derivatives risk, markets, instruments and the settlement health through this interface
 * only; commands (place, cancel, withdraw, ...) go through the Sequencer's methods. Nothing here changes
 * anything.
 */
import type { PublicKey } from "../crypto/babyjub.ts";
import { InstrumentKind, TriggerType, instrumentMarketId } from "../protocol/constants.ts";
import type { CircuitParams } from "../protocol/params.ts";
import type { Depth, MarketParams, MarketRegistry, MatchingEngine, OrderView } from "../matching/index.ts";
import type { HeldOrder, TriggerBook } from "../matching/triggers.ts";
import type { HeldOrderView, OpenOrderView } from "../wire/responses.ts";
import { accountReport, accountSummary, type AccountReport, type AccountSummary } from "../risk/accountReport.ts";
import type { SpotRisk } from "../risk/spotRisk.ts";
import type { DerivativesService } from "./derivatives.ts";
import { instrumentStatus, isOption, tickSizeE8, type DerivAccount } from "../derivatives/formulas.ts";

/** One spot balance of an account: held, reserved by open orders, available (held minus reserved). */
export type BalanceView = { tokenId: number; balance: bigint; reserved: bigint; available: bigint };

/** Why the batch loop is or is not healthy: consecutive failed batch attempts and the last error. */
export type BatchHealth = { consecutiveFailures: number; lastError: { message: string; at: number } | null; lastBatchAt: number | null };

/** Settlement health: what stops settlement now (empty when ok) and the batch loop's record. */
export type Health = { ok: boolean; problems: string[]; batches: BatchHealth };

/** The instrument table as readers see it: marks at the latest oracle update, funding epoch, table sizes. */
export type InstrumentsView = {
  /** Time of the latest oracle update's marks, or null before the first. */
  oracleTime: number | null;
  /** The funding epoch the next oracle update continues from (the same, or one more with a funding tick). */
  fundingEpoch: number;
  /** Instrument ids run 0..instrumentSlots-1; an oracle update carries one funding rate per slot. */
  instrumentSlots: number;
  /** The last optionSlots ids are the only ones that may hold options; an oracle update carries one implied vol per such id. */
  optionSlots: number;
  /** An oracle update carries one index price per underlying. */
  underlyings: number;
  /** An account holds a non-zero position in at most this many instruments at once (its position slots, docs/client.md 6.6). */
  positionSlots: number;
  /**
   * Registered instruments (kind NONE left out), with their market id, tick size (`tickSizeE8`, 1e-8 quote per
   * underlying unit, as registered: `tickValue = tickSizeE8 * lotSizeE6 / 10^8`), status (live, expired: awaiting the
   * update that names its expiry, settled), mark per lot (null before marks) and, for options, the implied vol
   * (ppm) the latest oracle update signed for them (`volPpm`; null otherwise), and its open interest as intake
   * sees it (every accepted fill, proven or not): `openInterestLots` (the long side's lots) and `holders` (accounts
   * with a position in it).
   */
  instruments: object[];
};

/**
 * The treasury as the proven state holds it (every batch built, including one being posted): the fee pool, the
 * insurance fund, the open bad debt the fund must keep, and the pooled quote (collateral, fund and pool together:
 * a FEE_WITHDRAW needs it to cover the amount, an INSURANCE_WITHDRAW needs it less the fee pool to; circuits/
 * DERIVATIVES.md "Pooled quote"). What FEE_WITHDRAW and INSURANCE_WITHDRAW requests are judged against, once the
 * transactions pending before them are proven.
 */
export type TreasuryView = { feePool: bigint; insuranceFund: bigint; openBadDebt: bigint; pooledQuote: bigint };

/** Everything the API and the IPC read from the exchange. */
export interface ExchangeQuery {
  /** The circuit parameters (sizes, levels) the exchange runs with. */
  readonly params: CircuitParams;
  /** Every registered market. */
  markets(): MarketParams[];
  /** A registered market, or undefined. */
  market(marketId: number): MarketParams | undefined;
  /** The top `levels` price levels of each side of a market's book (orders past their expiry left out). */
  book(marketId: number, levels: number): Depth;
  /** An order of the account resting in the book, or undefined (also once it is past its expiry, as `book` leaves it out). */
  order(accountId: number, orderId: bigint): OrderView | undefined;
  /**
   * The account's open orders: those resting in the book (status "open", oldest first), then the stop and
   * take-profit orders held until their trigger (status "held", in arrival order; docs/client.md 6.8); orders past
   * their expiry left out.
   */
  openOrders(accountId: number): OpenOrderView[];
  /** A held (untriggered) stop or take-profit order of the account, or undefined (also once it is past its expiry). */
  heldOrder(accountId: number, orderId: bigint): HeldOrderView | undefined;
  /** Whether the account ever used this order id (a placement with it would be refused). */
  isOrderIdUsed(accountId: number, orderId: bigint): boolean;
  /** The account's spot balances. */
  balances(accountId: number): BalanceView[];
  /** The account's derivatives report: collateral, equity, margins, positions with PnL and Greeks, liquidation prices. */
  derivativesAccount(accountId: number): AccountReport;
  /**
   * The account's derivatives report without the liquidation prices (a search over the price, milliseconds per
   * account holding options): what the private stream sends every account after each oracle update.
   */
  derivativesSummary(accountId: number): AccountSummary;
  /** The instrument table with marks at the latest oracle update. */
  instruments(): InstrumentsView;
  /** The fee pool, the insurance fund and the open bad debt of the proven state. */
  treasury(): TreasuryView;
  /** The trading key registered for the account (usable at once), or undefined. */
  tradingKey(accountId: number): PublicKey | undefined;
  /** The nonce the account's next withdrawal or transfer must carry. */
  withdrawalNonce(accountId: number): number;
  /** Transactions not yet on chain: the batch being posted, those waiting for a batch and the on-chain requests held until an oracle update. */
  readonly pendingTransactions: number;
  /** The root of the state proven batches commit to (including a batch being built or posted). */
  readonly stateRoot: bigint;
  /** What stops settlement now, or nothing. */
  health(): Health;
  /** The prover's metrics (queue depth, throughput, latency, device health), when it reports any. */
  proverMetrics(): object | null;
}

/** The parts the queries read: the engine's books, spot and derivatives risk, intake and batching status. */
export type QuerySources = {
  params: CircuitParams;
  markets: MarketRegistry;
  engine: MatchingEngine;
  spot: SpotRisk;
  derivatives: DerivativesService;
  /** The stop and take-profit orders the exchange core holds until their trigger (ExchangeCore.triggers). */
  triggers: Pick<TriggerBook, "list">;
  /**
   * The exchange's time input now (unix seconds: the Sequencer's clock). The core moves time only with records, so
   * between them an order past its expiry may still rest or be held (ExchangeCore.apply sweeps it at the next record):
   * the book, order and open-order views leave out every order with `expiry < now()` (they change nothing).
   */
  now: () => number;
  /** Intake's per-account state (keys, nonces) and the batch side's status, answered as they are. */
  status: Pick<ExchangeQuery, "tradingKey" | "withdrawalNonce" | "pendingTransactions" | "stateRoot" | "health" | "proverMetrics" | "treasury">;
};

/** The query interface over the sequencer's parts (read-only: every answer is a fresh value or a view). */
export class SequencerQuery implements ExchangeQuery {
  readonly params: CircuitParams;
  readonly #s: QuerySources;

  /** A view over `sources` (read at each call, so it follows them). */
  constructor(sources: QuerySources) {
    this.#s = sources;
    this.params = sources.params;
  }

  /** See ExchangeQuery.markets. */
  markets(): MarketParams[] {
    return this.#s.markets.list();
  }

  /** See ExchangeQuery.market. */
  market(marketId: number): MarketParams | undefined {
    return this.#s.markets.get(marketId);
  }

  /** See ExchangeQuery.book. */
  book(marketId: number, levels: number): Depth {
    return this.#s.engine.depth(marketId, levels, this.#s.now());
  }

  /** See ExchangeQuery.order. */
  order(accountId: number, orderId: bigint): OrderView | undefined {
    const o = this.#s.engine.order(accountId, orderId);
    return o && o.expiry >= this.#s.now() ? o : undefined;
  }

  /** See ExchangeQuery.openOrders. */
  openOrders(accountId: number): OpenOrderView[] {
    const now = this.#s.now();
    const book: OpenOrderView[] = this.#s.engine.openOrders(accountId).filter((o) => o.expiry >= now).map((o) => ({ ...o, status: "open" }));
    return [...book, ...this.#s.triggers.list(accountId).filter((h) => h.order.expiry >= now).map(heldOrderView)];
  }

  /** See ExchangeQuery.heldOrder. */
  heldOrder(accountId: number, orderId: bigint): HeldOrderView | undefined {
    const held = this.#s.triggers.list(accountId).find((h) => h.order.orderId === orderId);
    return held && held.order.expiry >= this.#s.now() ? heldOrderView(held) : undefined;
  }

  /** See ExchangeQuery.isOrderIdUsed. */
  isOrderIdUsed(accountId: number, orderId: bigint): boolean {
    return this.#s.engine.isOrderIdUsed(accountId, orderId);
  }

  /** See ExchangeQuery.balances. */
  balances(accountId: number): BalanceView[] {
    const spot = this.#s.spot;
    return spot
      .entriesOf(accountId, 4 ** this.params.balanceLevels)
      .map((e) => ({ tokenId: e.tokenId, balance: e.balance, reserved: e.reserved, available: e.balance - e.reserved }));
  }

  /** See ExchangeQuery.derivativesAccount. */
  derivativesAccount(accountId: number): AccountReport {
    return accountReport(this.#s.derivatives.risk, accountId);
  }

  /** See ExchangeQuery.derivativesSummary. */
  derivativesSummary(accountId: number): AccountSummary {
    return accountSummary(this.#s.derivatives.risk, accountId);
  }

  /** See ExchangeQuery.instruments. */
  instruments(): InstrumentsView {
    const risk = this.#s.derivatives.risk;
    const interest = risk.openInterest;
    return {
      oracleTime: risk.inputs?.time ?? null,
      fundingEpoch: this.#s.derivatives.fundingEpoch,
      instrumentSlots: this.params.instruments,
      optionSlots: this.params.optionInstruments,
      underlyings: this.params.underlyings,
      positionSlots: this.params.positionSlots,
      // `holders` is intake's count (every accepted fill), not the proven table's: the risk view follows intake
      instruments: risk.instruments.flatMap(({ holders: _, ...inst }, i) =>
        inst.kind === InstrumentKind.NONE ? [] : [{
          instrumentId: i, marketId: instrumentMarketId(i, inst.generation, this.params.instruments), ...inst, tickSizeE8: tickSizeE8(inst), status: instrumentStatus(inst, risk.inputs?.time ?? null), markPerLot: risk.risks?.[i].mark ?? null,
          volPpm: isOption(inst.kind) ? (risk.inputs?.vols[i] ?? null) : null, ...interest[i],
        }]),
    };
  }

  /** See ExchangeQuery.treasury. */
  treasury(): TreasuryView {
    return this.#s.status.treasury();
  }

  /** See ExchangeQuery.tradingKey. */
  tradingKey(accountId: number): PublicKey | undefined {
    return this.#s.status.tradingKey(accountId);
  }

  /** See ExchangeQuery.withdrawalNonce. */
  withdrawalNonce(accountId: number): number {
    return this.#s.status.withdrawalNonce(accountId);
  }

  /** See ExchangeQuery.pendingTransactions. */
  get pendingTransactions(): number {
    return this.#s.status.pendingTransactions;
  }

  /** See ExchangeQuery.stateRoot. */
  get stateRoot(): bigint {
    return this.#s.status.stateRoot;
  }

  /** See ExchangeQuery.health. */
  health(): Health {
    return this.#s.status.health();
  }

  /** See ExchangeQuery.proverMetrics. */
  proverMetrics(): object | null {
    return this.#s.status.proverMetrics();
  }
}

/** A held order as readers see it: the signed fields without the signature, nothing filled, and when it arrived. */
function heldOrderView({ order: { signature: _s, ...order }, time }: HeldOrder): HeldOrderView {
  return {
    ...order, status: "held", triggerType: order.triggerType ?? TriggerType.NONE, triggerPriceTicks: order.triggerPriceTicks ?? 0n,
    remainingLots: order.sizeLots, filledLots: 0n, heldSince: time,
  };
}

