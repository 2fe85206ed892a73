/**
 * What a trading key signs: orders, withdrawals and cancels, each a Poseidon hash with a domain tag
 * (SPEC.md, "Signed messages"). Field packing mirrors circuits/batch/slot.circom (OrderWords).
 * The stream-authentication message is the API's own (ApiDomain) and never reaches the circuit.
 *
 * Cancel-all has no message of its own: the circuit proves each cancel with the trader's signature over
 * that order id (slot.circom, DOMAIN_CANCEL), so cancelling everything is one signed cancel per live
 * order, sent together (the SDK's cancelAll, the API's POST /v1/cancels/batch).
 */
import { poseidon, poseidonChain } from "../crypto/poseidon.ts";
import { ApiDomain, Bits, Domain, IMMEDIATE_ORDER_TTL, INSTRUMENT_MARKET_BASE, neverRests, SETTLEMENT_MAX_UNDERLYINGS, Side, TriggerType, type OrderType, type TimeInForce } from "./constants.ts";
import type { PublicKey, Signature } from "../crypto/babyjub.ts";
import { sliceWord, type VolSlice } from "./volSlices.ts";

/** An order as the trader signs it. Prices in ticks, sizes in lots of the market. */
export type Order = {
  accountId: number;
  orderId: bigint;
  marketId: number;
  side: Side;
  type: OrderType;
  timeInForce: TimeInForce;
  priceTicks: bigint;
  sizeLots: bigint;
  maxFeePpm: number;
  /** Unix seconds after which the order may not be filled. */
  expiry: number;
  /**
   * Reduce-only (derivatives markets only): a fill may never increase the position's size or flip its
   * sign (circuits/DERIVATIVES.md, "Reduce-only orders"). One bit of word 0 (bit 92), so it is signed;
   * absent means false, and an order without it packs to the words it always did.
   */
  reduceOnly?: boolean;
  /**
   * Stop or take-profit (derivatives markets only): the sequencer holds the order until the instrument's
   * mark crosses `triggerPriceTicks` (constants.ts TriggerType), then places it. Bits 93-94 and 95-134 of
   * word 0, so they are signed; absent means none (0), and an order without them packs as before.
   */
  triggerType?: TriggerType;
  triggerPriceTicks?: bigint;
};

export type Withdrawal = { accountId: number; tokenId: number; amount: bigint; nonce: number };
export type Cancel = { accountId: number; orderId: bigint };
/** Moves `amount` of the quote token between the spot balance and derivatives collateral. */
export type Transfer = { accountId: number; toCollateral: boolean; amount: bigint; nonce: number };
/**
 * An expiry the oracle names in an update, with its index price of every underlying at that expiry: every
 * unsettled dated instrument of that expiry settles at its underlying's (circuits/DERIVATIVES.md, "Expiry").
 */
export type ExpirySettlement = { expiry: number; prices: bigint[] };
/**
 * What the oracle signs (circuits/DERIVATIVES.md, "Oracle update"): an index price per underlying, a table of vol
 * slices (an implied vol and its skew per (underlying, expiry), as many entries as option ids, the unused ones
 * EMPTY_SLICE: protocol/volSlices.ts), a funding rate per instrument, and optionally one expiry's settlement prices
 * (absent: none named).
 */
export type OracleUpdate = { time: number; fundingEpoch: number; prices: bigint[]; volSlices: VolSlice[]; rates: bigint[]; settlement?: ExpirySettlement | null };
/** An oracle update with the oracle's signature and key. */
export type SignedOracleUpdate = OracleUpdate & { key: PublicKey; signature: Signature };

export type Signed<T> = T & { signature: Signature };

function checkWidth(name: string, value: bigint | number, bits: number): bigint {
  const v = BigInt(value);
  if (v < 0n || v >= 1n << BigInt(bits)) throw new RangeError(`${name}=${value} does not fit in ${bits} bits`);
  return v;
}

/** Throws a RangeError naming the first field outside its width. */
export function checkOrderFields(o: Order): void {
  orderWords(o);
}

// ---- request validity ----------------------------------------------------------------------------
//
// The stateless rules of the signed requests that move amounts or name orders: what makes a request
// unprovable whatever the state. Intake (sequencer/service/sequencer.ts, derivatives.ts) and the
// witness builder (sequencer/batch/slotWitness.ts, derivSlotWitness.ts) both call these functions, so
// a request intake accepts is never one the builder refuses for these reasons (issue 11, finding 6:
// a zero-amount withdrawal was accepted and then refused in every batch). The state-dependent rules
// (signature under the account's key, next nonce, balance) are checked by each side on its own state.

/** Why a request can never be proven: the code the API answers with (and the builder refuses with), and a message. */
export type RequestFault = { code: string; message: string };

