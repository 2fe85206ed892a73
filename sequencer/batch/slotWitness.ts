/**
 * Applies one transaction to the exchange state and records the inputs of the circuit's Slot
 * template (circuits/batch/slot.circom) for it. Every rule the circuit proves is checked here first,
 * with an error that names it; on any error the state is left exactly as it was.
 */
import { compressPublicKey, publicKeyFault, verifyMessage, type PublicKey, type Signature } from "../crypto/babyjub.ts";
import { Bits, QUOTE_TOKEN_ID, Side, TxType } from "../protocol/constants.ts";
import {
  amountFault, cancelFault, cancelMessage, checkOrderFields, orderMessage, orderTimeFault, triggerFault, withdrawalFault, withdrawalMessage, type Order, type RequestFault, type Signed,
} from "../protocol/messages.ts";
import { reduceOnlyFault } from "../derivatives/formulas.ts";
import { ORDER_FIELD, ORDER_FIELDS, orderInputs, type CircuitInputs } from "../protocol/layouts.ts";
import type { SignatureCheck } from "../crypto/signatureVerifier.ts";
import type { SlotRecord } from "../protocol/publicData.ts";
import { accountDerivLeaf, decodeOrderSlot, encodeOrderSlot, type ExchangeState, type OrderSlot } from "../state/exchangeState.ts";
import { layoutAfter, positionSlot, slotValues } from "../state/positionSlots.ts";
import type { DerivAccount } from "../derivatives/formulas.ts";
import { tradeAmounts } from "./amounts.ts";
import { feeWithdrawHonoured, forcedWithdrawHonoured } from "../state/forcedWithdrawal.ts";
import type { ForcedWithdrawTx, SpotTx, TradeTx, TreasuryWithdrawTx } from "../protocol/transactions.ts";

/**
 * Why a transaction cannot go into a batch. The state is unchanged when this is thrown. buildBatch
 * names the slot (`slot`: spot slots first, then derivatives slots), so the sequencer can take that
 * transaction out of its batch.
 */
export class TxRejected extends Error {
  readonly code: string;
  readonly slot: number | undefined;
  constructor(code: string, message: string, slot?: number) {
    super(`${code}: ${message}`);
    this.code = code;
    this.slot = slot;
  }
}

/** One slot's (or the oracle step's) circuit inputs. */
export type SlotInputs = CircuitInputs;
export type SlotContext = {
  timestamp: number;
  verifySignatures: boolean;
  /**
   * With verifySignatures false: receives every signature check the slot proves (message, signature,
   * the key the state holds then), so the caller can verify them all in one batch call (the sequencer).
   */
  collectSignature?: (check: SignatureCheck) => void;
  /**
   * false builds the witness even when a rule is broken, as a dishonest operator would: tests use it
   * to show that the circuit, not this code, refuses the transaction.
   */
  enforceRules?: boolean;
  /**
   * With enforceRules false only: the outcome a dishonest operator claims for a forced request, given the
   * honest one (the witness then applies the claimed outcome consistently); tests use it to show the
   * circuit pins the outcome.
   */
  forcedOutcome?: (honest: boolean) => boolean;
};

/** The outcome a slot applies to a forced request: the rule's (`honest`), unless a test plays a dishonest operator. */
export function forcedOutcome(ctx: SlotContext, honest: boolean): boolean {
  return ctx.enforceRules === false && ctx.forcedOutcome ? ctx.forcedOutcome(honest) : honest;
}

let enforceRules = true;

/** Refuses the transaction (unless rules are deliberately not enforced, see SlotContext). */
export function reject(code: string, message: string): void {
  if (enforceRules) throw new TxRejected(code, message);
}

/** Refuses the transaction for a stateless fault of its request (messages.ts, shared with intake), if any. */
export function refuseFault(fault: RequestFault | null): void {
  if (fault) reject(fault.code, fault.message);
}

const MAX_BALANCE = 1n << BigInt(Bits.balance);
/** The order input array of a slot without that order. */
export const NO_ORDER: readonly bigint[] = Array(ORDER_FIELDS.length).fill(0n);
/** Signature inputs of a slot whose verifier is disabled: R8 = identity, S = 0. */
export const NO_SIGNATURE: readonly bigint[] = [0n, 1n, 0n];

