/**
 * The arithmetic of circuits/DERIVATIVES.md, in integers, exactly as the circuit computes it: lot
 * values, marks and margins per lot, funding steps, expiry payoffs, and an account's equity and
 * margin requirements. The batch witness and the risk engine both use these functions, so the
 * sequencer accepts exactly what the circuit proves.
 */
import {
  Bits, FUNDING_CAP_BOUND, INSTRUMENT_MARKET_BASE, InstrumentKind, Side, LIQ_BAND_PPM, LIQ_PENALTY_PPM, MAX_ORACLE_PRICE, PPM, PRICE_SCALE, RISK_FREE_RATE_PPM,
} from "../protocol/constants.ts";
import { priceOption, type OptionInput } from "./blackScholes/blackScholes.ts";
import { floorDiv } from "./blackScholes/fixedPoint.ts";
import type { InstrumentSpec } from "../protocol/transactions.ts";
import type { Order, RequestFault } from "../protocol/messages.ts";

/** Ceiling division of a non-negative numerator by a positive denominator. */
export function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/**
 * The tick size an instrument was registered with, 1e-8 quote per whole underlying unit: the custodian derived its
 * `tickValue = tickSizeE8 * lotSizeE6 / 10^8` and required it exact (RegistrationRules.tickValueOf), so this is the
 * inverse, exact too. A trade at `priceTicks` is at `priceTicks * tickSizeE8`, the oracle's unit.
 */
export function tickSizeE8(inst: { tickValue: bigint; lotSizeE6: bigint }): bigint {
  return (inst.tickValue * PRICE_SCALE) / inst.lotSizeE6;
}

/** Quote units (1e-6) of one lot when the underlying is worth `price` (1e-8 quote per unit). */
export function lotValue(price: bigint, lotSizeE6: bigint): bigint {
  return (price * lotSizeE6) / PRICE_SCALE;
}

/**
 * An instrument's registered parameters plus its state: the cumulative funding index, the settlement price (0: not
 * settled), `holders` (how many accounts hold a non-zero position in it) and `generation` (how often its id was
 * registered before it: its orders sign market id `instrumentMarketId(id, generation, N)`).
 */
export type InstrumentState = InstrumentSpec & { fundingIndex: bigint; settlePrice: bigint; holders: number; generation: number };

/** An instrument as the API lists it (`GET /v1/instruments`): the proven state's fields but `holders`, which the sequencer's risk view does not keep. */
export type ListedInstrument = Omit<InstrumentState, "holders">;

export const EMPTY_INSTRUMENT: InstrumentState = {
  kind: InstrumentKind.NONE, underlying: 0, lotSizeE6: 0n, tickValue: 0n, imPpm: 0n, mmPpm: 0n, strike: 0n, expiry: 0,
  fundingCapPpm: 0n, fundingIndex: 0n, settlePrice: 0n, holders: 0, generation: 0,
};

/**
 * Whether an instrument id is free for a registration (the circuit's FreeInstrument): never registered, or settled
 * with no account holding a position in it. Perpetuals never settle, so their ids are never reused.
 */
export function isFreeInstrument(inst: InstrumentState): boolean {
  return inst.holders === 0 && (inst.kind === InstrumentKind.NONE || inst.settlePrice !== 0n);
}

/** The mask the oracle section closes with: bit i (2^i) set when id i is free (isFreeInstrument). */
export function freeInstrumentMask(table: readonly InstrumentState[]): bigint {
  return table.reduce((mask, inst, i) => (isFreeInstrument(inst) ? mask | (1n << BigInt(i)) : mask), 0n);
}

/**
 * The state a registration writes into a free entry `previous` (REGISTER_INSTRUMENT): the registered fields, no
 * funding, not settled, no holders, and the next generation when the id held an instrument before.
 */
export function registeredInstrument(spec: InstrumentSpec, previous: InstrumentState): InstrumentState {
  return {
    ...spec, fundingIndex: 0n, settlePrice: 0n, holders: previous.holders,
    generation: previous.kind === InstrumentKind.NONE ? previous.generation : previous.generation + 1,
  };
}