/** The rule of every amount a request moves (the circuit range-checks it and requires it non-zero): 0 < amount < 2^96. */
export function amountFault(amount: bigint, what: string): RequestFault | null {
  if (typeof amount !== "bigint" || amount <= 0n || amount >= 1n << BigInt(Bits.amount)) {
    return { code: "BAD_AMOUNT", message: `${what} amount ${amount} must be in (0, 2^${Bits.amount})` };
  }
  return null;
}

/** A withdrawal's stateless rules: a non-zero amount, and a token id the account's balance tree (4^balanceLevels leaves) holds. */
export function withdrawalFault(w: Withdrawal, balanceLevels: number): RequestFault | null {
  if (!Number.isInteger(w.tokenId) || w.tokenId < 0 || w.tokenId >= 4 ** balanceLevels) {
    return { code: "BAD_TOKEN", message: `token ${w.tokenId} is not below ${4 ** balanceLevels}` };
  }
  return amountFault(w.amount, "withdrawal");
}

/** A transfer's stateless rule: a non-zero amount. */
export function transferFault(t: Transfer): RequestFault | null {
  return amountFault(t.amount, "transfer");
}

/** A cancel's stateless rule: an order id that fits its field. */
export function cancelFault(c: Cancel): RequestFault | null {
  if (typeof c.orderId !== "bigint" || c.orderId < 0n || c.orderId >= 1n << BigInt(Bits.orderId)) {
    return { code: "BAD_ORDER_ID", message: `order id ${c.orderId} out of range` };
  }
  return null;
}

/**
 * A trigger's stateless rules (stop and take-profit orders, docs/client.md 6.8): none (both fields absent
 * or 0), or a type STOP / TAKE_PROFIT with a price in (0, 2^40), on a derivatives market only.
 */
export function triggerFault(o: Order): RequestFault | null {
  const type = o.triggerType ?? TriggerType.NONE;
  const price = o.triggerPriceTicks ?? 0n;
  if (type === TriggerType.NONE && price === 0n) return null;
  if (type !== TriggerType.STOP && type !== TriggerType.TAKE_PROFIT) return { code: "BAD_TRIGGER", message: `trigger type ${type} is neither stop (1) nor take-profit (2)` };
  if (typeof price !== "bigint" || price <= 0n || price >= 1n << BigInt(Bits.priceTicks)) return { code: "BAD_TRIGGER", message: `trigger price ${price} must be in (0, 2^${Bits.priceTicks})` };
  if (o.marketId < INSTRUMENT_MARKET_BASE) return { code: "TRIGGER_SPOT", message: `stop and take-profit orders are for derivatives markets, not spot market ${o.marketId}` };
  return null;
}

/** Whether the order carries a trigger (stop or take-profit): the sequencer holds it until the mark crosses it. */
export function hasTrigger(o: Order): boolean {
  return (o.triggerType ?? TriggerType.NONE) !== TriggerType.NONE || (o.triggerPriceTicks ?? 0n) !== 0n;
}

/**
 * Intake's half of the time rule (the circuit's OrderTime): an order that never rests and carries no trigger may
 * expire at most IMMEDIATE_ORDER_TTL seconds after `time`, its arrival, so that a batch stamped at or after its
 * arrival is within the window the circuit allows. A trigger order is exempt: it waits for its mark, and rests
 * once placed.
 */
export function immediateExpiryFault(o: Order, time: number): RequestFault | null {
  if (!neverRests(o) || hasTrigger(o) || o.expiry <= time + IMMEDIATE_ORDER_TTL) return null;
  return {
    code: "IMMEDIATE_EXPIRY_TOO_FAR",
    message: `order ${o.orderId} of account ${o.accountId} never rests (market, IOC or FOK): its expiry ${o.expiry} may be at most ${IMMEDIATE_ORDER_TTL} s after ${time}`,
  };
}

/**
 * The time rule of a filled order at a batch stamped `timestamp`, for the witness builders (the circuit's
 * OrderTime): not expired (`timestamp <= expiry`), and an order that never rests, without a trigger, filled only
 * in a batch stamped at most IMMEDIATE_ORDER_TTL before its expiry.
 */
export function orderTimeFault(o: Order, timestamp: number): RequestFault | null {
  if (timestamp > o.expiry) return { code: "ORDER_EXPIRED", message: `order ${o.orderId} of account ${o.accountId} expired at ${o.expiry}, before the batch timestamp ${timestamp}` };
  return immediateExpiryFault(o, timestamp);
}

/**
 * Whether `mark` (quote units per lot, the oracle step's) has crossed the trigger of `o`, whose price is
 * in ticks of `tickValue` quote units per lot: a stop buy and a take-profit sell fire at `mark >= trigger`,
 * a stop sell and a take-profit buy at `mark <= trigger` (the circuit's TriggerFill).
 */
