/**
 * Posting a batch whose transaction waits in the node's pool (sequencer/chain/sentTransactions.ts through the
 * batch pipeline), on the in-memory custodian with a transaction pool (PendingChain below): a batch transaction
 * still pending once its stamp is past MAX_BATCH_AGE ends the wait, is cancelled at its nonce and the batch is
 * abandoned and rebuilt in the same run; after a restart, the `posted` record names the transaction that was
 * mined (the original, not its replacement), and every logged hash of the batch is considered.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { TransactionNotFoundError, TransactionReceiptNotFoundError, WaitForTransactionReceiptTimeoutError, type Hash, type Hex } from "viem";
import { Side } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import type { Withdrawal } from "../../../sequencer/protocol/messages.ts";
import type { PostedRecord, SentRecord } from "../../../sequencer/persistence/records.ts";
import { signWithdrawal } from "../../../sequencer/protocol/signing.ts";
import type { ChainContext } from "../../../sequencer/chain/custodianClient.ts";
import type { BatchStage, Sequencer } from "../../../sequencer/service/sequencer.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { countingProver, FakeCustodian } from "../../helpers/fakeCustodian.ts";
import { alice, bob, durableSequencer, removeDurableSequencers } from "../../helpers/sequencer.ts";
import { order } from "../../helpers/traders.ts";

afterEach(removeDurableSequencers);

const T0 = 1_700_000_000;
const MAX_AGE = 600;
const FROM = "0x0000000000000000000000000000000000000001" as Hex;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type PoolTx = {
  hash: Hash; from: Hex; to: Hex; nonce: number; input: Hex; value: bigint; gas: bigint;
  maxFeePerGas: bigint; maxPriorityFeePerGas: bigint; blockNumber: bigint | null; type: "eip1559";
};

/**
 * The in-memory custodian with a node's pool: a batch transaction sent while `holdNext` is set stays pending until
 * the test mines it (mine: applied to the custodian then, whichever transaction of its nonce it is); a transaction
 * sent at a pending one's nonce with 10% higher fees replaces it (a cancel too: a 0-value transfer).
 */
class PendingChain extends FakeCustodian {
  holdNext = false;
  readonly pool = new Map<Hash, PoolTx>();
  readonly minedTxs = new Map<Hash, PoolTx & { status: "success" | "reverted" }>();
  /** Every transaction sent, replacements and cancels included. */
  readonly sentLog: PoolTx[] = [];
  /** Told each transaction sent at a pending one's nonce. */
  onReplacement: ((tx: PoolTx) => void) | undefined;
  #minedCount = 0;
  #seq = 0;
  readonly #calls = new Map<Hex, unknown>();
  #base: ChainContext | undefined;

  /** The base fake's chain, its pool in front of it. */
  override context(): ChainContext {
    const base = super.context();
    this.#base = base;
    const publicClient = {
      ...(base.publicClient as object),
      getTransaction: async ({ hash }: { hash: Hash }) => {
        const t = this.pool.get(hash) ?? this.minedTxs.get(hash);
        if (!t) throw new TransactionNotFoundError({ hash });
        return { ...t };
      },
      getTransactionReceipt: async ({ hash }: { hash: Hash }) => {
        const t = this.minedTxs.get(hash);
        if (!t) throw new TransactionReceiptNotFoundError({ hash });
        return { status: t.status, blockNumber: t.blockNumber, transactionHash: hash };
      },
      waitForTransactionReceipt: async ({ hash, timeout }: { hash: Hash; timeout?: number }) => {
        const end = Date.now() + (timeout ?? 180_000);
        for (;;) {
          const t = this.minedTxs.get(hash);
          if (t) return { status: t.status };
          if (Date.now() > end) throw new WaitForTransactionReceiptTimeoutError({ hash });
          await sleep(5);
        }
      },
      getTransactionCount: async () => this.#minedCount,
      estimateFeesPerGas: async () => ({ maxFeePerGas: 10n, maxPriorityFeePerGas: 1n }),
    };
    const walletClient = { ...(base.walletClient as object), chain: null, writeContract: (request: unknown) => this.#write(request), sendTransaction: (a: PoolTx & { data: Hex }) => this.#sendRaw(a) };
    return { ...base, publicClient, walletClient, posting: { replaceAfterMs: 50, log: () => {} } } as unknown as ChainContext;
  }

  /** A batch transaction: into the pool at the next nonce, mined at once unless holdNext. */
  async #write(request: unknown): Promise<Hash> {
    const input = `0x${(++this.#seq).toString(16).padStart(8, "0")}` as Hex;
    this.#calls.set(input, request);
    const tx: PoolTx = {
      hash: `0xa${this.#seq.toString(16).padStart(63, "0")}`, from: FROM, to: "0x0000000000000000000000000000000000000002", nonce: this.#minedCount + this.pool.size,
      input, value: 0n, gas: 1_000_000n, maxFeePerGas: 10n, maxPriorityFeePerGas: 1n, blockNumber: null, type: "eip1559",
    };
    this.sentLog.push(tx);
    this.pool.set(tx.hash, tx);
    if (this.holdNext) this.holdNext = false;
    else await this.mine(tx);
    return tx.hash;
  }

