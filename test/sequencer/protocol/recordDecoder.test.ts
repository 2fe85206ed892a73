/**
 * sequencer/protocol/recordDecoder.ts against the encoder: every record type, each field at its widest,
 * goes through encodeRecord -> decodeRecord -> txFromRecord and comes back as the transaction with every
 * field intact (the parts public data leaves out filled as documented); the oracle section likewise.
 * The replay of whole batches back to the same public data is test/sequencer/verifier/publicDataReplay.test.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { compressPublicKey, publicKeyOf } from "../../../sequencer/crypto/babyjub.ts";
import { Bits, FORCED_REQUEST_TYPES, INSTRUMENT_MARKET_BASE, InstrumentKind, OrderType, REQUEST_TYPES, Side, TimeInForce, TxType } from "../../../sequencer/protocol/constants.ts";
import type { Order, Signed } from "../../../sequencer/protocol/messages.ts";
import {
  decodeOracleSection, decodeRecord, queuedForm, encodeOracleSection, encodeRecord, RECORD_LAYOUT, unusedOracleSection, type OracleSection, type SlotRecord,
} from "../../../sequencer/protocol/publicData.ts";
import { oracleFromSection, txFromRecord, type RecordState } from "../../../sequencer/protocol/recordDecoder.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import type { BatchTx } from "../../../sequencer/protocol/transactions.ts";
import { EMPTY_SLICE } from "../../../sequencer/protocol/volSlices.ts";

/** The largest value a field of `bytes` bytes holds. */
const w = (bytes: number) => (1n << BigInt(8 * bytes)) - 1n;
const MAX_U32 = 2 ** 32 - 1;
const NO_EXPIRY = 2 ** Bits.time - 1;
const MAX_LOTS = (1n << BigInt(Bits.lots)) - 1n;
const DUMMY = { r8x: 0n, r8y: 1n, s: 0n };

const key = publicKeyOf(randomBytes(32));

/** A state in which every account has nonce 41 and account 9 is long (size 3) in instrument 2, short elsewhere. */
const STATE: RecordState = {
  account: (id) => ({ nonce: 41, deriv: { positions: [0, 1, 2, 3].map((i) => ({ size: id === 9 && i === 2 ? 3n : -3n })) } }),
  instruments: [0, 1, 2, 3].map(() => ({ generation: 0 })),
};

/** The order a trade record implies: limit at the trade price, the widest size, the fee charged, no expiry, a dummy signature. */
const implied = (accountId: number, orderId: bigint, marketId: number, side: Side, priceTicks: bigint, maxFeePpm: number): Signed<Order> => ({
  accountId, orderId, marketId, side, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, priceTicks, sizeLots: MAX_LOTS,
  maxFeePpm, expiry: NO_EXPIRY, signature: DUMMY,
});

