/**
 * A deeper batch pipeline (issue 14): with `pipelineDepth` > 1 the next batch is built, logged and
 * handed to the prover while the one before it is still being proven, each on the state the previous
 * one leaves; with `batchesPerPost` > 1 the proven batches at the head of the flight go on chain in one
 * Custodian.submitBatches transaction. A restart replays every batch in flight (proving again the ones
 * whose proof was not logged), and an abandonment takes every batch after the abandoned one with it.
 * Each test runs against the in-memory custodian with a prover whose proofs finish when the test says.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import type { LogRecord } from "../../../sequencer/persistence/records.ts";
import { signWithdrawal } from "../../../sequencer/protocol/signing.ts";
import type { BatchStage, Sequencer, SequencerOptions } from "../../../sequencer/service/sequencer.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import type { ExpectedSignals, VerifiedProver } from "../../../fpga-prover/prover.ts";
import { dummyProof, FakeCustodian } from "../../helpers/fakeCustodian.ts";
import { alice, durableSequencer, removeDurableSequencers } from "../../helpers/sequencer.ts";

afterEach(removeDurableSequencers);

const T0 = 1_700_000_000;
const MAX_AGE = 600;

/**
 * A prover whose proof of job `n` is answered when the test calls `finish(n)` (at once while `open`):
 * `started` holds the job ids asked for, in order; `whenStarted(k)` resolves once k jobs were asked for.
 */
function heldProver() {
  const finishers = new Map<number, () => void>();
  const waiters: { k: number; resolve: () => void }[] = [];
  const p = {
    open: false,
    started: [] as number[],
    async prove(jobId: number, _keys: unknown, _input: unknown, expected: ExpectedSignals) {
      p.started.push(jobId);
      for (const w of waiters.filter((x) => p.started.length >= x.k)) w.resolve();
      if (!p.open) await new Promise<void>((resolve) => finishers.set(jobId, resolve));
      return dummyProof(expected);
    },
    whenStarted: (k: number) => (p.started.length >= k ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ k, resolve }))),
    finish(jobId: number) {
      const f = finishers.get(jobId);
      if (!f) throw new Error(`no proof of job ${jobId} is waiting`);
      finishers.delete(jobId);
      f();
    },
  };
  return p;
}

/** A durable sequencer on the in-memory custodian (block time `clock.now`) with the fixture's requests proven, then the given pipeline settings. */
async function setup(overrides: Partial<SequencerOptions>) {
  const clock = { now: T0 };
  const chain = new FakeCustodian(new ExchangeState(TEST_PARAMS).root);
  chain.blockTime = () => clock.now;
  const prover = heldProver();
  prover.open = true;
  let armed: BatchStage | null = null;
  const onBatchStage = (stage: BatchStage) => {
    if (stage === armed) {
      armed = null;
      throw new Error(`crash at ${stage}`);
    }
  };
  const d = durableSequencer({ chain: chain.context(), prover: prover as unknown as VerifiedProver, clock: () => clock.now, onBatchStage, snapshotEvery: 0, ...overrides });
  await d.sequencer.drain();
  prover.open = false;
  prover.started.length = 0;
  return { d, s: d.sequencer, chain, clock, prover, crashAt: (stage: BatchStage) => (armed = stage), setupBatches: chain.batches.length };
}

/** `count` withdrawals of 1 quote unit by alice, nonces from `from`: one spot slot each. */
function withdrawals(s: Sequencer, count: number, from = 0): void {
  for (let i = 0; i < count; i++) s.requestWithdrawal(signWithdrawal(alice.key, { accountId: alice.accountId, tokenId: 0, amount: 1n, nonce: from + i }));
}

function logged(d: ReturnType<typeof durableSequencer>): LogRecord[] {
  return [...d.store.records(0)].map(({ record }) => record);
}

/** The records of the batch pipeline after the setup's, as `t:batchNumber` strings. */
function batchSteps(d: ReturnType<typeof durableSequencer>, firstBatch: number): string[] {
  return logged(d).flatMap((r) => ("batchNumber" in r && r.batchNumber >= firstBatch ? [`${r.t}:${r.batchNumber}`] : []));
}

