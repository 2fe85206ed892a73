/**
 * Waiting for a sent transaction to be mined, robust to the fee market, to a node that drops or does not yet
 * serve a transaction, and to short reorganisations: a transaction left unmined for `replaceAfterMs` (its fees
 * below a risen base fee) is sent again at the same nonce with higher fees, the same call, so whichever of them
 * is mined does the same; one the node dropped from its pool is broadcast again (the same call and nonce, with
 * higher fees where the bound allows); a receipt counts once `confirmations` blocks hold it and it is still
 * there (a reorganisation that took it out is waited through). Every round waits (for a receipt, or a poll
 * interval, or a backoff after an RPC error), so a node that answers nothing useful is not asked in a busy
 * loop. A caller may end the wait while nothing is mined (`until`: its work can no longer be taken). An earlier
 * transaction at a nonce that can no longer do anything useful is cancelled the same way, by a 0-value
 * transfer to the sender at its nonce.
 */
import {
  TransactionNotFoundError, TransactionReceiptNotFoundError, WaitForTransactionReceiptTimeoutError,
  type Address, type Hash, type Hex, type PublicClient, type Transaction, type WalletClient,
} from "viem";

/** How batch transactions are watched once sent. */
export type PostingOptions = {
  /** Blocks that must hold a transaction (its own included) before its receipt counts (default 1). */
  confirmations?: number;
  /** How long (ms) a sent transaction may stay unmined before it is sent again with higher fees (default 60 s). */
  replaceAfterMs?: number;
  /** The most a replacement offers per gas (wei); a transaction already at it is waited on. Default: no bound. */
  maxFeePerGas?: bigint;
  /** Told what the watch swallows and retries (an RPC error, a send the node refused), one line each. Default: console.warn. */
  log?: (line: string) => void;
};

/** How one wait ends and what it reports. */
export type WatchOptions = {
  /** Told each transaction sent for the nonce (a replacement, or the same call broadcast again under a new hash). */
  onSent?: (hash: Hash) => void;
  /**
   * Asked once a round while none of the hashes is mined: true ends the wait with WatchStopped (the caller's
   * work can no longer be taken, so the caller decides what becomes of the pending transaction).
   */
  until?: () => Promise<boolean>;
};

/** What became of a sent transaction: mined (the hash mined, and whether it succeeded), or unknown. */
export type SentResult = { status: "success" | "reverted"; hash: Hash } | { status: "unknown"; hash: null };

/** A mined transaction: its hash (a replacement's, if that was mined) and whether it succeeded. */
export type Mined = { hash: Hash; status: "success" | "reverted" };

/** Thrown by a wait its `until` ended while the transaction was still unmined. */
export class WatchStopped extends Error {
  /** The newest hash sent for the nonce: still pending, or dropped. */
  readonly hash: Hash;
  constructor(hash: Hash) {
    super(`stopped waiting for transaction ${hash}: the caller gave it up while it was unmined`);
    this.hash = hash;
  }
}

/** An error of the caller's `onSent` (a log write that failed): thrown out of the wait, never retried as an RPC error is. */
class CallerError {
  constructor(readonly error: unknown) {}
}

/** What a resend needs of a transaction: its sender, nonce, gas limit, call and fees. */
type Fields = {
  from: Address; nonce: number; gas: bigint; to: Address | null; input: Hex; value: bigint;
  maxFeePerGas?: bigint; maxPriorityFeePerGas?: bigint; gasPrice?: bigint;
};

/**
 * One nonce a wait follows: every hash sent for it (oldest first; the newest is the current one), the fields
 * of the newest transaction known (from the node, or as sent here), when the current one was sent or first
 * looked at (the replacement clock), and when the wait began.
 */
type Slot = { sent: Hash[]; latest: Fields | null; since: number; started: number };

const DEFAULT_REPLACE_AFTER_MS = 60_000;

/** The smallest fee a node takes to replace a pending transaction paying `fee` (geth: 10% more; 12.5% here, plus 1). */
export const bumped = (fee: bigint): bigint => fee + fee / 8n + 1n;

/** Resolves after `ms` milliseconds. */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The first line of an error's message (for a log line). */
export const errorLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0];

/** The fields of a transaction the node returned that a resend needs. */
function fieldsOf(tx: Transaction): Fields {
  return {
    from: tx.from, nonce: tx.nonce, gas: tx.gas, to: tx.to, input: tx.input, value: tx.value,
    maxFeePerGas: tx.maxFeePerGas ?? undefined, maxPriorityFeePerGas: tx.maxPriorityFeePerGas ?? undefined, gasPrice: tx.gasPrice ?? undefined,
  };
}

