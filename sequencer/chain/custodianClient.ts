/**
 * The sequencer's view of the custodian: reads the request queue and the verified state, and posts
 * batches exactly once (a batch whose number the chain already has is never sent again).
 */
import { publicDataDigest } from "../protocol/publicData.ts";
import { bytesToHex, type Address, type Hash, type Hex, type PublicClient, type WalletClient } from "viem";
import { custodianAbi } from "./abi.ts";
import { contractRevert } from "./reverts.ts";
import type { CalldataProof } from "../protocol/calldataProof.ts";
import { RequestReader, type QueuedRequest, type RequestReaderOptions } from "./requests.ts";
import { DEFAULT_LOG_RANGE, newestLogs } from "./logs.ts";
import type { InstrumentSpec } from "../protocol/transactions.ts";
import type { InstrumentKind } from "../protocol/constants.ts";
import { TransactionWatch, sentTransactionOutcome, type PostingOptions, type SentResult, type WatchOptions } from "./sentTransactions.ts";

/** Custodian.instrument(id) as viem decodes the PublicData.Instrument tuple. */
type InstrumentView = {
  kind: number; underlying: number; lotSizeE6: bigint; tickValue: bigint; imPpm: number; mmPpm: number; strike: bigint; expiry: number; fundingCapPpm: number;
};

export type ChainContext = {
  publicClient: PublicClient;
  walletClient: WalletClient;
  custodian: Address;
  /** How the request queue is read (confirmation depth, log range per call: requests.ts RequestReader). */
  requestReads?: RequestReaderOptions;
  /** How batch transactions are watched once sent: confirmation depth, replacement with higher fees (sentTransactions.ts). */
  posting?: PostingOptions;
};

export class BatchPostError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

export class CustodianClient {
  readonly chain: ChainContext;
  readonly #requests: RequestReader;
  readonly #watch: TransactionWatch;
  constructor(chain: ChainContext) {
    this.chain = chain;
    this.#requests = new RequestReader(chain.publicClient, chain.custodian, chain.requestReads);
    this.#watch = new TransactionWatch(chain.publicClient, chain.walletClient, chain.posting);
  }

