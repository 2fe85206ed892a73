/**
 * The trading page's state of a queued request (sequencer/web/browser/requests.ts): pending, processed, expired,
 * refundable, refunded; a processed forced withdrawal's batch and outcome; and the event cache that reads each
 * block of the chain once however often the page refreshes.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TxType } from "../../../sequencer/protocol/constants.ts";
import { waitingRequestTx as waitingTx } from "../../../sequencer/chain/requests.ts";
import { EventCache, forcedKind, forcedOutcome, refusalKey, requestState } from "../../../sequencer/web/browser/requests.ts";

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

describe("web page: a forced request waiting in line", () => {
  it("is read from its ForcedWithdrawalWaiting event as the custodian will queue it: a withdrawal as is, a close's counterparty and lots from the amount's halves", () => {
    assert.deepEqual(waitingTx({ accountId: 7, txType: TxType.FORCED_WITHDRAW, tokenId: 1, amount: 5n }), { type: TxType.FORCED_WITHDRAW, accountId: 7, tokenId: 1, amount: 5n });
    assert.deepEqual(waitingTx({ accountId: 7, txType: TxType.FORCED_COLLATERAL_WITHDRAW, tokenId: 0, amount: 9n }), { type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId: 7, tokenId: 0, amount: 9n });
    assert.deepEqual(waitingTx({ accountId: 7, txType: TxType.FORCED_CLOSE, tokenId: 2, amount: (3n << 64n) | 40n }), { type: TxType.FORCED_CLOSE, accountId: 7, instrumentId: 2, counterpartyId: 3, lots: 40n });
  });
});

describe("web page: outcome of a processed forced withdrawal", () => {
  // batches 0..3 consume requests [0, 2), none, [2, 5), [5, 6)
  const batches = [{ batchNumber: 0, consumed: 2 }, { batchNumber: 1, consumed: 0 }, { batchNumber: 2, consumed: 3 }, { batchNumber: 3, consumed: 1 }];

  const W = forcedKind({ type: TxType.FORCED_WITHDRAW });

  it("names the batch that consumed the request: honoured unless that batch refused the account's forced request", () => {
    const refused = new Set([refusalKey(2, W)]);
    assert.deepEqual(forcedOutcome(1, W, batches, refused), { batchNumber: 0, honoured: true });
    assert.deepEqual(forcedOutcome(2, W, batches, refused), { batchNumber: 2, honoured: false });
    assert.deepEqual(forcedOutcome(4, W, batches, refused), { batchNumber: 2, honoured: false });
    assert.deepEqual(forcedOutcome(5, W, batches, refused), { batchNumber: 3, honoured: true });
  });

  it("tells apart the account's requests of different kinds one batch consumed: its forced withdrawal and its forced closes of two instruments, one of them refused", () => {
    const close = (instrumentId: number) => forcedKind({ type: TxType.FORCED_CLOSE, instrumentId });
    assert.equal(forcedKind({ type: TxType.FORCED_COLLATERAL_WITHDRAW }), W, "spot and collateral withdrawals share one kind");
    assert.notEqual(close(0), close(1));
    const refused = new Set([refusalKey(2, close(1))]);
    assert.deepEqual(forcedOutcome(2, W, batches, refused), { batchNumber: 2, honoured: true });
    assert.deepEqual(forcedOutcome(3, close(0), batches, refused), { batchNumber: 2, honoured: true });
    assert.deepEqual(forcedOutcome(4, close(1), batches, refused), { batchNumber: 2, honoured: false });
  });

  it("is null for a request no batch has consumed yet", () => {
    assert.equal(forcedOutcome(6, W, batches, new Set()), null);
    assert.equal(forcedOutcome(0, W, [], new Set()), null);
  });
});

describe("web page: event cache", () => {
  /** One log per block number in `blocks`; records the ranges read (a read waits a turn, as a node's answer does). */
  const node = (blocks: number[]) => {
    const asked: [bigint, bigint][] = [];
    const read = async (from: bigint, to: bigint) => {
      asked.push([from, to]);
      await new Promise((r) => setImmediate(r));
      return blocks.filter((b) => BigInt(b) >= from && BigInt(b) <= to);
    };
    return { asked, read, blocks };
  };

  it("reads only the blocks after its last read, and returns every log read so far", async () => {
    const n = node([2, 7]);
    const cache = new EventCache(n.read, 5n);
    assert.deepEqual(await cache.upTo(8n), [2, 7]);
    assert.deepEqual(n.asked, [[0n, 4n], [5n, 8n]]);
    n.blocks.push(9, 12);
    assert.deepEqual(await cache.upTo(12n), [2, 7, 9, 12]);
    assert.deepEqual(n.asked.slice(2), [[9n, 12n]], "blocks 9..12 only");
    assert.deepEqual(await cache.upTo(12n), [2, 7, 9, 12]);
    assert.equal(n.asked.length, 3, "nothing new: nothing read");
  });

  it("two refreshes at once read each range once, not twice", async () => {
    const n = node([1, 3]);
    const cache = new EventCache(n.read);
    const [a, b] = await Promise.all([cache.upTo(3n), cache.upTo(3n)]);
    assert.deepEqual([a, b], [[1, 3], [1, 3]]);
    assert.deepEqual(n.asked, [[0n, 3n]]);
  });

  it("a failed read is not recorded as read: the next call reads the range again", async () => {
    let fail = true;
    const cache = new EventCache(async (from: bigint, to: bigint) => {
      if (fail) throw new Error("node down");
      return [from, to];
    });
    await assert.rejects(cache.upTo(4n), /node down/);
    fail = false;
    assert.deepEqual(await cache.upTo(4n), [0n, 4n]);
  });
});