export function sigArray(s: Signature): bigint[] {
  return [s.r8x, s.r8y, s.s];
}

export function requireSignature(state: ExchangeState, accountId: number, message: bigint, sig: Signature, ctx: SlotContext, what: string): void {
  if (!state.hasKey(accountId)) reject("NO_TRADING_KEY", `account ${accountId} has no registered trading key`);
  if (ctx.verifySignatures && !verifyMessage(message, sig, state.account(accountId).pubKey)) {
    reject("BAD_SIGNATURE", `${what} is not signed by account ${accountId}'s trading key`);
  } else if (!ctx.verifySignatures) {
    ctx.collectSignature?.({ message, signature: sig, publicKey: state.account(accountId).pubKey });
  }
}

export type AccountChange = {
  accountId: number;
  /** The move of the quote token's balance (token 0, a field of the account leaf). */
  quoteDelta: bigint;
  /** The balance-tree token the slot reads and writes (spot slots; never 0, whose leaf stays empty, when it moves). */
  token: number;
  tokenDelta: bigint;
  orderId: bigint;
  /** New order-tree leaf from the old slot; omitted: unchanged. */
  orderLeaf?: (old: OrderSlot) => bigint;
  newKey?: PublicKey;
  nonceIncrement?: number;
  /** New collateral and positions (derivatives slots); omitted: unchanged. */
  deriv?: DerivAccount;
  /** The instrument whose position the transaction moves (PositionWrite's `touch`); omitted: none moves. */
  position?: number;
};

/**
 * Mirrors AccountUpdate: the quote balance and (spot slots) the balance-tree token, then the order slot, then
 * key/nonce and the derivatives leaf, then the account leaf. A spot slot takes the derivatives leaf as one hash
 * (`DerivLeaf`) and walks the balance tree to its token; a derivatives slot takes the collateral and position
 * vectors it recomputes the leaf from, and the balance tree's root (it moves no token but the quote).
 */
export function updateAccount(state: ExchangeState, prefix: "a" | "b", c: AccountChange, derivInputs: "leaf" | "vectors" = "leaf"): SlotInputs {
  const acc = state.account(c.accountId);
  const out: SlotInputs = {
    [`${prefix}PubX`]: acc.pubKey[0],
    [`${prefix}PubY`]: acc.pubKey[1],
    [`${prefix}Nonce`]: BigInt(acc.nonce),
    [`${prefix}Siblings`]: state.accountTree.proof(c.accountId),
  };
  let target = 0;
  if (derivInputs === "leaf") out[`${prefix}DerivLeaf`] = accountDerivLeaf(acc);
  else {
    const slots = slotValues(acc.deriv, acc.positionSlots);
    out[`${prefix}Collateral`] = acc.deriv.collateral;
    out[`${prefix}PosId`] = slots.id;
    out[`${prefix}PosSize`] = slots.size;
    out[`${prefix}PosSnap`] = slots.snap;
    if (c.position !== undefined) {
      const slot = positionSlot(acc.positionSlots, c.position);
      if (slot === null) {
        reject("TOO_MANY_POSITIONS", `account ${c.accountId} holds positions in all its ${acc.positionSlots.length} slots, none in instrument ${c.position}`);
      }
      target = slot ?? 0;
    }
    out[`${prefix}PosTarget`] = BigInt(target);
  }
  const moved = (token: number, delta: bigint): bigint => {
    const old = state.balance(c.accountId, token);
    const next = old + delta;
    if (next < 0n) reject("INSUFFICIENT_BALANCE", `account ${c.accountId} holds ${old} of token ${token}, needs ${-delta}`);
    if (next >= MAX_BALANCE) reject("BALANCE_OVERFLOW", `account ${c.accountId} token ${token} would exceed 2^128`);
    return next;
  };
  const quote = moved(QUOTE_TOKEN_ID, c.quoteDelta);
  out[`${prefix}QuoteOld`] = acc.quote;
  if (derivInputs === "leaf") {
    if (c.token === QUOTE_TOKEN_ID && c.tokenDelta !== 0n) throw new Error("the quote token moves through quoteDelta (the balance tree's leaf 0 stays empty)");
    const next = c.tokenDelta === 0n ? acc.balances.leaf(c.token) : moved(c.token, c.tokenDelta);
    out[`${prefix}BalOld`] = acc.balances.leaf(c.token);
    out[`${prefix}BalSiblings`] = acc.balances.proof(c.token);
    state.setBalance(c.accountId, c.token, next);
  } else {
    if (c.tokenDelta !== 0n) throw new Error("a derivatives slot moves no balance-tree token");
    out[`${prefix}BalancesRoot`] = acc.balances.root;
  }
  state.setBalance(c.accountId, QUOTE_TOKEN_ID, quote);
  const slot = state.orderSlotIndex(c.orderId);
  const oldLeaf = acc.orders.leaf(slot);
  const old = decodeOrderSlot(oldLeaf);
  out[`${prefix}OrderLeaf`] = [old.storedId, old.filled, old.cancelled ? 1n : 0n];
  out[`${prefix}OrderSiblings`] = acc.orders.proof(slot);
  if (c.orderLeaf) state.setOrderLeaf(c.accountId, slot, c.orderLeaf(old));
  if (c.newKey || c.nonceIncrement) state.setKeyAndNonce(c.accountId, c.newKey ?? acc.pubKey, acc.nonce + (c.nonceIncrement ?? 0));
  if (c.deriv) {
    // the canonical layout; a dishonest witness (rules off) that opens a position beyond the slots overwrites the target
    const layout = layoutAfter(acc.positionSlots, acc.deriv, c.deriv) ?? acc.positionSlots.map((id, k) => (k === target ? (c.position ?? id) : id));
    state.setDeriv(c.accountId, c.deriv, layout);
  }
  state.commitAccount(c.accountId);
  return out;
}

