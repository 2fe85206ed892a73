/**
 * sequencer/chain/sentTransactions.ts through CustodianClient, on an in-process Hardhat chain that mines only
 * when told (automine off), with real proofs (test/helpers/provenBatches.ts): a batch transaction whose fee a
 * risen base fee leaves out is sent again at its nonce with higher fees and the replacement is what counts; a
 * post counts once `confirmations` blocks hold it; a transaction sent before a restart is replaced the same way;
 * a transaction of a batch given up is cancelled at its nonce, so the next one is not held behind it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { TransactionNotFoundError, hexToBytes, type Hash, type PublicClient, type WalletClient } from "viem";
import { custodianAbi } from "../../../sequencer/chain/abi.ts";
import { CustodianClient } from "../../../sequencer/chain/custodianClient.ts";
import { TransactionWatch, WatchStopped, bumped, sentTransactionOutcome } from "../../../sequencer/chain/sentTransactions.ts";
import { provenBatches, provenCustodianFixture } from "../../helpers/provenBatches.ts";

const { viem, networkHelpers } = await network.create();
const publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
const testClient = await viem.getTestClient();
const [, operator, other] = (await viem.getWalletClients()) as unknown as WalletClient[];

describe("batch transactions: replaced when stuck, counted once confirmed, cancelled when given up", async () => {
  const { circuit, batches } = await provenBatches(2);
  const fixture = provenCustodianFixture({ viem, networkHelpers }, circuit.verifierSol);
  const batch = (i: number) => ({ publicData: hexToBytes(batches[i].publicData), proof: batches[i].proof });

  /** A fresh custodian (automine on while it is set up), then a chain that mines only when told. */
  async function setup(posting: { confirmations?: number; replaceAfterMs?: number; maxFeePerGas?: bigint }) {
    await testClient.setAutomine(true);
    const { custodian } = await networkHelpers.loadFixture(fixture);
    await testClient.setAutomine(false);
    return new CustodianClient({ publicClient, walletClient: operator, custodian: custodian.address, posting });
  }

  /** Raises the base fee far above what a transaction sent now offers, in an empty block. */
  async function feeSpike(): Promise<bigint> {
    const base = (await publicClient.getBlock()).baseFeePerGas!;
    await testClient.setNextBlockBaseFeePerGas({ baseFeePerGas: base * 100n });
    await testClient.mine({ blocks: 1 });
    return base * 100n;
  }

  const until = async (cond: () => boolean | Promise<boolean>, what: string) => {
    for (let i = 0; i < 400; i++) {
      if (await cond()) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.fail(`timed out waiting for ${what}`);
  };
  /** Sends batch `i` as a process that then crashed would have: the hash is all that is left of it. */
  const sendAndCrash = (client: CustodianClient, i: number): Promise<Hash> =>
    operator.writeContract({ address: client.chain.custodian, abi: custodianAbi, functionName: "submitBatch", args: [batches[i].publicData, batches[i].proof], account: operator.account!, chain: null } as never);
  const receiptOf = (hash: Hash) => publicClient.getTransactionReceipt({ hash }).then(() => true, () => false);

  before(() => testClient.setAutomine(true));
  after(() => testClient.setAutomine(true));

  it("a batch transaction left out by a risen base fee is sent again at its nonce with higher fees; the replacement is mined and returned, the first never is", async () => {
    const client = await setup({ replaceAfterMs: 300 });
    const sent: Hash[] = [];
    const posting = client.submitBatch(0, batch(0).publicData, batch(0).proof, (h) => sent.push(h));
    await until(() => sent.length === 1, "the first send");
    const spike = await feeSpike();
    const first = await publicClient.getTransaction({ hash: sent[0] });
    assert.ok(first.maxFeePerGas! < spike, "the first transaction cannot pay the new base fee");
    await until(() => sent.length === 2, "the replacement");
    const second = await publicClient.getTransaction({ hash: sent[1] });
    assert.equal(second.nonce, first.nonce, "same nonce");
    assert.equal(second.input, first.input, "the same call");
    assert.ok(second.maxFeePerGas! >= bumped(first.maxFeePerGas!) && second.maxFeePerGas! > spike, "a fee the node takes as a replacement, above the base fee");
    await testClient.mine({ blocks: 1 });
    assert.equal(await posting, sent[1]);
    assert.equal(await client.batchCount(), 1);
    assert.equal(await receiptOf(sent[0]), false, "the first is never mined");
  });

  it("a bound on the fee stops the bumping: the transaction is waited on at the highest fee allowed", async () => {
    const client = await setup({ replaceAfterMs: 200, maxFeePerGas: 1n }); // below any fee: no replacement
    const sent: Hash[] = [];
    const posting = client.submitBatch(0, batch(0).publicData, batch(0).proof, (h) => sent.push(h));
    await until(() => sent.length === 1, "the first send");
    await feeSpike();
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(sent.length, 1, "no replacement beyond the bound");
    await testClient.setNextBlockBaseFeePerGas({ baseFeePerGas: 1n });
    await testClient.mine({ blocks: 1 });
    assert.equal(await posting, sent[0]);
  });

  it("a post counts once `confirmations` blocks hold its transaction", async () => {
    const client = await setup({ confirmations: 3, replaceAfterMs: 5_000 });
    const sent: Hash[] = [];
    let done = false;
    const posting = client.submitBatch(0, batch(0).publicData, batch(0).proof, (h) => sent.push(h)).then((h) => ((done = true), h));
    await until(() => sent.length === 1, "the send");
    await testClient.mine({ blocks: 1 });
    await until(() => receiptOf(sent[0]), "the receipt");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(done, false, "one block is not three");
    await testClient.mine({ blocks: 2 });
    assert.equal(await posting, sent[0]);
  });

  it("a transaction sent before a restart and still pending is replaced by sentOutcome, which reports its success", async () => {
    const client = await setup({ replaceAfterMs: 300 });
    const sent = [await sendAndCrash(client, 0)];
    await feeSpike();
    // A new process: only the logged hash is known.
    const restarted = new CustodianClient({ ...client.chain, posting: { replaceAfterMs: 300 } });
    const replaced: Hash[] = [];
    const outcome = restarted.sentOutcome(sent[0], { onSent: (h) => replaced.push(h) });
    await until(() => replaced.length >= 1, "the restarted process's replacement");
    await testClient.mine({ blocks: 1 });
    assert.equal((await outcome).status, "success");
    assert.equal(await client.batchCount(), 1);
  });

  it("cancelPending replaces a pending batch transaction by a 0-value transfer at its nonce: the batch is not posted and the next transaction is not held", async () => {
    const client = await setup({ replaceAfterMs: 60_000 });
    const sent = [await sendAndCrash(client, 0)];
    await feeSpike();
    const { nonce } = await publicClient.getTransaction({ hash: sent[0] });
    const cancel = await client.cancelPending(sent[0]);
    assert.ok(cancel);
    const tx = await publicClient.getTransaction({ hash: cancel });
    assert.equal(tx.to?.toLowerCase(), operator.account!.address.toLowerCase());
    assert.equal(tx.value, 0n);
    assert.equal(tx.nonce, nonce);
    await testClient.mine({ blocks: 1 });
    assert.equal(await receiptOf(cancel), true);
    assert.equal(await receiptOf(sent[0]), false);
    assert.equal(await client.batchCount(), 0, "the given-up batch is not on chain");
    assert.equal(await client.cancelPending(cancel), null, "nothing to cancel once mined");
    const next: Hash[] = [];
    const posting = client.submitBatch(0, batch(0).publicData, batch(0).proof, (h) => next.push(h));
    await until(() => next.length === 1, "the next send");
    await testClient.mine({ blocks: 1 });
    assert.equal(await posting, next[0], "the next batch transaction is mined in the next block");
    assert.equal(await client.batchCount(), 1);
  });
});