/** How `holders` moves when a position goes from `before` to `after`: +1 opened, -1 closed, else 0. */
export function holdersChange(before: bigint, after: bigint): number {
  return (after !== 0n ? 1 : 0) - (before !== 0n ? 1 : 0);
}

export const isOption = (kind: number): boolean => kind === InstrumentKind.CALL || kind === InstrumentKind.PUT;
export const isDated = (kind: number): boolean => kind === InstrumentKind.FUTURE || isOption(kind);

/**
 * Where a registered instrument stands at oracle time `oracleTime` (null before the first update): "settled"
 * once it has a settlement price, "expired" when dated, unsettled and the oracle has reached its expiry (no
 * trade on it can be proven; it settles when an update names its expiry, circuits/DERIVATIVES.md "Expiry"),
 * "live" otherwise.
 */
export type InstrumentStatus = "live" | "expired" | "settled";
export function instrumentStatus(inst: ListedInstrument, oracleTime: number | null): InstrumentStatus {
  if (inst.settlePrice !== 0n) return "settled";
  return isDated(inst.kind) && oracleTime !== null && oracleTime >= inst.expiry ? "expired" : "live";
}

/** What the batch computes once per instrument from the oracle update: mark and margins per lot (quote units). */
export type LotRisk = { mark: bigint; imLong: bigint; imShort: bigint; mmLong: bigint; mmShort: bigint };

export const NO_RISK: LotRisk = { mark: 0n, imLong: 0n, imShort: 0n, mmLong: 0n, mmShort: 0n };

/** Per-lot payoff of a settled instrument: the underlying's value (future) or the option's intrinsic value. */
export function settledMark(inst: InstrumentState): bigint {
  const s = inst.settlePrice;
  if (inst.kind === InstrumentKind.CALL) return lotValue(s > inst.strike ? s - inst.strike : 0n, inst.lotSizeE6);
  if (inst.kind === InstrumentKind.PUT) return lotValue(inst.strike > s ? inst.strike - s : 0n, inst.lotSizeE6);
  return lotValue(s, inst.lotSizeE6);
}

/** The Black-Scholes inputs of option `inst` at oracle price `price`, volatility `volPpm`, time `oracleTime`. */
export function optionInput(inst: InstrumentState, price: bigint, volPpm: bigint, oracleTime: number): OptionInput {
  return {
    isCall: inst.kind === InstrumentKind.CALL,
    spot: price,
    strike: inst.strike,
    volPpm,
    timeSeconds: BigInt(Math.max(inst.expiry - oracleTime, 0)),
    ratePpm: RISK_FREE_RATE_PPM,
  };
}

/** The Black-Scholes mark of one option lot at oracle price `price`, volatility `volPpm`, time `oracleTime`. */
export function optionMark(inst: InstrumentState, price: bigint, volPpm: bigint, oracleTime: number): bigint {
  const bs = priceOption(optionInput(inst, price, volPpm, oracleTime));
  return (bs * inst.lotSizeE6) / ((1n << 64n) * PRICE_SCALE);
}

/**
 * Mark and margins per lot of one instrument (DERIVATIVES.md, "Marks and margins per lot"). A live long
 * option's margins are its whole mark: its value never counts towards margin (the buyer pays the
 * premium out of collateral, paper Definition 6), so equity minus margin gains nothing from it.
 */
export function lotRisk(inst: InstrumentState, price: bigint, volPpm: bigint, oracleTime: number): LotRisk {
  return lotRiskAt(inst, price, () => optionMark(inst, price, volPpm, oracleTime));
}

/**
 * lotRisk with a live option's mark per lot given by `optionMarkOf` (asked only for a live option): the batch's oracle
 * step reads it from a marking (marking.ts), or takes 0 for an option its update cannot price (OracleStep's unpriced).
 */
export function lotRiskAt(inst: InstrumentState, price: bigint, optionMarkOf: () => bigint): LotRisk {
  if (inst.kind === InstrumentKind.NONE) return NO_RISK;
  if (inst.settlePrice !== 0n) return { ...NO_RISK, mark: settledMark(inst) };
  const spot = lotValue(price, inst.lotSizeE6);
  const im = (v: bigint) => ceilDiv(v * inst.imPpm, PPM);
  const mm = (v: bigint) => ceilDiv(v * inst.mmPpm, PPM);
  if (isOption(inst.kind)) {
    const mark = optionMarkOf();
    return { mark, imLong: mark, mmLong: mark, imShort: im(spot), mmShort: mm(spot) };
  }
  return { mark: spot, imLong: im(spot), imShort: im(spot), mmLong: mm(spot), mmShort: mm(spot) };
}

