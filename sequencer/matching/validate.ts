/**
 * Stateless checks of an incoming order: types, protocol widths, enums, time in force, expiry.
 * Input may come straight from the network (decoded JSON), so nothing is trusted and nothing throws.
 */
import { Bits, OrderType, Side, TimeInForce } from "../protocol/constants.ts";
import { RejectCode, type Order } from "./types.ts";
import { reduceOnlyOnSpot } from "../derivatives/formulas.ts";

const MAX_PRICE = (1n << BigInt(Bits.priceTicks)) - 1n;
const MAX_LOTS = (1n << BigInt(Bits.lots)) - 1n;
const MAX_ORDER_ID = (1n << BigInt(Bits.orderId)) - 1n;

/** A non-negative integer number below 2^bits. */
export function isUint(v: unknown, bits: number): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v < 2 ** bits;
}

export function isOrderId(v: unknown): v is bigint {
  return typeof v === "bigint" && v >= 0n && v <= MAX_ORDER_ID;
}

export function isTime(v: unknown): v is number {
  return isUint(v, Bits.time);
}

/**
 * The first reason to refuse `o` at `time` without looking at any state, or null if none.
 * Checked in this order: MALFORMED, ZERO_SIZE, SIZE_OUT_OF_RANGE, PRICE_OUT_OF_RANGE,
 * INVALID_TIME_IN_FORCE, EXPIRED, REDUCE_ONLY_SPOT (a reduce-only order on a spot market).
 */
export function checkOrder(o: unknown, time: number): RejectCode | null {
  if (typeof o !== "object" || o === null) return RejectCode.MALFORMED;
  const r = o as Record<keyof Order, unknown>;
  if (
    !isUint(r.accountId, Bits.accountId) ||
    !isOrderId(r.orderId) ||
    !isUint(r.marketId, Bits.marketId) ||
    (r.side !== Side.BUY && r.side !== Side.SELL) ||
    (r.type !== OrderType.LIMIT && r.type !== OrderType.MARKET) ||
    !isUint(r.timeInForce, 2) ||
    typeof r.priceTicks !== "bigint" ||
    typeof r.sizeLots !== "bigint" ||
    !isUint(r.maxFeePpm, Bits.feePpm) ||
    !isTime(r.expiry) ||
    (r.reduceOnly !== undefined && typeof r.reduceOnly !== "boolean")
  ) {
    return RejectCode.MALFORMED;
  }
  if (r.sizeLots === 0n) return RejectCode.ZERO_SIZE;
  if (r.sizeLots < 0n || r.sizeLots > MAX_LOTS) return RejectCode.SIZE_OUT_OF_RANGE;
  // A limit order prices at least one tick: at 0 it would rest as a free maker (trades for nothing, fees of 0), the
  // cheapest way to flood the batches; a market order's 0 is a protection price (a sell at any price).
  if (r.priceTicks < 0n || r.priceTicks > MAX_PRICE || (r.priceTicks === 0n && r.type === OrderType.LIMIT)) return RejectCode.PRICE_OUT_OF_RANGE;
  if (r.type === OrderType.MARKET && r.timeInForce === TimeInForce.POST_ONLY) return RejectCode.INVALID_TIME_IN_FORCE;
  if (r.expiry < time) return RejectCode.EXPIRED;
  if (reduceOnlyOnSpot(o as Order)) return RejectCode.REDUCE_ONLY_SPOT;
  return null;
}
