/**
 * One slow moment must never stop settlement (issue 11): a proven batch that cannot reach the chain
 * before the custodian's MAX_BATCH_AGE (a node outage, a proof that outlasts the margin, a restart
 * that took long) is abandoned, logged, its proven state rolled back and its transactions proven again
 * under a fresh stamp; what the fresh stamp can no longer prove leaves through the rejection path. And
 * a sequencer whose clock runs ahead of the chain's never stamps a batch beyond the chain's time +
 * MAX_FUTURE_DRIFT. Each test runs against the in-memory custodian, which checks every batch's stamp
 * against its block time (its simulation refuses with BadTimestamp, as the node's would).
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Side, TxType } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import type { Withdrawal } from "../../../sequencer/protocol/messages.ts";
import type { AbandonRecord } from "../../../sequencer/persistence/records.ts";
import { signWithdrawal } from "../../../sequencer/protocol/signing.ts";
import type { BatchStage, Sequencer, SequencerOptions, TxRejection } from "../../../sequencer/service/sequencer.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { countingProver, FakeCustodian } from "../../helpers/fakeCustodian.ts";
import { alice, bob, durableSequencer, removeDurableSequencers } from "../../helpers/sequencer.ts";
import { gatedProver } from "../../helpers/sequencerProvers.ts";
import { order } from "../../helpers/traders.ts";

afterEach(removeDurableSequencers);

const T0 = 1_700_000_000;
const MAX_AGE = 600;

const withdrawal = (t: typeof alice, w: Omit<Withdrawal, "accountId">) => signWithdrawal(t.key, { accountId: t.accountId, ...w });

/**
 * A durable sequencer (fixture requests admitted and proven) on the in-memory custodian, whose block
 * time is `clock.now`; the sequencer's clock is `clock.now + clock.ahead`. `crashAt(stage)` makes the
 * next batch to reach `stage` throw there, as a crash would.
 */
async function setup(overrides: Partial<SequencerOptions> = {}) {
  const clock = { now: T0, ahead: 0 };
  const chain = new FakeCustodian(new ExchangeState(TEST_PARAMS).root);
  chain.blockTime = () => clock.now;
  let armed: BatchStage | null = null;
  const onBatchStage = (stage: BatchStage) => {
    if (stage === armed) {
      armed = null;
      throw new Error(`crash at ${stage}`);
    }
  };
  const d = durableSequencer({ chain: chain.context(), prover: countingProver(), clock: () => clock.now + clock.ahead, onBatchStage, snapshotEvery: 0, ...overrides });
  await d.sequencer.drain();
  return { d, s: d.sequencer, chain, clock, crashAt: (stage: BatchStage) => (armed = stage), setupBatches: chain.batches.length };
}

/** A fill (bob's order expires at `expiry`) and alice's withdrawal of 1 quote unit: two transactions for the next batch. */
function trade(s: Sequencer, expiry = 2_000_000_000): void {
  s.placeOrder(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 10n, expiry }));
  s.placeOrder(order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 90n, sizeLots: 4n }));
  s.requestWithdrawal(withdrawal(alice, { tokenId: 0, amount: 1n, nonce: 0 }));
}

function rejections(s: Sequencer): TxRejection[] {
  const seen: TxRejection[] = [];
  s.events.on("rejected", (r) => seen.push(r));
  return seen;
}

function abandoned(d: ReturnType<typeof durableSequencer>): AbandonRecord[] {
  return [...d.store.records(0)].flatMap(({ record }) => (record.t === "abandon" ? [record] : []));
}

/** Intake's balances and nonces equal the proven state's once nothing is pending. */
function assertIntakeMatchesState(s: Sequencer): void {
  assert.equal(s.pendingTransactions, 0);
  for (const a of [1, 2]) for (const t of [0, 1]) assert.equal(s.risk.balance(a, t), s.state.balance(a, t), `account ${a} token ${t}`);
  for (const a of [1, 2]) assert.equal(s.withdrawalNonce(a), s.state.account(a).nonce, `account ${a}'s next nonce`);
}

