/**
 * Waiting for a sent transaction to be mined, robust to the fee market and to short reorganisations:
 * a transaction left unmined for `replaceAfterMs` (its fees below a risen base fee, or dropped from the
 * node's pool) is sent again at the same nonce with higher fees, the same call, so whichever of them is
 * mined does the same; a receipt counts once `confirmations` blocks hold it and it is still there (a
 * reorganisation that took it out is waited through). An earlier transaction at a nonce that can no longer
 * do anything useful is cancelled the same way, by a 0-value transfer to the sender at its nonce.
 */
import { WaitForTransactionReceiptTimeoutError, type Address, type Hash, type Hex, type PublicClient, type Transaction, type WalletClient } from "viem";

/** How batch transactions are watched once sent. */
export type PostingOptions = {
  /** Blocks that must hold a transaction (its own included) before its receipt counts (default 1). */
  confirmations?: number;
  /** How long (ms) a sent transaction may stay unmined before it is sent again with higher fees (default 60 s). */
  replaceAfterMs?: number;
  /** The most a replacement offers per gas (wei); a transaction already at it is waited on. Default: no bound. */
  maxFeePerGas?: bigint;
};

export type SentOutcome = "success" | "reverted" | "unknown";

/** A mined transaction: its hash (a replacement's, if that was mined) and whether it succeeded. */
export type Mined = { hash: Hash; status: "success" | "reverted" };

const DEFAULT_REPLACE_AFTER_MS = 60_000;

/** The smallest fee a node takes to replace a pending transaction paying `fee` (geth: 10% more; 12.5% here, plus 1). */
export const bumped = (fee: bigint): bigint => fee + fee / 8n + 1n;

export class TransactionWatch {
  readonly #public: PublicClient;
  readonly #wallet: WalletClient;
  readonly #confirmations: number;
  readonly #replaceAfterMs: number;
  readonly #maxFee: bigint | undefined;