/**
 * The registration rule that keeps every funding tick provable (DERIVATIVES.md, "Ranges"):
 * fundingCapPpm * lotSizeE6 * MAX_ORACLE_PRICE < FUNDING_CAP_BOUND (the circuit's REGISTER_INSTRUMENT
 * and the custodian apply the same inequality).
 */
export function fundingCapFits(fundingCapPpm: bigint, lotSizeE6: bigint): boolean {
  return fundingCapPpm * lotSizeE6 * MAX_ORACLE_PRICE < FUNDING_CAP_BOUND;
}

/** The funding index step of one tick: floor(rate * mark / 10^6), signed. */
export function fundingStep(ratePpm: bigint, mark: bigint): bigint {
  return floorDiv(ratePpm * mark, PPM);
}

/** |size| below this: the signed range the circuit proves for a position (AccountRisk, BITS_POSITIONSIZE). */
export const SIZE_LIMIT = 1n << BigInt(Bits.positionSize - 1);

/** True when a position of `size` lots is one the circuit can hold (the witness builder and the risk engine's acceptance ask this). */
export function sizeInRange(size: bigint): boolean {
  return size > -SIZE_LIMIT && size < SIZE_LIMIT;
}

/** One position: signed size in lots and the funding index it last settled at. */
export type Position = { size: bigint; snapshot: bigint };
/** The derivatives part of an account: signed collateral (quote units) and one position per instrument. */
export type DerivAccount = { collateral: bigint; positions: Position[] };

/** `acc` with `delta` lots added to its position in instrument `id` and `cash` added to its collateral. */
/**
 * A forced close as made (FORCED_CLOSE honoured): `dir` +1 when the requester was long (its lots pass to the
 * counterparty), at `mark` quote units per lot, with both accounts' funding settled to the instrument's funding
 * index `index` (the batch's, or intake's when it judged the close). Absent `index` (records logged before
 * 2026-12-05): the index of whoever applies it.
 */
export type ForcedClose = { dir: 1 | -1; mark: bigint; index?: bigint };

export function withPosition(acc: DerivAccount, id: number, delta: bigint, cash: bigint): DerivAccount {
  return { collateral: acc.collateral + cash, positions: acc.positions.map((p, i) => (i === id ? { ...p, size: p.size + delta } : p)) };
}

/**
 * Batch-level derivatives state: insurance fund, last oracle time, last funding epoch applied, the open
 * bad debt (the sum of {@link openDebt} over all accounts: what the insurance fund must keep), and the pooled
 * quote (DERIVATIVES.md "Pooled quote": the quote token the state holds outside the spot balances, every
 * account's funding-settled collateral plus the fund plus the fee pool; never negative, so the spot quote
 * balances are always backed).
 */
export type Globals = { insuranceFund: bigint; oracleTime: number; fundingEpoch: number; badDebt: bigint; pooledQuote: bigint };

/**
 * The open bad debt an account carries (DERIVATIVES.md "Insurance fund"; circuit: OpenDebt): its negative
 * collateral once it holds no position (what a LIQUIDATE or SETTLE left uncovered because the fund was short),
 * else 0. The state's `badDebt` is the sum of this over all accounts; an INSURANCE_WITHDRAW leaves the fund at
 * least that.
 */
export function openDebt(acc: DerivAccount): bigint {
  return acc.collateral < 0n && acc.positions.every((p) => p.size === 0n) ? -acc.collateral : 0n;
}

/** Settles funding on every position (lazy funding): returns the account with snapshots at the current indexes. */
export function settleFunding(acc: DerivAccount, indexes: readonly bigint[]): DerivAccount {
  let collateral = acc.collateral;
  const positions = acc.positions.map((p, i) => {
    collateral -= p.size * (indexes[i] - p.snapshot);
    return { size: p.size, snapshot: indexes[i] };
  });
  return { collateral, positions };
}

