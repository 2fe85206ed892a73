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
import { hexToBytes, type Hash, type PublicClient, type WalletClient } from "viem";
import { custodianAbi } from "../../../sequencer/chain/abi.ts";
import { CustodianClient } from "../../../sequencer/chain/custodianClient.ts";
import { bumped } from "../../../sequencer/chain/sentTransactions.ts";
import { provenBatches, provenCustodianFixture } from "../../helpers/provenBatches.ts";

const { viem, networkHelpers } = await network.create();
const publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
const testClient = await viem.getTestClient();
const [, operator] = (await viem.getWalletClients()) as unknown as WalletClient[];

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
    const outcome = restarted.sentOutcome(sent[0], (h) => replaced.push(h));
    await until(() => replaced.length >= 1, "the restarted process's replacement");
    await testClient.mine({ blocks: 1 });
    assert.equal(await outcome, "success");
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