export class TransactionWatch {
  readonly #public: PublicClient;
  readonly #wallet: WalletClient;
  readonly #confirmations: number;
  readonly #replaceAfterMs: number;
  readonly #maxFee: bigint | undefined;
  readonly #log: (line: string) => void;
  /** The least time a round takes (ms): a round that waited for nothing sleeps the rest. */
  readonly #pollMs: number;

  constructor(publicClient: PublicClient, walletClient: WalletClient, opts: PostingOptions = {}) {
    this.#public = publicClient;
    this.#wallet = walletClient;
    this.#confirmations = opts.confirmations ?? 1;
    this.#replaceAfterMs = opts.replaceAfterMs ?? DEFAULT_REPLACE_AFTER_MS;
    this.#maxFee = opts.maxFeePerGas;
    this.#log = opts.log ?? ((line) => console.warn(`posting: ${line}`));
    if (!Number.isInteger(this.#confirmations) || this.#confirmations < 1) throw new RangeError("posting.confirmations: a whole number >= 1");
    if (!(this.#replaceAfterMs > 0)) throw new RangeError("posting.replaceAfterMs: > 0");
    this.#pollMs = Math.max(1, Math.min(1_000, Math.floor(this.#replaceAfterMs / 4)));
  }

  /**
   * Waits until one of `hashes` (every hash sent for one nonce, oldest first: a restart knows all it logged), or a
   * replacement of them sent here (each told to `onSent`), is mined and confirmed; the one mined is returned.
   * Null when none of them is mined and another transaction used their nonce (one sent before a restart and
   * replaced by a hash not logged, or a cancel), or when the node never knew any of them for `replaceAfterMs`
   * (never sent): the caller asks the chain what became of the work instead. Throws WatchStopped when
   * `until` ends the wait; an RPC failing for longer than `replaceAfterMs` throws its error (logged meanwhile).
   */
  async mined(hashes: Hash | readonly Hash[], opts: WatchOptions = {}): Promise<Mined | null> {
    const now = Date.now();
    const slot: Slot = { sent: [...new Set([hashes].flat())], latest: null, since: now, started: now };
    let failingSince: number | null = null;
    for (let failures = 0; ; ) {
      const roundStart = Date.now();
      try {
        const outcome = await this.#round(slot, opts);
        if (outcome !== undefined) return outcome;
        failures = 0;
        failingSince = null;
      } catch (e) {
        if (e instanceof WatchStopped) throw e;
        if (e instanceof CallerError) throw e.error;
        failingSince ??= roundStart;
        if (Date.now() - failingSince >= this.#replaceAfterMs) throw e;
        failures++;
        this.#log(`watching ${slot.sent.at(-1)}: ${errorLine(e)} (asked again)`);
      }
      await this.#pace(roundStart, failures);
    }
  }

  /**
   * Sleeps out the rest of a round begun at `roundStart` (at least the poll interval), or a backoff doubling
   * with each of `failures` consecutive failed rounds (up to replaceAfterMs): never a round without a wait.
   */
  async #pace(roundStart: number, failures: number): Promise<void> {
    const ms = failures > 0 ? Math.min(this.#pollMs * 2 ** failures, this.#replaceAfterMs) : this.#pollMs - (Date.now() - roundStart);
    if (ms > 0) await sleep(ms);
  }

  /**
   * One look at `slot`: its outcome once decided (a confirmed receipt of one of its hashes; null: its nonce used
   * by another transaction, or never known), else undefined once it waited for the current transaction, replaced
   * it or broadcast it again.
   */
  async #round(slot: Slot, opts: WatchOptions): Promise<Mined | null | undefined> {
    const mined = await this.#firstMined(slot.sent);
    if (mined) return (await this.#confirmed(mined.hash, this.#replaceAfterMs)) ?? undefined;
    if (opts.until && (await opts.until())) throw new WatchStopped(slot.sent.at(-1)!);
    const tx = await this.#newestServed(slot.sent);
    // The node's fields of the current transaction; an older one's only while none is known (a replacement sent here
    // that a node behind a load balancer does not serve yet pays more).
    if (tx && (tx.hash.toLowerCase() === slot.sent.at(-1)!.toLowerCase() || !slot.latest)) slot.latest = fieldsOf(tx);
    if (tx?.blockNumber != null) return undefined; // mined, its receipt not served yet
    if (!slot.latest) return Date.now() - slot.started >= this.#replaceAfterMs ? null : undefined; // not (yet) known to the node
    if (await this.#nonceUsed(slot.latest)) return this.#settled(slot);
    const left = slot.since + this.#replaceAfterMs - Date.now();
    if (tx && left > 0) return (await this.#confirmed(tx.hash, left)) ?? undefined;
    // Pending for replaceAfterMs (sent again with higher fees), or not served for replaceAfterMs: dropped from the
    // node's pool (broadcast again), unless a node behind a load balancer is just late to serve it (waited on).
    if (left > 0) return undefined;
    await this.#sendAgain(slot, tx === null, opts.onSent);
    return undefined;
  }

  /**
   * After the nonce of `slot` was used: the hash of it mined, once `confirmations` blocks hold it (undefined
   * while they do not yet: the next round waits again), or null when another transaction used the nonce.
   */
  async #settled(slot: Slot): Promise<Mined | null | undefined> {
    const mined = await this.#firstMined(slot.sent);
    if (!mined) return null;
    return (await this.#confirmed(mined.hash, this.#replaceAfterMs)) ?? undefined;
  }

  /**
   * Sends the call of `slot`'s newest transaction again at its nonce: with higher fees when it is still pending
   * (nothing when the bound leaves no higher fee: waited on), at least at its own fees when the node dropped it
   * (`dropped`: broadcast again). A new hash is added to the slot and told to `onSent`; the replacement clock
   * starts again whatever happened, so the next attempt is replaceAfterMs later.
   */
  async #sendAgain(slot: Slot, dropped: boolean, onSent?: (hash: Hash) => void): Promise<void> {
    const known = slot.latest!;
    slot.since = Date.now();
    const sent = await this.#resend(known, { to: known.to!, data: known.input, value: known.value }, dropped);
    if (!sent) return;
    slot.latest = sent.fields;
    if (slot.sent.includes(sent.hash)) return; // the same signed transaction, broadcast again
    slot.sent.push(sent.hash);
    try {
      onSent?.(sent.hash);
    } catch (e) {
      throw new CallerError(e);
    }
  }

  /** The newest of `hashes` the node serves (pending or mined), or null when it knows none of them. */
  async #newestServed(hashes: readonly Hash[]): Promise<Transaction | null> {
    for (let i = hashes.length - 1; i >= 0; i--) {
      const tx = await this.#lookup(hashes[i]);
      if (tx) return tx;
    }
    return null;
  }

  /** The first of `hashes` the chain holds (one of them took the nonce they share), or null. */
  async #firstMined(hashes: readonly Hash[]): Promise<Mined | null> {
    for (const h of hashes) {
      const r = await this.#receipt(h);
      if (r) return r;
    }
    return null;
  }

  /**
   * Cancels the pending transaction among `hashes` (the hashes sent for one nonce; the newest the node serves is
   * taken): a 0-value transfer to the sender at its nonce with higher fees, so a later transaction of the sender
   * is not held behind it. Nothing when one of them is mined, the nonce is used, or the node serves none of them.
   * Returns the cancel's hash, or null when none was sent.
   */
  async cancel(hashes: Hash | readonly Hash[]): Promise<Hash | null> {
    const all = [hashes].flat();
    if (await this.#firstMined(all)) return null;
    for (const hash of [...all].reverse()) {
      const tx = await this.#lookup(hash);
      if (!tx) continue;
      if (tx.blockNumber != null || (await this.#nonceUsed(tx))) return null;
      return (await this.#resend(fieldsOf(tx), { to: tx.from, data: "0x", value: 0n }, false))?.hash ?? null;
    }
    return null;
  }

  /**
   * The receipt of `hash` once `confirmations` blocks hold it and it is still in the chain, else null after
   * `timeoutMs` (or at once when it was taken out by a reorganisation).
   */
  async #confirmed(hash: Hash, timeoutMs: number): Promise<Mined | null> {
    try {
      await this.#public.waitForTransactionReceipt({ hash, confirmations: this.#confirmations, timeout: timeoutMs, retryCount: 0, checkReplacement: false });
    } catch (e) {
      if (e instanceof WaitForTransactionReceiptTimeoutError) return null;
      throw e;
    }
    // waitForTransactionReceipt counts confirmations from the receipt it first saw: read it again, so a
    // reorganisation that took the transaction out meanwhile is not taken for a confirmation.
    return this.#receipt(hash);
  }

  /** The receipt of `hash`, or null when the node has none (not mined); other RPC errors are thrown. */
  async #receipt(hash: Hash): Promise<Mined | null> {
    try {
      const receipt = await this.#public.getTransactionReceipt({ hash });
      return { hash, status: receipt.status };
    } catch (e) {
      if (e instanceof TransactionReceiptNotFoundError) return null;
      throw e;
    }
  }

  /** Transaction `hash` as the node serves it, or null when it does not know it; other RPC errors are thrown. */
  async #lookup(hash: Hash): Promise<Transaction | null> {
    try {
      return await this.#public.getTransaction({ hash });
    } catch (e) {
      if (e instanceof TransactionNotFoundError) return null;
      throw e;
    }
  }

  /** Whether the sender of `tx` has a mined transaction at or after its nonce. */
  async #nonceUsed(tx: Pick<Fields, "from" | "nonce">): Promise<boolean> {
    const mined = await this.#public.getTransactionCount({ address: tx.from, blockTag: "latest" });
    return mined > tx.nonce;
  }

  /**
   * The node's fees now: its fee estimate for a type-2 transaction, its gas price for a legacy one (a pre-London
   * chain has no fee estimate); null when it cannot say (logged: a resend then pays `bumped` of the original).
   */
  async #nodeFees(legacy: boolean): Promise<{ maxFeePerGas?: bigint; maxPriorityFeePerGas?: bigint; gasPrice?: bigint } | null> {
    try {
      return legacy ? { gasPrice: await this.#public.getGasPrice() } : await this.#public.estimateFeesPerGas();
    } catch (e) {
      this.#log(`the node's fees: ${errorLine(e)}`);
      return null;
    }
  }

  /**
   * Sends `call` at `tx`'s nonce and gas limit, paying at least `bumped` of what `tx` pays and at least what the
   * node asks now, at most maxFeePerGas. A pending `tx` needs the bump to be replaced: null when the bound leaves
   * none (waited on). A `dropped` one is broadcast again at no less than its own fees whatever the bound. Null as
   * well when the node refuses the send (logged; the nonce used meanwhile: the next round finds out). Returns the
   * hash and the fields sent.
   */
  async #resend(tx: Fields, call: { to: Address; data: Hex; value: bigint }, dropped: boolean): Promise<{ hash: Hash; fields: Fields } | null> {
    const legacy = tx.maxFeePerGas === undefined || tx.maxPriorityFeePerGas === undefined;
    const fees = legacy ? this.#legacyPrice(tx, await this.#nodeFees(true), dropped) : this.#dynamicFees(tx, await this.#nodeFees(false), dropped);
    if (!fees) return null;
    const fields: Fields = { from: tx.from, nonce: tx.nonce, gas: tx.gas, to: call.to, input: call.data, value: call.value, ...fees };
    try {
      const hash = await this.#wallet.sendTransaction({
        account: this.#wallet.account!, chain: this.#wallet.chain ?? null, nonce: tx.nonce, gas: tx.gas, ...call, ...fees,
      } as never);
      return { hash, fields };
    } catch (e) {
      this.#log(`sending at nonce ${tx.nonce} again (${dropped ? "dropped from the node's pool" : "a replacement"}): ${errorLine(e)}`);
      return null;
    }
  }

  /** The type-2 fees of a resend of `tx` (see #resend), or null when the bound leaves no replacement. */
  #dynamicFees(tx: Fields, now: { maxFeePerGas?: bigint; maxPriorityFeePerGas?: bigint } | null, dropped: boolean) {
    const oldFee = tx.maxFeePerGas!;
    const priority = max(bumped(tx.maxPriorityFeePerGas!), now?.maxPriorityFeePerGas ?? 0n);
    let fee = max(bumped(oldFee), now?.maxFeePerGas ?? 0n, priority);
    if (this.#maxFee !== undefined) fee = min(fee, this.#maxFee);
    if (dropped) fee = max(fee, oldFee);
    else if (fee < bumped(oldFee)) return null;
    return { maxFeePerGas: fee, maxPriorityFeePerGas: min(priority, fee) };
  }

  /** The gas price of a legacy (type-0) resend of `tx` (see #resend), or null when the bound leaves no replacement. */
  #legacyPrice(tx: Fields, now: { gasPrice?: bigint } | null, dropped: boolean) {
    const old = tx.gasPrice ?? 0n;
    let price = max(bumped(old), now?.gasPrice ?? 0n);
    if (this.#maxFee !== undefined) price = min(price, this.#maxFee);
    if (dropped) price = max(price, old);
    else if (price < bumped(old)) return null;
    return { gasPrice: price };
  }
}

const max = (...xs: bigint[]): bigint => xs.reduce((a, b) => (a > b ? a : b));
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/**
 * What became of a transaction sent before a crash or a lost connection (`hashes`: every hash logged for its
 * nonce): mined (the hash mined, and whether it succeeded), or unknown (dropped, never left this process, or
 * its nonce used by another). One still waiting is waited for, and replaced with higher fees as `watch` does,
 * so its outcome is never guessed; `until` may end the wait (WatchStopped).
 */
export async function sentTransactionOutcome(watch: TransactionWatch, hashes: Hash | readonly Hash[], opts: WatchOptions = {}): Promise<SentResult> {
  const mined = await watch.mined(hashes, opts);
  return mined ?? { status: "unknown", hash: null };
}
