/**
 * Sequencer durability in one process: a Sequencer over a store is dropped (as a crash drops it; the
 * store loses only what was not committed) and a new one is opened on the same file. It must rebuild
 * the same books, reservations, order slots, nonces, pending transactions and state, from the whole log
 * or from a snapshot plus the log after it, and post a batch proven before the crash exactly once.
 * The chain is an in-memory custodian (test/helpers/fakeCustodian.ts); the real chain and real SIGKILLs
 * are in test/e2e/crashRecovery.test.ts.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { DatabaseSync } from "../../../sequencer/persistence/sqlite.ts";
import { Side } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { signCancel, signWithdrawal } from "../../../sequencer/sdk/signing.ts";
import { RequestRejected, Sequencer, type BatchStage, type SequencerOptions } from "../../../sequencer/service/sequencer.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { countingProver, FakeCustodian } from "../../helpers/fakeCustodian.ts";
import { admitFixtureRequests, alice, bob, durableSequencer, offlineSequencerOptions, removeDurableSequencers } from "../../helpers/sequencer.ts";
import { order } from "../../helpers/traders.ts";

afterEach(removeDurableSequencers);

const durable = durableSequencer;

/** Intake of every kind: resting orders, fills (maker and taker), a group, refusals of each kind, a cancel, a withdrawal. */
async function trade(s: Sequencer): Promise<void> {
  s.placeOrder(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 10n }));
  s.placeOrder(order(bob, { orderId: 2n, side: Side.SELL, priceTicks: 95n, sizeLots: 5n }));
  s.placeOrder(order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 100n, sizeLots: 12n }));
  await s.placeOrders([
    order(alice, { orderId: 2n, side: Side.BUY, priceTicks: 80n, sizeLots: 3n }),
    order(alice, { orderId: 3n, side: Side.BUY, priceTicks: 1n << 30n, sizeLots: 10n }), // refused by risk (takes a seq)
    order(bob, { orderId: 3n, side: Side.SELL, priceTicks: 120n, sizeLots: 4n }),
  ]);
  assert.throws(() => s.placeOrder(order(alice, { orderId: 2n, side: Side.BUY })), RequestRejected);
  s.cancelOrder(signCancel(bob.key, { accountId: 2, orderId: 3n }));
  s.requestWithdrawal(signWithdrawal(alice.key, { accountId: 1, tokenId: 1, amount: 1000n, nonce: 0 }));
}

describe("sequencer recovery from its log", () => {
  it("rebuilds the books, reservations, order slots, nonces, pending transactions and state from the log, reading no clock", async () => {
    const d = durable({ snapshotEvery: 0 });
    // A twin that never crashes, fed the same commands at the same times.
    let twinTime = 1_700_000_000;
    let twinClock = () => twinTime++;
    const twin = admitFixtureRequests(new Sequencer(offlineSequencerOptions({ clock: () => twinClock() })));
    await trade(d.sequencer);
    await trade(twin);
    let replayed = false;
    const recovered = d.reopen({
      clock: () => {
        if (!replayed) throw new Error("replay read the clock");
        return 1_900_000_000;
      },
    });
    replayed = true;
    assert.deepEqual(recovered.snapshot(), twin.snapshot());
    assert.deepEqual(recovered.peekPending(), twin.peekPending());
    // Both carry on identically (engine sequence numbers included).
    twinClock = () => 1_900_000_000;
    const next = order(alice, { orderId: 4n, side: Side.BUY, priceTicks: 120n, sizeLots: 2n });
    assert.deepEqual(recovered.placeOrder(next), twin.placeOrder(next));
    assert.deepEqual(recovered.snapshot(), twin.snapshot());
  });

  it("writes nothing for a refused request", () => {
    const d = durable();
    const s = d.sequencer;
    const seq = d.store.lastSeq;
    assert.throws(() => s.placeOrder({ ...order(alice, { orderId: 1n, side: Side.BUY }), priceTicks: 101n }), (e: unknown) => e instanceof RequestRejected && e.code === "BAD_SIGNATURE");
    assert.throws(() => s.requestWithdrawal(signWithdrawal(alice.key, { accountId: 1, tokenId: 0, amount: 1n, nonce: 5 })), (e: unknown) => e instanceof RequestRejected && e.code === "BAD_NONCE");
    assert.throws(() => s.requestWithdrawal(signWithdrawal(alice.key, { accountId: 1, tokenId: 0, amount: 1n << 90n, nonce: 0 })), (e: unknown) => e instanceof RequestRejected && e.code === "INSUFFICIENT_BALANCE");
    assert.equal(d.store.lastSeq, seq);
  });

  it("reaches the same state from a snapshot plus the log after it as from the whole log", async () => {
    const d = durable({ snapshotEvery: 4 });
    await trade(d.sequencer);
    const snap = d.store.latestSnapshot();
    assert.ok(snap && snap.seq > 0 && snap.seq < d.store.lastSeq, "a snapshot covers part of the log");
    const fromSnapshot = d.reopen();
    const fromLog = d.reopen({ recoverFrom: "log" });
    assert.deepEqual(fromSnapshot.snapshot(), fromLog.snapshot());
  });

  it("with deferred commits, makes a turn's calls durable together by the time durable() resolves", async () => {
    const d = durable({ commit: "deferred" });
    // Another connection sees committed rows only.
    const committed = () => {
      const db = new DatabaseSync(d.path);
      const n = (db.prepare("SELECT COUNT(*) AS n FROM log").get() as { n: number }).n;
      db.close();
      return n;
    };
    await d.sequencer.durable(); // the fixture's requests
    const before = committed();
    assert.equal(before, 5);
    d.sequencer.placeOrder(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 10n }));
    d.sequencer.placeOrder(order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 100n, sizeLots: 4n }));
    assert.equal(committed(), before, "nothing is committed within the turn");
    await d.sequencer.durable();
    assert.equal(committed(), before + 2);
    assert.deepEqual(d.reopen().snapshot(), d.sequencer.snapshot());
  });

  it("refuses a log that does not replay, naming the record", async () => {
    const d = durable({ snapshotEvery: 0 });
    await trade(d.sequencer);
    d.store.close();
    const db = new DatabaseSync(d.path);
    db.prepare("UPDATE log SET body = replace(body, '\"nonce\":0', '\"nonce\":7') WHERE body LIKE '%\"withdraw\"%'").run();
    db.close();
    assert.throws(() => d.reopen(), /log record \d+ \(withdraw\) does not replay: BAD_NONCE/);
  });
});