/** Per record type: a record with each field at its widest (a real key, a 0/1 flag, a valid kind), and the transaction it decodes to. */
const CASES: Record<TxType, [SlotRecord, BatchTx]> = {
  [TxType.NOOP]: [{ type: TxType.NOOP }, { type: TxType.NOOP }],
  [TxType.REGISTER_KEY]: [
    { type: TxType.REGISTER_KEY, accountId: w(3), pubKey: compressPublicKey(key) },
    { type: TxType.REGISTER_KEY, accountId: 2 ** 24 - 1, pubKey: key },
  ],
  [TxType.DEPOSIT]: [
    { type: TxType.DEPOSIT, accountId: w(4), tokenId: w(2), amount: w(12) },
    { type: TxType.DEPOSIT, accountId: MAX_U32, tokenId: 2 ** 16 - 1, amount: w(12) },
  ],
  [TxType.REGISTER_MARKET]: [
    { type: TxType.REGISTER_MARKET, marketId: w(2), baseTokenId: w(2) - 1n, sizeUnit: w(8), priceUnit: w(8) - 1n },
    { type: TxType.REGISTER_MARKET, marketId: 2 ** 16 - 1, baseTokenId: 2 ** 16 - 2, sizeUnit: w(8), priceUnit: w(8) - 1n },
  ],
  [TxType.TRADE]: [
    {
      type: TxType.TRADE, buyAccountId: w(4), buyOrderId: w(5), sellAccountId: w(4) - 1n, sellOrderId: w(5) - 1n, marketId: w(2),
      lots: w(5), priceTicks: w(5) - 2n, buyFeePpm: w(2), sellFeePpm: w(2) - 1n,
    },
    {
      type: TxType.TRADE, lots: w(5), priceTicks: w(5) - 2n, buyFeePpm: 2 ** 16 - 1, sellFeePpm: 2 ** 16 - 2,
      buy: implied(MAX_U32, w(5), 2 ** 16 - 1, Side.BUY, w(5) - 2n, 2 ** 16 - 1),
      sell: implied(MAX_U32 - 1, w(5) - 1n, 2 ** 16 - 1, Side.SELL, w(5) - 2n, 2 ** 16 - 2),
    },
  ],
  [TxType.WITHDRAW]: [
    { type: TxType.WITHDRAW, accountId: w(4), tokenId: w(2), amount: w(12) },
    { type: TxType.WITHDRAW, request: { accountId: MAX_U32, tokenId: 2 ** 16 - 1, amount: w(12), nonce: 41, signature: DUMMY } },
  ],
  [TxType.CANCEL]: [
    { type: TxType.CANCEL, accountId: w(4), orderId: w(5) },
    { type: TxType.CANCEL, request: { accountId: MAX_U32, orderId: w(5), signature: DUMMY } },
  ],
  [TxType.OPERATOR_CANCEL]: [
    { type: TxType.OPERATOR_CANCEL, accountId: w(4), orderId: w(5) },
    { type: TxType.OPERATOR_CANCEL, accountId: MAX_U32, orderId: w(5) },
  ],
  [TxType.DERIV_TRADE]: [
    {
      type: TxType.DERIV_TRADE, buyAccountId: 1n, buyOrderId: w(5), sellAccountId: w(4), sellOrderId: 7n, instrumentId: 3n,
      lots: w(5), priceTicks: w(5), buyFeePpm: 0n, sellFeePpm: w(2),
    },
    {
      type: TxType.DERIV_TRADE, lots: w(5), priceTicks: w(5), buyFeePpm: 0, sellFeePpm: 2 ** 16 - 1,
      buy: implied(1, w(5), INSTRUMENT_MARKET_BASE + 3, Side.BUY, w(5), 0),
      sell: implied(MAX_U32, 7n, INSTRUMENT_MARKET_BASE + 3, Side.SELL, w(5), 2 ** 16 - 1),
    },
  ],
  [TxType.LIQUIDATE]: [
    // Account 9 is long in instrument 2: the liquidator buys.
    { type: TxType.LIQUIDATE, liquidatedAccountId: 9n, liquidatorAccountId: w(4), liquidatorOrderId: w(5), instrumentId: 2n, lots: w(5), priceTicks: w(5) - 1n, liquidatorFeePpm: w(2) },
    {
      type: TxType.LIQUIDATE, liquidatedAccountId: 9, lots: w(5), priceTicks: w(5) - 1n, liquidatorFeePpm: 2 ** 16 - 1,
      liquidator: implied(MAX_U32, w(5), INSTRUMENT_MARKET_BASE + 2, Side.BUY, w(5) - 1n, 2 ** 16 - 1),
    },
  ],
  [TxType.DELEVERAGE]: [
    { type: TxType.DELEVERAGE, deleveragedAccountId: w(4), counterpartyAccountId: w(4), instrumentId: w(2), lots: w(5), amount: w(12) },
    { type: TxType.DELEVERAGE, deleveragedAccountId: MAX_U32, counterpartyAccountId: MAX_U32, instrumentId: 2 ** 16 - 1, lots: w(5), amount: w(12) },
  ],
  [TxType.FORCED_CLOSE]: [
    { type: TxType.FORCED_CLOSE, accountId: w(4), instrumentId: w(2), counterpartyId: w(4) - 1n, lots: w(8), honoured: 1n },
    { type: TxType.FORCED_CLOSE, accountId: MAX_U32, instrumentId: 2 ** 16 - 1, counterpartyId: MAX_U32 - 1, lots: w(8) },
  ],
  [TxType.SETTLE]: [
    { type: TxType.SETTLE, accountId: w(4), instrumentId: w(2) },
    { type: TxType.SETTLE, accountId: MAX_U32, instrumentId: 2 ** 16 - 1 },
  ],
  [TxType.TRANSFER]: [
    { type: TxType.TRANSFER, accountId: w(4), toCollateral: 1n, amount: w(12) },
    { type: TxType.TRANSFER, request: { accountId: MAX_U32, toCollateral: true, amount: w(12), nonce: 41, signature: DUMMY } },
  ],
  [TxType.REGISTER_INSTRUMENT]: [
    {
      type: TxType.REGISTER_INSTRUMENT, instrumentId: w(2), kind: BigInt(InstrumentKind.CALL), underlying: w(1), lotSizeE6: w(5), tickValue: w(6) - 1n,
      imPpm: w(3), mmPpm: w(3) - 1n, strike: w(7), expiry: w(4), fundingCapPpm: w(3) - 2n,
    },
    {
      type: TxType.REGISTER_INSTRUMENT, instrumentId: 2 ** 16 - 1, kind: InstrumentKind.CALL, underlying: 255, lotSizeE6: w(5), tickValue: w(6) - 1n,
      imPpm: w(3), mmPpm: w(3) - 1n, strike: w(7), expiry: MAX_U32, fundingCapPpm: w(3) - 2n,
    },
  ],
  // The batch's record carries the proven outcome (honoured = 1 here); the request it decodes to has none.
  [TxType.FORCED_WITHDRAW]: [
    { type: TxType.FORCED_WITHDRAW, accountId: w(4), tokenId: w(2), amount: w(12), honoured: 1n },
    { type: TxType.FORCED_WITHDRAW, accountId: MAX_U32, tokenId: 2 ** 16 - 1, amount: w(12) },
  ],
  [TxType.FORCED_COLLATERAL_WITHDRAW]: [
    { type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId: w(4), tokenId: 0n, amount: w(12), honoured: 1n },
    { type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId: MAX_U32, tokenId: 0, amount: w(12) },
  ],
  // The treasury's withdrawals name no account or token (the custodian queues 0, the circuit pins 0).
  [TxType.FEE_WITHDRAW]: [
    { type: TxType.FEE_WITHDRAW, accountId: 0n, tokenId: 0n, amount: w(12), honoured: 1n },
    { type: TxType.FEE_WITHDRAW, amount: w(12) },
  ],
  [TxType.INSURANCE_WITHDRAW]: [
    { type: TxType.INSURANCE_WITHDRAW, accountId: 0n, tokenId: 0n, amount: w(12), honoured: 1n },
    { type: TxType.INSURANCE_WITHDRAW, amount: w(12) },
  ],
};

