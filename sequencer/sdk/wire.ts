/**
 * The SDK's side of the API's JSON encoding: requests are serialised with bigints as decimal strings
 * (the API's toJson), and the answers' decimal strings are turned back into bigints where the protocol
 * has bigints. The API's errors become ApiRequestError with the server's code.
 */
import type { DepthLevel, EngineEvent } from "../matching/index.ts";
import { toJson } from "../wire/schemas.ts";

export { toJson };

/** An answer of the API that is not a success: its HTTP status (or the stream's), code and body. */
export class ApiRequestError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly body: Record<string, unknown>) {
    super(`${code}: ${message}`);
  }
}

/** Keys whose decimal-string values are protocol bigints. */
const BIGINT_KEYS = new Set([
  "orderId", "priceTicks", "sizeLots", "lots", "remainingLots", "filledLots", "makerOrderId", "takerOrderId",
  "balance", "reserved", "available", "amount", "sizeUnit", "priceUnit", "challenge", "r8x", "r8y", "s",
  // held stop and take-profit orders (docs/client.md 6.8)
  "triggerPriceTicks",
  // derivatives (signed where a position or PnL is): instruments, marks, account reports
  "lotSizeE6", "tickValue", "tickSizeE8", "imPpm", "mmPpm", "strike", "fundingCapPpm", "fundingIndex", "settlePrice", "markPerLot", "volPpm", "openInterestLots",
  "collateral", "equity", "initialMargin", "maintenanceMargin", "marginWithOrders", "size", "averageEntryPerLot",
  "costBasis", "unrealisedPnl", "realisedPnl", "feesPaid", "fundingPaid", "indexPrice", "below", "above",
  // the treasury (GET /v1/treasury)
  "feePool", "insuranceFund", "openBadDebt", "pooledQuote",
]);

/** JSON.parse reviver: the protocol's bigints back from decimal strings. */
export function bigintReviver(key: string, value: unknown): unknown {
  return typeof value === "string" && BIGINT_KEYS.has(key) && /^-?(0|[1-9][0-9]*)$/.test(value) ? BigInt(value) : value;
}

export function fromJson<T = Record<string, unknown>>(text: string): T {
  return JSON.parse(text, bigintReviver) as T;
}

export type BookView = { bids: DepthLevel[]; asks: DepthLevel[] };

/** One item of a batch answer: the events, or the refusal's status and code. */
export type BatchItem = { status: number; events?: EngineEvent[]; code?: string; message?: string };
