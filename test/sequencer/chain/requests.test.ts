/** sequencer/chain/requests.ts: queued request records back to batch transactions. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { requestToTx } from "../../../sequencer/chain/requests.ts";
import { compressPublicKey, decompressPublicKey, publicKeyOf } from "../../../sequencer/crypto/babyjub.ts";
import { InstrumentKind, TxType } from "../../../sequencer/protocol/constants.ts";
import { encodeRecord, type SlotRecord } from "../../../sequencer/protocol/publicData.ts";

describe("requestToTx", () => {
  it("decodes REGISTER_KEY (decompressing the key), DEPOSIT and REGISTER_MARKET records", () => {
    const key = publicKeyOf(randomBytes(32));
    assert.deepEqual(decompressPublicKey(compressPublicKey(key)), key);
    assert.deepEqual(requestToTx(encodeRecord({ type: TxType.REGISTER_KEY, accountId: 5n, pubKey: compressPublicKey(key) })), {
      type: TxType.REGISTER_KEY, accountId: 5, pubKey: key,
    });
    assert.deepEqual(requestToTx(encodeRecord({ type: TxType.DEPOSIT, accountId: 2n, tokenId: 1n, amount: 2n ** 96n - 1n })), {
      type: TxType.DEPOSIT, accountId: 2, tokenId: 1, amount: 2n ** 96n - 1n,
    });
    assert.deepEqual(requestToTx(encodeRecord({ type: TxType.REGISTER_MARKET, marketId: 3n, baseTokenId: 1n, sizeUnit: 10n ** 15n, priceUnit: 10n })), {
      type: TxType.REGISTER_MARKET, marketId: 3, baseTokenId: 1, sizeUnit: 10n ** 15n, priceUnit: 10n,
    });
  });

  it("decodes REGISTER_INSTRUMENT records into RegisterInstrumentTx, every field at its widest", () => {
    const record: SlotRecord = {
      type: TxType.REGISTER_INSTRUMENT, instrumentId: 6n, kind: BigInt(InstrumentKind.PUT), underlying: 1n, lotSizeE6: 2n ** 48n - 1n,
      tickValue: 2n ** 48n - 2n, imPpm: 1_000_000n, mmPpm: 999_999n, strike: 2n ** 50n - 1n, expiry: 2n ** 32n - 1n, fundingCapPpm: 0n,
    };
    assert.deepEqual(requestToTx(encodeRecord(record)), {
      type: TxType.REGISTER_INSTRUMENT, instrumentId: 6, kind: InstrumentKind.PUT, underlying: 1, lotSizeE6: 2n ** 48n - 1n,
      tickValue: 2n ** 48n - 2n, imPpm: 1_000_000n, mmPpm: 999_999n, strike: 2n ** 50n - 1n, expiry: 2 ** 32 - 1, fundingCapPpm: 0n,
    });
    const perp: SlotRecord = { ...record, instrumentId: 0n, kind: BigInt(InstrumentKind.PERPETUAL), strike: 0n, expiry: 0n, fundingCapPpm: 1_000n };
    assert.deepEqual(requestToTx(encodeRecord(perp)), {
      type: TxType.REGISTER_INSTRUMENT, instrumentId: 0, kind: InstrumentKind.PERPETUAL, underlying: 1, lotSizeE6: 2n ** 48n - 1n,
      tickValue: 2n ** 48n - 2n, imPpm: 1_000_000n, mmPpm: 999_999n, strike: 0n, expiry: 0, fundingCapPpm: 1_000n,
    });
  });

  it("refuses records that are not requests, and a key that is not on the curve", () => {
    const notRequests: SlotRecord[] = [
      { type: TxType.NOOP },
      { type: TxType.WITHDRAW, accountId: 1n, tokenId: 0n, amount: 1n },
      { type: TxType.TRANSFER, accountId: 1n, toCollateral: 1n, amount: 1n },
      { type: TxType.SETTLE, accountId: 1n, instrumentId: 0n },
    ];
    for (const r of notRequests) assert.throws(() => requestToTx(encodeRecord(r)), new RegExp(`record of type ${r.type} is not a request`));
    // No Baby Jubjub point has y = 2.
    assert.throws(() => requestToTx(encodeRecord({ type: TxType.REGISTER_KEY, accountId: 1n, pubKey: 2n })), /not a Baby Jubjub point/);
  });
});
