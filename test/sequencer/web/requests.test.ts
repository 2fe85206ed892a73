/**
 * The trading page's state of a queued request (sequencer/web/browser/requests.ts): pending, processed, expired,
 * refundable, refunded; and a processed forced withdrawal's batch and outcome.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TxType } from "../../../sequencer/protocol/constants.ts";
import { forcedOutcome, requestState } from "../../../sequencer/web/browser/requests.ts";

const chain = { processed: 5, now: 1_000, exodus: false, refunded: new Set<number>() };

describe("web page: state of a queued request", () => {
  it("is processed below the custodian's processedRequests, whatever else holds", () => {
    for (const type of [TxType.DEPOSIT, TxType.FORCED_WITHDRAW]) {
      assert.equal(requestState({ index: 4, type, deadline: 0 }, chain), "processed");
      assert.equal(requestState({ index: 4, type, deadline: 0 }, { ...chain, exodus: true }), "processed");
    }
  });

  it("is pending before its deadline and expired from it on", () => {
    assert.equal(requestState({ index: 5, type: TxType.FORCED_WITHDRAW, deadline: 1_001 }, chain), "pending");
    assert.equal(requestState({ index: 5, type: TxType.FORCED_WITHDRAW, deadline: 1_000 }, chain), "expired");
    assert.equal(requestState({ index: 6, type: TxType.DEPOSIT, deadline: 999 }, chain), "expired");
  });

  it("in exodus an unprocessed deposit is refundable until refunded; a forced withdrawal stays expired", () => {
    const exodus = { ...chain, exodus: true, refunded: new Set([7]) };
    assert.equal(requestState({ index: 6, type: TxType.DEPOSIT, deadline: 900 }, exodus), "refundable");
    assert.equal(requestState({ index: 7, type: TxType.DEPOSIT, deadline: 900 }, exodus), "refunded");
    assert.equal(requestState({ index: 8, type: TxType.FORCED_COLLATERAL_WITHDRAW, deadline: 900 }, exodus), "expired");
  });
});

describe("web page: outcome of a processed forced withdrawal", () => {
  // batches 0..3 consume requests [0, 2), none, [2, 5), [5, 6)
  const batches = [{ batchNumber: 0, consumed: 2 }, { batchNumber: 1, consumed: 0 }, { batchNumber: 2, consumed: 3 }, { batchNumber: 3, consumed: 1 }];

  it("names the batch that consumed the request: honoured unless that batch refused the account's forced request", () => {
    const refusedIn = new Set([2]);
    assert.deepEqual(forcedOutcome(1, batches, refusedIn), { batchNumber: 0, honoured: true });
    assert.deepEqual(forcedOutcome(2, batches, refusedIn), { batchNumber: 2, honoured: false });
    assert.deepEqual(forcedOutcome(4, batches, refusedIn), { batchNumber: 2, honoured: false });
    assert.deepEqual(forcedOutcome(5, batches, refusedIn), { batchNumber: 3, honoured: true });
  });

  it("is null for a request no batch has consumed yet", () => {
    assert.equal(forcedOutcome(6, batches, new Set()), null);
    assert.equal(forcedOutcome(0, [], new Set()), null);
  });
});
