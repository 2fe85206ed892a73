/**
 * Reads the custodian's request queue (RequestQueued events) and turns each record into a batch transaction:
 * all of it at once (`fetchRequests`: the verifier, the page, tests), or incrementally as the sequencer polls
 * it (`RequestReader`: each poll reads only the blocks it has not read, in ranges a node serves, down to a
 * confirmation depth).
 */
import type { PublicClient, Address } from "viem";
import { custodianAbi } from "./abi.ts";
import { RECORD_BYTES, REQUEST_TYPES } from "../protocol/constants.ts";
import { decodeRecord } from "../protocol/publicData.ts";
import { txFromRecord } from "../protocol/recordDecoder.ts";
import type { BatchTx } from "../protocol/transactions.ts";
import { hexToBytes, type Hex } from "viem";
import { DEFAULT_LOG_RANGE, logRanges } from "./logs.ts";

/**
 * The batch transaction of a queued request record (REGISTER_KEY, DEPOSIT, REGISTER_MARKET, REGISTER_INSTRUMENT,
 * FORCED_WITHDRAW, FORCED_COLLATERAL_WITHDRAW, FEE_WITHDRAW, INSURANCE_WITHDRAW: an outcome request is queued with
 * `honoured = 0`, and its outcome is decided when it is applied); throws for any other record.
 */
export function requestToTx(record: Uint8Array): BatchTx {
  const r = decodeRecord(record);
  if (!REQUEST_TYPES.includes(r.type)) throw new Error(`record of type ${r.type} is not a request`);
  return txFromRecord(r);
}

/**
 * The batch transaction a forced request waiting in the custodian's line (a ForcedWithdrawalWaiting event) becomes
 * once admitted: the custodian queues it as `PublicData.encodeAmountRecord(txType, accountId, tokenId, amount)`
 * (type(1) accountId(4) tokenId(2) amount(12), zero padding), so it decodes as that record does: a forced close
 * carries its instrument where the token is and `counterpartyId << 64 | lots` where the amount is.
 */
export function waitingRequestTx(e: { accountId: number; txType: number; tokenId: number; amount: bigint }): BatchTx {
  const record = new Uint8Array(RECORD_BYTES);
  const view = new DataView(record.buffer);
  record[0] = e.txType;
  view.setUint32(1, e.accountId);
  view.setUint16(5, e.tokenId);
  view.setBigUint64(11, e.amount & ((1n << 64n) - 1n));
  view.setUint32(7, Number(e.amount >> 64n));
  return requestToTx(record);
}

export type QueuedRequest = { index: number; record: Uint8Array; tx: BatchTx };

/** A RequestQueued event's request (its queue index, record and batch transaction). */
export function queuedRequestOf(log: { args: { index: bigint; record: Hex } }): QueuedRequest {
  const record = hexToBytes(log.args.record);
  return { index: Number(log.args.index), record, tx: requestToTx(record) };
}

/** Requests with index >= fromIndex, in queue order. */
export async function fetchRequests(client: PublicClient, custodian: Address, fromIndex: number): Promise<QueuedRequest[]> {
  const logs = await client.getContractEvents({ address: custodian, abi: custodianAbi, eventName: "RequestQueued", fromBlock: 0n, strict: true });
  return logs
    .filter((l) => Number(l.args.index) >= fromIndex)
    .map(queuedRequestOf)
    .sort((a, b) => a.index - b.index);
}

export type RequestReaderOptions = {
  /**
   * Blocks a request must be under before it is admitted (0: at the head). A request admitted from a block a
   * reorganisation then drops would be in the sequencer's state but not in the custodian's queue, and every
   * batch from the one consuming it would be refused (the request chain would not match): on a chain that
   * reorganises, admit from finalised depth.
   */
  confirmations?: number;
  /** Most blocks one eth_getLogs call spans (nodes refuse wide ranges; default 10,000). */
  maxBlockRange?: number;
  /** No request is older than this block (the custodian's deployment block; default 0). */
  fromBlock?: bigint;
};