/**
 * The circuit's OrderStorage rule for a fill of `lots` on a signed order; `firstFillRule`, when given, is told
 * whether the order had filled nothing before (OrderStorage's filledBefore = 0) and refuses with its fault
 * (a derivatives order's trigger: TriggerFill).
 */
export function fillLeaf(order: Order, lots: bigint, firstFillRule?: (firstFill: boolean) => RequestFault | null): (old: OrderSlot) => bigint {
  return (old) => {
    if (old.storedId > order.orderId) {
      reject("ORDER_SLOT_SUPERSEDED", `order ${order.orderId} of account ${order.accountId} was superseded by order ${old.storedId}`);
    }
    const same = old.storedId === order.orderId;
    if (same && old.cancelled) reject("ORDER_CANCELLED", `order ${order.orderId} of account ${order.accountId} is cancelled`);
    const before = same ? old.filled : 0n;
    if (firstFillRule) refuseFault(firstFillRule(before === 0n));
    const filled = before + lots;
    if (filled > order.sizeLots) {
      reject("OVERFILL", `order ${order.orderId} of account ${order.accountId}: ${filled} lots exceed its size ${order.sizeLots}`);
    }
    return encodeOrderSlot({ storedId: order.orderId, filled, cancelled: false });
  };
}

function cancelLeaf(orderId: bigint): (old: OrderSlot) => bigint {
  return (old) => {
    if (old.storedId > orderId) reject("ORDER_SLOT_SUPERSEDED", `order ${orderId} was superseded by order ${old.storedId}`);
    const filled = old.storedId === orderId ? old.filled : 0n;
    return encodeOrderSlot({ storedId: orderId, filled, cancelled: true });
  };
}

/**
 * What makes a forced request unprovable whatever the state (the custodian refuses these when they are
 * queued; a batch could never consume such a request): its account or token out of the trees' range, or
 * an amount out of its field's range.
 */
export function forcedFault(tx: ForcedWithdrawTx, state: ExchangeState): RequestFault | null {
  if (!Number.isInteger(tx.accountId) || tx.accountId < 0 || tx.accountId >= state.accountTree.capacity) {
    return { code: "BAD_ACCOUNT", message: `account ${tx.accountId} out of range` };
  }
  if (!Number.isInteger(tx.tokenId) || tx.tokenId < 0 || tx.tokenId >= state.account(0).balances.capacity) {
    return { code: "BAD_TOKEN", message: `token ${tx.tokenId} out of range` };
  }
  if (tx.amount < 0n || tx.amount >= 1n << BigInt(Bits.amount)) return { code: "BAD_AMOUNT", message: `amount ${tx.amount} out of range` };
  return null;
}