describe("a proven batch too old for the custodian is abandoned and rebuilt (issue 11)", () => {
  it("after a node outage longer than MAX_BATCH_AGE: logged, rolled back, proven again under a fresh stamp; the fill whose order expired meanwhile is rejected; a restart replays it", async () => {
    const { d, s, chain, clock, setupBatches: n } = await setup();
    trade(s, T0 + 300);
    chain.refuseNextSend = true; // the node is down when the batch is sent
    await assert.rejects(s.runBatch(), /node unreachable/);
    assert.equal(s.unpostedBatch, n);
    const rootBefore = chain.root;
    clock.now += MAX_AGE + 100; // the outage lasts beyond the custodian's window
    const seen = rejections(s);
    const posted = await s.drain();
    assert.equal(abandoned(d).length, 1, "the abandonment is logged");
    assert.equal(abandoned(d)[0].batchNumber, n);
    assert.match(abandoned(d)[0].reason, /more than MAX_BATCH_AGE/);
    assert.deepEqual(seen.map((r) => [r.tx.type, r.code]), [[TxType.TRADE, "ORDER_EXPIRED"]], "bob's order expired before the fresh stamp");
    assert.deepEqual(posted.map((p) => [p.batchNumber, p.transactions]), [[n, 1]], "the withdrawal is posted in its place");
    assert.notEqual(chain.root, rootBefore);
    assert.equal(chain.root, s.state.root);
    assert.ok(chain.lastTimestamp >= clock.now - MAX_AGE / 2 && chain.lastTimestamp <= clock.now, `stamped ${chain.lastTimestamp}, fresh`);
    assert.equal(s.state.account(1).nonce, 1, "alice's withdrawal is on chain");
    assert.equal(s.state.balance(1, 1), 0n, "and the rejected fill is not");
    assertIntakeMatchesState(s);
    const again = d.reopen();
    assert.deepEqual(again.snapshot(), s.snapshot(), "a restart replays the abandonment, the rejection and the rebuilt batch");
  });

  it("a proof the custodian refuses (InvalidProof) is not sent again: the batch is abandoned, proven again and posted in the same run; a restart replays it", async () => {
    const { d, s, chain } = await setup();
    const prover = countingProver();
    const withProver = d.reopen({ prover });
    trade(withProver);
    chain.refuseNextProof = true;
    const posted = await withProver.runBatch();
    assert.equal(posted?.transactions, 2, "both transactions posted in the batch proven again");
    assert.equal(prover.calls, 2, "proven twice");
    assert.match(abandoned(d).at(-1)!.reason, /refuses its proof \(InvalidProof\)/);
    assert.equal(chain.root, withProver.state.root);
    assertIntakeMatchesState(withProver);
    assert.deepEqual(d.reopen().snapshot(), withProver.snapshot());
    void s;
  });

  it("a custodian that refuses every proof (its verifier is not the key's): the run posts nothing and health reports the failure", async () => {
    const { s, chain } = await setup();
    Object.defineProperty(chain, "refuseNextProof", { get: () => true, set: () => {} });
    trade(s);
    assert.equal(await s.runBatch(), null);
    const health = s.health();
    assert.equal(health.ok, false, "not ok");
    assert.equal(health.batches.consecutiveFailures, 1);
    assert.match(health.batches.lastError?.message ?? "", /InvalidProof/);
    assert.equal(await s.runBatch(), null);
    assert.equal(s.health().batches.consecutiveFailures, 2, "each run counts");
  });

  it("a proof that outlasts the post margin: the batch is not sent to arrive too late, but proven again at once under a fresh stamp", async () => {
    const prover = gatedProver();
    prover.open = true;
    const { d, s, chain, clock } = await setup({ prover });
    trade(s);
    const sends = chain.sends;
    prover.open = false;
    const run = s.runBatch();
    await prover.started();
    clock.now += MAX_AGE - 30; // proving took so long that 30 s of the window are left (the margin is 60 s)
    prover.open = true;
    prover.release();
    const posted = await run;
    assert.equal(posted?.transactions, 2, "both transactions posted in the rebuilt batch");
    assert.equal(chain.sends, sends + 1, "the late batch was never sent");
    assert.match(abandoned(d)[0].reason, /less than 60 s of MAX_BATCH_AGE/);
    assert.ok(chain.lastTimestamp >= clock.now - MAX_AGE / 2, `stamped ${chain.lastTimestamp}, fresh`);
    assertIntakeMatchesState(s);
    assert.deepEqual(d.reopen().snapshot(), s.snapshot());
  });

  it("a prover always slower than half of MAX_BATCH_AGE: the rebuilt batch is stamped at chain time and posts (no livelock)", async () => {
    const clock = { now: T0 };
    const slow = countingProver();
    const prove = slow.prove.bind(slow);
    const PROOF_SECONDS = 450; // more than MAX_AGE / 2, less than MAX_AGE minus the post margin
    slow.prove = async (...args: Parameters<typeof prove>) => {
      const r = await prove(...args);
      clock.now += PROOF_SECONDS;
      return r;
    };
    const { d, s, chain, clock: c } = await setup({ prover: slow, clock: () => clock.now });
    chain.blockTime = () => clock.now;
    clock.now = c.now;
    trade(s); // accepted at T0
    clock.now += MAX_AGE / 2; // the batch is built five minutes later, stamped at the acceptance time
    const posted = await s.runBatch();
    assert.equal(posted?.transactions, 2, "both transactions posted");
    const reasons = abandoned(d).map((a) => a.reason);
    assert.equal(reasons.length, 1, `abandoned once, then stamped at chain time: ${reasons.join("; ")}`);
    assert.ok(chain.lastTimestamp >= clock.now - PROOF_SECONDS, `stamped ${chain.lastTimestamp} at the chain time the rebuild began`);
    assertIntakeMatchesState(s);
  });

  it("reacts to the custodian's BadTimestamp when the node's time left room: abandons the batch and rebuilds it under the chain's time", async () => {
    const prover = gatedProver();
    prover.open = true;
    const { d, s, chain, clock } = await setup({ prover });
    trade(s);
    const stamped = clock.now;
    prover.open = false;
    const run = s.runBatch();
    await prover.started();
    clock.now += MAX_AGE + 50; // the block the transaction would land in is past the window...
    chain.pendingLag = 120; // ...while the node reports a time that leaves 70 s
    prover.open = true;
    prover.release();
    const posted = await run;
    assert.equal(posted?.transactions, 2);
    assert.match(abandoned(d)[0].reason, /BadTimestamp/);
    assert.equal(chain.lastTimestamp, clock.now - 120, "rebuilt at the chain's reported time (after an abandonment the whole window goes to proving)");
    assert.ok(chain.lastTimestamp > stamped);
    assertIntakeMatchesState(s);
  });

  it("after a restart that took longer than MAX_BATCH_AGE with a logged unposted batch: abandoned and rebuilt; a crash right after the abandonment recovers the queue", async () => {
    const { d, s, chain, clock, crashAt, setupBatches: n } = await setup();
    trade(s);
    crashAt("proved");
    await assert.rejects(s.runBatch(), /crash at proved/);
    assert.equal(chain.batches.length, n, "only the setup batches are on chain");
    clock.now += MAX_AGE + 1; // the sequencer stays down
    const restarted = d.reopen();
    assert.equal(restarted.unpostedBatch, n, "the logged batch is recovered, not yet posted");
    crashAt("built"); // the rebuilt batch: the process dies once the abandonment is logged
    await assert.rejects(restarted.runBatch(), /crash at built/);
    assert.equal(abandoned(d).length, 1);
    const again = d.reopen();
    assert.equal(again.unpostedBatch, null, "the abandonment replays");
    assert.equal(again.pendingTransactions, 2, "its transactions are back in the queue");
    assert.equal(again.state.root, chain.root, "the proven state is the chain's");
    const posted = await again.drain();
    assert.deepEqual(posted.map((p) => p.transactions), [2]);
    assert.equal(chain.batches.length, n + 1);
    assert.equal(chain.root, again.state.root);
    assert.equal(chain.lastTimestamp, clock.now, "stamped at chain time: the replayed abandonment keeps the whole window for proving");
    assertIntakeMatchesState(again);
    assert.deepEqual(d.reopen().snapshot(), again.snapshot());
  });

  it("the same from a snapshot taken right after the abandonment: the snapshot keeps the whole window for proving (the rebuilt batch is stamped at chain time)", async () => {
    const { d, s, chain, clock, crashAt, setupBatches: n } = await setup({ snapshotEvery: 1 });
    trade(s);
    crashAt("proved");
    await assert.rejects(s.runBatch(), /crash at proved/);
    clock.now += MAX_AGE + 1;
    const restarted = d.reopen({ snapshotEvery: 1 });
    crashAt("built");
    await assert.rejects(restarted.runBatch(), /crash at built/);
    assert.equal(abandoned(d).length, 1);
    const abandonSeq = Math.max(...[...d.store.records(0)].flatMap(({ seq, record }) => (record.t === "abandon" ? [seq] : [])));
    assert.ok((d.store.latestSnapshot()?.seq ?? 0) >= abandonSeq, "a snapshot after the abandonment");
    assert.equal((d.store.latestSnapshot()?.body as { abandonedSincePost?: boolean }).abandonedSincePost, true);
    const again = d.reopen();
    await again.drain();
    assert.equal(chain.batches.length, n + 1);
    assert.equal(chain.lastTimestamp, clock.now, "stamped at chain time");
  });

  it("never abandons a batch the chain took before a crash, however old its stamp is at the restart", async () => {
    const { d, s, chain, clock, crashAt, setupBatches: n } = await setup();
    trade(s);
    crashAt("sent"); // mined; the process dies before it sees the receipt
    await assert.rejects(s.runBatch(), /crash at sent/);
    assert.equal(chain.batches.length, n + 1);
    clock.now += 10 * MAX_AGE;
    const again = d.reopen();
    assert.equal(again.unpostedBatch, n);
    const posted = await again.runBatch();
    assert.deepEqual([posted?.batchNumber, posted?.transactions], [n, 2], "recorded as posted");
    assert.equal(abandoned(d).length, 0);
    assert.equal(chain.batches.length, n + 1, "nothing sent again");
    assert.equal(again.state.root, chain.root);
    assertIntakeMatchesState(again);
  });
});

describe("stamps within the chain's time + MAX_FUTURE_DRIFT (issue 11)", () => {
  it("when the sequencer's clock runs ahead of the chain's, what it accepted waits for the chain instead of being stamped beyond the custodian's window", async () => {
    const { s, chain, clock } = await setup();
    clock.ahead = chain.maxFutureDrift + 600; // the sequencer's clock is 25 minutes ahead
    s.requestWithdrawal(withdrawal(alice, { tokenId: 0, amount: 1n, nonce: 0 }));
    const batches = chain.batches.length;
    assert.equal(await s.runBatch(), null, "nothing is stamped beyond the chain's time + MAX_FUTURE_DRIFT");
    assert.equal(chain.batches.length, batches);
    assert.equal(s.pendingTransactions, 1, "the withdrawal waits");
    clock.now += 600; // the chain's time catches up
    assert.equal((await s.runBatch())?.transactions, 1);
    assert.equal(chain.lastTimestamp, clock.now + chain.maxFutureDrift, "stamped at its acceptance, the latest the custodian takes");
    assert.equal(s.state.account(1).nonce, 1);
  });
});
