/** BatchLog: posted batches newest first, by number, bounded. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BatchLog } from "../../../sequencer/api/batchLog.ts";

const batch = (batchNumber: number) => ({
  batchNumber, txHash: `0x${batchNumber}`, transactions: 1, proof: [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n] as const,
  timings: { buildMs: 0, witnessMs: 0, proveMs: 0, verifyMs: 0, postMs: 0 },
});

describe("BatchLog", () => {
  it("lists newest first, finds by number, and forgets the oldest beyond its bound", () => {
    const log = new BatchLog({ maxBatches: 2 });
    for (const n of [0, 1, 2]) assert.equal(log.record(batch(n)).status, "posted");
    assert.deepEqual(log.list().map((b) => b.batchNumber), [2, 1]);
    assert.deepEqual(log.list(1).map((b) => b.txHash), ["0x2"]);
    assert.equal(log.get(0), undefined);
    assert.equal(log.get(1)?.txHash, "0x1");
  });
});