/**
 * A treasury withdrawal (FEE_WITHDRAW in a spot slot, INSURANCE_WITHDRAW in a derivatives slot): queued by the
 * custodian's operator and paid to the recipient the custodian names, so no account, no signature. `covered` is
 * its rule on the slot's state (state/forcedWithdrawal.ts); honoured, `pay` takes the amount out of the pool or
 * fund; refused, nothing changes. Sets the slot's amount and outcome inputs in `f` and returns the record.
 */
export function treasuryWithdrawal(tx: TreasuryWithdrawTx, ctx: SlotContext, f: SlotInputs, covered: boolean, pay: () => void): SlotRecord {
  refuseFault(amountFault(tx.amount, tx.type === TxType.FEE_WITHDRAW ? "fee withdrawal" : "insurance withdrawal"));
  const honoured = forcedOutcome(ctx, covered);
  Object.assign(f, { amount: tx.amount, honoured: honoured ? 1n : 0n });
  if (honoured) pay();
  return { type: tx.type, accountId: 0n, tokenId: 0n, amount: tx.amount, honoured: honoured ? 1n : 0n };
}

export function idle(accountId: number, token = 0): AccountChange {
  return { accountId, quoteDelta: 0n, token, tokenDelta: 0n, orderId: 0n };
}

/** A move of `delta` in `token`'s balance, as the circuit routes it: token 0 to the quote field, any other to the tree. */
export function tokenMove(token: number, delta: bigint): Pick<AccountChange, "quoteDelta" | "token" | "tokenDelta"> {
  return token === QUOTE_TOKEN_ID ? { quoteDelta: delta, token, tokenDelta: 0n } : { quoteDelta: 0n, token, tokenDelta: delta };
}

/**
 * The rules of a signed, nonced amount request (WITHDRAW, TRANSFER): its stateless rules (`fault`: the
 * function of messages.ts that intake applies too; by default the amount rule, which is all a transfer
 * has), signed by the account, next nonce.
 */
export function checkNoncedRequest(
  state: ExchangeState,
  r: { accountId: number; amount: bigint; nonce: number; signature: Signature },
  message: bigint,
  ctx: SlotContext,
  what: string,
  fault: RequestFault | null = amountFault(r.amount, what),
): void {
  refuseFault(fault);
  requireSignature(state, r.accountId, message, r.signature, ctx, what);
  const nonce = state.account(r.accountId).nonce;
  if (r.nonce !== nonce) reject("BAD_NONCE", `${what} nonce ${r.nonce}, account nonce is ${nonce}`);
}

/** The record fields a spot and a derivatives trade share (RECORD_LAYOUT). */
export function tradeRecordFields(tx: Omit<TradeTx, "type">) {
  return {
    buyAccountId: BigInt(tx.buy.accountId), buyOrderId: tx.buy.orderId, sellAccountId: BigInt(tx.sell.accountId),
    sellOrderId: tx.sell.orderId, lots: tx.lots, priceTicks: tx.priceTicks, buyFeePpm: BigInt(tx.buyFeePpm),
    sellFeePpm: BigInt(tx.sellFeePpm),
  };
}

/** The order rules a spot or derivatives trade proves (Definition 1), except the market's registration. */
export function checkOrders(state: ExchangeState, tx: Omit<TradeTx, "type">, ctx: SlotContext): void {
  const { buy, sell } = tx;
  checkOrderFields(buy);
  checkOrderFields(sell);
  if (buy.side !== Side.BUY) reject("WRONG_SIDE", "the buy order is not a buy");
  if (sell.side !== Side.SELL) reject("WRONG_SIDE", "the sell order is not a sell");
  if (buy.marketId !== sell.marketId) reject("MARKET_MISMATCH", "orders are for different markets");
  if (tx.lots <= 0n || tx.lots >= 1n << BigInt(Bits.lots)) reject("BAD_QUANTITY", `lots ${tx.lots} out of range`);
  if (tx.priceTicks < 0n || tx.priceTicks >= 1n << BigInt(Bits.priceTicks)) reject("BAD_PRICE", `price ${tx.priceTicks} out of range`);
  if (tx.priceTicks > buy.priceTicks || tx.priceTicks < sell.priceTicks) {
    reject("PRICE_OUTSIDE_LIMITS", `price ${tx.priceTicks} not within [${sell.priceTicks}, ${buy.priceTicks}]`);
  }
  refuseFault(orderTimeFault(buy, ctx.timestamp));
  refuseFault(orderTimeFault(sell, ctx.timestamp));
  if (tx.buyFeePpm > buy.maxFeePpm || tx.sellFeePpm > sell.maxFeePpm) reject("FEE_ABOVE_MAX", "fee above the order's signed maximum");
  requireSignature(state, buy.accountId, orderMessage(buy), buy.signature, ctx, "buy order");
  requireSignature(state, sell.accountId, orderMessage(sell), sell.signature, ctx, "sell order");
}