/** Equity and margin requirements at the batch's marks (DERIVATIVES.md, "Touching an account"). */
export function accountRisk(acc: DerivAccount, risks: readonly LotRisk[]): { equity: bigint; im: bigint; mm: bigint } {
  let equity = acc.collateral;
  let im = 0n;
  let mm = 0n;
  acc.positions.forEach((p, i) => {
    const r = risks[i];
    equity += p.size * r.mark;
    if (p.size > 0n) {
      im += p.size * r.imLong;
      mm += p.size * r.mmLong;
    } else {
      im += -p.size * r.imShort;
      mm += -p.size * r.mmShort;
    }
  });
  return { equity, im, mm };
}

/**
 * True when a liquidation at `priceTicks` (per lot: priceTicks * tickValue) lies within LIQ_BAND_PPM of the mark per
 * lot, give or take one tick (DERIVATIVES.md, LIQUIDATE; circuits/derivatives/tx/liquidate.circom bandLo, bandHi):
 * mark (10^6 - band) <= (priceTicks + 1) tickValue 10^6 and priceTicks tickValue 10^6 <= mark (10^6 + band) + tickValue 10^6.
 * The tick: an instrument whose mark per lot is a few ticks or less (a deep out-of-the-money option) has no tick in
 * the band itself, and a position in it could never be liquidated (review of 2026-12-06). And at least one tick
 * (liquidate.circom freeFill): the widened band would otherwise take a long worth under a tick for nothing.
 */
export function withinLiquidationBand(priceTicks: bigint, tickValue: bigint, mark: bigint): boolean {
  const perLot = priceTicks * tickValue * PPM;
  return priceTicks >= 1n && perLot + tickValue * PPM >= mark * (PPM - LIQ_BAND_PPM) && perLot <= mark * (PPM + LIQ_BAND_PPM) + tickValue * PPM;
}

/** The liquidation prices, in ticks, withinLiquidationBand allows at `mark`: `[lo, hi]`, `lo` at least 1 (a price is positive). */
export function liquidationBandTicks(tickValue: bigint, mark: bigint): [bigint, bigint] {
  const unit = tickValue * PPM;
  const lo = ceilDiv(mark * (PPM - LIQ_BAND_PPM), unit) - 1n;
  return [lo < 1n ? 1n : lo, (mark * (PPM + LIQ_BAND_PPM)) / unit + 1n];
}

/**
 * True when a liquidation fill leaves the liquidated account under water (`equityAfter < 0`, after the
 * fill, before the penalty) and lowers its equity by one tick per lot or more (DERIVATIVES.md,
 * LIQUIDATE): the band lets a solvent account's position be sold below the mark, never pushed
 * (further) into a debt nobody can collect.
 */
export function liquidationDeepensDebt(equityBefore: bigint, equityAfter: bigint, lots: bigint, tickValue: bigint): boolean {
  return equityAfter < 0n && equityAfter + lots * tickValue < equityBefore;
}

/**
 * What the insurance fund pays for an account that a liquidation or an expiry settlement leaves with no
 * position and negative collateral (bad debt; DERIVATIVES.md): min(-collateral, fund), 0 otherwise.
 */
export function badDebtCover(after: DerivAccount, fund: bigint): bigint {
  if (after.collateral >= 0n || after.positions.some((p) => p.size !== 0n)) return 0n;
  const deficit = -after.collateral;
  return deficit < fund ? deficit : fund;
}

/**
 * The penalty a liquidated account pays into the insurance fund (DERIVATIVES.md, LIQUIDATE):
 * min(ceil(lots * mark * LIQ_PENALTY_PPM / 10^6), max(equity after the trade, 0)).
 */
export function liquidationPenalty(lots: bigint, mark: bigint, equityAfter: bigint): bigint {
  const full = ceilDiv(lots * mark * LIQ_PENALTY_PPM, PPM);
  const cap = equityAfter > 0n ? equityAfter : 0n;
  return full < cap ? full : cap;
}

// ---- reduce-only orders (DERIVATIVES.md, "Reduce-only orders") --------------------------------------

