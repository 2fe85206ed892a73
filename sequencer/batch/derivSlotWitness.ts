/**
 * Applies one derivatives transaction (circuits/DERIVATIVES.md, "Derivatives transactions") to the
 * state and records the inputs of the DerivSlot template (circuits/derivatives/derivSlot.circom).
 * Every rule the circuit proves is checked here first with an error naming it; on any error the state
 * is left exactly as it was.
 */
import { Bits, InstrumentKind, LIQ_BAND_PPM, PPM, Side, TxType, marketInstrument } from "../protocol/constants.ts";
import { checkOrderFields, orderMessage, orderTimeFault, transferMessage, triggerFillFault, type Order } from "../protocol/messages.ts";
import type { SlotRecord } from "../protocol/publicData.ts";
import type { ExchangeState } from "../state/exchangeState.ts";
import {
  accountRisk, badDebtCover, closeAtMark, deleverageClose, forcedCloseFault, openDebt, fundingCapFits, holdersChange, isFreeInstrument, registeredInstrument, withinLiquidationBand, isDated, isOption, liquidationDeepensDebt, liquidationPenalty, reduceOnlyFault, settleFunding, sizeInRange, withPosition,
  type DerivAccount, type ForcedClose, type InstrumentState, type LotRisk,
} from "../derivatives/formulas.ts";
import { feeAmount } from "../protocol/fees.ts";
import { collateralSideCovers, insuranceWithdrawHonoured, meetsInitialMargin } from "../state/forcedWithdrawal.ts";
import { INSTRUMENT_SPEC_FIELDS, instrumentInputs, orderInputs } from "../protocol/layouts.ts";
import {
  atomicSlot, checkNoncedRequest, forcedFault, forcedOutcome, refuseFault, TxRejected, checkOrders, tradeRecordFields, fillLeaf, idle, NO_ORDER, NO_SIGNATURE, reject, requireSignature, sigArray, treasuryWithdrawal, updateAccount,
  type AccountChange, type SlotContext, type SlotInputs,
} from "./slotWitness.ts";
import type { DerivTx, InstrumentSpec } from "../protocol/transactions.ts";

/**
 * What a derivatives slot needs from the batch: whether it uses an oracle, and the instrument table
 * and marks as the oracle step left them at the batch's start (instruments registered by this batch's
 * slots are not tradable before the next batch).
 */
export type DerivContext = SlotContext & {
  oracleUsed: boolean;
  startInstruments: readonly InstrumentState[];
  risks: readonly LotRisk[];
  /** Per instrument: an option the batch's update has no vol slice for (OracleStepResult.unpriced): not fillable. */
  unpriced: readonly boolean[];
  /** Receives each FORCED_CLOSE the slots prove, in slot order: the close made (ForcedClose), or null when refused. */
  forcedCloses?: (ForcedClose | null)[];
};


const COLLATERAL_LIMIT = 1n << BigInt(Bits.collateral - 1);

function checkRanges(acc: DerivAccount, who: number): void {
  if (acc.collateral < -COLLATERAL_LIMIT || acc.collateral >= COLLATERAL_LIMIT) reject("COLLATERAL_OVERFLOW", `account ${who}'s collateral out of range`);
  for (const p of acc.positions) if (!sizeInRange(p.size)) reject("POSITION_OVERFLOW", `account ${who}'s position out of range`);
}

function requireInitialMargin(acc: DerivAccount, risks: readonly LotRisk[], who: number): void {
  if (meetsInitialMargin(acc, risks)) return;
  const r = accountRisk(acc, risks);
  reject("BELOW_INITIAL_MARGIN", `account ${who} would have equity ${r.equity} below its initial margin ${r.im}`);
}