describe("txFromRecord: the one record decoder", () => {
  it("covers every record type of the public-data layout", () => {
    assert.deepEqual(Object.keys(CASES).sort(), Object.keys(RECORD_LAYOUT).sort());
  });

  for (const [type, [record, tx]] of Object.entries(CASES)) {
    it(`round-trips a type ${type} record through the encoder, every field at its widest`, () => {
      const decoded = decodeRecord(encodeRecord(record));
      assert.deepEqual(decoded, record, "the encoder round-trips");
      assert.deepEqual(txFromRecord(decoded, STATE), tx);
    });
  }

  it("decodes a forced request to the same transaction whatever its outcome byte (the queued form has 0, the batch's the proven one)", () => {
    for (const type of FORCED_REQUEST_TYPES) {
      const [record, tx] = CASES[type];
      const refused = encodeRecord({ ...record, honoured: 0n } as SlotRecord);
      assert.deepEqual(txFromRecord(decodeRecord(refused)), tx);
      assert.deepEqual(queuedForm(encodeRecord(record)), refused, "the queued form clears the outcome byte");
    }
  });

  it("a liquidator of a short position sells", () => {
    const [record] = CASES[TxType.LIQUIDATE];
    const tx = txFromRecord(decodeRecord(encodeRecord({ ...record, liquidatedAccountId: 8n } as SlotRecord)), STATE);
    assert.ok(tx.type === TxType.LIQUIDATE);
    assert.equal(tx.liquidator.side, Side.SELL);
  });

  it("rebuilds a derivatives trade's and a liquidation's orders with the market id of the instrument's generation (a reused id)", () => {
    const relisted: RecordState = { ...STATE, instruments: [0, 1, 2, 3].map((i) => ({ generation: i === 2 ? 3 : 0 })) };
    const market = INSTRUMENT_MARKET_BASE + 2 + 4 * 3;
    for (const type of [TxType.DERIV_TRADE, TxType.LIQUIDATE] as const) {
      const [record] = CASES[type];
      const tx = txFromRecord(decodeRecord(encodeRecord({ ...record, instrumentId: 2n } as SlotRecord)), relisted);
      if (tx.type === TxType.DERIV_TRADE) assert.deepEqual([tx.buy.marketId, tx.sell.marketId], [market, market]);
      else if (tx.type === TxType.LIQUIDATE) assert.equal(tx.liquidator.marketId, market);
      else assert.fail(`decoded ${tx.type}`);
    }
  });

  it("decodes request records without a state, and refuses, with a clear error, records that need one", () => {
    for (const type of REQUEST_TYPES) {
      assert.deepEqual(txFromRecord(CASES[type][0]), CASES[type][1]);
    }
    for (const type of [TxType.WITHDRAW, TxType.TRANSFER, TxType.LIQUIDATE]) {
      assert.throws(() => txFromRecord(CASES[type][0]), new RegExp(`a record of type ${type} needs the state it applies to`));
    }
  });

  it("refuses a key that is not on the curve", () => {
    // No Baby Jubjub point has y = 2.
    assert.throws(() => txFromRecord({ type: TxType.REGISTER_KEY, accountId: 1n, pubKey: 2n }), /not a Baby Jubjub point/);
  });
});