  /** A transaction at a given nonce (a replacement, a cancel): it replaces a pending one paying 10% less. */
  async #sendRaw(a: PoolTx & { data: Hex }): Promise<Hash> {
    if (a.nonce < this.#minedCount) throw new Error("nonce too low");
    const old = [...this.pool.values()].find((t) => t.nonce === a.nonce);
    if (old && a.maxFeePerGas < old.maxFeePerGas + old.maxFeePerGas / 10n) throw new Error("replacement transaction underpriced");
    const tx: PoolTx = {
      hash: `0xb${(++this.#seq).toString(16).padStart(63, "0")}`, from: FROM, to: a.to, nonce: a.nonce, input: a.data, value: a.value, gas: a.gas,
      maxFeePerGas: a.maxFeePerGas, maxPriorityFeePerGas: a.maxPriorityFeePerGas, blockNumber: null, type: "eip1559",
    };
    if (old) this.pool.delete(old.hash);
    this.pool.set(tx.hash, tx);
    this.sentLog.push(tx);
    this.onReplacement?.(tx);
    return tx.hash;
  }

  /** Mines `tx` (in our node's pool or not: another node's block may hold it): its call applied to the custodian, its nonce's others dropped. */
  async mine(tx: PoolTx): Promise<"success" | "reverted"> {
    for (const [h, p] of this.pool) if (p.nonce === tx.nonce) this.pool.delete(h);
    const call = this.#calls.get(tx.input);
    const apply = call ? (this.#base!.walletClient as unknown as { writeContract: (r: unknown) => Promise<unknown> }).writeContract(call) : Promise.resolve();
    const status = await apply.then(() => "success" as const, () => "reverted" as const);
    this.minedTxs.set(tx.hash, { ...tx, blockNumber: BigInt(++this.#minedCount), status });
    return status;
  }
}

const withdrawal = (t: typeof alice, w: Omit<Withdrawal, "accountId">) => signWithdrawal(t.key, { accountId: t.accountId, ...w });

/** A durable sequencer on a PendingChain whose block time is `clock.now`; `crashAtSent(n)`: the n-th `sent` stage from now throws, as a crash would. */
async function setup() {
  const clock = { now: T0 };
  const chain = new PendingChain(new ExchangeState(TEST_PARAMS).root);
  chain.blockTime = () => clock.now;
  let sentLeft = 0;
  const onBatchStage = (stage: BatchStage) => {
    if (stage === "sent" && sentLeft > 0 && --sentLeft === 0) throw new Error("crash at sent");
  };
  const d = durableSequencer({ chain: chain.context(), prover: countingProver(), clock: () => clock.now, onBatchStage, snapshotEvery: 0 });
  await d.sequencer.drain();
  return { d, s: d.sequencer, chain, clock, crashAtSent: (n: number) => (sentLeft = n) };
}

/** A fill and a withdrawal: two transactions for the next batch. */
function trade(s: Sequencer): void {
  s.placeOrder(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 10n, expiry: 2_000_000_000 }));
  s.placeOrder(order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 90n, sizeLots: 4n }));
  s.requestWithdrawal(withdrawal(alice, { tokenId: 0, amount: 1n, nonce: 0 }));
}

