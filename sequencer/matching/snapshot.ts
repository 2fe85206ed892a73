/**
 * The engine's state as a plain JSON-able object (bigints as decimal strings), and back.
 *
 * Resting orders are listed in acceptance (seq) order. Re-inserting them in that order rebuilds every
 * level's FIFO queue and every account's order list exactly, because both are always in seq order.
 */
import type { RestingOrder } from "./bookSide.ts";
import { checkOrder } from "./validate.ts";
import type { Order, SelfTradePolicy } from "./types.ts";

export type RestingOrderJson = {
  accountId: number;
  orderId: string;
  marketId: number;
  side: number;
  type: number;
  timeInForce: number;
  priceTicks: string;
  sizeLots: string;
  maxFeePpm: number;
  expiry: number;
  /** Present (true) only on a reduce-only order. */
  reduceOnly?: true;
  seq: number;
  filledLots: string;
};

export type EngineSnapshot = {
  version: 1;
  /** Sequence number the next command will get. */
  nextSeq: number;
  selfTradePolicy: SelfTradePolicy;
  /** Live orders, seq ascending. */
  orders: RestingOrderJson[];
  /** Every order id each account has had accepted: [accountId, ids], accounts ascending. */
  usedOrderIds: [number, string[]][];
};

export function orderToJson(o: RestingOrder): RestingOrderJson {
  return {
    accountId: o.accountId,
    orderId: o.orderId.toString(),
    marketId: o.marketId,
    side: o.side,
    type: o.type,
    timeInForce: o.timeInForce,
    priceTicks: o.priceTicks.toString(),
    sizeLots: o.sizeLots.toString(),
    maxFeePpm: o.maxFeePpm,
    expiry: o.expiry,
    ...(o.reduceOnly ? { reduceOnly: true as const } : {}),
    seq: o.seq,
    filledLots: o.filledLots.toString(),
  };
}

/** Parses one snapshot order; throws on anything a live order could not be (a corrupt snapshot). */
export function orderFromJson(j: RestingOrderJson): { order: Order; seq: number; filledLots: bigint } {
  const order = {
    accountId: j.accountId,
    orderId: BigInt(j.orderId),
    marketId: j.marketId,
    side: j.side,
    type: j.type,
    timeInForce: j.timeInForce,
    priceTicks: BigInt(j.priceTicks),
    sizeLots: BigInt(j.sizeLots),
    maxFeePpm: j.maxFeePpm,
    expiry: j.expiry,
    ...(j.reduceOnly === true ? { reduceOnly: true } : {}),
  } as Order;
  const filledLots = BigInt(j.filledLots);
  const bad = checkOrder(order, 0);
  if (bad !== null) throw new Error(`snapshot order ${j.accountId}/${j.orderId}: ${bad}`);
  if (filledLots < 0n || filledLots >= order.sizeLots) throw new Error(`snapshot order ${j.accountId}/${j.orderId}: bad filledLots`);
  if (!Number.isSafeInteger(j.seq) || j.seq < 1) throw new Error(`snapshot order ${j.accountId}/${j.orderId}: bad seq`);
  return { order, seq: j.seq, filledLots };
}