/**
 * TransactionWatch alone, on plain transfers (no circuit): every round waits, whatever the node answers; a
 * transaction the node dropped is broadcast again; a first look-up that misses is retried; an earlier hash mined
 * after a replacement counts only at the confirmation depth; `until` ends the wait.
 */
describe("TransactionWatch: never a busy loop, a dropped transaction broadcast again, a lagging node waited for", () => {
  const to = other.account!.address;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** The public client, counting its calls; `hide(hash, n)` makes the n-th look-up of `hash` miss (TransactionNotFoundError), `fail()` every call fail. */
  function counting(hide: (hash: Hash, n: number) => boolean = () => false, fail: () => boolean = () => false) {
    const calls = { n: 0 };
    const seen = new Map<string, number>();
    const client = new Proxy(publicClient, {
      get(t, p, r) {
        const v = Reflect.get(t, p, r);
        if (typeof v !== "function") return v;
        return (...a: { hash?: Hash }[]) => {
          calls.n++;
          if (fail()) return Promise.reject(new Error("429 Too Many Requests"));
          const h = a[0]?.hash;
          if (p === "getTransaction" && h) {
            const k = (seen.get(h) ?? 0) + 1;
            seen.set(h, k);
            if (hide(h, k)) return Promise.reject(new TransactionNotFoundError({ hash: h }));
          }
          return v.apply(t, a);
        };
      },
    }) as PublicClient;
    return { client, calls };
  }

  /** A transfer whose fee a base-fee spike leaves out: pending until the base fee falls. */
  async function pendingTransfer(): Promise<Hash> {
    const base = (await publicClient.getBlock()).baseFeePerGas!;
    const hash = await operator.sendTransaction({ account: operator.account!, chain: null, to, value: 1n, maxFeePerGas: base * 2n, maxPriorityFeePerGas: 1n } as never);
    await testClient.setNextBlockBaseFeePerGas({ baseFeePerGas: base * 100n });
    await testClient.mine({ blocks: 1 });
    return hash;
  }
  const lowerBaseFee = async () => {
    await testClient.setNextBlockBaseFeePerGas({ baseFeePerGas: 1n });
    await testClient.mine({ blocks: 1 });
  };

  before(() => testClient.setAutomine(false));
  after(() => testClient.setAutomine(true));

  it("a transaction dropped from the node's pool at the fee bound: no busy loop, and it is broadcast again and mined", async () => {
    const hash = await pendingTransfer();
    const tx = await publicClient.getTransaction({ hash });
    const { client, calls } = counting();
    const watch = new TransactionWatch(client, operator, { replaceAfterMs: 200, maxFeePerGas: tx.maxFeePerGas!, log: () => {} }); // no replacement: bound
    const mined = watch.mined(hash);
    await sleep(100);
    await testClient.dropTransaction({ hash });
    const before = calls.n;
    await sleep(600);
    assert.ok(calls.n - before < 60, `${calls.n - before} RPC calls in 600 ms`);
    await lowerBaseFee();
    const r = await Promise.race([mined, sleep(2_000).then(() => null)]);
    assert.ok(r, "mined() returns");
    const again = await publicClient.getTransaction({ hash: r.hash });
    assert.deepEqual([again.nonce, again.to, again.value, again.input], [tx.nonce, tx.to, tx.value, tx.input], "its call, broadcast again at its nonce, is mined");
  });

  it("RPC errors other than 'not found' are backed off and logged, never taken for a dropped transaction", async () => {
    const hash = await pendingTransfer();
    let failing = false;
    const { client, calls } = counting(undefined, () => failing);
    const logged: string[] = [];
    const sent: Hash[] = [];
    const watch = new TransactionWatch(client, operator, { replaceAfterMs: 300, log: (l) => logged.push(l) });
    const mined = watch.mined(hash, { onSent: (h) => sent.push(h) });
    await sleep(50);
    failing = true;
    const before = calls.n;
    const t0 = Date.now();
    // (the watch may be inside a receipt wait when the errors start: until its next own call, nothing fails)
    while (!logged.some((l) => /429/.test(l)) && Date.now() - t0 < 3_000) await sleep(25);
    await sleep(150); // failing on for less than replaceAfterMs after the first failure (longer, mined() throws)
    const elapsed = Date.now() - t0;
    failing = false;
    assert.ok(logged.some((l) => /429/.test(l)), "logged");
    assert.ok(((calls.n - before) * 1000) / elapsed < 80, `${calls.n - before} RPC calls in ${elapsed} ms of failures`);
    assert.equal(sent.length, 0, "nothing sent for an error");
    await lowerBaseFee();
    assert.equal((await mined)?.hash, hash);
  });

  it("a node that misses a just-sent transaction at its first look-up (load balancer lag): waited for, not given up", async () => {
    const hash = await pendingTransfer();
    const { client } = counting((_h, n) => n === 1);
    const watch = new TransactionWatch(client, operator, { replaceAfterMs: 300 });
    let settled = false;
    const mined = watch.mined(hash).finally(() => (settled = true));
    await sleep(150);
    assert.equal(settled, false, "still waiting");
    await lowerBaseFee();
    assert.equal((await mined)?.hash, hash);
  });

  it("the original mined after its replacement was sent counts only once `confirmations` blocks hold it, and is the hash returned", async () => {
    const hash = await pendingTransfer();
    const a = await publicClient.getTransaction({ hash });
    const watch = new TransactionWatch(publicClient, operator, { replaceAfterMs: 200, confirmations: 3 });
    const sent: Hash[] = [];
    let result: unknown = undefined;
    const mined = sentTransactionOutcome(watch, hash, { onSent: (h) => sent.push(h) }).then((r) => (result = r));
    for (let i = 0; i < 100 && sent.length === 0; i++) await sleep(25);
    assert.equal(sent.length, 1, "replacement sent");
    await testClient.dropTransaction({ hash: sent[0] }); // the replacement is lost; the original comes back and is mined
    await operator.sendTransaction({
      account: operator.account!, chain: null, to: a.to!, value: a.value, nonce: a.nonce, gas: a.gas, maxFeePerGas: a.maxFeePerGas!, maxPriorityFeePerGas: a.maxPriorityFeePerGas!,
    } as never);
    await lowerBaseFee();
    await sleep(400);
    assert.equal(result, undefined, "one block is not three");
    await testClient.mine({ blocks: 2 });
    await mined;
    assert.deepEqual(result, { status: "success", hash });
  });

  it("`until` ends the wait for a pending transaction (WatchStopped)", async () => {
    const hash = await pendingTransfer();
    let stop = false;
    const watch = new TransactionWatch(publicClient, operator, { replaceAfterMs: 100, maxFeePerGas: 1n });
    const mined = watch.mined(hash, { until: async () => stop });
    await sleep(150);
    stop = true;
    await assert.rejects(Promise.race([mined, sleep(1_000).then(() => "still waiting")]), WatchStopped);
    await lowerBaseFee();
  });
});