/**
 * How many lots a reduce-only order on `side` may fill against a position of `size` lots: |size| when it
 * takes the other side of the position (a buy against a short, a sell against a long), else 0. A fill of
 * `lots > 0` keeps the rule exactly when `lots <= reducibleLots(side, size)`: the position after it is on
 * the reducing side of zero (<= 0 after a buy, >= 0 after a sell), which is what the circuit proves
 * (ReduceOnly): it never grows and never flips.
 */
export function reducibleLots(side: Side, size: bigint): bigint {
  if (side === Side.BUY) return size < 0n ? -size : 0n;
  return size > 0n ? size : 0n;
}

/** A reduce-only order on a spot market (never fillable: no position to reduce; intake refuses it at once). */
export function reduceOnlyOnSpot(o: Order): boolean {
  return o.reduceOnly === true && o.marketId < INSTRUMENT_MARKET_BASE;
}

/**
 * The one reduce-only rule of a fill, for intake and the witness builder alike: why `lots` of order `o`
 * cannot be filled against its account's position `size` in the order's instrument (the position the
 * fill starts from, after earlier fills), or null. A reduce-only order on a spot market is never
 * fillable (REDUCE_ONLY_SPOT: the circuit refuses the flag in a spot TRADE); on an instrument market a
 * fill beyond {@link reducibleLots} would increase or flip the position (REDUCE_ONLY_INCREASES).
 * Orders without the flag have no such rule.
 */
export function reduceOnlyFault(o: Order, size: bigint, lots: bigint): RequestFault | null {
  if (!o.reduceOnly) return null;
  if (reduceOnlyOnSpot(o)) return { code: "REDUCE_ONLY_SPOT", message: `order ${o.orderId} is reduce-only on spot market ${o.marketId}` };
  const most = reducibleLots(o.side, size);
  if (lots > most) {
    const what = most === 0n ? (size === 0n ? "open" : "increase") : "flip";
    return {
      code: "REDUCE_ONLY_INCREASES",
      message: `reduce-only order ${o.orderId} of account ${o.accountId}: ${o.side === Side.BUY ? "buying" : "selling"} ${lots} lots would ${what} a position of ${size} (at most ${most} reduce it)`,
    };
  }
  return null;
}

// ---- auto-deleveraging (DERIVATIVES.md, "DELEVERAGE") ----------------------------------------------

/** A DELEVERAGE's close: both accounts after it (the victim's before the fund's cover) and why the circuit would refuse it, if it would. */
export type DeleverageClose = { victim: DerivAccount; counterparty: DerivAccount; fault: RequestFault | null };

/**
 * The one DELEVERAGE rule, for the risk engine and the witness builder alike: `lots` of the bankrupt account's
 * position in instrument `id` pass to the counterparty (which holds the opposite position) at the mark of
 * `risks`, and the counterparty pays `amount` of the deficit; both accounts funding-settled, the insurance
 * fund at `fund`. The accounts after the close are computed whatever the verdict (a dishonest witness needs
 * them); `fault` says why the circuit (Deleverage) refuses it: NOT_BANKRUPT (the victim's equity plus the
 * fund is not negative: a liquidation and the fund can make it whole), BAD_DELEVERAGE_SIZE (`lots` is not in
 * (0, |position|], or the counterparty does not hold that many on the other side; or `lots` is 0, the socialised
 * form, while the victim still holds a position), ABOVE_SHORTFALL (`amount`
 * is more than what the fund cannot cover, -(equity + fund)), COUNTERPARTY_INSOLVENT (the counterparty's
 * equity after it would be negative). `amount` is in [0, 2^96) (the caller's range check).
 */