export function triggerCrossed(o: Order, mark: bigint, tickValue: bigint): boolean {
  const at = (o.triggerPriceTicks ?? 0n) * tickValue;
  const firesRising = (o.triggerType === TriggerType.STOP) === (o.side === Side.BUY);
  return firesRising ? mark >= at : mark <= at;
}

/**
 * The trigger rule of a derivatives fill, for the witness builder (the circuit's TriggerFill) and intake: the
 * trigger is one intake accepts (triggerFault), and an order carrying one fills for the first time
 * (`firstFill`: it had filled nothing before) only at a mark that has crossed it. Later fills of a partly
 * filled order have no trigger rule: it rests as a plain limit order.
 */
export function triggerFillFault(o: Order, firstFill: boolean, mark: bigint, tickValue: bigint): RequestFault | null {
  const fault = triggerFault(o);
  if (fault || !firstFill || !hasTrigger(o) || triggerCrossed(o, mark, tickValue)) return fault;
  return {
    code: "TRIGGER_NOT_CROSSED",
    message: `order ${o.orderId} of account ${o.accountId}: its first fill needs a mark that has crossed its trigger (${o.triggerPriceTicks} ticks of ${tickValue}); the mark is ${mark} per lot`,
  };
}

/**
 * The fields of an order's two packed words, low bits first: each starts where the previous one ends
 * (circuits/batch/slot.circom OrderWords). Packing (orderWords) and unpacking (orderFromWords) both read
 * this table.
 */
export const ORDER_WORD_FIELDS = [
  [
    ["accountId", Bits.accountId],
    ["orderId", Bits.orderId],
    ["marketId", Bits.marketId],
    ["side", 1],
    ["type", 1],
    ["timeInForce", 2],
    ["reduceOnly", 1],
    ["triggerType", 2],
    ["triggerPriceTicks", Bits.priceTicks],
  ],
  [
    ["priceTicks", Bits.priceTicks],
    ["sizeLots", Bits.lots],
    ["maxFeePpm", Bits.feePpm],
    ["expiry", Bits.time],
  ],
] as const satisfies readonly (readonly (readonly [keyof Order, number])[])[];

/** Fields that are bigints in Order (the others are numbers, but for the flags). */
const BIGINT_ORDER_FIELDS: ReadonlySet<keyof Order> = new Set(["orderId", "priceTicks", "sizeLots", "triggerPriceTicks"]);
/** Fields that are optional booleans in Order: absent or false is 0, true is 1. */
const FLAG_ORDER_FIELDS: ReadonlySet<keyof Order> = new Set(["reduceOnly"]);
/** Optional fields of Order: absent is 0, and unpacking leaves a 0 out (an order without them round-trips). */
const OPTIONAL_ORDER_FIELDS: ReadonlySet<keyof Order> = new Set(["reduceOnly", "triggerType", "triggerPriceTicks"]);

/** The value order field `name` packs (a flag: 1 when true, 0 when false; an optional field absent: 0); not range-checked. */
export function orderFieldValue(o: Order, name: keyof Order): bigint {
  const v = o[name];
  if (v === undefined && OPTIONAL_ORDER_FIELDS.has(name)) return 0n;
  if (FLAG_ORDER_FIELDS.has(name)) {
    if (v === false) return 0n;
    if (v === true) return 1n;
    throw new RangeError(`${name}=${String(v)} is not a boolean`);
  }
  return BigInt(v as bigint | number);
}

/** Each word's fields with their offsets (from ORDER_WORD_FIELDS). */
const ORDER_WORD_LAYOUT = ORDER_WORD_FIELDS.map((fields) => {
  let offset = 0;
  return fields.map(([name, bits]) => {
    const field = {
      name, bits, shift: BigInt(offset), mask: (1n << BigInt(bits)) - 1n, bigint: BIGINT_ORDER_FIELDS.has(name), flag: FLAG_ORDER_FIELDS.has(name),
      optional: OPTIONAL_ORDER_FIELDS.has(name),
    };
    offset += bits;
    return field;
  });
});

/** Bits used in each of the two words (135 and 128): anything above is not an order. */
export const ORDER_WORD_BITS = ORDER_WORD_FIELDS.map((fields) => fields.reduce((n, [, bits]) => n + bits, 0)) as [number, number];

/** The two packed words of an order, range-checking every field. */
export function orderWords(o: Order): [bigint, bigint] {
  const pack = (layout: (typeof ORDER_WORD_LAYOUT)[number]) => {
    let word = 0n;
    for (const f of layout) word |= checkWidth(f.name, orderFieldValue(o, f.name), f.bits) << f.shift;
    return word;
  };
  return [pack(ORDER_WORD_LAYOUT[0]!), pack(ORDER_WORD_LAYOUT[1]!)];
}