describe("TransactionWatch on a legacy (gasPrice) chain", async () => {
  const legacy = await network.create({ override: { hardfork: "berlin" } } as never);
  const legacyPublic = (await legacy.viem.getPublicClient()) as unknown as PublicClient;
  const legacyTest = await legacy.viem.getTestClient();
  const [, legacyOperator, legacyOther] = (await legacy.viem.getWalletClients()) as unknown as WalletClient[];

  it("a replacement pays at least the node's gas price", async () => {
    await legacyTest.setAutomine(false);
    const nodePrice = await legacyPublic.getGasPrice();
    const hash = await legacyOperator.sendTransaction({ account: legacyOperator.account!, chain: null, to: legacyOther.account!.address, value: 1n, gasPrice: 1000n } as never);
    const watch = new TransactionWatch(legacyPublic, legacyOperator, { replaceAfterMs: 100, log: () => {} });
    const sent: Hash[] = [];
    const mined = watch.mined(hash, { onSent: (h) => sent.push(h) });
    for (let i = 0; i < 80 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(sent.length, 1, "replaced");
    const r = await legacyPublic.getTransaction({ hash: sent[0] });
    assert.ok(r.gasPrice! >= nodePrice && nodePrice > bumped(1000n), `replacement gasPrice ${r.gasPrice}, the node's ${nodePrice}`);
    await legacyTest.mine({ blocks: 1 });
    await mined;
    await legacyTest.setAutomine(true);
  });
});
