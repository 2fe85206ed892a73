/** Batch selection: slots per section, spot never after derivatives, one oracle update per batch, markers take no slot. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { BatchTx } from "../../../sequencer/batch/transactions.ts";
import { TxType } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { selectBatch, type PendingEntry } from "../../../sequencer/service/batchSelection.ts";
import { oracleUpdate, INSTRUMENTS, NOW } from "../../helpers/derivatives.ts";

const deposit = (accountId: number): BatchTx => ({ type: TxType.DEPOSIT, accountId, tokenId: 0, amount: 1n });
const register: BatchTx = { type: TxType.REGISTER_INSTRUMENT, instrumentId: 0, ...INSTRUMENTS[0] };
const settle = (accountId: number): BatchTx => ({ type: TxType.SETTLE, accountId, instrumentId: 1 });
const e = (tx: BatchTx, oracle?: ReturnType<typeof oracleUpdate>): PendingEntry => ({ tx, time: NOW, oracle });

describe("batch selection", () => {
  it("fills the spot slots and the derivatives slots from the head of the queue", () => {
    const s = selectBatch([e(deposit(1)), e(deposit(2)), e(register), e(deposit(3))], TEST_PARAMS);
    assert.equal(s.count, 3);
    assert.equal(s.oracle, null);
  });

  it("never takes a spot transaction queued after a derivatives one (REGISTER_INSTRUMENT before a deposit)", () => {
    const s = selectBatch([e(register), e(deposit(1))], TEST_PARAMS);
    assert.deepEqual(s.txs, [register]);
  });

  it("keeps one oracle update per batch; a marker takes no slot but sets the update", () => {
    const u1 = oracleUpdate({ time: NOW });
    const u2 = oracleUpdate({ time: NOW + 1 });
    const s = selectBatch([e({ type: TxType.NOOP }, u1), e(settle(1), u1), e(settle(2), u2)], TEST_PARAMS);
    assert.equal(s.count, 2);
    assert.deepEqual(s.txs, [settle(1)]);
    assert.equal(s.oracle, u1);
    const onlyMarker = selectBatch([e({ type: TxType.NOOP }, u2), e(settle(2), u1)], TEST_PARAMS);
    assert.deepEqual([onlyMarker.count, onlyMarker.txs.length, onlyMarker.oracle], [1, 0, u2]);
  });

  it("selects nothing from an empty queue", () => {
    assert.deepEqual(selectBatch([], TEST_PARAMS), { count: 0, txs: [], oracle: null, timestamp: 0 });
  });
});
