/**
 * sequencer/chain/requests.ts: queued request records back to batch transactions; the sequencer's incremental
 * reader of the queue (only unread blocks, ranges a node serves, a confirmation depth, a restart resuming at
 * the last admitted request's block, a gap refused).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { bytesToHex, type PublicClient } from "viem";
import { RequestReader, requestToTx } from "../../../sequencer/chain/requests.ts";
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
      type: TxType.REGISTER_INSTRUMENT, instrumentId: 6n, kind: BigInt(InstrumentKind.PUT), underlying: 1n, lotSizeE6: 2n ** 40n - 1n,
      tickValue: 2n ** 48n - 2n, imPpm: 1_000_000n, mmPpm: 999_999n, strike: 2n ** 50n - 1n, expiry: 2n ** 32n - 1n, fundingCapPpm: 0n,
    };
    assert.deepEqual(requestToTx(encodeRecord(record)), {
      type: TxType.REGISTER_INSTRUMENT, instrumentId: 6, kind: InstrumentKind.PUT, underlying: 1, lotSizeE6: 2n ** 40n - 1n,
      tickValue: 2n ** 48n - 2n, imPpm: 1_000_000n, mmPpm: 999_999n, strike: 2n ** 50n - 1n, expiry: 2 ** 32 - 1, fundingCapPpm: 0n,
    });
    const perp: SlotRecord = { ...record, instrumentId: 0n, kind: BigInt(InstrumentKind.PERPETUAL), strike: 0n, expiry: 0n, fundingCapPpm: 1_000n };
    assert.deepEqual(requestToTx(encodeRecord(perp)), {
      type: TxType.REGISTER_INSTRUMENT, instrumentId: 0, kind: InstrumentKind.PERPETUAL, underlying: 1, lotSizeE6: 2n ** 40n - 1n,
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

/**
 * A node's side of the reader: a chain of `head` blocks with a DEPOSIT request queued in each block of
 * `blockOfRequest` (request i in block blockOfRequest[i]); records every eth_getLogs range asked for.
 */
function fakeNode(blockOfRequest: number[], opts: { drop?: number } = {}) {
  const node = {
    head: Math.max(0, ...blockOfRequest),
    calls: [] as { from: bigint; to: bigint | undefined; index?: bigint }[],
    client: null as unknown as PublicClient,
  };
  const logs = blockOfRequest.map((block, index) => ({
    blockNumber: BigInt(block),
    args: { index: BigInt(index), record: bytesToHex(encodeRecord({ type: TxType.DEPOSIT, accountId: BigInt(index + 1), tokenId: 0n, amount: 100n })) },
  }));
  node.client = {
    getBlockNumber: async () => BigInt(node.head),
    getContractEvents: async (q: { fromBlock: bigint; toBlock?: bigint; args?: { index: bigint } }) => {
      node.calls.push({ from: q.fromBlock, to: q.toBlock, index: q.args?.index });
      return logs.filter((l, i) => i !== opts.drop && l.blockNumber >= q.fromBlock && l.blockNumber <= (q.toBlock ?? BigInt(node.head)) && (q.args === undefined || l.args.index === q.args.index));
    },
  } as unknown as PublicClient;
  return node;
}
const CUSTODIAN = "0x0000000000000000000000000000000000000001";
const indices = (rs: { index: number }[]) => rs.map((r) => r.index);