describe("a deeper batch pipeline (issue 14)", () => {
  it("builds, logs and proves the next batch while the one before it is proven, and posts both in one transaction", async () => {
    const { d, s, chain, prover, setupBatches: n } = await setup({ pipelineDepth: 2, batchesPerPost: 3 });
    const posts = chain.posts.length;
    withdrawals(s, 5); // two full batches (2 spot slots each) and one withdrawal left
    const run = s.runBatches();
    await prover.whenStarted(2);
    assert.deepEqual(prover.started, [n, n + 1], "batch n + 1 went to the prover before batch n's proof came back");
    assert.deepEqual(batchSteps(d, n), [`batch:${n}`, `batch:${n + 1}`], "both logged once built, nothing proven yet");
    assert.equal(s.batchesInFlight, 2);
    assert.equal(s.unpostedBatch, n);
    assert.equal(s.state.openTransactions, 2, "one state transaction per batch in flight");
    assert.equal(s.pendingTransactions, 5, "in flight or queued, none on chain");
    prover.finish(n + 1);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(chain.batches.length, n, "nothing is posted before the oldest batch is proven");
    prover.finish(n);
    const posted = await run;
    assert.deepEqual(posted.map((p) => [p.batchNumber, p.transactions]), [[n, 2], [n + 1, 2]]);
    assert.equal(posted[0].txHash, posted[1].txHash, "one transaction");
    assert.deepEqual(chain.posts.slice(posts), [2], "Custodian.submitBatches took both");
    assert.equal(chain.root, s.state.root);
    assert.equal(s.state.openTransactions, 0, "both committed: no undo entries kept");
    assert.deepEqual(batchSteps(d, n), [
      `batch:${n}`, `batch:${n + 1}`, `proved:${n}`, `proved:${n + 1}`, `sent:${n}`, `sent:${n + 1}`, `posted:${n}`, `posted:${n + 1}`,
    ]);
    prover.open = true;
    assert.deepEqual((await s.drain()).map((p) => p.transactions), [1], "the last withdrawal, alone");
    assert.equal(s.state.account(alice.accountId).nonce, 5);
    assert.equal(chain.root, s.state.root);
  });

  it("after a crash with two batches in flight, the first proven and the second not, a restart proves the second again and posts both once, together", async () => {
    const { d, s, chain, prover, crashAt, setupBatches: n } = await setup({ pipelineDepth: 2, batchesPerPost: 2 });
    withdrawals(s, 4);
    const run = s.runBatches();
    await prover.whenStarted(2);
    crashAt("proved"); // the process dies once batch n's proof is logged, batch n + 1 still being proven
    prover.finish(n);
    await assert.rejects(run, /crash at proved/);
    assert.deepEqual(batchSteps(d, n), [`batch:${n}`, `batch:${n + 1}`, `proved:${n}`]);
    const again = heldProver();
    again.open = true;
    const restarted = d.reopen({ prover: again as unknown as VerifiedProver });
    assert.equal(restarted.unpostedBatch, n);
    assert.equal(restarted.batchesInFlight, 2, "both batches replayed in flight");
    assert.equal(restarted.pendingTransactions, 4);
    const posted = await restarted.runBatches();
    assert.deepEqual(again.started, [n + 1], "only the batch whose proof was not logged is proven again");
    assert.deepEqual(posted.map((p) => p.batchNumber), [n, n + 1], "batch n waited for batch n + 1's proof: one transaction");
    assert.equal(chain.posts.at(-1), 2);
    assert.equal(chain.batches.length, n + 2, "each posted once");
    assert.equal(chain.root, restarted.state.root);
    assert.equal(restarted.pendingTransactions, 0);
    assert.equal(restarted.state.account(alice.accountId).nonce, 4);
    assert.deepEqual(d.reopen().snapshot(), restarted.snapshot(), "the log replays to the same state");
  });

  it("abandoning the oldest batch in flight takes the batches after it with it: one record, every entry back in order, rebuilt and posted", async () => {
    const { d, s, chain, clock, prover, setupBatches: n } = await setup({ pipelineDepth: 2, batchesPerPost: 2 });
    withdrawals(s, 4);
    chain.refuseNextSend = true; // the node is down when the two proven batches are sent
    const run = s.runBatches();
    await prover.whenStarted(2);
    prover.finish(n);
    prover.finish(n + 1);
    await assert.rejects(run, /node unreachable/);
    assert.equal(s.batchesInFlight, 2, "both stay in flight, proven");
    clock.now += MAX_AGE + 1; // too late for both
    prover.open = true;
    const posted = await s.runBatches();
    const abandons = logged(d).filter((r) => r.t === "abandon");
    assert.equal(abandons.length, 1);
    assert.equal(abandons[0].t === "abandon" && abandons[0].batchNumber, n, "one record names the oldest; the rest go with it");
    assert.match(abandons[0].t === "abandon" ? abandons[0].reason : "", /MAX_BATCH_AGE/);
    assert.deepEqual(posted.map((p) => [p.batchNumber, p.transactions]), [[n, 2], [n + 1, 2]], "rebuilt under fresh stamps and the same numbers");
    assert.equal(chain.lastTimestamp, clock.now, "stamped at chain time after the abandonment");
    assert.equal(chain.root, s.state.root);
    assert.equal(s.state.account(alice.accountId).nonce, 4, "the four withdrawals, in their nonce order");
    assert.deepEqual(d.reopen().snapshot(), s.snapshot(), "the abandonment replays");
  });

  it("a transaction of two batches refused for the second's oracle update (OracleKeyMismatch) posts the first alone; only the second is abandoned, rebuilt and posted", async () => {
    const { d, s, chain, prover, setupBatches: n } = await setup({ pipelineDepth: 2, batchesPerPost: 2 });
    const posts = chain.posts.length;
    withdrawals(s, 4);
    chain.refuseOracleKey = { batchNumber: n + 1, times: 2 }; // batch n + 1 carries an update under the replaced key
    prover.open = true;
    const posted = [];
    for (let run = 0; run < 4 && s.pendingTransactions; run++) posted.push(...(await s.runBatches()));
    assert.deepEqual(posted.map((p) => [p.batchNumber, p.transactions]), [[n, 2], [n + 1, 2]]);
    const abandons = logged(d).filter((r) => r.t === "abandon");
    assert.deepEqual(abandons.map((r) => r.t === "abandon" && r.batchNumber), [n + 1], "batch n, which the custodian takes, is not built again");
    assert.match(abandons[0].t === "abandon" ? abandons[0].reason : "", /OracleKeyMismatch/);
    assert.deepEqual(chain.posts.slice(posts), [1, 1], "batch n alone, then the rebuilt n + 1");
    assert.equal(prover.started.filter((j) => j === n).length, 1, "batch n proven once");
    assert.equal(chain.root, s.state.root);
    assert.equal(s.state.account(alice.accountId).nonce, 4);
    assert.deepEqual(d.reopen().snapshot(), s.snapshot(), "the log replays");
  });

  it("with one batch per transaction, the oldest is posted as soon as it is proven, while the next one is still being proven", async () => {
    const { s, chain, prover, setupBatches: n } = await setup({ pipelineDepth: 2 });
    withdrawals(s, 4);
    const run = s.runBatches();
    await prover.whenStarted(2);
    prover.finish(n);
    assert.deepEqual((await run).map((p) => p.batchNumber), [n], "posted without waiting for batch n + 1");
    assert.equal(chain.batches.length, n + 1);
    assert.equal(s.batchesInFlight, 1, "batch n + 1 still being proven, its state above the chain's");
    assert.notEqual(s.state.root, chain.root);
    prover.finish(n + 1);
    assert.deepEqual((await s.runBatches()).map((p) => p.batchNumber), [n + 1]);
    assert.equal(s.state.root, chain.root);
  });

  it("a batch behind others is built only once the queue fills a batch: a trickle is not cut into small batches", async () => {
    const { s, prover, setupBatches: n } = await setup({ pipelineDepth: 3 });
    withdrawals(s, 3); // one full batch and one withdrawal
    const run = s.runBatches();
    await prover.whenStarted(1);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(prover.started, [n], "the lone withdrawal waits for more or for the flight to empty");
    assert.equal(s.batchesInFlight, 1);
    prover.open = true;
    prover.finish(n);
    assert.deepEqual((await run).map((p) => p.transactions), [2]);
    assert.deepEqual((await s.drain()).map((p) => p.transactions), [1]);
  });
});
