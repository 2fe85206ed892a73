/**
 * Signed orders in binary: the API's compact order entry (WebSocket binary frames, and POST
 * /v1/orders/batch with content-type application/octet-stream; sequencer/wire/orderFrames.ts). A record
 * is what the trader signs, as the circuit packs it, plus the signature, all little-endian:
 *
 *   bytes   0..23   w0: accountId | orderId | marketId | side | type | timeInForce | reduceOnly | triggerType |
 *                   triggerPriceTicks                                             (orderWords, 135 bits used)
 *   bytes  24..39   w1: priceTicks | sizeLots | maxFeePpm | expiry                  (orderWords, 128 bits used)
 *   bytes  40..71   R8x      bytes 72..103  R8y      bytes 104..135  S          (each below the field modulus)
 *
 * (Records were 128 bytes, w0 16 bytes, until the trigger of stop and take-profit orders took w0 past 128 bits.)
 *
 * The layout of the words is ORDER_WORD_FIELDS (messages.ts), the one the message hash and the circuit use,
 * so a record decodes to exactly the order whose message it signs. Decoding refuses what the JSON schema
 * refuses: bits set above a word's fields, a signature part that is not a field element.
 */
import { FIELD_MODULUS } from "./constants.ts";
import { orderFromWords, orderWords, type Order, type Signed } from "./messages.ts";

/** The bytes of each word in a record (w0 holds 135 bits, w1 128), then the signature's. */
const WORD_BYTES = [24, 16] as const;
const SIGNATURE_AT = WORD_BYTES[0] + WORD_BYTES[1];

export const ORDER_RECORD_BYTES = SIGNATURE_AT + 3 * 32;
const SIGNATURE_PARTS = ["r8x", "r8y", "s"] as const;

/** A record that is not a signed order: `index` is its position in the input. */
export class OrderRecordError extends RangeError {
  constructor(readonly index: number, reason: string) {
    super(`order record ${index}: ${reason}`);
  }
}

function writeUint(view: DataView, offset: number, bytes: number, value: bigint): void {
  for (let i = 0; i < bytes; i += 8) view.setBigUint64(offset + i, BigInt.asUintN(64, value >> BigInt(8 * i)), true);
}

function readUint(view: DataView, offset: number, bytes: number): bigint {
  let v = 0n;
  for (let i = bytes - 8; i >= 0; i -= 8) v = (v << 64n) | view.getBigUint64(offset + i, true);
  return v;
}

/** The records of signed orders, in order (range-checks every field as orderWords does). */
export function encodeOrderRecords(orders: readonly Signed<Order>[]): Uint8Array {
  const out = new Uint8Array(orders.length * ORDER_RECORD_BYTES);
  const view = new DataView(out.buffer);
  orders.forEach((order, i) => {
    const at = i * ORDER_RECORD_BYTES;
    const [w0, w1] = orderWords(order);
    writeUint(view, at, WORD_BYTES[0], w0);
    writeUint(view, at + WORD_BYTES[0], WORD_BYTES[1], w1);
    SIGNATURE_PARTS.forEach((part, k) => {
      const v = order.signature[part];
      if (v < 0n || v >= FIELD_MODULUS) throw new OrderRecordError(i, `signature ${part} is not a field element`);
      writeUint(view, at + SIGNATURE_AT + 32 * k, 32, v);
    });
  });
  return out;
}

/** The signed orders in `bytes` (a whole number of records); throws OrderRecordError at the first bad one. */
export function decodeOrderRecords(bytes: Uint8Array): Signed<Order>[] {
  if (bytes.length % ORDER_RECORD_BYTES !== 0) {
    throw new OrderRecordError(Math.floor(bytes.length / ORDER_RECORD_BYTES), `${bytes.length} bytes is not a whole number of ${ORDER_RECORD_BYTES}-byte records`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const orders: Signed<Order>[] = [];
  for (let i = 0, at = 0; at < bytes.length; i++, at += ORDER_RECORD_BYTES) {
    let order: Order;
    try {
      order = orderFromWords(readUint(view, at, WORD_BYTES[0]), readUint(view, at + WORD_BYTES[0], WORD_BYTES[1]));
    } catch (e) {
      throw new OrderRecordError(i, (e as Error).message);
    }
    const [r8x, r8y, s] = SIGNATURE_PARTS.map((part, k) => {
      const v = readUint(view, at + SIGNATURE_AT + 32 * k, 32);
      if (v >= FIELD_MODULUS) throw new OrderRecordError(i, `signature ${part} is not a field element`);
      return v;
    }) as [bigint, bigint, bigint];
    orders.push({ ...order, signature: { r8x, r8y, s } });
  }
  return orders;
}