  constructor(publicClient: PublicClient, walletClient: WalletClient, opts: PostingOptions = {}) {
    this.#public = publicClient;
    this.#wallet = walletClient;
    this.#confirmations = opts.confirmations ?? 1;
    this.#replaceAfterMs = opts.replaceAfterMs ?? DEFAULT_REPLACE_AFTER_MS;
    this.#maxFee = opts.maxFeePerGas;
    if (!Number.isInteger(this.#confirmations) || this.#confirmations < 1) throw new RangeError("posting.confirmations: a whole number >= 1");
    if (!(this.#replaceAfterMs > 0)) throw new RangeError("posting.replaceAfterMs: > 0");
  }

  /**
   * Waits until `hash`, or a replacement of it sent here (each told to `onSent`), is mined and confirmed.
   * Null when neither this process nor the node knows it any more and its nonce was used by another
   * transaction (one sent before a restart and replaced by a hash not logged, or a cancel): the caller asks
   * the chain what became of the work instead.
   */
  async mined(hash: Hash, onSent?: (hash: Hash) => void): Promise<Mined | null> {
    const sent = [hash];
    let known: Transaction | null = null;
    for (;;) {
      const current = sent.at(-1)!;
      const tx = await this.#public.getTransaction({ hash: current }).catch(() => null);
      known = tx ?? known;
      const waiting = tx !== null || (await this.#receipt(current)) !== null;
      if (waiting) {
        const receipt = await this.#confirmed(current);
        if (receipt) return receipt;
        const now = await this.#public.getTransaction({ hash: current }).catch(() => null);
        if (now?.blockNumber != null) continue; // mined, not yet deep enough
      }
      // Unmined after replaceAfterMs, or unknown to the node (dropped from its pool, or never sent).
      if (!known) return null;
      if (await this.#nonceUsed(known)) return this.#firstMined(sent); // another transaction took its nonce
      const again = await this.#resend(known, { to: known.to!, data: known.input, value: known.value });
      if (again) {
        sent.push(again);
        onSent?.(again);
      }
    }
  }

  /** The first of `hashes` the chain holds (one of them took the nonce they share), or null: another did. */
  async #firstMined(hashes: readonly Hash[]): Promise<Mined | null> {
    for (const h of hashes) {
      const r = await this.#receipt(h);
      if (r) return r;
    }
    return null;
  }

  /**
   * Cancels the pending transaction `hash`: a 0-value transfer to the sender at its nonce with higher fees,
   * so a later transaction of the sender is not held behind it. Nothing when it is mined or unknown.
   * Returns the cancel's hash, or null when none was sent.
   */
  async cancel(hash: Hash): Promise<Hash | null> {
    const tx = await this.#public.getTransaction({ hash }).catch(() => null);
    if (!tx || tx.blockNumber != null || (await this.#nonceUsed(tx))) return null;
    return this.#resend(tx, { to: tx.from, data: "0x", value: 0n });
  }

  /** The receipt of `hash` once `confirmations` blocks hold it and it is still in the chain, else null after replaceAfterMs. */
  async #confirmed(hash: Hash): Promise<Mined | null> {
    try {
      await this.#public.waitForTransactionReceipt({ hash, confirmations: this.#confirmations, timeout: this.#replaceAfterMs, retryCount: 0 });
    } catch (e) {
      if (e instanceof WaitForTransactionReceiptTimeoutError) return null;
      throw e;
    }
    // waitForTransactionReceipt counts confirmations from the receipt it first saw: read it again, so a
    // reorganisation that took the transaction out meanwhile is not taken for a confirmation.
    return this.#receipt(hash);
  }

  async #receipt(hash: Hash): Promise<Mined | null> {
    const receipt = await this.#public.getTransactionReceipt({ hash }).catch(() => null);
    return receipt ? { hash, status: receipt.status } : null;
  }

  /** Whether the sender of `tx` has a mined transaction at or after its nonce. */
  async #nonceUsed(tx: Transaction): Promise<boolean> {
    const mined = await this.#public.getTransactionCount({ address: tx.from, blockTag: "latest" });
    return mined > tx.nonce;
  }

  /**
   * Sends `call` at `tx`'s nonce and gas limit, paying at least `bumped` of what `tx` pays and at least what
   * the node estimates now, at most maxFeePerGas; null when the bound leaves no higher fee (waited on), or
   * when the node refuses it (the nonce was used meanwhile: the next round finds out).
   */
  async #resend(tx: Transaction, call: { to: Address; data: Hex; value: bigint }): Promise<Hash | null> {
    const now = await this.#public.estimateFeesPerGas().catch(() => null);
    const common = { account: this.#wallet.account!, chain: this.#wallet.chain ?? null, nonce: tx.nonce, gas: tx.gas, ...call };
    try {
      if (tx.maxFeePerGas !== undefined && tx.maxPriorityFeePerGas !== undefined) {
        const priority = max(bumped(tx.maxPriorityFeePerGas), now?.maxPriorityFeePerGas ?? 0n);
        let fee = max(bumped(tx.maxFeePerGas), now?.maxFeePerGas ?? 0n, priority);
        if (this.#maxFee !== undefined) fee = min(fee, this.#maxFee);
        if (fee < bumped(tx.maxFeePerGas)) return null;
        return await this.#wallet.sendTransaction({ ...common, maxFeePerGas: fee, maxPriorityFeePerGas: min(priority, fee) } as never);
      }
      let price = max(bumped(tx.gasPrice ?? 0n), now?.gasPrice ?? now?.maxFeePerGas ?? 0n);
      if (this.#maxFee !== undefined) price = min(price, this.#maxFee);
      if (price < bumped(tx.gasPrice ?? 0n)) return null;
      return await this.#wallet.sendTransaction({ ...common, gasPrice: price } as never);
    } catch {
      return null;
    }
  }
}

const max = (...xs: bigint[]): bigint => xs.reduce((a, b) => (a > b ? a : b));
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/**
 * What became of a transaction sent before a crash or a lost connection: mined (and whether it succeeded),
 * or unknown (dropped, never left this process, or its nonce used by another). One still waiting is
 * waited for, and replaced with higher fees as `watch` does, so its outcome is never guessed.
 */
export async function sentTransactionOutcome(watch: TransactionWatch, hash: Hash, onSent?: (hash: Hash) => void): Promise<SentOutcome> {
  const mined = await watch.mined(hash, onSent);
  return mined?.status ?? "unknown";
}
