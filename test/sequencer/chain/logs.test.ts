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

describe("log ranges on a node that refuses some reads", () => {
  /** A node with one log per block number in `blocks` that refuses any read answering more than `cap` logs. */
  const cappedNode = (blocks: number[], cap: number) => {
    const asked: [bigint, bigint][] = [];
    const read = async (from: bigint, to: bigint) => {
      asked.push([from, to]);
      const logs = blocks.filter((b) => BigInt(b) >= from && BigInt(b) <= to);
      if (logs.length > cap) throw new Error(`query returned more than ${cap} results`);
      return logs;
    };
    return { asked, read };
  };

  it("reads a range refused for too many results again in halves, down to what the node serves, logs in block order", async () => {
    const n = cappedNode([0, 1, 2, 3, 5, 8, 9, 12], 2);
    assert.deepEqual(await logsInRanges(0n, 13n, 10n, n.read), [0, 1, 2, 3, 5, 8, 9, 12]);
    assert.deepEqual(n.asked, [
      [0n, 9n], // 7 logs: refused
      [0n, 4n], [0n, 2n], [0n, 1n], [2n, 2n], [3n, 4n], // 0..4 has 4, 0..2 has 3: refused, halved again
      [5n, 9n], // 3 logs: refused
      [5n, 7n], [8n, 9n],
      [10n, 13n],
    ]);
    const seen: bigint[] = [];
    for await (const r of logRanges(0n, 13n, 10n, cappedNode([0, 1, 2, 3, 5, 8, 9, 12], 2).read)) seen.push(r.to);
    assert.deepEqual(seen, [9n, 13n], "still one yield per range, at its last block");
  });

  it("newestLogs reads a refused range in halves too", async () => {
    const n = cappedNode([91, 92, 95, 99], 2);
    assert.deepEqual(await newestLogs(0n, 100n, 10n, n.read), [91, 92, 95, 99]);
    assert.deepEqual(n.asked, [[91n, 100n], [91n, 95n], [91n, 93n], [94n, 95n], [96n, 100n]]);
  });

  it("a single block the node refuses throws the node's error, after halving down to it", async () => {
    const n = cappedNode([4, 4, 4], 2); // three logs in block 4
    await assert.rejects(logsInRanges(0n, 7n, 10n, n.read), /more than 2 results/);
    assert.deepEqual(n.asked, [[0n, 7n], [0n, 3n], [4n, 7n], [4n, 5n], [4n, 4n]]);
    const down = { asked: 0, read: async () => { down.asked++; throw new Error("connection refused"); } };
    await assert.rejects(logsInRanges(0n, 9_999n, 10_000n, down.read), /connection refused/);
    assert.equal(down.asked, 15, "an outage: one read per halving (log2 10,000 rounded up) and the single block's");
  });
});