  /**
   * What became of batch transaction `hashes` (every hash logged for its nonce, oldest first), sent before a crash
   * or a lost connection: mined (success or reverted, once confirmed, with the hash mined), or unknown. One still
   * pending is waited for and replaced with higher fees as a post's own transaction is (each replacement told to
   * `opts.onSent`); `opts.until` may end the wait while it is unmined (WatchStopped).
   */
  sentOutcome(hashes: Hash | readonly Hash[], opts: WatchOptions = {}): Promise<SentResult> {
    return sentTransactionOutcome(this.#watch, hashes, opts);
  }

  /**
   * Cancels batch transaction `hashes` (the hashes sent for its nonce) if it is still pending (a 0-value transfer
   * to the operator at its nonce, higher fees): called when its batch is given up as too old, so it cannot hold
   * the rebuilt batch's transaction behind it. The cancel's hash, or null when none was needed.
   */
  cancelPending(hashes: Hash | readonly Hash[]): Promise<Hash | null> {
    return this.#watch.cancel(hashes);
  }

  private read<T>(functionName: string, args: readonly unknown[] = []): Promise<T> {
    return this.chain.publicClient.readContract({ address: this.chain.custodian, abi: custodianAbi, functionName, args } as never) as Promise<T>;
  }

  batchCount(): Promise<number> {
    return this.read<number | bigint>("batchCount").then(Number);
  }
  stateRoot(): Promise<bigint> {
    return this.read<bigint>("stateRoot");
  }
  processedRequests(): Promise<number> {
    return this.read<number | bigint>("processedRequests").then(Number);
  }
  lastTimestamp(): Promise<number> {
    return this.read<number | bigint>("lastTimestamp").then(Number);
  }
  /**
   * The chain's time: the timestamp the node gives its next block (the pending block), unix seconds.
   * What the custodian's `block.timestamp` is about when a batch sent now is mined, whatever the
   * sequencer's clock says (it may run ahead or behind; a devnet's clock may have been moved).
   */
  async chainTime(): Promise<number> {
    const block = await this.chain.publicClient.getBlock({ blockTag: "pending" });
    return Number(block.timestamp);
  }
  /** The window the custodian accepts a batch's timestamp in: at most maxAge s before the block's time, maxFutureDrift s after. */
  async timestampWindow(): Promise<{ maxAge: number; maxFutureDrift: number }> {
    const [maxAge, maxFutureDrift] = await Promise.all([this.read<bigint>("MAX_BATCH_AGE"), this.read<bigint>("MAX_FUTURE_DRIFT")]);
    return { maxAge: Number(maxAge), maxFutureDrift: Number(maxFutureDrift) };
  }
  /** The registered oracle key, compressed (y | signX << 255), or null if none is registered. */
  async oracleKey(): Promise<bigint | null> {
    const key = await this.read<bigint>("oracleKey");
    return key === 0n ? null : key;
  }
  /** Parameters of a registered instrument; rejects (UnknownInstrument) for an unregistered id. */
  async instrument(instrumentId: number): Promise<InstrumentSpec> {
    const v = await this.read<InstrumentView>("instrument", [instrumentId]);
    return {
      kind: v.kind as InstrumentKind, underlying: v.underlying, lotSizeE6: v.lotSizeE6, tickValue: v.tickValue, imPpm: BigInt(v.imPpm),
      mmPpm: BigInt(v.mmPpm), strike: v.strike, expiry: v.expiry, fundingCapPpm: BigInt(v.fundingCapPpm),
    };
  }
  /** The queued requests from `fromIndex` on, in order, confirmed to the configured depth; each call reads only blocks it has not read. */
  requests(fromIndex: number): Promise<QueuedRequest[]> {
    return this.#requests.since(fromIndex);
  }

  /**
   * sha256 of the public data of batch `batchNumber` as the custodian logged it, or null if not posted. Asked
   * when a post's receipt was lost, so the batch is recent: its event is searched from the head backwards in
   * ranges of `requestReads.maxBlockRange` blocks (a node refuses one call over the whole chain), down to
   * `requestReads.fromBlock`.
   */
  async postedBatchHash(batchNumber: number): Promise<Hex | null> {
    const { publicClient, custodian, requestReads } = this.chain;
    const head = await publicClient.getBlockNumber({ cacheTime: 0 });
    const range = requestReads?.maxBlockRange !== undefined ? BigInt(requestReads.maxBlockRange) : DEFAULT_LOG_RANGE;
    const logs = await newestLogs(requestReads?.fromBlock ?? 0n, head, range, (fromBlock, toBlock) =>
      publicClient.getContractEvents({ address: custodian, abi: custodianAbi, eventName: "BatchSubmitted", args: { batchNumber }, fromBlock, toBlock, strict: true }),
    );
    return logs.length ? logs[0].args.publicDataHash : null;
  }

  /**
   * Submits a batch and waits for it to be mined. Reverts are decoded to the custodian's custom error
   * name and thrown as BatchPostError. If the chain already holds this batch number with the same public
   * data (a post whose receipt was lost), nothing is sent and null is returned; with other data it throws.
   * `onSending` is called once the custodian's simulation accepted the batch, just before the transaction
   * is handed to the node (from then on it may be mined, even if this call fails); `onSent` with its hash
   * once it is sent, before its receipt is awaited. A revert of the simulation (nothing sent) and a mined
   * revert are both BatchPostError, the first with the custodian's error name. A transaction left unmined
   * (fees below a risen base fee) is sent again at its nonce with higher fees (`chain.posting`), each hash told
   * to `onSent`; the hash returned is the one mined, once `posting.confirmations` blocks hold it. `until`, asked
   * once a round while the transaction is unmined, may end the wait (WatchStopped: the batch can no longer be
   * taken; the caller cancels the pending transaction).
   */
  async submitBatch(
    batchNumber: number, publicData: Uint8Array, proof: CalldataProof, onSent?: (hash: Hash) => void, onSending?: () => void, until?: () => Promise<boolean>,
  ): Promise<Hash | null> {
    if ((await this.batchCount()) > batchNumber) {
      await this.requirePosted(batchNumber, publicData);
      return null;
    }
    return this.post("submitBatch", [bytesToHex(publicData), proof], `submitBatch ${batchNumber}`, { onSent, until }, onSending);
  }

  /**
   * Submits consecutive batches `firstBatchNumber, firstBatchNumber + 1, ...` in one transaction
   * (Custodian.submitBatches: their proofs are verified together) and waits for it to be mined, as submitBatch
   * does: reverts are thrown as BatchPostError with the custodian's error name (the whole set is refused then);
   * batches the chain already holds with the same public data are left out (null when that is all of them),
   * one it holds with other data throws BatchNumberTaken. `onSending`, `onSent` and `until` as submitBatch's.
   */
  async submitBatches(
    firstBatchNumber: number, batches: readonly { publicData: Uint8Array; proof: CalldataProof }[], onSent?: (hash: Hash) => void, onSending?: () => void,
    until?: () => Promise<boolean>,
  ): Promise<Hash | null> {
    if (batches.length === 0) throw new RangeError("submitBatches: no batches");
    const posted = Math.min(Math.max((await this.batchCount()) - firstBatchNumber, 0), batches.length);
    for (let i = 0; i < posted; i++) await this.requirePosted(firstBatchNumber + i, batches[i].publicData);
    const rest = batches.slice(posted);
    if (rest.length === 0) return null;
    const label = `submitBatches ${firstBatchNumber + posted}..${firstBatchNumber + batches.length - 1}`;
    return this.post("submitBatches", [rest.map((b) => bytesToHex(b.publicData)), rest.map((b) => b.proof)], label, { onSent, until }, onSending);
  }

  /** Throws BatchNumberTaken unless the chain holds batch `batchNumber` with exactly this public data. */
  private async requirePosted(batchNumber: number, publicData: Uint8Array): Promise<void> {
    const posted = await this.postedBatchHash(batchNumber);
    const ours = publicDataDigest(publicData);
    if (posted !== ours) throw new BatchPostError("BatchNumberTaken", `batch ${batchNumber} is already on chain with other public data (${posted})`);
  }

  /**
   * Simulates, sends and awaits a batch transaction (`watch`: told each hash, may end the wait); reverts become
   * BatchPostError (see submitBatch).
   */
  private async post(
    functionName: "submitBatch" | "submitBatches", args: readonly unknown[], label: string, watch: WatchOptions, onSending?: () => void,
  ): Promise<Hash> {
    try {
      const { request } = await this.chain.publicClient.simulateContract({
        address: this.chain.custodian,
        abi: custodianAbi,
        functionName,
        args,
        account: this.chain.walletClient.account!,
      } as never);
      onSending?.();
      const hash = await this.chain.walletClient.writeContract(request as never);
      watch.onSent?.(hash);
      const mined = await this.#watch.mined(hash, watch);
      if (!mined) throw new Error(`${label}: transaction ${hash} not found: neither mined nor kept (dropped, or its nonce taken by another transaction); the next run asks the chain`);
      if (mined.status !== "success") throw new BatchPostError("reverted", `${label} reverted in ${mined.hash}`);
      return mined.hash;
    } catch (e) {
      const revert = contractRevert(e);
      if (revert) {
        const name = revert.data?.errorName ?? "unknown";
        throw new BatchPostError(name, `${label} reverted: ${name}(${(revert.data?.args ?? []).join(", ")})`);
      }
      throw e;
    }
  }
}
