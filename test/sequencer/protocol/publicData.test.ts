/** sequencer/protocol/publicData.ts: records, the oracle section and whole public data round-trip, and bad values are refused. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TxType, RECORD_BYTES, HEADER_BYTES, oracleSectionBytes } from "../../../sequencer/protocol/constants.ts";
import { publicDataBytes, TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import {
  decodeOracleSection, decodePublicData, decodeRecord, encodeOracleSection, encodePublicData, encodeRecord, queuedForm, requestsInQueueOrder,
  unusedOracleSection, type OracleSection, type SlotRecord,
} from "../../../sequencer/protocol/publicData.ts";
import { bytesToHex } from "viem";
import { EMPTY_SLICE, sliceWord } from "../../../sequencer/protocol/volSlices.ts";

const SPOT_RECORDS: SlotRecord[] = [
  { type: TxType.NOOP },
  { type: TxType.REGISTER_KEY, accountId: 3n, pubKey: (1n << 255n) | 12345n },
  { type: TxType.DEPOSIT, accountId: 1n, tokenId: 2n, amount: (1n << 96n) - 1n },
  { type: TxType.REGISTER_MARKET, marketId: 1n, baseTokenId: 1n, sizeUnit: 10n ** 15n, priceUnit: 10n },
  { type: TxType.TRADE, buyAccountId: 1n, buyOrderId: 7n, sellAccountId: 2n, sellOrderId: 9n, marketId: 1n, lots: 5n, priceTicks: 300000n, buyFeePpm: 100n, sellFeePpm: 0n },
  { type: TxType.WITHDRAW, accountId: 1n, tokenId: 0n, amount: 42n },
  { type: TxType.CANCEL, accountId: 2n, orderId: 9n },
];

/** Every derivatives record type, with each field at its largest value somewhere. */
const DERIV_RECORDS: SlotRecord[] = [
  { type: TxType.DERIV_TRADE, buyAccountId: 2n ** 32n - 1n, buyOrderId: 2n ** 40n - 1n, sellAccountId: 2n, sellOrderId: 9n, instrumentId: 3n, lots: 2n ** 40n - 1n, priceTicks: 300000n, buyFeePpm: 2n ** 16n - 1n, sellFeePpm: 0n },
  { type: TxType.LIQUIDATE, liquidatedAccountId: 1n, liquidatorAccountId: 2n, liquidatorOrderId: 4n, instrumentId: 2n ** 16n - 1n, lots: 1n, priceTicks: 2n ** 40n - 1n, liquidatorFeePpm: 5n },
  { type: TxType.SETTLE, accountId: 7n, instrumentId: 1n },
  { type: TxType.TRANSFER, accountId: 1n, toCollateral: 1n, amount: 2n ** 96n - 1n },
  {
    type: TxType.REGISTER_INSTRUMENT, instrumentId: 2n, kind: 3n, underlying: 255n, lotSizeE6: 2n ** 40n - 1n, tickValue: 2n ** 48n - 1n,
    imPpm: 1_000_000n, mmPpm: 2n ** 24n - 1n, strike: 2n ** 56n - 1n, expiry: 2n ** 32n - 1n, fundingCapPpm: 2n ** 24n - 1n,
  },
];

const ORACLE: OracleSection = {
  used: true, key: (1n << 255n) | 987654321n, time: 1_700_000_000n, fundingEpoch: 2n ** 32n - 1n,
  prices: [3000n * 10n ** 8n, 2n ** 56n - 1n],
  volSlices: [
    { underlying: 0, expiry: 1_700_086_400, levelPpm: 600_000n, slopePpm: -750_000n },
    { underlying: 1, expiry: 2 ** 32 - 1, levelPpm: 2n ** 23n - 1n, slopePpm: 2n ** 23n - 1n },
    EMPTY_SLICE,
  ],
  rates: [-(2n ** 23n), 2n ** 23n - 1n, 0n, -1n, 1n],
  settleExpiry: 2n ** 32n - 1n, settlePrices: [2n ** 56n - 1n, 3100n * 10n ** 8n], marksKey: 2n ** 256n - 1n, freeInstruments: 0b10110n,
};
/** ORACLE's shape: 2 underlyings, 3 option ids, 5 instruments. */
const SHAPE = { underlyings: 2, optionInstruments: 3, instruments: 5 };
const hexAt = (b: Uint8Array, from: number, to: number): bigint => BigInt(`0x${Buffer.from(b.subarray(from, to)).toString("hex")}`);

