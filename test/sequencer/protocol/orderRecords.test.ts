/**
 * Binary order records: the words are the order's packed message words (the layout the circuit hashes),
 * a record decodes to the order it encodes, and every record that is not a signed order is refused with
 * its index: a length that is not whole records, bits above a word's fields, a signature part that is not
 * a field element; fields outside their widths cannot be encoded.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FIELD_MODULUS, OrderType, Side, TimeInForce, TriggerType } from "../../../sequencer/protocol/constants.ts";
import { orderFromWords, orderWords, type Order, type Signed } from "../../../sequencer/protocol/messages.ts";
import { decodeOrderRecords, encodeOrderRecords, ORDER_RECORD_BYTES, OrderRecordError } from "../../../sequencer/protocol/orderRecords.ts";

const widest: Order = {
  accountId: 2 ** 32 - 1, orderId: (1n << 40n) - 1n, marketId: 2 ** 16 - 1, side: Side.SELL, type: OrderType.MARKET,
  timeInForce: TimeInForce.FOK, priceTicks: (1n << 40n) - 1n, sizeLots: (1n << 40n) - 1n, maxFeePpm: 2 ** 16 - 1, expiry: 2 ** 32 - 1, reduceOnly: true,
  triggerType: 3 as TriggerType, triggerPriceTicks: (1n << 40n) - 1n,
};
const sample: Order = {
  accountId: 0x01020304, orderId: 0x0506070809n, marketId: 0x0a0b, side: Side.SELL, type: OrderType.LIMIT,
  timeInForce: TimeInForce.IOC, priceTicks: 0x1112131415n, sizeLots: 0x1617181920n, maxFeePpm: 0x2122, expiry: 0x23242526,
};
const signed = (o: Order, k = 1n): Signed<Order> => ({ ...o, signature: { r8x: 3n * k, r8y: FIELD_MODULUS - k, s: (1n << 250n) + k } });

const le = (bytes: Uint8Array) => bytes.reduceRight((v, b) => (v << 8n) | BigInt(b), 0n);

describe("order words", () => {
  it("pack each field at its place, low bits first, and unpack to the same order", () => {
    const [w0, w1] = orderWords(sample);
    assert.equal(w0, 0x01020304n | (0x0506070809n << 32n) | (0x0a0bn << 72n) | (1n << 88n) | (0n << 89n) | (BigInt(TimeInForce.IOC) << 90n));
    assert.equal(w1, 0x1112131415n | (0x1617181920n << 40n) | (0x2122n << 80n) | (0x23242526n << 96n));
    for (const o of [sample, widest, { ...widest, accountId: 0, orderId: 0n, priceTicks: 0n, expiry: 0 }]) assert.deepEqual(orderFromWords(...orderWords(o)), o);
    // reduceOnly is bit 92, the trigger type bits 93-94 and its price bits 95-134 (absent or false: 0)
    assert.deepEqual(orderWords({ ...sample, triggerType: TriggerType.STOP, triggerPriceTicks: 5n }), [w0 | (1n << 93n) | (5n << 95n), w1]);
    assert.deepEqual(orderWords({ ...sample, reduceOnly: true }), [w0 | (1n << 92n), w1]);
    assert.deepEqual(orderFromWords(w0 | (1n << 92n), w1), { ...sample, reduceOnly: true });
  });

  it("refuse words with bits above their fields", () => {
    const [w0, w1] = orderWords(sample);
    assert.throws(() => orderFromWords(w0 | (1n << 135n), w1), /word 0 has bits set above bit 134/);
    assert.throws(() => orderFromWords(w0, w1 | (1n << 128n)), /word 1 has bits set above bit 127/);
    assert.throws(() => orderFromWords(-1n, w1), RangeError);
  });
});

describe("order records", () => {
  it("hold the packed words and the signature, little-endian, and decode to the same signed orders", () => {
    const orders = [signed(sample), signed(widest, 2n), signed({ ...sample, side: Side.BUY, orderId: 1n, reduceOnly: true, triggerType: TriggerType.TAKE_PROFIT, triggerPriceTicks: 7n }, 3n)];
    const bytes = encodeOrderRecords(orders);
    assert.equal(bytes.length, 3 * ORDER_RECORD_BYTES);
    const [w0, w1] = orderWords(sample);
    assert.equal(ORDER_RECORD_BYTES, 136);
    assert.deepEqual([le(bytes.subarray(0, 24)), le(bytes.subarray(24, 40))], [w0, w1]);
    assert.deepEqual([le(bytes.subarray(40, 72)), le(bytes.subarray(72, 104)), le(bytes.subarray(104, 136))], [3n, FIELD_MODULUS - 1n, (1n << 250n) + 1n]);
    assert.deepEqual(decodeOrderRecords(bytes), orders);
    assert.deepEqual(decodeOrderRecords(bytes.subarray(ORDER_RECORD_BYTES)), orders.slice(1), "a view at an offset decodes alike");
  });

  it("refuse what is not a signed order, naming the record", () => {
    const good = encodeOrderRecords([signed(sample), signed(sample, 2n)]);
    const edited = (at: number, byte: number) => {
      const b = good.slice();
      b[at] = byte;
      return b;
    };
    const modulusAt = (offset: number) => {
      const b = good.slice();
      let p = FIELD_MODULUS;
      for (let i = 0; i < 32; i++, p >>= 8n) b[offset + i] = Number(p & 0xffn);
      return b;
    };
    const cases: [string, Uint8Array, RegExp][] = [
      ["a partial record", good.subarray(0, 200), /order record 1: 200 bytes is not a whole number of 136-byte records/],
      ["w0 bit 135 set", edited(ORDER_RECORD_BYTES + 16, 0x80), /order record 1: order word 0 has bits set above bit 134/],
      ["w0 top byte set", edited(23, 1), /order record 0: order word 0/],
      ["r8x = p", modulusAt(40), /order record 0: signature r8x is not a field element/],
      ["s = p", modulusAt(ORDER_RECORD_BYTES + 104), /order record 1: signature s is not a field element/],
    ];
    for (const [name, bytes, message] of cases) {
      assert.throws(() => decodeOrderRecords(bytes), (e: Error) => e instanceof OrderRecordError && message.test(e.message), name);
    }
  });

  it("cannot encode a field outside its width or a signature part outside the field", () => {
    assert.throws(() => encodeOrderRecords([signed({ ...sample, orderId: 1n << 40n })]), /orderId=1099511627776 does not fit in 40 bits/);
    assert.throws(() => encodeOrderRecords([signed({ ...sample, accountId: -1 })]), /accountId=-1 does not fit/);
    const s = signed(sample);
    assert.throws(() => encodeOrderRecords([s, { ...s, signature: { ...s.signature, r8y: FIELD_MODULUS } }]), /order record 1: signature r8y/);
  });
});