/** The logged records of type `t`. */
function records<R>(d: ReturnType<typeof durableSequencer>, t: string): R[] {
  return [...d.store.records(0)].flatMap(({ record }) => (record.t === t ? [record as R] : []));
}

describe("a batch transaction waiting in the node's pool", () => {
  it("is given up once its stamp is past MAX_BATCH_AGE: the wait ends, its transaction is cancelled at its nonce, the batch is rebuilt and posted in the same run", async () => {
    const { d, s, chain, clock } = await setup();
    trade(s);
    chain.holdNext = true;
    const run = s.runBatch();
    await sleep(150); // pending: replaced with higher fees meanwhile
    const first = chain.sentLog.filter((t) => t.hash.startsWith("0xa")).at(-1)!;
    assert.ok(chain.sentLog.at(-1)!.hash.startsWith("0xb"), "replaced while pending");
    clock.now += MAX_AGE + 100; // no block can take the batch any more
    const posted = await Promise.race([run, sleep(1_000).then(() => "still waiting" as const)]);
    assert.notEqual(posted, "still waiting", "runBatch returns");
    assert.equal((posted as { transactions: number }).transactions, 2, "the rebuilt batch is posted");
    const cancels = chain.sentLog.filter((t) => t.value === 0n && t.input === "0x" && t.to === FROM);
    assert.equal(cancels.length, 1, "the pending transaction is cancelled");
    assert.equal(cancels[0].nonce, first.nonce, "at its nonce");
    assert.match(records<{ reason: string }>(d, "abandon")[0].reason, /more than MAX_BATCH_AGE/);
    assert.equal(chain.root, s.state.root);
    assert.equal(s.health().ok, true);
  });

  it("after a restart, the original transaction mined after its replacement was sent: the posted record and the batch name the original", async () => {
    const { d, s, chain, crashAtSent } = await setup();
    trade(s);
    chain.holdNext = true;
    crashAtSent(1);
    await assert.rejects(s.runBatch(), /crash at sent/);
    const a = chain.sentLog.at(-1)!;
    chain.onReplacement = (tx) => {
      chain.onReplacement = undefined;
      setTimeout(() => void chain.mine(a), 10); // another node's block held the original
    };
    const again = d.reopen();
    const posted = await again.runBatch();
    assert.equal(posted?.txHash, a.hash, "the hash mined");
    assert.equal(records<PostedRecord>(d, "posted").at(-1)?.txHash, a.hash);
    assert.ok(records<SentRecord>(d, "sent").some((r) => r.txHash !== a.hash), "a replacement was sent and logged");
    assert.equal(chain.root, again.state.root);
  });

  it("after a restart, every logged hash of the batch is looked for: the original mined while only its replacement was the newest logged", async () => {
    const { d, s, chain, crashAtSent } = await setup();
    trade(s);
    chain.holdNext = true;
    crashAtSent(2); // the replacement's `sent` record is logged, then the process dies
    await assert.rejects(s.runBatch(), /crash at sent/);
    const [a, b] = chain.sentLog.slice(-2);
    assert.deepEqual(records<SentRecord>(d, "sent").slice(-2).map((r) => r.txHash), [a.hash, b.hash]);
    await chain.mine(a); // the original was mined after all; the replacement leaves the pool
    const sends = chain.sentLog.length;
    const again = d.reopen();
    const posted = await again.runBatch();
    assert.equal(posted?.txHash, a.hash, "found among the logged hashes, not 'already on chain'");
    assert.equal(records<PostedRecord>(d, "posted").at(-1)?.txHash, a.hash);
    assert.equal(chain.sentLog.length, sends, "nothing sent again");
    assert.equal(chain.root, again.state.root);
  });
});