describe("public data encoding", () => {
  it("round-trips every record type, spot and derivatives", () => {
    for (const r of [...SPOT_RECORDS, ...DERIV_RECORDS]) {
      const bytes = encodeRecord(r);
      assert.equal(bytes.length, RECORD_BYTES);
      assert.equal(bytes[0], r.type);
      assert.deepEqual(decodeRecord(bytes), r);
    }
  });

  it("round-trips the oracle section, signed rates included, at offsets 0 / 1 / 33 / 37 / 41, prices then vol slices then rates, then the named expiry and its prices, then marksKey, then the mask of free instrument ids", () => {
    const bytes = encodeOracleSection(ORACLE);
    assert.equal(bytes.length, oracleSectionBytes(SHAPE));
    assert.equal(bytes.length, 41 + 2 * 7 + 3 * 11 + 5 * 3 + 4 + 2 * 7 + 32 + 1);
    // the mask closes the section: one byte for 5 ids, bit i for id i (ids 1, 2 and 4 free)
    assert.equal(bytes[153], 0b10110);
    assert.equal(bytes[0], 1);
    assert.equal(BigInt(`0x${Buffer.from(bytes.subarray(1, 33)).toString("hex")}`), ORACLE.key);
    assert.equal(BigInt(`0x${Buffer.from(bytes.subarray(33, 37)).toString("hex")}`), ORACLE.time);
    assert.equal(BigInt(`0x${Buffer.from(bytes.subarray(37, 41)).toString("hex")}`), ORACLE.fundingEpoch);
    // The prices follow the fixed part, the vol slices (one per option id) the prices, the rates the slices; the
    // first rate (-2^23) is stored as 0. A slice's 11 bytes are the word the oracle signs for it (sliceWord).
    assert.equal(hexAt(bytes, 41, 48), ORACLE.prices[0]);
    assert.equal(hexAt(bytes, 48, 55), ORACLE.prices[1]);
    assert.deepEqual([55, 66, 77].map((at) => hexAt(bytes, at, at + 11)), ORACLE.volSlices.map(sliceWord));
    assert.deepEqual([...bytes.subarray(55, 66)], [0, 0x65, 0x55, 0x42, 0x80, 0x09, 0x27, 0xc0, 0x74, 0x8e, 0x50]);
    assert.deepEqual([...bytes.subarray(88, 91)], [0, 0, 0]);
    assert.equal(hexAt(bytes, 91, 94), ORACLE.rates[1] + 2n ** 23n);
    // the named expiry after the last rate (103), then one settlement price per underlying
    assert.equal(hexAt(bytes, 103, 107), ORACLE.settleExpiry);
    assert.deepEqual([107, 114].map((at) => hexAt(bytes, at, at + 7)), ORACLE.settlePrices);
    // marksKey: 32 bytes after the settlement prices, before the mask
    assert.equal(hexAt(bytes, 121, 153), ORACLE.marksKey);
    assert.deepEqual(decodeOracleSection(bytes, SHAPE), ORACLE);
    const unused = unusedOracleSection(TEST_PARAMS);
    const zeros = encodeOracleSection(unused);
    assert.deepEqual(decodeOracleSection(zeros, TEST_PARAMS), { ...unused, rates: [0n, 0n, 0n, 0n] });
    // Slope and rate 0 are stored as 2^23: an unused section is not all zero bytes (1 price, 2 empty slices at the test sizes).
    assert.deepEqual([...zeros.subarray(0, 56)], Array(56).fill(0));
    assert.deepEqual([...zeros.subarray(56, 59)], [0x80, 0, 0]);
    assert.deepEqual([...zeros.subarray(59, 67)], Array(8).fill(0));
    assert.deepEqual([...zeros.subarray(67, 73)], [0x80, 0, 0, 0x80, 0, 0]);
    // a fresh table: every id free (4 at the test sizes)
    assert.equal(zeros[zeros.length - 1], 0b1111);
  });

  it("refuses a mask of free instrument ids naming an id beyond the table, encoding and decoding", () => {
    assert.throws(() => encodeOracleSection({ ...ORACLE, freeInstruments: 1n << 5n }), /names an id beyond 5/);
    const bytes = encodeOracleSection(ORACLE);
    bytes[153] = 0b100000;
    assert.throws(() => decodeOracleSection(bytes, SHAPE), /names an id beyond 5/);
  });

  it("round-trips whole public data: header, oracle section, spot then derivatives records", () => {
    const header = { oldRoot: 1n, newRoot: 2n, batchNumber: 3n, timestamp: 4n };
    const sizes = SHAPE;
    const records = [...SPOT_RECORDS, ...DERIV_RECORDS];
    const pd = encodePublicData(header, ORACLE, records);
    assert.equal(pd.length, publicDataBytes({ ...TEST_PARAMS, ...sizes, slots: SPOT_RECORDS.length, derivSlots: DERIV_RECORDS.length }));
    assert.equal(pd[HEADER_BYTES], 1);
    assert.equal(pd[HEADER_BYTES + oracleSectionBytes(SHAPE)], TxType.NOOP);
    assert.equal(pd[HEADER_BYTES + oracleSectionBytes(SHAPE) + RECORD_BYTES], TxType.REGISTER_KEY);
    assert.deepEqual(decodePublicData(pd, sizes), { header, oracle: ORACLE, records });
    // A spot-only batch of the test parameters.
    const spotOnly = encodePublicData(header, unusedOracleSection(TEST_PARAMS), [{ type: TxType.NOOP }, { type: TxType.NOOP }, { type: TxType.NOOP }]);
    assert.equal(spotOnly.length, publicDataBytes(TEST_PARAMS));
  });

  it("refuses values that overflow their field, unknown types and dirty padding", () => {
    assert.throws(() => encodeRecord({ type: TxType.DEPOSIT, accountId: 1n, tokenId: 0n, amount: 1n << 96n }), /does not fit/);
    assert.throws(() => encodeRecord({ type: TxType.TRANSFER, accountId: 1n, toCollateral: 256n, amount: 1n }), /toCollateral=256 does not fit/);
    const big = DERIV_RECORDS[4] as Extract<SlotRecord, { type: typeof TxType.REGISTER_INSTRUMENT }>;
    for (const [field, over] of [["lotSizeE6", 2n ** 40n], ["tickValue", 2n ** 48n], ["strike", 2n ** 56n], ["expiry", 2n ** 32n], ["imPpm", 2n ** 24n], ["instrumentId", 2n ** 16n]] as const) {
      assert.throws(() => encodeRecord({ ...big, [field]: over }), new RegExp(`${field}=${over} does not fit`));
    }
    assert.throws(() => encodeRecord({ ...DERIV_RECORDS[1], lots: -1n } as SlotRecord), /does not fit/);
    const bad = new Uint8Array(RECORD_BYTES); bad[0] = 99;
    assert.throws(() => decodeRecord(bad), /unknown transaction type/);
    const dirty = encodeRecord({ type: TxType.CANCEL, accountId: 1n, orderId: 1n }); dirty[RECORD_BYTES - 1] = 1;
    assert.throws(() => decodeRecord(dirty), /padding/);
    const dirtySettle = encodeRecord(DERIV_RECORDS[2]); dirtySettle[7] = 1;
    assert.throws(() => decodeRecord(dirtySettle), /padding/);
  });

  it("refuses oracle values out of range, a bad oracleUsed byte and wrong lengths", () => {
    assert.throws(() => encodeOracleSection({ ...ORACLE, rates: [2n ** 23n] }), /rate\[0\]=8388608 does not fit 24 signed bits/);
    assert.throws(() => encodeOracleSection({ ...ORACLE, rates: [-(2n ** 23n) - 1n] }), /does not fit 24 signed bits/);
    assert.throws(() => encodeOracleSection({ ...ORACLE, prices: [2n ** 56n, 1n] }), /price\[0\]=.* does not fit in 7 bytes/);
    assert.throws(() => encodeOracleSection({ ...ORACLE, volSlices: [ORACLE.volSlices[0], { ...ORACLE.volSlices[1], levelPpm: 2n ** 24n }, EMPTY_SLICE] }), /volSlice\[1\]\.level=.* does not fit in 3 bytes/);
    assert.throws(() => encodeOracleSection({ ...ORACLE, volSlices: [{ ...ORACLE.volSlices[0], slopePpm: 2n ** 23n }, ORACLE.volSlices[1], EMPTY_SLICE] }), /volSlice\[0\]\.slope=.* does not fit in 3 bytes/);
    assert.throws(() => encodeOracleSection({ ...ORACLE, key: 2n ** 256n }), /oracleKey=.* does not fit/);
    assert.throws(() => encodeOracleSection({ ...ORACLE, time: 2n ** 32n }), /oracleTime=.* does not fit/);
    assert.throws(() => encodeOracleSection({ ...ORACLE, fundingEpoch: -1n }), /fundingEpoch=-1 does not fit/);
    assert.throws(() => encodeOracleSection({ ...ORACLE, settleExpiry: 2n ** 32n }), /settleExpiry=.* does not fit/);
    assert.throws(() => encodeOracleSection({ ...ORACLE, settlePrices: [1n, 2n ** 56n] }), /settlePrice\[1\]=.* does not fit in 7 bytes/);
    assert.throws(() => encodeOracleSection({ ...ORACLE, settlePrices: [1n] }), /a settlement price per underlying/);
    const bytes = encodeOracleSection(ORACLE);
    bytes[0] = 2;
    assert.throws(() => decodeOracleSection(bytes, SHAPE), /oracleUsed byte is 2/);
    assert.throws(() => decodeOracleSection(encodeOracleSection(ORACLE), { ...SHAPE, instruments: 4 }), /wrong length/);
    assert.throws(() => decodeOracleSection(encodeOracleSection(ORACLE), { ...SHAPE, optionInstruments: 2 }), /wrong length/);
    const pd = encodePublicData({ oldRoot: 1n, newRoot: 2n, batchNumber: 3n, timestamp: 4n }, ORACLE, [{ type: TxType.NOOP }]);
    assert.throws(() => decodePublicData(pd.subarray(0, pd.length - 1), SHAPE), /not a header, an oracle section and whole records/);
    assert.throws(() => decodePublicData(pd.subarray(0, HEADER_BYTES + 10), SHAPE), /not a header/);
  });
});