describe("RequestReader", () => {
  it("reads each block once: a poll reads only the blocks after the last one, and hands out the requests from the index asked", async () => {
    const node = fakeNode([3, 3, 7]);
    const reader = new RequestReader(node.client, CUSTODIAN);
    const first = await reader.since(0);
    assert.deepEqual(indices(first), [0, 1, 2]);
    assert.deepEqual(first[2]!.tx, { type: TxType.DEPOSIT, accountId: 3, tokenId: 0, amount: 100n });
    assert.deepEqual(node.calls, [{ from: 0n, to: 7n, index: undefined }]);
    assert.deepEqual(indices(await reader.since(2)), [2], "request 2 again: not admitted yet");
    assert.deepEqual(node.calls.length, 1, "no new block: no read");
    node.head = 9;
    assert.deepEqual(indices(await reader.since(3)), []);
    assert.deepEqual(node.calls.at(-1), { from: 8n, to: 9n, index: undefined }, "only blocks 8 and 9");
  });

  it("splits a long range into calls of at most maxBlockRange blocks", async () => {
    const node = fakeNode([0, 4, 25]);
    const reader = new RequestReader(node.client, CUSTODIAN, { maxBlockRange: 10 });
    assert.deepEqual(indices(await reader.since(0)), [0, 1, 2]);
    assert.deepEqual(node.calls.map((c) => [c.from, c.to]), [[0n, 9n], [10n, 19n], [20n, 25n]]);
  });

  it("admits a request only once `confirmations` blocks are above it", async () => {
    const node = fakeNode([2, 5]);
    const reader = new RequestReader(node.client, CUSTODIAN, { confirmations: 2 });
    assert.deepEqual(indices(await reader.since(0)), [0], "request 1 (block 5) is at the head: not yet");
    node.head = 6;
    assert.deepEqual(indices(await reader.since(1)), [], "one block above it");
    node.head = 7;
    assert.deepEqual(indices(await reader.since(1)), [1]);
    assert.ok(node.calls.every((c) => c.to === undefined || c.to <= BigInt(node.head) - 2n), "never reads above the confirmed depth");
  });

  it("a restarted sequencer resumes at the block of the last request it admitted, not at the chain's start", async () => {
    const node = fakeNode([10, 20, 20, 30]);
    const reader = new RequestReader(node.client, CUSTODIAN);
    assert.deepEqual(indices(await reader.since(2)), [2, 3]);
    assert.deepEqual(node.calls, [{ from: 0n, to: undefined, index: 1n }, { from: 20n, to: 30n, index: undefined }], "one topic search for request 1, then blocks 20..30");
  });

  it("a node that refuses the search over the whole chain: reads from fromBlock (the deployment block) in ranges instead", async () => {
    const node = fakeNode([10, 20, 20, 30]);
    const read = node.client.getContractEvents;
    node.client = { ...node.client, getContractEvents: async (q: { args?: unknown }) => {
      if (q.args) throw new Error("block range too large");
      return read(q as never);
    } } as unknown as PublicClient;
    const reader = new RequestReader(node.client, CUSTODIAN, { fromBlock: 8n, maxBlockRange: 15 });
    assert.deepEqual(indices(await reader.since(2)), [2, 3]);
    assert.deepEqual(node.calls.map((c) => [c.from, c.to]), [[8n, 22n], [23n, 30n]]);
  });

  it("refuses a queue with a gap (a partial log) instead of admitting out of order", async () => {
    const node = fakeNode([1, 2, 3], { drop: 1 });
    const reader = new RequestReader(node.client, CUSTODIAN);
    await assert.rejects(reader.since(0), /read request 2 but not request 1 before it/);
    await assert.rejects(reader.since(0), /read request 2 but not request 1 before it/, "read again (the node still leaves it out)");
    assert.deepEqual(node.calls.map((c) => [c.from, c.to]), [[0n, 3n], [0n, 3n]], "the retry reads the blocks again");
  });

  it("asked for an index below an earlier call's, reads again from that request's predecessor's block", async () => {
    const node = fakeNode([1, 4, 6]);
    const reader = new RequestReader(node.client, CUSTODIAN);
    assert.deepEqual(indices(await reader.since(2)), [2]);
    assert.deepEqual(indices(await reader.since(1)), [1, 2]);
    assert.deepEqual(node.calls.slice(2), [{ from: 0n, to: undefined, index: 0n }, { from: 1n, to: 6n, index: undefined }]);
  });
});
