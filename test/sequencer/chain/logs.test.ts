/** sequencer/chain/logs.ts: logs read in consecutive block ranges no wider than asked. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { logRanges, logsInRanges, newestLogs } from "../../../sequencer/chain/logs.ts";

describe("log ranges", () => {
  /** A node with one log per block number in `blocks`, recording the ranges asked for. */
  const node = (blocks: number[]) => {
    const asked: [bigint, bigint][] = [];
    const read = async (from: bigint, to: bigint) => {
      asked.push([from, to]);
      return blocks.filter((b) => BigInt(b) >= from && BigInt(b) <= to);
    };
    return { asked, read };
  };

  it("covers [from, to] with ranges of at most `range` blocks, each block once, logs in block order", async () => {
    const n = node([0, 5, 9, 10, 11, 23]);
    assert.deepEqual(await logsInRanges(0n, 23n, 10n, n.read), [0, 5, 9, 10, 11, 23]);
    assert.deepEqual(n.asked, [[0n, 9n], [10n, 19n], [20n, 23n]]);
    const one = node([4, 5]);
    assert.deepEqual(await logsInRanges(4n, 5n, 1n, one.read), [4, 5]);
    assert.deepEqual(one.asked, [[4n, 4n], [5n, 5n]]);
  });

  it("yields each range's last block, so a reader that fails midway knows how far it got", async () => {
    const n = node([1, 12]);
    const seen: [bigint, number[]][] = [];
    for await (const r of logRanges(1n, 12n, 5n, n.read)) seen.push([r.to, r.logs]);
    assert.deepEqual(seen, [[5n, [1]], [10n, []], [12n, [12]]]);
  });

  it("newestLogs: reads from the head backwards and stops at the first range with logs (one call for a recent event)", async () => {
    const recent = node([3, 95]);
    assert.deepEqual(await newestLogs(0n, 100n, 10n, recent.read), [95]);
    assert.deepEqual(recent.asked, [[91n, 100n]]);
    const old = node([3]);
    assert.deepEqual(await newestLogs(2n, 25n, 10n, old.read), [3]);
    assert.deepEqual(old.asked, [[16n, 25n], [6n, 15n], [2n, 5n]], "down to the floor, each block once");
    const none = node([1]);
    assert.deepEqual(await newestLogs(2n, 25n, 10n, none.read), []);
    await assert.rejects(newestLogs(0n, 4n, 0n, none.read), /log range 0: at least one block/);
  });

  it("reads nothing for an empty interval and refuses a range of no blocks", async () => {
    const n = node([1]);
    assert.deepEqual(await logsInRanges(5n, 4n, 10n, n.read), []);
    assert.deepEqual(n.asked, []);
    await assert.rejects(logsInRanges(0n, 4n, 0n, n.read), /log range 0: at least one block/);
  });
});