/** A TRANSFER out of collateral and an honoured FORCED_COLLATERAL_WITHDRAW need the collateral side to cover them (collateralSideCovers; circuit: DerivSlot's `backed`). */
function requireCollateralSide(state: ExchangeState, amount: bigint): void {
  if (collateralSideCovers(state.globals, state.feePool, amount)) return;
  const side = state.globals.pooledQuote - state.feePool;
  reject("DERIVATIVES_SHORTFALL", `the collateral side holds ${side} (collateral and insurance fund, accounts under water netted), less than the ${amount} asked: gains wait for liquidations or deleverage`);
}

function registrationErrors(state: ExchangeState, id: number, s: InstrumentSpec): string | null {
  const p = state.params;
  const held = state.instruments[id];
  if (!isFreeInstrument(held)) {
    return held.settlePrice === 0n ? `instrument ${id} is registered and not settled` : `instrument ${id} is settled but ${held.holders} accounts still hold it`;
  }
  if (s.kind < 1 || s.kind > 4) return `kind ${s.kind}`;
  if (isOption(s.kind) && id < p.instruments - p.optionInstruments) return `instrument ${id} cannot be an option`;
  if (isOption(s.kind) && (s.strike < 1n << 16n || s.strike >= 1n << 50n)) return `strike ${s.strike} outside [2^16, 2^50)`;
  if (!isOption(s.kind) && s.strike !== 0n) return "only options have a strike";
  if (s.underlying < 0 || s.underlying >= p.underlyings) return `underlying ${s.underlying}`;
  if (s.lotSizeE6 <= 0n || s.lotSizeE6 >= 1n << BigInt(Bits.lotSize)) return `lot size must be in (0, 2^${Bits.lotSize})`;
  if (s.tickValue <= 0n || s.tickValue >= 1n << BigInt(Bits.tickValue)) return `tick value must be in (0, 2^${Bits.tickValue})`;
  if (s.mmPpm <= 0n || s.mmPpm > s.imPpm || s.imPpm > PPM) return "margins must satisfy 0 < mm <= im <= 10^6";
  if (s.kind === InstrumentKind.PERPETUAL && (s.expiry !== 0 || s.fundingCapPpm > PPM)) return "a perpetual has no expiry and a cap <= 10^6";
  if (isDated(s.kind) && (s.expiry <= 0 || s.expiry >= 2 ** Bits.time || s.fundingCapPpm !== 0n)) return "a dated instrument has an expiry and no funding";
  if (!fundingCapFits(s.fundingCapPpm, s.lotSizeE6)) return `funding cap ${s.fundingCapPpm} ppm on lots of ${s.lotSizeE6}: a tick at the highest price could overflow the funding index`;
  return null;
}

/** Applies `tx` in a derivatives slot and returns the DerivSlot inputs and its public-data record. */
export function applyDerivTx(state: ExchangeState, tx: DerivTx, ctx: DerivContext): { inputs: SlotInputs; record: SlotRecord } {
  return atomicSlot(state, ctx, () => applyUnchecked(state, tx, ctx));
}

