import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TxType, RECORD_BYTES } from "../../../sequencer/protocol/constants.ts";
import { decodeRecord, encodeRecord, encodePublicData, decodePublicData, type SlotRecord } from "../../../sequencer/protocol/publicData.ts";

describe("public data encoding", () => {
  it("round-trips every record type", () => {
    const records: SlotRecord[] = [
      { type: TxType.NOOP },
      { type: TxType.REGISTER_KEY, accountId: 3n, pubKey: (1n << 255n) | 12345n },
      { type: TxType.DEPOSIT, accountId: 1n, tokenId: 2n, amount: (1n << 96n) - 1n },
      { type: TxType.REGISTER_MARKET, marketId: 1n, baseTokenId: 1n, sizeUnit: 10n ** 15n, priceUnit: 10n },
      { type: TxType.TRADE, buyAccountId: 1n, buyOrderId: 7n, sellAccountId: 2n, sellOrderId: 9n, marketId: 1n, lots: 5n, priceTicks: 300000n, buyFeePpm: 100n, sellFeePpm: 0n },
      { type: TxType.WITHDRAW, accountId: 1n, tokenId: 0n, amount: 42n },
      { type: TxType.CANCEL, accountId: 2n, orderId: 9n },
    ];
    for (const r of records) {
      const bytes = encodeRecord(r);
      assert.equal(bytes.length, RECORD_BYTES);
      assert.deepEqual(decodeRecord(bytes), r);
    }
    const header = { oldRoot: 1n, newRoot: 2n, batchNumber: 3n, timestamp: 4n };
    assert.deepEqual(decodePublicData(encodePublicData(header, records)), { header, records });
  });

  it("refuses values that overflow their field, unknown types and dirty padding", () => {
    assert.throws(() => encodeRecord({ type: TxType.DEPOSIT, accountId: 1n, tokenId: 0n, amount: 1n << 96n }), /does not fit/);
    const bad = new Uint8Array(RECORD_BYTES); bad[0] = 99;
    assert.throws(() => decodeRecord(bad), /unknown transaction type/);
    const dirty = encodeRecord({ type: TxType.CANCEL, accountId: 1n, orderId: 1n }); dirty[36] = 1;
    assert.throws(() => decodeRecord(dirty), /padding/);
  });
});