describe("oracleFromSection", () => {
  it("round-trips a used section through the encoder into the update it carries (dummy signature); an unused one is null", () => {
    const section: OracleSection = {
      used: true, key: compressPublicKey(key), time: w(4), fundingEpoch: w(4) - 1n,
      prices: [w(7), 1n << 16n], volSlices: [{ underlying: 1, expiry: MAX_U32, levelPpm: (1n << 23n) - 1n, slopePpm: -(1n << 23n) }, EMPTY_SLICE], rates: [-(1n << 23n), (1n << 23n) - 1n, 0n, -1n],
      settleExpiry: w(4), settlePrices: [w(7), 1n << 16n], marksKey: 0n, freeInstruments: 0b1010n,
    };
    const decoded = decodeOracleSection(encodeOracleSection(section), { underlyings: 2, optionInstruments: 2, instruments: 4 });
    assert.deepEqual(decoded, section, "the encoder round-trips");
    assert.deepEqual(oracleFromSection(decoded), {
      time: MAX_U32, fundingEpoch: MAX_U32 - 1, prices: section.prices, volSlices: section.volSlices, rates: section.rates, key, signature: DUMMY,
      settlement: { expiry: MAX_U32, prices: section.settlePrices },
    });
    assert.equal(oracleFromSection({ ...decoded, settleExpiry: 0n, settlePrices: [0n, 0n] })!.settlement, null, "expiry 0 names none");
    assert.equal(oracleFromSection(decodeOracleSection(encodeOracleSection(unusedOracleSection(TEST_PARAMS)), TEST_PARAMS)), null);
  });
});