describe("sequencer batches across a crash", () => {
  /** A durable sequencer on the fake chain that "crashes" (throws) at `stage` of batch 0. */
  function onChain(crashAt?: BatchStage, overrides: Partial<SequencerOptions> = {}) {
    const chain = new FakeCustodian(new ExchangeState(TEST_PARAMS).root);
    const prover = countingProver();
    let armed = crashAt;
    const onBatchStage = (stage: BatchStage) => {
      if (stage === armed) {
        armed = undefined;
        throw new Error(`crash at ${stage}`);
      }
    };
    const d = durable({ chain: chain.context(), prover, onBatchStage, ...overrides });
    return { d, chain, prover };
  }

  it("posts a batch proven before the crash once, without proving it again", async () => {
    const { d, chain, prover } = onChain("proved");
    await assert.rejects(d.sequencer.runBatch(), /crash at proved/);
    assert.equal(chain.sends, 0);
    const s = d.reopen();
    assert.equal(s.unpostedBatch, 0);
    assert.equal((await s.runBatch())?.batchNumber, 0);
    assert.deepEqual([chain.sends, chain.batches.length, prover.calls], [1, 1, 1]);
    assert.equal(s.state.root, chain.root);
    assert.equal(s.pendingTransactions, 3);
  });

  it("does not send again a batch whose transaction went out before the crash", async () => {
    const { d, chain, prover } = onChain("sent");
    await assert.rejects(d.sequencer.runBatch(), /crash at sent/);
    assert.deepEqual([chain.sends, chain.batches.length], [1, 1]);
    const s = d.reopen();
    const posted = await s.runBatch();
    assert.equal(posted?.batchNumber, 0);
    assert.deepEqual([chain.sends, chain.batches.length, prover.calls], [1, 1, 1]);
    assert.equal((await s.runBatch())?.batchNumber, 1);
    assert.equal(s.state.root, chain.root);
  });

  it("sends again, once, a batch whose transaction the node dropped", async () => {
    const { d, chain } = onChain();
    chain.dropNext = true;
    await assert.rejects(d.sequencer.runBatch(), /not found/);
    const s = d.reopen();
    assert.equal(s.unpostedBatch, 0);
    await s.runBatch();
    assert.deepEqual([chain.sends, chain.batches.length], [2, 1]);
    assert.equal(s.state.root, chain.root);
  });

  it("retries a failed post with the same proof, then carries on; a restart after posting replays to the chain's root", async () => {
    const { d, chain, prover } = onChain(undefined, { snapshotEvery: 2 });
    chain.refuseNextSend = true;
    await assert.rejects(d.sequencer.runBatch(), /node unreachable/);
    assert.equal(d.sequencer.unpostedBatch, 0);
    assert.equal(d.sequencer.pendingTransactions, 5, "the batch in flight still counts as pending");
    await d.sequencer.drain();
    assert.deepEqual([chain.batches.length, prover.calls], [3, 3]);
    const s = d.reopen();
    assert.equal(s.unpostedBatch, null);
    assert.equal(s.pendingTransactions, 0);
    assert.equal(s.state.root, chain.root);
    assert.ok(d.store.latestSnapshot()!.seq > 0, "snapshots were taken between batches");
    assert.deepEqual(s.snapshot(), d.reopen({ recoverFrom: "log" }).snapshot(), "snapshot + tail = whole log, across batches");
  });
});