/**
 * The request queue as a poller reads it: `since(k)` returns the requests with index >= k that are
 * `confirmations` deep, in queue order, reading only the blocks after the previous call's. The first call
 * starts at the block of request k - 1 (found by its indexed `index` topic), so a restarted sequencer does not
 * read the chain's history again; so does a call asking for an index below an earlier call's. The requests
 * handed out are contiguous from k: a gap (a node that returned a partial log) is an error, never a
 * reordering, and the next call reads again from request k - 1's block.
 */
export class RequestReader {
  readonly #client: PublicClient;
  readonly #custodian: Address;
  readonly #confirmations: bigint;
  readonly #range: bigint;
  readonly #fromBlock: bigint;
  /** The first block not read yet (null before the first call). */
  #nextBlock: bigint | null = null;
  /** Read, not yet below a caller's `fromIndex`. */
  readonly #read = new Map<number, QueuedRequest>();
  /** The highest `fromIndex` asked for: requests below it were dropped. */
  #floor = 0;

  constructor(client: PublicClient, custodian: Address, opts: RequestReaderOptions = {}) {
    this.#client = client;
    this.#custodian = custodian;
    this.#confirmations = BigInt(opts.confirmations ?? 0);
    this.#range = opts.maxBlockRange === undefined ? DEFAULT_LOG_RANGE : BigInt(opts.maxBlockRange);
    this.#fromBlock = opts.fromBlock ?? 0n;
    if (this.#confirmations < 0n || this.#range < 1n) throw new Error("RequestReader: confirmations >= 0 and maxBlockRange >= 1");
  }

  /** The blocks read so far end before this one (null before the first call). */
  get nextBlock(): bigint | null {
    return this.#nextBlock;
  }

  async since(fromIndex: number): Promise<QueuedRequest[]> {
    if (fromIndex < this.#floor) this.#restart();
    this.#floor = fromIndex;
    this.#nextBlock ??= await this.#blockOf(fromIndex - 1);
    // (cacheTime 0: viem would otherwise answer from its cache for a polling interval, and a request queued
    // just now would wait a poll or more longer)
    const last = (await this.#client.getBlockNumber({ cacheTime: 0 })) - this.#confirmations;
    const read = (fromBlock: bigint, toBlock: bigint) =>
      this.#client.getContractEvents({ address: this.#custodian, abi: custodianAbi, eventName: "RequestQueued", fromBlock, toBlock, strict: true });
    for await (const { to, logs } of logRanges(this.#nextBlock, last, this.#range, read)) {
      for (const q of logs.map(queuedRequestOf)) this.#read.set(q.index, q);
      this.#nextBlock = to + 1n;
    }
    for (const i of this.#read.keys()) if (i < fromIndex) this.#read.delete(i);
    const out: QueuedRequest[] = [];
    for (let i = fromIndex; this.#read.has(i); i++) out.push(this.#read.get(i)!);
    if (out.length < this.#read.size) {
      const missing = Math.min(...[...this.#read.keys()].filter((i) => i >= fromIndex + out.length));
      this.#restart();
      throw new Error(`request queue: read request ${missing} but not request ${fromIndex + out.length} before it (the node returned a partial log)`);
    }
    return out;
  }

  /** Forgets what was read: the next call starts again at the block of the request before the one it asks for. */
  #restart(): void {
    this.#nextBlock = null;
    this.#read.clear();
  }

  /**
   * The block of request `index`, where reading resumes; `fromBlock` when index < 0, when no such request was
   * logged, or when the node refuses the search over the whole chain (some cap every eth_getLogs call's
   * range): then reading starts over from `fromBlock`, in ranges.
   */
  async #blockOf(index: number): Promise<bigint> {
    if (index < 0) return this.#fromBlock;
    try {
      const logs = await this.#client.getContractEvents({
        address: this.#custodian, abi: custodianAbi, eventName: "RequestQueued", args: { index: BigInt(index) }, fromBlock: this.#fromBlock, strict: true,
      });
      return logs[0]?.blockNumber ?? this.#fromBlock;
    } catch {
      return this.#fromBlock;
    }
  }
}