/**
 * The order two packed words hold; throws a RangeError when a word has bits set above its fields. An
 * optional field (reduceOnly, the trigger) is present only when non-zero, so an order without them
 * round-trips to itself.
 */
export function orderFromWords(w0: bigint, w1: bigint): Order {
  const order: Record<string, bigint | number | boolean> = {};
  [w0, w1].forEach((word, i) => {
    if (word < 0n || word >> BigInt(ORDER_WORD_BITS[i]!) !== 0n) throw new RangeError(`order word ${i} has bits set above bit ${ORDER_WORD_BITS[i]! - 1}`);
    for (const f of ORDER_WORD_LAYOUT[i]!) {
      const v = (word >> f.shift) & f.mask;
      if (f.optional && v === 0n) continue;
      order[f.name] = f.flag ? true : f.bigint ? v : Number(v);
    }
  });
  return order as Order;
}

/** The Poseidon inputs of an order's message (range-checked): [DOMAIN_ORDER, w0, w1]. */
export function orderMessageInputs(o: Order): [bigint, bigint, bigint] {
  const [w0, w1] = orderWords(o);
  return [Domain.ORDER, w0, w1];
}

export function orderMessage(o: Order): bigint {
  return poseidon(orderMessageInputs(o));
}

export function withdrawalMessage(w: Withdrawal): bigint {
  const w0 =
    checkWidth("accountId", w.accountId, Bits.accountId) |
    (checkWidth("tokenId", w.tokenId, Bits.tokenId) << 32n) |
    (checkWidth("nonce", w.nonce, Bits.nonce) << 48n);
  return poseidon([Domain.WITHDRAW, w0, checkWidth("amount", w.amount, Bits.amount)]);
}

export function cancelMessage(c: Cancel): bigint {
  const w0 = checkWidth("accountId", c.accountId, Bits.accountId) | (checkWidth("orderId", c.orderId, Bits.orderId) << 32n);
  return poseidon([Domain.CANCEL, w0, 0n]);
}

/** What a trading key signs to open its private stream: the account and the connection's challenge. */
export type StreamAuth = { accountId: number; challenge: bigint };

export function streamAuthMessage(a: StreamAuth): bigint {
  return poseidon([ApiDomain.STREAM_AUTH, checkWidth("accountId", a.accountId, Bits.accountId), checkWidth("challenge", a.challenge, 128)]);
}

export function transferMessage(t: Transfer): bigint {
  const w0 =
    checkWidth("accountId", t.accountId, Bits.accountId) |
    (checkWidth("nonce", t.nonce, Bits.nonce) << 32n) |
    ((t.toCollateral ? 1n : 0n) << 64n);
  return poseidon([Domain.TRANSFER, w0, checkWidth("amount", t.amount, Bits.amount)]);
}

/**
 * The settlement word of an update: expiry | price_0 << 32 | price_1 << 82 | ... (50 bits per underlying's
 * price at that expiry), 0 when the update names no expiry.
 */
export function settlementWord(s: ExpirySettlement | null | undefined): bigint {
  if (!s) return 0n;
  if (s.prices.length > SETTLEMENT_MAX_UNDERLYINGS) throw new RangeError(`a settlement word holds at most ${SETTLEMENT_MAX_UNDERLYINGS} prices`);
  if (s.expiry <= 0) throw new RangeError("a named expiry is positive");
  let w = checkWidth("settlement.expiry", s.expiry, Bits.time);
  s.prices.forEach((p, u) => (w |= checkWidth(`settlement.prices[${u}]`, p, Bits.oraclePrice) << BigInt(Bits.time + u * Bits.oraclePrice)));
  return w;
}

/**
 * Poseidon(5, time | epoch << 32, price_0, ..., price_{U-1}, sliceWord_0, ..., sliceWord_{O-1}, rate_0 + 2^23, ...,
 * rate_{N-1} + 2^23, settlementWord).
 */
export function oracleMessage(u: OracleUpdate): bigint {
  const offset = 1n << BigInt(Bits.fundingRate - 1);
  const inputs = [Domain.ORACLE, checkWidth("time", u.time, Bits.time) | (checkWidth("fundingEpoch", u.fundingEpoch, Bits.time) << 32n)];
  u.prices.forEach((p, i) => inputs.push(checkWidth(`price[${i}]`, p, Bits.oraclePrice)));
  u.volSlices.forEach((s) => inputs.push(sliceWord(s)));
  u.rates.forEach((r, i) => inputs.push(checkWidth(`rate[${i}]`, r + offset, Bits.fundingRate)));
  if (u.settlement && u.settlement.prices.length !== u.prices.length) throw new RangeError("a settlement names a price per underlying");
  inputs.push(settlementWord(u.settlement));
  return poseidonChain(inputs);
}
