/**
 * Binary order entry: a batch of signed orders as records (sequencer/protocol/orderRecords.ts) instead of
 * JSON, for clients that send many orders (market makers, load generators). Two carriers:
 *   - POST /v1/orders/batch with content-type application/octet-stream: the body is 1..MAX_BATCH_ITEMS
 *     records, answered like the JSON batch ({results}).
 *   - a WebSocket binary frame: byte 0 ORDER_FRAME_KIND, bytes 1..4 the request id (u32 little-endian),
 *     then 1..MAX_BATCH_ITEMS records; answered {"type":"results","id","results"} (or an error with the id).
 * A batch is decoded whole before any of it runs: one bad record refuses the batch (MalformedFrame, which
 * the API answers as MALFORMED) and changes nothing. Shared by the API (decoding) and the SDK (encoding).
 */
import { decodeOrderRecords, encodeOrderRecords, ORDER_RECORD_BYTES } from "../protocol/orderRecords.ts";
import type { Order, Signed } from "../protocol/messages.ts";
import { MAX_BATCH_ITEMS } from "./schemas.ts";

/** The content type of a binary order batch over HTTP. */
export const BINARY_ORDERS_TYPE = "application/octet-stream";
export const ORDER_FRAME_KIND = 1;
export const ORDER_FRAME_HEADER_BYTES = 5;
/** The largest order frame (a full batch). */
export const MAX_ORDER_FRAME_BYTES = ORDER_FRAME_HEADER_BYTES + MAX_BATCH_ITEMS * ORDER_RECORD_BYTES;

/** A binary order batch or frame that does not decode; the API answers it as 400 MALFORMED. */
export class MalformedFrame extends Error {}

/** The signed orders of a binary batch (1..MAX_BATCH_ITEMS records), or MalformedFrame. */
export function parseOrderRecords(bytes: Uint8Array): Signed<Order>[] {
  const count = bytes.length / ORDER_RECORD_BYTES;
  if (count < 1 || count > MAX_BATCH_ITEMS) {
    throw new MalformedFrame(`order batch: 1 to ${MAX_BATCH_ITEMS} records of ${ORDER_RECORD_BYTES} bytes, got ${bytes.length} bytes`);
  }
  try {
    return decodeOrderRecords(bytes);
  } catch (e) {
    throw new MalformedFrame(`order batch: ${(e as Error).message}`);
  }
}

/** A WebSocket order frame. */
export function encodeOrderFrame(id: number, orders: readonly Signed<Order>[]): Uint8Array {
  const records = encodeOrderRecords(orders);
  const frame = new Uint8Array(ORDER_FRAME_HEADER_BYTES + records.length);
  frame[0] = ORDER_FRAME_KIND;
  new DataView(frame.buffer).setUint32(1, id, true);
  frame.set(records, ORDER_FRAME_HEADER_BYTES);
  return frame;
}

/** The request id and records of a WebSocket binary frame (records not yet decoded), or MalformedFrame. */
export function splitOrderFrame(frame: Uint8Array): { id: number; records: Uint8Array } {
  if (frame.length < ORDER_FRAME_HEADER_BYTES || frame[0] !== ORDER_FRAME_KIND) {
    throw new MalformedFrame(`a binary frame is an order frame: kind byte ${ORDER_FRAME_KIND}, a 4-byte request id, then order records`);
  }
  const id = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(1, true);
  return { id, records: frame.subarray(ORDER_FRAME_HEADER_BYTES) };
}
