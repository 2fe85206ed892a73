/**
 * Derivatives risk: the RiskHook of instrument markets (marketId >= INSTRUMENT_MARKET_BASE) and the
 * sequencer's running view of every account's derivatives state — collateral, positions and funding
 * snapshots as the pending and proven transactions leave them — so it accepts exactly what the batch
 * circuit will prove. All arithmetic is formulas.ts's (the circuit's); the acceptance rule is
 * marginRule.ts's (equity at the latest oracle marks covers the initial margin of the positions plus
 * the worst case of the open orders). An account takes on a position in an instrument it does not hold only while
 * it holds fewer than the circuit's position slots (positionLimit.ts), judged when the position would open: at each
 * fill (`canFill`, which the matching engine asks for both sides before each fill: a resting maker that may not fill
 * is cancelled, position-slots), and at a liquidator's takeover. Open orders take no slot, so an account may rest
 * orders on any number of instruments; an order is refused (TOO_MANY_POSITIONS) only when it could not fill at
 * once (`refusal`).
 *
 * The service (sequencer/service/derivatives.ts) feeds it the instrument table and marks of each
 * accepted oracle update (setMarket), and applies transfers, liquidations and settlements through it.
 * Alongside, a PositionLedger keeps cost basis and realised PnL from fills, and the funding each position
 * settled (bookkeeping for the API).
 */
import { InstrumentKind, Side, marketInstrument } from "../protocol/constants.ts";
import { feeAmount } from "../protocol/fees.ts";
import type { RequestFault } from "../protocol/messages.ts";
import {
  EMPTY_INSTRUMENT, accountRisk, badDebtCover, settledMark, closeAtMark, deleverageAmount, deleverageClose, forcedCloseFault, instrumentStatus, isOption, openDebt, liquidationDeepensDebt, liquidationPenalty, reducibleLots, settleFunding, withPosition, type DerivAccount, type ForcedClose, type InstrumentState, type LotRisk,
} from "../derivatives/formulas.ts";
import type { RiskHook } from "../matching/riskHook.ts";
import { RejectCode, type FillEvent, type MarketParams, type OrderView } from "../matching/types.ts";
import { marginView, type MarginView, type OpenOrder } from "./marginRule.ts";
import { PositionLedger, type LedgerEntry } from "./positionLedger.ts";
import { positionSlotsFault } from "./positionLimit.ts";
import { collateralSideCovers, insuranceWithdrawHonoured, meetsInitialMargin } from "../state/forcedWithdrawal.ts";
import { findSlice, needsVol } from "../derivatives/volSurface.ts";
import type { VolSlice } from "../protocol/volSlices.ts";

/**
 * The oracle's inputs of the latest update (for Greeks and the time of marks): prices by underlying, implied
 * vols by instrument id (`volsByInstrument`: the floor 2^13 where no vol is read), and the update's vol table
 * (`slices`), by which an option listed after the update was signed is not tradable until an update prices it.
 */
export type MarketInputs = { time: number; prices: readonly bigint[]; vols: readonly bigint[]; slices?: readonly VolSlice[] };

/**
 * The instrument id an instrument market's id names (of any generation: `marketInstrument`), or null for a spot
 * market. Whether the market is the id's current instrument is `DerivativesRisk.marketUntradable`'s question.
 */
/**
 * An account's part of the collateral side, in a form that neither funding nor expiry moves: its collateral, plus
 * size * snapshot over its positions, plus the payoff its positions in settled instruments are still owed. Settling
 * funding (c -= size * (index - snap), snap = index) and a SETTLE (c += size * settledMark, size = 0) keep it; and the
 * sizes of an instrument sum to 0 over the accounts, so the sum over accounts is the conserved quantity of
 * DERIVATIVES.md "Conservation" less the fund and the pools: the state's pooled quote less its fee pool and fund.
 */
function settledValue(acc: DerivAccount, instruments: readonly InstrumentState[]): bigint {
  return acc.positions.reduce((v, p, i) => {
    const inst = instruments[i];
    return v + p.size * p.snapshot + (inst && inst.settlePrice !== 0n ? p.size * settledMark(inst) : 0n);
  }, acc.collateral);
}

export function instrumentOf(marketId: number, instruments: number): number | null {
  return marketInstrument(marketId, instruments)?.id ?? null;
}

