/**
 * Signed orders in binary: the API's compact order entry (WebSocket binary frames, and POST
 * /v1/orders/batch with content-type application/octet-stream; sequencer/wire/orderFrames.ts). A record
 * is what the trader signs, as the circuit packs it, plus the signature, all little-endian:
 *
 *   bytes   0..15   w0: accountId | orderId | marketId | side | type | timeInForce  (orderWords, 92 bits used)
 *   bytes  16..31   w1: priceTicks | sizeLots | maxFeePpm | expiry                  (orderWords, 128 bits used)
 *   bytes  32..63   R8x      bytes 64..95   R8y      bytes 96..127   S          (each below the field modulus)
 *
 * The layout of the words is ORDER_WORD_FIELDS (messages.ts), the one the message hash and the circuit use,
 * so a record decodes to exactly the order whose message it signs. Decoding refuses what the JSON schema
 * refuses: bits set above a word's fields, a signature part that is not a field element.
 */
import { FIELD_MODULUS } from "./constants.ts";
import { orderFromWords, orderWords, type Order, type Signed } from "./messages.ts";

export const ORDER_RECORD_BYTES = 128;

const WORD_BYTES = 16;
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
    writeUint(view, at, WORD_BYTES, w0);
    writeUint(view, at + WORD_BYTES, WORD_BYTES, w1);
    SIGNATURE_PARTS.forEach((part, k) => {
      const v = order.signature[part];
      if (v < 0n || v >= FIELD_MODULUS) throw new OrderRecordError(i, `signature ${part} is not a field element`);
      writeUint(view, at + 2 * WORD_BYTES + 32 * k, 32, v);
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
      order = orderFromWords(readUint(view, at, WORD_BYTES), readUint(view, at + WORD_BYTES, WORD_BYTES));
    } catch (e) {
      throw new OrderRecordError(i, (e as Error).message);
    }
    const [r8x, r8y, s] = SIGNATURE_PARTS.map((part, k) => {
      const v = readUint(view, at + 2 * WORD_BYTES + 32 * k, 32);
      if (v >= FIELD_MODULUS) throw new OrderRecordError(i, `signature ${part} is not a field element`);
      return v;
    }) as [bigint, bigint, bigint];
    orders.push({ ...order, signature: { r8x, r8y, s } });
  }
  return orders;
}