describe("requestsInQueueOrder (the custodian's BatchRecords._inQueueOrder)", () => {
  // queued: a forced collateral withdrawal (derivatives slot), a forced withdrawal and a deposit (spot slots)
  const fcw: SlotRecord = { type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId: 1n, tokenId: 0n, amount: 300n, honoured: 1n };
  const fw: SlotRecord = { type: TxType.FORCED_WITHDRAW, accountId: 2n, tokenId: 0n, amount: 5n, honoured: 0n };
  const deposit: SlotRecord = { type: TxType.DEPOSIT, accountId: 1n, tokenId: 0n, amount: 7n };
  const queue = [fcw, fw, deposit].map((r) => bytesToHex(queuedForm(encodeRecord(r))));
  const queued = (k: number) => queue[k];
  const noop: SlotRecord = { type: TxType.NOOP };

  it("merges the spot slots' requests and the derivatives slots' requests as the queue has them (outcome bytes as proven)", () => {
    assert.deepEqual(requestsInQueueOrder([fw, deposit, fcw], 2, queued), [fcw, fw, deposit]);
    assert.deepEqual(requestsInQueueOrder([fw, noop, deposit, noop, fcw], 4, queued), [fcw, fw, deposit], "NOOPs anywhere");
    assert.deepEqual(requestsInQueueOrder([noop, noop, fcw], 2, queued), [fcw], "a prefix of the queue");
  });

  it("refuses a class's requests out of their queue order, a request skipped, and requests past the queue's end", () => {
    assert.equal(requestsInQueueOrder([deposit, fw, fcw], 2, queued), null);
    assert.equal(requestsInQueueOrder([deposit, noop, fcw], 2, queued), null, "the forced withdrawal between them skipped");
    assert.equal(requestsInQueueOrder([fw, deposit, fcw, fcw], 2, queued), null, "one more than queued");
  });
});