/** Everything DerivativesRisk holds (maps as entries sorted by key), for the sequencer's snapshot. */
export type DerivativesRiskSnapshot = {
  instruments: InstrumentState[];
  risks: LotRisk[] | null;
  inputs: MarketInputs | null;
  accounts: [number, DerivAccount][];
  orders: [number, [bigint, OpenOrder][]][];
  ledger: [string, LedgerEntry][];
  insuranceFund: bigint;
};

export class DerivativesRisk implements RiskHook {
  readonly ledger = new PositionLedger();
  #instruments: readonly InstrumentState[];
  #risks: readonly LotRisk[] | null = null;
  #inputs: MarketInputs | null = null;
  readonly #accounts = new Map<number, DerivAccount>();
  readonly #interest: { openInterestLots: bigint; holders: number }[];
  readonly #orders = new Map<number, Map<bigint, OpenOrder>>();
  /** The insurance fund as the accepted liquidations leave it (penalties in, bad-debt cover out). */
  #insuranceFund = 0n;
  /** Sum over the accounts of {@link settledValue}: their collateral as if funding were settled, kept as accounts change. */
  #settledCollateral = 0n;

  /**
   * `instrumentCount`: the circuit's instrument ids (params.instruments); `positionSlots`: its position slots per
   * account (params.positionSlots; as many as the ids unless said, which limits nothing).
   */
  constructor(readonly instrumentCount: number, readonly positionSlots: number = instrumentCount) {
    this.#instruments = Array.from({ length: instrumentCount }, () => EMPTY_INSTRUMENT);
    this.#interest = Array.from({ length: instrumentCount }, () => ({ openInterestLots: 0n, holders: 0 }));
  }

  // ---- market data ------------------------------------------------------------------------------