function applyUnchecked(state: ExchangeState, tx: DerivTx, ctx: DerivContext): { inputs: SlotInputs; record: SlotRecord } {
  const N = state.params.instruments;
  const f: SlotInputs = {
    txType: BigInt(tx.type), accountA: 0n, accountB: 0n, instrumentId: 0n, lots: 0n, priceTicks: 0n, buyFeePpm: 0n,
    sellFeePpm: 0n, buyFee: 0n, sellFee: 0n, amount: 0n, tokenId: 0n, honoured: 0n, toCollateral: 0n, nonce: 0n, penalty: 0n,
    orderA: [...NO_ORDER], orderB: [...NO_ORDER], sigA: [...NO_SIGNATURE], sigB: [...NO_SIGNATURE], reg: Array(INSTRUMENT_SPEC_FIELDS).fill(0n),
  };
  // a forced collateral withdrawal too: without marks it could only be refused, which the operator would choose
  const needsMarks = tx.type !== TxType.NOOP && tx.type !== TxType.REGISTER_INSTRUMENT && tx.type !== TxType.INSURANCE_WITHDRAW;
  if (needsMarks && !ctx.oracleUsed) {
    reject("NO_ORACLE", "a derivatives transaction needs the batch's oracle update");
  }
  const indexes = state.instruments.map((i) => i.fundingIndex);
  const touched = (id: number) => settleFunding(state.account(id).deriv, indexes);
  let a: AccountChange = idle(0);
  let b: AccountChange = idle(0);
  let record: SlotRecord;

  const tradable = (id: number) => {
    if (!Number.isInteger(id) || id < 0 || id >= N) return reject("UNKNOWN_INSTRUMENT", `instrument ${id} out of range`);
    const inst = ctx.startInstruments[id];
    if (inst.kind === InstrumentKind.NONE) reject("UNKNOWN_INSTRUMENT", `instrument ${id} is not registered (at the batch's start)`);
    if (inst.settlePrice !== 0n) reject("INSTRUMENT_SETTLED", `instrument ${id} has expired and settled`);
    if (isDated(inst.kind) && ctx.timestamp >= inst.expiry) reject("INSTRUMENT_EXPIRED", `instrument ${id} expired at ${inst.expiry}`);
    if (ctx.unpriced[id]) reject("NO_VOL_SLICE", `option ${id} has no vol slice in the batch's oracle update (listed after it was signed)`);
  };
  /** The instrument an order's market id names; refused unless it is the id's instrument now (its generation). */
  const orderInstrument = (marketId: number): number => {
    const m = marketInstrument(marketId, N);
    if (!m) throw new TxRejected("UNKNOWN_INSTRUMENT", `market ${marketId} is not a derivatives market`);
    tradable(m.id);
    const now = ctx.startInstruments[m.id].generation;
    if (m.generation !== now) reject("STALE_MARKET", `market ${marketId} is generation ${m.generation} of instrument id ${m.id}, which is at generation ${now}`);
    return m.id;
  };

  /** A filled order's trigger rule in instrument `id` (TriggerFill), at the batch's mark. */
  const triggerRule = (id: number) => (o: Order) => (firstFill: boolean) =>
    triggerFillFault(o, firstFill, ctx.risks[id]?.mark ?? 0n, ctx.startInstruments[id]?.tickValue ?? 0n);

  switch (tx.type) {
    case TxType.NOOP:
      record = { type: TxType.NOOP };
      break;
    case TxType.DERIV_TRADE: {
      checkOrders(state, tx, ctx);
      const id = orderInstrument(tx.buy.marketId);
      const inst = ctx.startInstruments[id] ?? ctx.startInstruments[0];
      const cash = tx.lots * tx.priceTicks * inst.tickValue;
      const buyFee = feeAmount(cash, tx.buyFeePpm);
      const sellFee = feeAmount(cash, tx.sellFeePpm);
      const buyerPre = touched(tx.buy.accountId);
      const buyer = withPosition(buyerPre, id, tx.lots, -(cash + buyFee));
      // The circuit applies A (the buyer) and then B to the tree, so B's old state is A's new one when
      // they are the same account (never from the engine, which prevents self-trades).
      const sellerPre = tx.sell.accountId === tx.buy.accountId ? buyer : touched(tx.sell.accountId);
      const seller = withPosition(sellerPre, id, -tx.lots, cash - sellFee);
      // reduce-only orders: each side's fill reduces its position without flipping it (the circuit's ReduceOnly)
      refuseFault(reduceOnlyFault(tx.buy, buyerPre.positions[id]?.size ?? 0n, tx.lots));
      refuseFault(reduceOnlyFault(tx.sell, sellerPre.positions[id]?.size ?? 0n, tx.lots));
      checkRanges(buyer, tx.buy.accountId);
      checkRanges(seller, tx.sell.accountId);
      requireInitialMargin(buyer, ctx.risks, tx.buy.accountId);
      requireInitialMargin(seller, ctx.risks, tx.sell.accountId);
      Object.assign(f, {
        accountA: BigInt(tx.buy.accountId), accountB: BigInt(tx.sell.accountId), instrumentId: BigInt(id), lots: tx.lots,
        priceTicks: tx.priceTicks, buyFeePpm: BigInt(tx.buyFeePpm), sellFeePpm: BigInt(tx.sellFeePpm), buyFee, sellFee,
        orderA: orderInputs(tx.buy), orderB: orderInputs(tx.sell), sigA: sigArray(tx.buy.signature), sigB: sigArray(tx.sell.signature),
      });
      const trigger = triggerRule(id);
      a = { ...idle(tx.buy.accountId), orderId: tx.buy.orderId, orderLeaf: fillLeaf(tx.buy, tx.lots, trigger(tx.buy)), deriv: buyer, position: id };
      b = { ...idle(tx.sell.accountId), orderId: tx.sell.orderId, orderLeaf: fillLeaf(tx.sell, tx.lots, trigger(tx.sell)), deriv: seller, position: id };
      state.addFees(buyFee + sellFee);
      record = { type: TxType.DERIV_TRADE, ...tradeRecordFields(tx), instrumentId: BigInt(id) };
      break;
    }
    case TxType.LIQUIDATE: {
      const o = tx.liquidator;
      checkOrderFields(o);
      const id = orderInstrument(o.marketId);
      const inst = ctx.startInstruments[id] ?? ctx.startInstruments[0];
      const victimId = tx.liquidatedAccountId;
      if (victimId === o.accountId) reject("SELF_LIQUIDATION", "an account cannot liquidate itself");
      const pre = touched(victimId);
      const preRisk = accountRisk(pre, ctx.risks);
      if (preRisk.equity >= preRisk.mm) reject("NOT_LIQUIDATABLE", `account ${victimId} has equity ${preRisk.equity}, maintenance margin ${preRisk.mm}`);
      const size = pre.positions[id]?.size ?? 0n;
      const victimLong = size > 0n;
      if (tx.lots <= 0n || tx.lots > (victimLong ? size : -size)) reject("BAD_LIQUIDATION_SIZE", `${tx.lots} lots do not reduce a position of ${size}`);
      if (o.side !== (victimLong ? Side.BUY : Side.SELL)) reject("WRONG_SIDE", "the liquidator's order must take the other side of the position");
      const limitOk = victimLong ? tx.priceTicks <= o.priceTicks : tx.priceTicks >= o.priceTicks;
      if (!limitOk) reject("PRICE_OUTSIDE_LIMITS", "price beyond the liquidator's limit");
      refuseFault(orderTimeFault(o, ctx.timestamp));
      if (tx.liquidatorFeePpm > o.maxFeePpm) reject("FEE_ABOVE_MAX", "fee above the liquidator's signed maximum");
      const mark = ctx.risks[id]?.mark ?? 0n;
      if (!withinLiquidationBand(tx.priceTicks, inst.tickValue, mark)) {
        reject("LIQUIDATION_PRICE_OUTSIDE_BAND", `price ${tx.priceTicks} is not within ${LIQ_BAND_PPM} ppm of the mark ${mark} per lot, give or take a tick`);
      }
      requireSignature(state, o.accountId, orderMessage(o), o.signature, ctx, "liquidator order");
      const cash = tx.lots * tx.priceTicks * inst.tickValue;
      const fee = feeAmount(cash, tx.liquidatorFeePpm);
      const victimDelta = victimLong ? -tx.lots : tx.lots;
      const afterTrade = withPosition(pre, id, victimDelta, victimLong ? cash : -cash);
      const equityAfter = accountRisk(afterTrade, ctx.risks).equity;
      if (liquidationDeepensDebt(preRisk.equity, equityAfter, tx.lots, inst.tickValue)) {
        reject("LIQUIDATION_DEEPENS_DEBT", `at ${tx.priceTicks} account ${victimId}'s equity falls from ${preRisk.equity} to ${equityAfter} (under water: the fill may not lower it by a tick per lot)`);
      }
      const penalty = liquidationPenalty(tx.lots, mark, equityAfter);
      const penalised = { ...afterTrade, collateral: afterTrade.collateral - penalty };
      const cover = badDebtCover(penalised, state.globals.insuranceFund);
      const victim = { ...penalised, collateral: penalised.collateral + cover };
      // As in DERIV_TRADE, B starts from A's new state if they are one account (refused above, but a
      // dishonest operator's witness must still be the circuit's).
      const liquidatorPre = o.accountId === victimId ? victim : touched(o.accountId);
      const liquidator = withPosition(liquidatorPre, id, -victimDelta, (victimLong ? -cash : cash) - fee);
      // a reduce-only liquidator's order may only reduce the liquidator's own position (ReduceOnly)
      refuseFault(reduceOnlyFault(o, liquidatorPre.positions[id]?.size ?? 0n, tx.lots));
      checkRanges(victim, victimId);
      checkRanges(liquidator, o.accountId);
      requireInitialMargin(liquidator, ctx.risks, o.accountId);
      Object.assign(f, {
        accountA: BigInt(victimId), accountB: BigInt(o.accountId), instrumentId: BigInt(id), lots: tx.lots, priceTicks: tx.priceTicks,
        buyFeePpm: BigInt(tx.liquidatorFeePpm), buyFee: fee, penalty, // a liquidation's one fee is the liquidator's
        orderB: orderInputs(o), sigB: sigArray(o.signature),
      });
      a = { ...idle(victimId), deriv: victim, position: id };
      b = { ...idle(o.accountId), orderId: o.orderId, orderLeaf: fillLeaf(o, tx.lots, triggerRule(id)(o)), deriv: liquidator, position: id };
      state.addFees(fee);
      state.setGlobals({ ...state.globals, insuranceFund: state.globals.insuranceFund + penalty - cover });
      record = {
        type: TxType.LIQUIDATE, liquidatedAccountId: BigInt(victimId), liquidatorAccountId: BigInt(o.accountId),
        liquidatorOrderId: o.orderId, instrumentId: BigInt(id), lots: tx.lots, priceTicks: tx.priceTicks,
        liquidatorFeePpm: BigInt(tx.liquidatorFeePpm),
      };
      break;
    }
    case TxType.DELEVERAGE: {
      // Unsigned: the rule (deleverageClose, the circuit's Deleverage) decides; the close is at the mark, no fee,
      // no penalty. What is left of the victim's deficit once it holds nothing is the fund's (BadDebt), as after a LIQUIDATE.
      const id = tx.instrumentId;
      const victimId = tx.deleveragedAccountId;
      const counterpartyId = tx.counterpartyAccountId;
      if (!Number.isInteger(id) || id < 0 || id >= N) reject("UNKNOWN_INSTRUMENT", `instrument ${id} out of range`);
      const inst = ctx.startInstruments[id] ?? ctx.startInstruments[0];
      if (inst.kind === InstrumentKind.NONE) reject("UNKNOWN_INSTRUMENT", `instrument ${id} is not registered (at the batch's start)`);
      // a settled instrument may be deleveraged (at expiry, before SETTLE): it closes at its payoff per lot
      if (victimId === counterpartyId) reject("SELF_DELEVERAGE", "an account cannot take its own position");
      if (tx.lots < 0n || tx.lots >= 1n << BigInt(Bits.lots)) reject("BAD_QUANTITY", `lots ${tx.lots} out of range`);
      if (tx.amount < 0n || tx.amount >= 1n << BigInt(Bits.amount)) reject("BAD_AMOUNT", `amount ${tx.amount} out of range`);
      const close = deleverageClose(touched(victimId), touched(counterpartyId), id, tx.lots, tx.amount, ctx.risks, state.globals.insuranceFund);
      refuseFault(close.fault);
      const cover = badDebtCover(close.victim, state.globals.insuranceFund);
      const victim = { ...close.victim, collateral: close.victim.collateral + cover };
      checkRanges(victim, victimId);
      checkRanges(close.counterparty, counterpartyId);
      Object.assign(f, { accountA: BigInt(victimId), accountB: BigInt(counterpartyId), instrumentId: BigInt(id), lots: tx.lots, amount: tx.amount });
      a = { ...idle(victimId), deriv: victim, position: id };
      // socialised (no lots): none of the payer's positions moves, so it needs no slot for the instrument (DerivSlot's bWrite)
      b = { ...idle(counterpartyId), deriv: close.counterparty, ...(tx.lots === 0n ? {} : { position: id }) };
      state.setGlobals({ ...state.globals, insuranceFund: state.globals.insuranceFund - cover });
      record = {
        type: TxType.DELEVERAGE, deleveragedAccountId: BigInt(victimId), counterpartyAccountId: BigInt(counterpartyId),
        instrumentId: BigInt(id), lots: tx.lots, amount: tx.amount,
      };
      break;
    }
    case TxType.SETTLE: {
      const id = tx.instrumentId;
      if (!Number.isInteger(id) || id < 0 || id >= N) reject("UNKNOWN_INSTRUMENT", `instrument ${id} out of range`);
      if ((ctx.startInstruments[id]?.settlePrice ?? 0n) === 0n) reject("NOT_SETTLED", `instrument ${id} has not settled`);
      const pre = touched(tx.accountId);
      const size = pre.positions[id]?.size ?? 0n;
      const paid = withPosition(pre, id, -size, size * (ctx.risks[id]?.mark ?? 0n));
      const cover = badDebtCover(paid, state.globals.insuranceFund);
      const settled = { ...paid, collateral: paid.collateral + cover };
      checkRanges(settled, tx.accountId);
      state.setGlobals({ ...state.globals, insuranceFund: state.globals.insuranceFund - cover });
      Object.assign(f, { accountA: BigInt(tx.accountId), instrumentId: BigInt(id) });
      a = { ...idle(tx.accountId), deriv: settled, position: id };
      record = { type: TxType.SETTLE, accountId: BigInt(tx.accountId), instrumentId: BigInt(id) };
      break;
    }
    case TxType.TRANSFER: {
      const t = tx.request;
      checkNoncedRequest(state, t, transferMessage(t), ctx, "transfer");
      const moved = t.toCollateral ? t.amount : -t.amount;
      const after = withPosition(touched(t.accountId), 0, 0n, moved);
      checkRanges(after, t.accountId);
      if (!t.toCollateral) {
        requireInitialMargin(after, ctx.risks, t.accountId);
        requireCollateralSide(state, t.amount);
      }
      state.addPooledQuote(moved);
      Object.assign(f, {
        accountA: BigInt(t.accountId), amount: t.amount, toCollateral: t.toCollateral ? 1n : 0n, nonce: BigInt(t.nonce),
        sigA: sigArray(t.signature),
      });
      a = { ...idle(t.accountId), quoteDelta: -moved, nonceIncrement: 1, deriv: after };
      record = { type: TxType.TRANSFER, accountId: BigInt(t.accountId), toCollateral: t.toCollateral ? 1n : 0n, amount: t.amount };
      break;
    }
    case TxType.REGISTER_INSTRUMENT: {
      const id = tx.instrumentId;
      if (!Number.isInteger(id) || id < 0 || id >= N) reject("UNKNOWN_INSTRUMENT", `instrument ${id} out of range`);
      const why = registrationErrors(state, id, tx);
      if (why) reject("BAD_INSTRUMENT", why);
      const spec: InstrumentSpec = {
        kind: tx.kind, underlying: tx.underlying, lotSizeE6: tx.lotSizeE6, tickValue: tx.tickValue, imPpm: tx.imPpm, mmPpm: tx.mmPpm,
        strike: tx.strike, expiry: tx.expiry, fundingCapPpm: tx.fundingCapPpm,
      };
      const registered = registeredInstrument(spec, state.instruments[id]);
      Object.assign(f, { instrumentId: BigInt(id), reg: instrumentInputs(registered).slice(0, INSTRUMENT_SPEC_FIELDS) });
      state.setInstrument(id, registered);
      record = {
        type: TxType.REGISTER_INSTRUMENT, instrumentId: BigInt(id), kind: BigInt(tx.kind), underlying: BigInt(tx.underlying),
        lotSizeE6: tx.lotSizeE6, tickValue: tx.tickValue, imPpm: tx.imPpm, mmPpm: tx.mmPpm, strike: tx.strike,
        expiry: BigInt(tx.expiry), fundingCapPpm: tx.fundingCapPpm,
      };
      break;
    }
    case TxType.FORCED_WITHDRAW:
      throw new TxRejected("WRONG_SLOT", "a forced spot withdrawal is proven by a spot slot");
    case TxType.FORCED_COLLATERAL_WITHDRAW: {
      // Queued by the account's owner: no signature, no nonce. The outcome is TRANSFER's initial-margin rule
      // on the funding-settled account with the amount taken out, at the batch's marks (needsMarks above); a
      // refused one leaves the account as it was.
      refuseFault(forcedFault(tx, state));
      if (tx.tokenId !== 0) reject("BAD_TOKEN", `collateral is token 0, not ${tx.tokenId}`);
      const after = withPosition(touched(tx.accountId), 0, 0n, -tx.amount);
      checkRanges(after, tx.accountId);
      const honoured = forcedOutcome(ctx, ctx.oracleUsed && meetsInitialMargin(after, ctx.risks));
      // honoured by the account's own margin, it is provable only while the collateral side covers it: it waits (the
      // builder refuses to prove it here; intake holds it), and the custodian's deadline runs meanwhile
      if (honoured) {
        requireCollateralSide(state, tx.amount);
        state.addPooledQuote(-tx.amount);
      }
      Object.assign(f, { accountA: BigInt(tx.accountId), tokenId: BigInt(tx.tokenId), amount: tx.amount, honoured: honoured ? 1n : 0n });
      a = honoured ? { ...idle(tx.accountId), deriv: after } : idle(tx.accountId);
      record = {
        type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId: BigInt(tx.accountId), tokenId: BigInt(tx.tokenId), amount: tx.amount, honoured: honoured ? 1n : 0n,
      };
      break;
    }
    case TxType.FEE_WITHDRAW:
      throw new TxRejected("WRONG_SLOT", "a fee withdrawal is proven by a spot slot");
    case TxType.INSURANCE_WITHDRAW:
      // the fund and the open bad debt decide the outcome; no marks needed
      record = treasuryWithdrawal(tx, ctx, f, insuranceWithdrawHonoured(state.globals, state.feePool, tx.amount),
        () => state.setGlobals({ ...state.globals, insuranceFund: state.globals.insuranceFund - tx.amount, pooledQuote: state.globals.pooledQuote - tx.amount }));
      break;
    case TxType.FORCED_CLOSE: {
      // Queued by the account's owner: no signature. Honoured exactly when forcedCloseFault finds nothing: `lots` of
      // A's position pass to the counterparty B at the mark (a DELEVERAGE's close, nothing paid on top), both
      // funding-settled; refused, both accounts are written back as they were. Its batch carries an oracle update
      // (needsMarks above). The custodian queued only ids and lots the slot can hold (its checks are repeated here).
      const id = tx.instrumentId;
      const capacity = state.accountTree.capacity;
      if (!Number.isInteger(tx.accountId) || tx.accountId < 0 || tx.accountId >= capacity) reject("BAD_ACCOUNT", `account ${tx.accountId} out of range`);
      if (!Number.isInteger(tx.counterpartyId) || tx.counterpartyId < 0 || tx.counterpartyId >= capacity) {
        reject("BAD_ACCOUNT", `counterparty ${tx.counterpartyId} out of range`);
      }
      if (!Number.isInteger(id) || id < 0 || id >= N) reject("UNKNOWN_INSTRUMENT", `instrument ${id} out of range`);
      if (tx.lots < 0n || tx.lots >= 1n << BigInt(Bits.lots)) reject("BAD_QUANTITY", `lots ${tx.lots} out of range`);
      const pa = touched(tx.accountId);
      const pb = touched(tx.counterpartyId);
      const honoured = forcedOutcome(ctx, forcedCloseFault(tx.accountId, tx.counterpartyId, pa, pb, ctx.startInstruments[id], id, tx.lots) === null);
      Object.assign(f, {
        accountA: BigInt(tx.accountId), accountB: BigInt(tx.counterpartyId), instrumentId: BigInt(id), lots: tx.lots, honoured: honoured ? 1n : 0n,
      });
      ctx.forcedCloses?.push(honoured ? { dir: pa.positions[id].size >= 0n ? 1 : -1, mark: ctx.risks[id].mark, index: indexes[id] } : null);
      if (honoured) {
        const close = closeAtMark(pa, pb, id, tx.lots, 0n, ctx.risks);
        checkRanges(close.victim, tx.accountId);
        checkRanges(close.counterparty, tx.counterpartyId);
        a = { ...idle(tx.accountId), deriv: close.victim, position: id };
        b = { ...idle(tx.counterpartyId), deriv: close.counterparty, position: id };
      } else {
        a = idle(tx.accountId);
        b = idle(tx.counterpartyId);
      }
      record = {
        type: TxType.FORCED_CLOSE, accountId: BigInt(tx.accountId), instrumentId: BigInt(id), counterpartyId: BigInt(tx.counterpartyId), lots: tx.lots,
        honoured: honoured ? 1n : 0n,
      };
      break;
    }
  }
  // A's leaf is written, then B's (B starts from A's new state when they are one account); the open bad debt
  // moves by what each written leaf carries minus what it carried (DerivSlot's OpenDebt).
  const slotInstrument = Number(f.instrumentId);
  const debtA = debtChange(state, a);
  const heldA = heldChange(state, a, slotInstrument);
  const inputsA = updateAccount(state, "a", a, "vectors");
  const debtB = debtChange(state, b);
  const heldB = heldChange(state, b, slotInstrument);
  const inputsB = updateAccount(state, "b", b, "vectors");
  if (debtA + debtB !== 0n) state.setGlobals({ ...state.globals, badDebt: state.globals.badDebt + debtA + debtB });
  if (heldA + heldB !== 0) {
    const inst = state.instruments[slotInstrument];
    state.setInstrument(slotInstrument, { ...inst, holders: inst.holders + heldA + heldB });
  }
  return { inputs: { ...f, ...inputsA, ...inputsB }, record };
}

/**
 * How the slot instrument's holder count moves when `change` is written (the circuit's holdersDelta): only the
 * slot's instrument changes size in a slot, and B is read after A is written, as the circuit reads it.
 */
function heldChange(state: ExchangeState, change: AccountChange, instrumentId: number): number {
  if (!change.deriv) return 0;
  const before = state.account(change.accountId).deriv.positions[instrumentId]?.size ?? 0n;
  return holdersChange(before, change.deriv.positions[instrumentId]?.size ?? 0n);
}

/** How much the open bad debt moves when `change` is written: its new derivatives state's debt minus the old one's. */
function debtChange(state: ExchangeState, change: AccountChange): bigint {
  return change.deriv ? openDebt(change.deriv) - openDebt(state.account(change.accountId).deriv) : 0n;
}