export function deleverageClose(
  victim: DerivAccount, counterparty: DerivAccount, id: number, lots: bigint, amount: bigint, risks: readonly LotRisk[], fund: bigint,
): DeleverageClose {
  const size = victim.positions[id]?.size ?? 0n;
  const dir = size >= 0n ? 1n : -1n;
  const { victim: v, counterparty: c } = closeAtMark(victim, counterparty, id, lots, amount, risks);
  const shortfall = -(accountRisk(victim, risks).equity + fund);
  const fault = ((): RequestFault | null => {
    if (shortfall <= 0n) return { code: "NOT_BANKRUPT", message: `the account's equity plus the insurance fund (${fund}) is not negative: liquidate it instead` };
    if (lots === 0n) {
      // socialised: only once the victim holds nothing, so nobody is on the other side of its deficit any more
      if (victim.positions.some((p) => p.size !== 0n)) return { code: "BAD_DELEVERAGE_SIZE", message: "a close of no lots (socialised) needs an account that holds no position" };
    } else {
      const opposite = -dir * (counterparty.positions[id]?.size ?? 0n);
      if (lots < 0n || lots > dir * size || lots > opposite) {
        return { code: "BAD_DELEVERAGE_SIZE", message: `${lots} lots do not close within a position of ${size} against an opposite position of ${-dir * opposite}` };
      }
    }
    if (amount > shortfall) return { code: "ABOVE_SHORTFALL", message: `the counterparty would pay ${amount}, more than the ${shortfall} the fund cannot cover` };
    const counterpartyAfter = accountRisk(c, risks).equity;
    if (counterpartyAfter < 0n) return { code: "COUNTERPARTY_INSOLVENT", message: `the counterparty's equity would be ${counterpartyAfter}` };
    return null;
  })();
  return { victim: v, counterparty: c, fault };
}

/**
 * The close of a DELEVERAGE and of a FORCED_CLOSE (circuit: DeleverageClose): `lots` of the first account's position
 * in instrument `id` pass to the second at the mark of `risks` (the first sells when it is long), and the second
 * pays the first `amount` on top (0 for a FORCED_CLOSE). At the mark neither equity moves but by `amount`.
 */
export function closeAtMark(
  victim: DerivAccount, counterparty: DerivAccount, id: number, lots: bigint, amount: bigint, risks: readonly LotRisk[],
): { victim: DerivAccount; counterparty: DerivAccount } {
  const dir = (victim.positions[id]?.size ?? 0n) >= 0n ? 1n : -1n;
  const atMark = lots * (risks[id]?.mark ?? 0n);
  return { victim: withPosition(victim, id, -dir * lots, dir * atMark + amount), counterparty: withPosition(counterparty, id, dir * lots, -dir * atMark - amount) };
}

/**
 * The one FORCED_CLOSE rule (circuits/DERIVATIVES.md "FORCED_CLOSE"; circuit: ForcedClose), for the risk engine and
 * the witness builder alike: the request is honoured exactly when it names another account, a registered instrument,
 * `lots > 0`, the requester holds at least `lots` in its position's direction and the counterparty at least `lots`
 * on the other side (both funding-settled accounts; the close then shrinks both positions, neither flips). Returns
 * why it is refused, or null when it is honoured.
 */
export function forcedCloseFault(
  accountId: number, counterpartyId: number, a: DerivAccount, b: DerivAccount, inst: InstrumentState | undefined, id: number, lots: bigint,
): RequestFault | null {
  if (accountId === counterpartyId) return { code: "SELF_CLOSE", message: "the counterparty is the account itself" };
  if (!inst || inst.kind === InstrumentKind.NONE) return { code: "UNKNOWN_INSTRUMENT", message: `instrument ${id} is not registered` };
  const size = a.positions[id]?.size ?? 0n;
  const dir = size >= 0n ? 1n : -1n;
  const opposite = -dir * (b.positions[id]?.size ?? 0n);
  if (lots <= 0n || lots > dir * size || lots > opposite) {
    return { code: "BAD_CLOSE_SIZE", message: `${lots} lots do not close within a position of ${size} against an opposite position of ${-dir * opposite}` };
  }
  return null;
}

/**
 * The sequencer's amount for a DELEVERAGE (its policy; the rule is deleverageClose's): as much of the victim's
 * shortfall beyond the fund, -(equity + fund), as the counterparty's equity holds (a close at the mark moves
 * neither equity), never below 0.
 */
export function deleverageAmount(victim: DerivAccount, counterparty: DerivAccount, risks: readonly LotRisk[], fund: bigint): bigint {
  const shortfall = -(accountRisk(victim, risks).equity + fund);
  const room = accountRisk(counterparty, risks).equity;
  const amount = shortfall < room ? shortfall : room;
  return amount > 0n ? amount : 0n;
}