  /** The instrument table (registrations, funding indexes, settlements) and, after an oracle update, its marks. */
  setMarket(instruments: readonly InstrumentState[], risks: readonly LotRisk[] | null, inputs: MarketInputs | null): void {
    const settlementMoved = instruments.some((inst, i) => inst.settlePrice !== this.#instruments[i]?.settlePrice);
    this.#instruments = [...instruments];
    // an instrument settling (or an id listed again) changes every holder's settledValue, by amounts that sum to 0
    if (settlementMoved) this.#countSettledCollateral();
    if (risks) this.#risks = [...risks];
    if (inputs) this.#inputs = inputs;
  }

  get instruments(): readonly InstrumentState[] {
    return this.#instruments;
  }
  get risks(): readonly LotRisk[] | null {
    return this.#risks;
  }
  /** The insurance fund as the accepted liquidations leave it. */
  get insuranceFund(): bigint {
    return this.#insuranceFund;
  }
  /** The open bad debt of the accounts it holds: the sum of their {@link openDebt} (the state's `badDebt`). */
  get badDebt(): bigint {
    let debt = 0n;
    for (const acc of this.#accounts.values()) debt += openDebt(acc);
    return debt;
  }

  /**
   * The collateral side as this view leaves it (DERIVATIVES.md "Pooled quote"): every account's collateral with its
   * funding settled and the payoffs of settled instruments it is owed, plus the insurance fund; the state's pooled
   * quote less its fee pool. What a TRANSFER out of collateral, a forced collateral withdrawal or an insurance
   * withdrawal may take (state/forcedWithdrawal.ts collateralSideCovers). Funding and settlement move collateral
   * between accounts only: neither changes the sum.
   */
  get collateralSide(): bigint {
    return this.#settledCollateral + this.#insuranceFund;
  }

  /** Counts the collateral side's accounts part again, account by account (a restore; an instrument settling). */
  #countSettledCollateral(): void {
    this.#settledCollateral = 0n;
    for (const acc of this.#accounts.values()) this.#settledCollateral += settledValue(acc, this.#instruments);
  }

  /** Whether the collateral side covers `amount` leaving it (the rule the batch proves, collateralSideCovers). */
  sideCovers(amount: bigint): boolean {
    return collateralSideCovers({ pooledQuote: this.collateralSide }, 0n, amount);
  }

  /**
   * An INSURANCE_WITHDRAW the custodian's operator queued, applied to this view (the state the batch applies it
   * to: it is queued after everything pending): honoured by the rule the batch proves (state/forcedWithdrawal.ts),
   * the fund pays at once. Returns the outcome.
   */
  withdrawInsurance(amount: bigint): boolean {
    // the view's collateral side is the state's pooled quote less its fee pool: passed as a pooled quote with no pool
    const honoured = insuranceWithdrawHonoured({ insuranceFund: this.#insuranceFund, badDebt: this.badDebt, pooledQuote: this.collateralSide }, 0n, amount);
    if (honoured) this.#insuranceFund -= amount;
    return honoured;
  }
  get inputs(): MarketInputs | null {
    return this.#inputs;
  }

  /** Why instrument `id` cannot be traded now (unknown, settled, no marks yet, an option the latest update has no vol slice for), or null. */
  untradable(id: number): string | null {
    const inst = this.#instruments[id];
    if (!inst || inst.kind === InstrumentKind.NONE) return "UNKNOWN_INSTRUMENT";
    const status = instrumentStatus(inst, this.#inputs?.time ?? null);
    if (status === "settled") return "INSTRUMENT_SETTLED";
    // (a mark of 0 means no marks for a future or a perpetual, never priced at 0; an option may be worth less than a
    // quote unit a lot, and is still traded and liquidated: review of 2026-12-06)
    if (!this.#risks || (this.#risks[id].mark === 0n && !isOption(inst.kind))) return "NO_ORACLE";
    if (status === "expired") return "INSTRUMENT_EXPIRED";
    // An option listed after the latest update was signed has no slice in it: marked at the floor vol until the next
    // update prices it (SliceVol), so nothing trades on it before.
    const slices = this.#inputs?.slices;
    if (slices && needsVol(inst, this.#inputs!.time) && findSlice(slices, inst.underlying, inst.expiry) < 0) return "NO_VOL_SLICE";
    return null;
  }

  /**
   * Why orders on instrument market `marketId` cannot trade now: `untradable`'s reasons, or STALE_MARKET when the
   * market is not its id's current instrument (an earlier instrument of a reused id, or a generation not yet
   * registered: the circuit refuses both, Fill's marketId); null when they can.
   */
  marketUntradable(marketId: number): string | null {
    const m = marketInstrument(marketId, this.instrumentCount);
    if (!m) return "UNKNOWN_INSTRUMENT";
    return this.untradable(m.id) ?? (m.generation === this.#instruments[m.id].generation ? null : "STALE_MARKET");
  }

  /** True when positions in `id` may be deleveraged: registered and marked (settled or not: a settled one closes at its payoff). */
  deleverageable(id: number): boolean {
    const inst = this.#instruments[id];
    return !!inst && inst.kind !== InstrumentKind.NONE && !!this.#risks;
  }

  // ---- accounts ---------------------------------------------------------------------------------

  account(accountId: number): DerivAccount {
    return this.#accounts.get(accountId) ?? { collateral: 0n, positions: this.#instruments.map(() => ({ size: 0n, snapshot: 0n })) };
  }

  /** Accounts with any collateral or position (every account the risk engine has seen). */
  accountIds(): number[] {
    return [...this.#accounts.keys()].sort((a, b) => a - b);
  }

  /** The account's open orders by order id (not by insertion: a snapshot restores the maps sorted, and the order must be the same live and restored). */
  openOrders(accountId: number): OpenOrder[] {
    return [...(this.#orders.get(accountId)?.entries() ?? [])].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
  }

  /**
   * Accounts with open derivatives orders, by id: the order of the cancellations an oracle update queues (OPERATOR_CANCEL
   * records, proven in that order), which must not depend on when each account first reserved margin (a snapshot
   * restores the map sorted, so a restarted sequencer would queue them otherwise and its log would not replay).
   */
  accountsWithOrders(): number[] {
    return [...this.#orders.entries()].filter(([, m]) => m.size > 0).map(([a]) => a).sort((a, b) => a - b);
  }

  /** The instruments in which the account has a non-zero position, as the accepted fills leave it: its used position slots. */
  held(accountId: number): Set<number> {
    const held = new Set<number>();
    this.account(accountId).positions.forEach((p, i) => {
      if (p.size !== 0n) held.add(i);
    });
    return held;
  }

  /**
   * Why the account may not take on a position in instrument `id` now (it holds K others: positionLimit.ts
   * positionSlotsFault), or null. Its open orders do not count.
   */
  positionSlotsFault(accountId: number, id: number): RequestFault | null {
    if ((this.account(accountId).positions[id]?.size ?? 0n) !== 0n) return null;
    return positionSlotsFault(this.held(accountId), id, this.positionSlots);
  }

  /** Equity, margins and the acceptance requirement of an account at the latest marks (null before any oracle update). */
  margin(accountId: number, extra: readonly OpenOrder[] = []): MarginView | null {
    if (!this.#risks) return null;
    return marginView(this.account(accountId), [...this.openOrders(accountId), ...extra], this.#instruments, this.#risks);
  }

  /** True when the account's equity covers its positions and open orders (vacuously before any oracle update). */
  covered(accountId: number): boolean {
    const m = this.margin(accountId);
    return !m || m.equity >= m.required;
  }

  /** True when the account's equity is below its maintenance margin (it may be liquidated). */
  belowMaintenance(accountId: number): boolean {
    const m = this.margin(accountId);
    return !!m && m.equity < m.mm;
  }

  /**
   * Stores the account; the funding its positions settled since the stored one (moved snapshots) goes to the ledger,
   * unless `settled` is false (the account put back on an earlier one: unwindFill).
   */
  #set(accountId: number, acc: DerivAccount, settled = true): void {
    const before = this.#accounts.get(accountId);
    if (settled) before?.positions.forEach((p, i) => {
      const paid = p.size * (acc.positions[i].snapshot - p.snapshot);
      if (paid !== 0n) this.ledger.funding(accountId, i, paid);
    });
    if (before) this.#count(before, -1);
    this.#count(acc, 1);
    this.#settledCollateral += settledValue(acc, this.#instruments) - (before ? settledValue(before, this.#instruments) : 0n);
    this.#accounts.set(accountId, acc);
  }

  /** Adds (`sign` 1) or removes (-1) an account's positions to or from the per-instrument open interest. */
  #count(acc: DerivAccount, sign: 1 | -1): void {
    acc.positions.forEach((p, i) => {
      if (p.size === 0n) return;
      const oi = this.#interest[i];
      oi.holders += sign;
      if (p.size > 0n) oi.openInterestLots += sign > 0 ? p.size : -p.size;
    });
  }

  /**
   * Per instrument id, as intake sees it (every accepted fill, proven or not): the long side's lots (= the short
   * side's) and how many accounts hold a position in it; kept as accounts change, not counted per request.
   */
  get openInterest(): readonly { readonly openInterestLots: bigint; readonly holders: number }[] {
    return this.#interest;
  }

  /** The account with funding settled on every position (what any touch of it does first). */
  #touched(accountId: number): DerivAccount {
    return settleFunding(this.account(accountId), this.#instruments.map((i) => i.fundingIndex));
  }

  /** Collateral in from the spot quote balance (a TRANSFER to collateral). */
  creditCollateral(accountId: number, amount: bigint): void {
    const a = this.#touched(accountId);
    this.#set(accountId, { ...a, collateral: a.collateral + amount });
  }

  /**
   * Collateral out to the spot quote balance (a TRANSFER out of collateral): only if the equity left covers the
   * positions and open orders (stricter than the circuit's equity >= IM), and then only if the collateral side covers
   * the amount (the circuit's rule, {@link sideCovers}). Returns null when done; else which failed, "margin" or "side",
   * and changes nothing.
   */
  debitCollateral(accountId: number, amount: bigint): "margin" | "side" | null {
    const m = this.margin(accountId);
    if (m ? m.equity - amount < m.required : this.account(accountId).collateral < amount) return "margin";
    if (!this.sideCovers(amount)) return "side";
    const a = this.#touched(accountId);
    this.#set(accountId, { ...a, collateral: a.collateral - amount });
    return null;
  }

  /**
   * A forced collateral withdrawal (issue 12): honoured, and applied, exactly when the batch will honour it:
   * the initial-margin rule a TRANSFER out of collateral obeys in the circuit (state/forcedWithdrawal.ts
   * meetsInitialMargin) on the funding-settled account with `amount` taken out, at the latest marks (before
   * any oracle update there are no positions: the collateral must cover it). Open orders do not count (the
   * circuit does not know them): the caller cancels those the account no longer covers. Returns "honoured"
   * (applied), "refused" (the margin rule fails: the batch proves the refusal) or "side" (the margin rule holds but
   * the collateral side does not cover the amount: no batch can serve it until it does, DERIVATIVES.md "Pooled
   * quote"); nothing changes unless honoured.
   */
  forceDebitCollateral(accountId: number, amount: bigint): "honoured" | "refused" | "side" {
    const a = this.#touched(accountId);
    const after = { ...a, collateral: a.collateral - amount };
    if (!(this.#risks ? meetsInitialMargin(after, this.#risks) : after.collateral >= 0n)) return "refused";
    if (!this.sideCovers(amount)) return "side";
    this.#set(accountId, after);
    return "honoured";
  }

  /**
   * A forced close (FORCED_CLOSE) applied to this view, the state the batch applies it to: honoured exactly when the
   * batch will honour it (formulas.ts forcedCloseFault on the funding-settled accounts), and then `lots` of
   * `accountId`'s position in `id` pass to `counterpartyId` at the latest mark (closeAtMark). Open orders do not
   * count (the circuit does not know them): the caller cancels those either account no longer covers. Returns the
   * close made (its direction, +1 when the account was long, and the mark per lot: what undoForceClose needs), or null
   * when refused (nothing changes; also before any marks).
   */
  forceClose(accountId: number, counterpartyId: number, id: number, lots: bigint): ForcedClose | null {
    const risks = this.#risks;
    if (!risks) return null;
    const a = this.#touched(accountId);
    const b = this.#touched(counterpartyId);
    if (forcedCloseFault(accountId, counterpartyId, a, b, this.#instruments[id], id, lots)) return null;
    const dir = a.positions[id].size >= 0n ? 1 : -1;
    const mark = risks[id].mark;
    const close = closeAtMark(a, b, id, lots, 0n, risks);
    this.#set(accountId, close.victim);
    this.#set(counterpartyId, close.counterparty);
    this.ledger.fill(accountId, id, BigInt(-dir) * lots, mark);
    this.ledger.fill(counterpartyId, id, BigInt(dir) * lots, mark);
    return { dir, mark, index: this.#instruments[id].fundingIndex };
  }

  /** Takes back a forced close this view applied (forceClose's ForcedClose): the lots return to `accountId` at the same mark. */
  undoForceClose(accountId: number, counterpartyId: number, id: number, lots: bigint, close: ForcedClose): void {
    this.#passLots(counterpartyId, accountId, id, BigInt(close.dir) * lots, close);
  }

  /**
   * Applies a forced close as a batch proved it (the builder's ForcedClose) where this view had judged it refused, or
   * made it another way (then undoForceClose first): `lots` of `accountId`'s position pass to `counterpartyId` at the
   * mark, whatever this view holds (the batch applied it at its queue place, before what this view counted since).
   * The caller cancels the orders either account no longer covers.
   */
  applyForceClose(accountId: number, counterpartyId: number, id: number, lots: bigint, close: ForcedClose): void {
    this.#passLots(accountId, counterpartyId, id, BigInt(close.dir) * lots, close);
  }

  /**
   * `signed` lots of `from`'s position in `id` (long lots when positive) pass to `to` at `close.mark` per lot, as if at
   * the funding index `close.index`: both accounts are funding-settled to this view's index, which charged `from` the
   * funding of the lots since `close.index` and `to` none, so that much moves back from `to` to `from`.
   */
  #passLots(from: number, to: number, id: number, signed: bigint, close: ForcedClose): void {
    const since = this.#instruments[id].fundingIndex - (close.index ?? this.#instruments[id].fundingIndex);
    this.#set(from, withPosition(this.#touched(from), id, -signed, signed * close.mark + signed * since));
    this.#set(to, withPosition(this.#touched(to), id, signed, -signed * close.mark - signed * since));
    this.ledger.fill(from, id, -signed, close.mark);
    this.ledger.fill(to, id, signed, close.mark);
  }

  /**
   * Takes `amount` out of the account's collateral whatever its margin: a forced collateral withdrawal a batch proved
   * honoured where this view had judged it refused (the batch applied it at its queue place). The caller cancels the
   * orders the account no longer covers.
   */
  takeCollateral(accountId: number, amount: bigint): void {
    const a = this.#touched(accountId);
    this.#set(accountId, { ...a, collateral: a.collateral - amount });
  }

  /**
   * Whether `liquidatorId` can take `lots` of `victimId`'s position in `id` at `priceTicks` and stay at
   * equity >= IM, within its position slots (positionLimit.ts: it holds `id` or fewer than K instruments now, its
   * open orders not counted, as for a fill); if so (and `commit`), applies the liquidation: the penalty goes to the insurance fund, which covers
   * the victim's bad debt when it is left flat and negative. Returns the penalty, or null if refused.
   */
  liquidate(victimId: number, liquidatorId: number, id: number, lots: bigint, priceTicks: bigint, commit: boolean): bigint | null {
    const risks = this.#risks;
    if (!risks || this.positionSlotsFault(liquidatorId, id)) return null;
    const inst = this.#instruments[id];
    const victim = this.#touched(victimId);
    const long = victim.positions[id].size > 0n;
    const cash = lots * priceTicks * inst.tickValue;
    const afterTrade = withPosition(victim, id, long ? -lots : lots, long ? cash : -cash);
    const equityAfter = accountRisk(afterTrade, risks).equity;
    if (liquidationDeepensDebt(accountRisk(victim, risks).equity, equityAfter, lots, inst.tickValue)) return null;
    const penalty = liquidationPenalty(lots, risks[id].mark, equityAfter);
    const penalised = { ...afterTrade, collateral: afterTrade.collateral - penalty };
    const cover = badDebtCover(penalised, this.#insuranceFund);
    const liquidator = withPosition(this.#touched(liquidatorId), id, long ? lots : -lots, long ? -cash : cash);
    const l = accountRisk(liquidator, risks);
    if (l.equity < l.im) return null;
    if (commit) {
      this.#set(victimId, { ...penalised, collateral: penalised.collateral + cover });
      this.#insuranceFund += penalty - cover;
      this.#set(liquidatorId, liquidator);
      this.ledger.fill(victimId, id, long ? -lots : lots, priceTicks * inst.tickValue);
      this.ledger.fill(liquidatorId, id, long ? lots : -lots, priceTicks * inst.tickValue);
    }
    return penalty;
  }

  /** True when the account's equity plus the insurance fund is negative: no liquidation and no fund can make it whole (DELEVERAGE may run). */
  bankruptBeyondFund(accountId: number): boolean {
    const m = this.margin(accountId);
    return !!m && m.equity + this.#insuranceFund < 0n;
  }

  /** The sequencer's amount for deleveraging `victimId` against `counterpartyId` (formulas.ts deleverageAmount), 0 before any marks. */
  deleverageAmount(victimId: number, counterpartyId: number): bigint {
    return this.#risks ? deleverageAmount(this.#touched(victimId), this.#touched(counterpartyId), this.#risks, this.#insuranceFund) : 0n;
  }

  /**
   * Auto-deleveraging (a DELEVERAGE): whether `lots` of the bankrupt `victimId`'s position in `id` may pass to
   * `counterpartyId`'s opposite position at the mark with `amount` of the deficit paid (with `lots` 0, the
   * socialised form: the victim holds nothing and `counterpartyId` only pays), under the circuit's rule
   * (formulas.ts deleverageClose); if so (and `commit`) applies it, the fund covering what is left of the
   * victim's deficit once it holds nothing. Returns why the rule refuses it, or null when it holds.
   */
  deleverage(victimId: number, counterpartyId: number, id: number, lots: bigint, amount: bigint, commit: boolean): RequestFault | null {
    if (!this.#risks) return { code: "NO_ORACLE", message: "no marks yet" };
    const close = deleverageClose(this.#touched(victimId), this.#touched(counterpartyId), id, lots, amount, this.#risks, this.#insuranceFund);
    if (close.fault || !commit) return close.fault;
    const cover = badDebtCover(close.victim, this.#insuranceFund);
    const long = this.account(victimId).positions[id].size > 0n;
    this.#set(victimId, { ...close.victim, collateral: close.victim.collateral + cover });
    this.#insuranceFund -= cover;
    this.#set(counterpartyId, close.counterparty);
    if (lots === 0n) return null;  // socialised: collateral moved, no position did
    // the ledger's price per lot: the mark, plus what the counterparty paid per lot (a long victim sold higher, a short one bought lower)
    const perLot = this.#risks[id].mark + (long ? amount : -amount) / lots;
    this.ledger.fill(victimId, id, long ? -lots : lots, perLot);
    this.ledger.fill(counterpartyId, id, long ? lots : -lots, perLot);
    return null;
  }

  /** Pays out the account's position in a settled instrument at its settled mark (a SETTLE); the insurance fund covers bad debt it leaves. */
  settle(accountId: number, id: number): void {
    const mark = this.#risks?.[id].mark ?? 0n;
    const a = this.#touched(accountId);
    const size = a.positions[id].size;
    const paid = withPosition(a, id, -size, size * mark);
    const cover = badDebtCover(paid, this.#insuranceFund);
    this.#set(accountId, { ...paid, collateral: paid.collateral + cover });
    this.#insuranceFund -= cover;
    this.ledger.fill(accountId, id, -size, mark);
  }

  // ---- snapshot ---------------------------------------------------------------------------------

  snapshot(): DerivativesRiskSnapshot {
    const byKey = <K extends number | bigint, V>(m: ReadonlyMap<K, V>): [K, V][] => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      instruments: [...this.#instruments],
      risks: this.#risks && [...this.#risks],
      inputs: this.#inputs,
      accounts: byKey(this.#accounts),
      orders: byKey(this.#orders).map(([a, m]) => [a, byKey(m).map(([id, o]) => [id, { ...o }])]),
      ledger: this.ledger.entries(),
      insuranceFund: this.#insuranceFund,
    };
  }

  /** Puts this risk engine in the state `snapshot` recorded (a fresh one at a restart; the live one at a rebase). */
  restore(snapshot: DerivativesRiskSnapshot): void {
    if (snapshot.instruments.length !== this.instrumentCount) throw new Error(`derivatives snapshot has ${snapshot.instruments.length} instruments, not ${this.instrumentCount}`);
    this.#instruments = snapshot.instruments;
    this.#risks = snapshot.risks;
    this.#inputs = snapshot.inputs;
    // a rebase restores the live engine (DerivativesService.rebase): what it held goes first, or the open interest
    // would count every account twice (review of 2026-12-05)
    this.#accounts.clear();
    this.#orders.clear();
    for (const oi of this.#interest) Object.assign(oi, { openInterestLots: 0n, holders: 0 });
    for (const [a, acc] of snapshot.accounts) {
      this.#accounts.set(a, acc);
      this.#count(acc, 1);
    }
    this.#countSettledCollateral();
    for (const [a, orders] of snapshot.orders) this.#orders.set(a, new Map(orders.map(([id, o]) => [id, { ...o }])));
    this.ledger.load(snapshot.ledger);
    this.#insuranceFund = snapshot.insuranceFund;
  }

  // ---- RiskHook ---------------------------------------------------------------------------------

  /**
   * TOO_MANY_POSITIONS for an order that could not fill now: its account holds K instruments, not the order's
   * (positionLimit.ts; its open orders do not count: such an order would be cancelled at its first fill, so it is
   * refused instead), else null.
   */
  refusal(order: OrderView, market: MarketParams): RejectCode | null {
    return this.canFill(order, market) ? null : RejectCode.TOO_MANY_POSITIONS;
  }

  /**
   * Whether the order may fill now: its account holds the instrument, or holds fewer than K instruments
   * (positionLimit.ts), as the fills accepted so far leave it (onFill updates the positions before the engine asks
   * about the next fill). A spot order always may.
   */
  canFill(order: OrderView, _market: MarketParams): boolean {
    const id = instrumentOf(order.marketId, this.instrumentCount);
    return id === null || this.positionSlotsFault(order.accountId, id) === null;
  }

  reserve(order: OrderView, _market: MarketParams): boolean {
    const id = instrumentOf(order.marketId, this.instrumentCount);
    // (the position-slot rule is `refusal`'s, which the engine asks first: not computed twice per order)
    if (id === null || this.marketUntradable(order.marketId)) return false;
    const open: OpenOrder = { instrumentId: id, side: order.side, priceTicks: order.priceTicks, lots: order.remainingLots, maxFeePpm: order.maxFeePpm };
    const m = this.margin(order.accountId, [open]);
    if (!m || m.equity < m.required || !m.sizesInRange) return false;
    let orders = this.#orders.get(order.accountId);
    if (!orders) this.#orders.set(order.accountId, (orders = new Map()));
    orders.set(order.orderId, open);
    return true;
  }

  onFill(fill: FillEvent, maker: OrderView, taker: OrderView, _market: MarketParams): void {
    const id = instrumentOf(fill.marketId, this.instrumentCount)!;
    const inst = this.#instruments[id];
    const makerBuys = fill.makerSide === Side.BUY;
    const buy = makerBuys ? maker : taker;
    const sell = makerBuys ? taker : maker;
    const perLot = fill.priceTicks * inst.tickValue;
    const cash = fill.lots * perLot;
    const buyFee = feeAmount(cash, makerBuys ? fill.makerFeePpm : fill.takerFeePpm);
    const sellFee = feeAmount(cash, makerBuys ? fill.takerFeePpm : fill.makerFeePpm);
    this.#set(buy.accountId, withPosition(this.#touched(buy.accountId), id, fill.lots, -(cash + buyFee)));
    this.#set(sell.accountId, withPosition(this.#touched(sell.accountId), id, -fill.lots, cash - sellFee));
    this.ledger.fill(buy.accountId, id, fill.lots, perLot, buyFee);
    this.ledger.fill(sell.accountId, id, -fill.lots, perLot, sellFee);
    for (const o of [maker, taker]) {
      const open = this.#orders.get(o.accountId)?.get(o.orderId);
      if (open) open.lots = o.remainingLots;
    }
  }

  /**
   * Takes an accepted fill no batch could prove (a DERIV_TRADE the sequencer took out of its queue) out of this view
   * at once, by putting both accounts back on `proven` (their accounts in the proven state), so the position slot and
   * the margin it took are free now, not only at the rebase the sequencer owes until no entry tagged with an oracle
   * update waits (before, a fill judged in between was refused a slot the proven state never lost: a maker's quote
   * cancelled position-slots, or a fill the builder refused TOO_MANY_POSITIONS). Exact only when the two accounts'
   * view is the proven accounts plus this fill: the caller (exchangeCore.ts #tradeKept) asks this only when nothing
   * else of either account waits in the queue and no earlier rejection's effect is kept. Their funding then settles
   * lazily on the proven sizes at the next touch, whatever funding ticks came since (the ledger forgets the funding the
   * trade's touch counted, which that touch pays again). The ledger (API bookkeeping) undoes the fill too, when its
   * market is still the instrument's (PositionLedger.unfill). A proven position in an instrument settled since is
   * the caller's to pay out (DerivativesService.settleStranded).
   */
  unwindFill(
    t: { marketId: number; buyAccount: number; sellAccount: number; lots: bigint; priceTicks: bigint; buyFeePpm: number; sellFeePpm: number },
    proven: (accountId: number) => DerivAccount,
  ): void {
    for (const a of [t.buyAccount, t.sellAccount]) {
      const back = proven(a);
      // the trade's touch settled funding on the proven lots and the ledger counted it; the next touch pays it again
      const now = this.account(a);
      back.positions.forEach((p, i) => {
        const paid = p.size * (now.positions[i].snapshot - p.snapshot);
        if (paid !== 0n) this.ledger.funding(a, i, -paid);
      });
      this.#set(a, back, false);
    }
    const m = marketInstrument(t.marketId, this.instrumentCount);
    const inst = m && this.#instruments[m.id];
    if (!m || !inst || inst.generation !== m.generation) return;
    const perLot = t.priceTicks * inst.tickValue;
    this.ledger.unfill(t.buyAccount, m.id, t.lots, perLot, feeAmount(t.lots * perLot, t.buyFeePpm));
    this.ledger.unfill(t.sellAccount, m.id, -t.lots, perLot, feeAmount(t.lots * perLot, t.sellFeePpm));
  }

  release(order: OrderView, _remainingLots: bigint, _market: MarketParams): void {
    this.#orders.get(order.accountId)?.delete(order.orderId);
  }

  /**
   * A reduce-only order may fill at most what reduces its account's position in the instrument as the
   * accepted fills leave it (formulas.ts reducibleLots: the rule the witness builder and the circuit apply
   * to each fill, in the order intake queued them); other orders have no limit.
   */
  fillLimit(order: OrderView, _market: MarketParams): bigint | undefined {
    if (!order.reduceOnly) return undefined;
    const id = instrumentOf(order.marketId, this.instrumentCount);
    if (id === null) return 0n;
    return reducibleLots(order.side, this.account(order.accountId).positions[id]?.size ?? 0n);
  }
}