/** Runs one slot's state changes atomically, with the context's rule enforcement. */
export function atomicSlot<T>(state: ExchangeState, ctx: SlotContext, fn: () => T): T {
  const t = state.begin();
  enforceRules = ctx.enforceRules ?? true;
  try {
    const result = fn();
    t.commit();
    return result;
  } catch (e) {
    t.rollback();
    throw e;
  } finally {
    enforceRules = true;
  }
}

/**
 * The fee pool moves by `delta` in a spot slot (a trade's fees in from spot balances, a FEE_WITHDRAW out), and the
 * pooled quote with it: the circuit's running pooled quote across spot slots (Batch).
 */
function feesFromSpot(state: ExchangeState, delta: bigint): void {
  state.addFees(delta);
  state.addPooledQuote(delta);
}

/** Applies `tx` to `state` and returns the Slot inputs and public-data record it proves. */
export function applyTx(state: ExchangeState, tx: SpotTx, ctx: SlotContext): { inputs: SlotInputs; record: SlotRecord } {
  return atomicSlot(state, ctx, () => applyUnchecked(state, tx, ctx));
}

function applyUnchecked(state: ExchangeState, tx: SpotTx, ctx: SlotContext): { inputs: SlotInputs; record: SlotRecord } {
  const f: SlotInputs = {
    txType: BigInt(tx.type), accountA: 0n, accountB: 0n, tokenId: 0n, amount: 0n, honoured: 0n, pubKeyX: 0n, pubKeyY: 0n,
    marketId: 0n, baseTokenId: 0n, sizeUnit: 0n, priceUnit: 0n, lots: 0n, priceTicks: 0n, buyFeePpm: 0n,
    sellFeePpm: 0n, buyFee: 0n, sellFee: 0n, nonce: 0n, orderA: [...NO_ORDER], orderB: [...NO_ORDER],
    sigA: [...NO_SIGNATURE], sigB: [...NO_SIGNATURE],
  };
  let a: AccountChange = idle(0);
  let b: AccountChange = idle(0);
  let record: SlotRecord;
  const marketId = tx.type === TxType.REGISTER_MARKET ? tx.marketId : tx.type === TxType.TRADE ? tx.buy.marketId : 0;
  if (marketId < 0 || marketId >= state.marketTree.capacity) reject("UNKNOWN_MARKET", `market ${marketId} out of range`);
  const market = { oldLeaf: state.marketTree.leaf(marketId), siblings: state.marketTree.proof(marketId) };

  switch (tx.type) {
    case TxType.NOOP:
      record = { type: TxType.NOOP };
      break;
    case TxType.REGISTER_KEY: {
      if (tx.accountId <= 0 || tx.accountId >= state.accountTree.capacity) reject("BAD_ACCOUNT", `account ${tx.accountId} out of range`);
      const fault = publicKeyFault(tx.pubKey);
      if (fault) reject("BAD_KEY", `account ${tx.accountId}'s key (${tx.pubKey[0]}, ${tx.pubKey[1]}) is ${fault}`);
      Object.assign(f, { accountA: BigInt(tx.accountId), pubKeyX: tx.pubKey[0], pubKeyY: tx.pubKey[1] });
      a = { ...idle(tx.accountId), newKey: tx.pubKey };
      record = { type: TxType.REGISTER_KEY, accountId: BigInt(tx.accountId), pubKey: compressPublicKey(tx.pubKey) };
      break;
    }
    case TxType.DEPOSIT: {
      refuseFault(amountFault(tx.amount, "deposit"));
      Object.assign(f, { accountA: BigInt(tx.accountId), tokenId: BigInt(tx.tokenId), amount: tx.amount });
      a = { ...idle(tx.accountId), ...tokenMove(tx.tokenId, tx.amount) };
      record = { type: TxType.DEPOSIT, accountId: BigInt(tx.accountId), tokenId: BigInt(tx.tokenId), amount: tx.amount };
      break;
    }
    case TxType.REGISTER_MARKET: {
      if (state.market(tx.marketId)) reject("MARKET_EXISTS", `market ${tx.marketId} is already registered`);
      if (tx.baseTokenId <= 0 || tx.baseTokenId >= state.account(0).balances.capacity) reject("BAD_TOKEN", `base token ${tx.baseTokenId} out of range`);
      const unitMax = 1n << BigInt(Bits.unit);
      if (tx.sizeUnit <= 0n || tx.sizeUnit >= unitMax || tx.priceUnit <= 0n || tx.priceUnit >= unitMax) reject("BAD_UNIT", "market units out of range");
      Object.assign(f, { marketId: BigInt(tx.marketId), baseTokenId: BigInt(tx.baseTokenId), sizeUnit: tx.sizeUnit, priceUnit: tx.priceUnit });
      a = idle(0); // A's tree token is the slot's tokenId (0); B's is the base token
      b = idle(0, tx.baseTokenId);
      state.setMarket(tx.marketId, { baseTokenId: tx.baseTokenId, sizeUnit: tx.sizeUnit, priceUnit: tx.priceUnit });
      record = { type: TxType.REGISTER_MARKET, marketId: BigInt(tx.marketId), baseTokenId: BigInt(tx.baseTokenId), sizeUnit: tx.sizeUnit, priceUnit: tx.priceUnit };
      break;
    }
    case TxType.TRADE: {
      checkOrders(state, tx, ctx);
      // a spot market has no position to reduce: the circuit refuses a reduce-only order in a TRADE
      refuseFault(reduceOnlyFault(tx.buy, 0n, tx.lots));
      refuseFault(reduceOnlyFault(tx.sell, 0n, tx.lots));
      // nor a mark to trigger on: the circuit refuses any trigger in a TRADE (TRIGGER_SPOT, or BAD_TRIGGER)
      refuseFault(triggerFault(tx.buy));
      refuseFault(triggerFault(tx.sell));
      if (!state.market(tx.buy.marketId)) reject("UNKNOWN_MARKET", `market ${tx.buy.marketId} is not registered`);
      const m = state.market(marketId)!;
      const amt = tradeAmounts(m, tx.lots, tx.priceTicks, tx.buyFeePpm, tx.sellFeePpm);
      Object.assign(f, {
        accountA: BigInt(tx.buy.accountId), accountB: BigInt(tx.sell.accountId), marketId: BigInt(marketId),
        baseTokenId: BigInt(m.baseTokenId), sizeUnit: m.sizeUnit, priceUnit: m.priceUnit, lots: tx.lots,
        priceTicks: tx.priceTicks, buyFeePpm: BigInt(tx.buyFeePpm), sellFeePpm: BigInt(tx.sellFeePpm),
        buyFee: amt.buyFee, sellFee: amt.sellFee, orderA: orderInputs(tx.buy), orderB: orderInputs(tx.sell),
        sigA: sigArray(tx.buy.signature), sigB: sigArray(tx.sell.signature),
      });
      a = {
        accountId: tx.buy.accountId, quoteDelta: -(amt.quote + amt.buyFee), token: m.baseTokenId, tokenDelta: amt.base, orderId: tx.buy.orderId, orderLeaf: fillLeaf(tx.buy, tx.lots),
      };
      b = {
        accountId: tx.sell.accountId, quoteDelta: amt.quote - amt.sellFee, token: m.baseTokenId, tokenDelta: -amt.base, orderId: tx.sell.orderId, orderLeaf: fillLeaf(tx.sell, tx.lots),
      };
      feesFromSpot(state, amt.buyFee + amt.sellFee);
      record = { type: TxType.TRADE, ...tradeRecordFields(tx), marketId: BigInt(marketId) };
      break;
    }
    case TxType.WITHDRAW: {
      const w = tx.request;
      checkNoncedRequest(state, w, withdrawalMessage(w), ctx, "withdrawal", withdrawalFault(w, state.params.balanceLevels));
      Object.assign(f, {
        accountA: BigInt(w.accountId), tokenId: BigInt(w.tokenId), amount: w.amount, nonce: BigInt(w.nonce),
        sigA: sigArray(w.signature),
      });
      a = { ...idle(w.accountId), ...tokenMove(w.tokenId, -w.amount), nonceIncrement: 1 };
      record = { type: TxType.WITHDRAW, accountId: BigInt(w.accountId), tokenId: BigInt(w.tokenId), amount: w.amount };
      break;
    }
    case TxType.CANCEL: {
      const c = tx.request;
      refuseFault(cancelFault(c));
      requireSignature(state, c.accountId, cancelMessage(c), c.signature, ctx, "cancel");
      const orderA = [...NO_ORDER];
      orderA[ORDER_FIELD.orderId] = c.orderId;
      Object.assign(f, { accountA: BigInt(c.accountId), orderA, sigA: sigArray(c.signature) });
      a = { ...idle(c.accountId), orderId: c.orderId, orderLeaf: cancelLeaf(c.orderId) };
      record = { type: TxType.CANCEL, accountId: BigInt(c.accountId), orderId: c.orderId };
      break;
    }
    case TxType.OPERATOR_CANCEL: {
      // The risk engine's cancel: no signature (the operator may always decline to fill an order; this makes it
      // final), the same order-slot rule as CANCEL.
      refuseFault(cancelFault(tx));
      if (!state.hasKey(tx.accountId)) reject("NO_TRADING_KEY", `account ${tx.accountId} has no registered trading key`);
      const orderA = [...NO_ORDER];
      orderA[ORDER_FIELD.orderId] = tx.orderId;
      Object.assign(f, { accountA: BigInt(tx.accountId), orderA });
      a = { ...idle(tx.accountId), orderId: tx.orderId, orderLeaf: cancelLeaf(tx.orderId) };
      record = { type: TxType.OPERATOR_CANCEL, accountId: BigInt(tx.accountId), orderId: tx.orderId };
      break;
    }
    case TxType.FORCED_COLLATERAL_WITHDRAW:
      throw new TxRejected("WRONG_SLOT", "a forced collateral withdrawal is proven by a derivatives slot");
    case TxType.FORCED_WITHDRAW: {
      // Queued by the account's owner (the custodian checked it): no signature, no nonce. The state decides
      // the outcome; a refused one changes nothing and is proven as refused.
      refuseFault(forcedFault(tx, state));
      const honoured = forcedOutcome(ctx, forcedWithdrawHonoured(state.balance(tx.accountId, tx.tokenId), tx.amount));
      Object.assign(f, { accountA: BigInt(tx.accountId), tokenId: BigInt(tx.tokenId), amount: tx.amount, honoured: honoured ? 1n : 0n });
      a = { ...idle(tx.accountId), ...tokenMove(tx.tokenId, honoured ? -tx.amount : 0n) };
      record = { type: TxType.FORCED_WITHDRAW, accountId: BigInt(tx.accountId), tokenId: BigInt(tx.tokenId), amount: tx.amount, honoured: honoured ? 1n : 0n };
      break;
    }
    case TxType.INSURANCE_WITHDRAW:
      throw new TxRejected("WRONG_SLOT", "an insurance withdrawal is proven by a derivatives slot");
    case TxType.FEE_WITHDRAW:
      // the fee pool decides the outcome
      record = treasuryWithdrawal(tx, ctx, f, feeWithdrawHonoured(state.feePool, state.globals.pooledQuote, tx.amount), () => feesFromSpot(state, -tx.amount));
      break;
  }
  const inputs: SlotInputs = {
    ...f,
    ...updateAccount(state, "a", a),
    ...updateAccount(state, "b", b),
    marketOldLeaf: market.oldLeaf,
    marketSiblings: market.siblings,
  };
  return { inputs, record };
}
