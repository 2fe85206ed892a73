/**
 * Proven cancels are bounded per account in the queue (exchangeCore.ts QUEUED_CANCELS_PER_ACCOUNT). The attack (review
 * of 2026-12-05, High): one account rests an order in each of its storage slots (4,096 at production size) and cancels
 * them all, or rotates its key, or sweeps them with one self-trading order: each cancel a proven transaction taking a
 * batch slot. In the queue at once they held every later entry behind them, deposits and forced requests included,
 * for most of an hour per account (a few hundred accounts would reach the custodian's 7-day deadline: exodus), and
 * filled the backlog bound, so everyone else's orders were refused. Now at most QUEUED_CANCELS_PER_ACCOUNT of an
 * account's cancels wait in the queue; the others wait outside it and follow as those are batched, and the bound does
 * not count them. Each test runs a durable sequencer on the in-memory custodian.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { CancelReason } from "../../../sequencer/matching/index.ts";
import { Side, TimeInForce, TxType } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { signCancel, signWithdrawal } from "../../../sequencer/protocol/signing.ts";
import { derivOrder, NOW, traders } from "../../helpers/derivatives.ts";
import { derivativesSequencer, fundCollateral } from "../../helpers/derivativesSequencer.ts";
import { QUEUED_CANCELS_PER_ACCOUNT } from "../../../sequencer/service/exchangeCore.ts";
import type { Sequencer, TxRejection } from "../../../sequencer/service/sequencer.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { countingProver, FakeCustodian } from "../../helpers/fakeCustodian.ts";
import { alice, bob, durableSequencer, removeDurableSequencers } from "../../helpers/sequencer.ts";
import { order, testTrader } from "../../helpers/traders.ts";

afterEach(removeDurableSequencers);

/** Order storage slots per account at TEST_PARAMS (4^orderLevels). */
const SLOTS = 4 ** TEST_PARAMS.orderLevels;
const ORDERS = BigInt(SLOTS - 1);

async function setup(maxBacklog: number) {
  const chain = new FakeCustodian(new ExchangeState(TEST_PARAMS).root);
  const d = durableSequencer({ chain: chain.context(), prover: countingProver(), maxBacklog, snapshotEvery: 0 });
  await d.sequencer.drain();
  const rejected: TxRejection[] = [];
  d.sequencer.events.on("rejected", (r) => rejected.push(r));
  return { d, s: d.sequencer, chain, rejected };
}

/** Bob rests a sell in each of his order slots but one (ids 1..ORDERS). */
function restSells(s: Sequencer): void {
  for (let id = 1n; id <= ORDERS; id++) s.placeOrder(order(bob, { orderId: id, side: Side.SELL, priceTicks: 200n + id, sizeLots: 1n }));
}

const queuedCancels = (s: Sequencer) => s.peekPending().filter((t) => t.type === TxType.CANCEL || t.type === TxType.OPERATOR_CANCEL).length;
const cancelledInState = (s: Sequencer, t = bob) => [...Array(Number(ORDERS)).keys()].filter((i) => s.state.orderSlot(t.accountId, BigInt(i + 1)).cancelled).length;

describe("proven cancels: at most QUEUED_CANCELS_PER_ACCOUNT of an account's in the queue", () => {
  it("a cancel of every resting order: the rest wait outside the queue, the bound does not count them, an on-chain request and a withdrawal after them wait behind no more; all are proven in the end, and a restart in between restores them", async () => {
    assert.ok(ORDERS > BigInt(QUEUED_CANCELS_PER_ACCOUNT), "the flood is larger than the cap");
    const { d, s, rejected } = await setup(QUEUED_CANCELS_PER_ACCOUNT);
    restSells(s);
    for (let id = 1n; id <= ORDERS; id++) s.cancelOrder(signCancel(bob.key, { accountId: bob.accountId, orderId: id }));
    assert.equal(queuedCancels(s), QUEUED_CANCELS_PER_ACCOUNT);
    assert.equal(s.snapshot().deferredCancels?.[0]?.[1].length, Number(ORDERS) - QUEUED_CANCELS_PER_ACCOUNT);
    assert.ok(s.pendingTransactions >= QUEUED_CANCELS_PER_ACCOUNT && s.backlog === 0, "the bound counts no cancel");
    // another trader's withdrawal is taken (the bound is QUEUED_CANCELS_PER_ACCOUNT), and an on-chain request after it:
    // both ahead of every cancel (the cancels' lane is the queue's tail)
    s.requestWithdrawal(signWithdrawal(alice.key, { accountId: alice.accountId, tokenId: 0, amount: 5n, nonce: 0 }));
    const carol = testTrader(3);
    s.acceptRequest({ type: TxType.REGISTER_KEY, accountId: 3, pubKey: carol.pubKey });
    assert.deepEqual(s.peekPending().slice(0, 3).map((t) => t.type), [TxType.WITHDRAW, TxType.REGISTER_KEY, TxType.CANCEL]);
    // a restart from a snapshot holds the same (deferred cancels included)
    const again = d.reopen();
    assert.deepEqual(again.snapshot(), s.snapshot());
    const posted = await again.drain();
    assert.deepEqual(rejected, []);
    assert.ok(posted.length >= Math.ceil(Number(ORDERS) / QUEUED_CANCELS_PER_ACCOUNT), `${posted.length} batches`);
    assert.equal(cancelledInState(again), Number(ORDERS), "every cancel proven");
    assert.equal(again.pendingTransactions, 0);
    assert.equal(again.snapshot().deferredCancels, undefined);
    assert.equal(again.state.account(alice.accountId).nonce, 1, "the withdrawal is proven");
  });

  it("a fill of a newer order in the slot of an order whose cancel waits (queued or deferred) takes that cancel ahead of itself: the slot's rule holds, nothing is rejected but the fill, and an abandoned batch loses no cancel", async () => {
    const T0 = 1_700_000_000;
    const clock = { now: T0 };
    const chain = new FakeCustodian(new ExchangeState(TEST_PARAMS).root);
    chain.blockTime = () => clock.now;
    const d = durableSequencer({ chain: chain.context(), prover: countingProver(), maxBacklog: 1_000, snapshotEvery: 0, clock: () => clock.now });
    const s = d.sequencer;
    await s.drain();
    const rejected: TxRejection[] = [];
    s.events.on("rejected", (r) => rejected.push(r));
    restSells(s);
    for (let id = 1n; id <= ORDERS; id++) s.cancelOrder(signCancel(bob.key, { accountId: bob.accountId, orderId: id }));
    const last = ORDERS; // deferred: its slot is reused below
    assert.ok(s.snapshot().deferredCancels?.[0]?.[1].some((e) => e.tx.type === TxType.CANCEL && e.tx.request.orderId === last));
    const reuse = last + BigInt(SLOTS); // the same order slot
    s.placeOrder(order(bob, { orderId: reuse, side: Side.SELL, priceTicks: 150n, sizeLots: 1n, expiry: T0 + 300 }));
    assert.ok(s.placeOrder(order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 150n, sizeLots: 1n })).some((e) => e.type === "fill"));
    const queue = s.peekPending();
    assert.deepEqual(queue[0], { type: TxType.CANCEL, request: signCancel(bob.key, { accountId: bob.accountId, orderId: last }) }, "the promoted cancel first");
    assert.equal(queue[1].type, TxType.TRADE, "then the trade, ahead of the lane");
    // the batch holding both is abandoned (the node is down past MAX_BATCH_AGE); the fill's order has expired by then
    chain.refuseNextSend = true;
    await assert.rejects(s.runBatch(), /node unreachable/);
    clock.now += 700;
    await s.drain();
    assert.deepEqual(rejected.map((r) => [r.tx.type, r.code]), [[TxType.TRADE, "ORDER_EXPIRED"]]);
    assert.equal(cancelledInState(s), Number(ORDERS), "every cancel proven, the promoted one included");
    assert.deepEqual(d.reopen({ recoverFrom: "log" }).snapshot(), s.snapshot(), "the log replays the same");
  });

  it("a cancel is proven in the next batch while derivatives trading goes on: it passes the spot-after-derivatives stop (it reads no slot those fills store)", async () => {
    // review of the lane: every batch stopped at the lane's first cancel behind a derivatives fill, so none was ever proven
    const { seq, chain } = derivativesSequencer(NOW);
    const { alice: a, bob: b } = traders;
    await fundCollateral(seq, [a, b]);
    seq.placeOrder(derivOrder(b, 1, { orderId: 2n, side: Side.BUY, priceTicks: 250_000n, sizeLots: 10n })); // a future order, then its cancel
    await seq.drain();
    seq.cancelOrder(signCancel(b.key, { accountId: b.accountId, orderId: 2n }));
    seq.placeOrder(derivOrder(a, 0, { orderId: 3n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 1n }));
    seq.placeOrder(derivOrder(b, 0, { orderId: 3n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 1n }));
    assert.deepEqual(seq.peekPending().map((t) => t.type), [TxType.DERIV_TRADE, TxType.CANCEL], "the trade ahead of the lane");
    await seq.runBatch();
    assert.equal(seq.pendingTransactions, 0, "both in one batch");
    assert.equal(seq.state.orderSlot(b.accountId, 2n).cancelled, true);
    // a cancel of a slot a derivatives fill of the same batch stores still waits for the next batch (spot slots go first)
    seq.placeOrder(derivOrder(a, 0, { orderId: 4n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 2n }));
    const fill = seq.placeOrder(derivOrder(b, 0, { orderId: 4n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 1n, expiry: chain.now + 3600 }));
    assert.ok(fill.some((e) => e.type === "fill"));
    seq.cancelOrder(signCancel(a.key, { accountId: a.accountId, orderId: 4n })); // the rest of alice's order 4
    const first = await seq.runBatch();
    assert.equal(first?.transactions, 1, "the trade alone");
    await seq.drain();
    assert.equal(seq.state.orderSlot(a.accountId, 4n).cancelled, true);
  });

  it("an account waits with at most one cancel per order slot (the newer proves both), so a fill of that slot pulls at most one ahead of others' later entries", async () => {
    const { s } = await setup(1_000);
    let id = 1n;
    for (let k = 0; k < 3 * QUEUED_CANCELS_PER_ACCOUNT; k++, id += BigInt(SLOTS)) {
      s.placeOrder(order(bob, { orderId: id, side: Side.SELL, priceTicks: 500n, sizeLots: 1n })); // all in order slot 1
      s.cancelOrder(signCancel(bob.key, { accountId: bob.accountId, orderId: id }));
    }
    const last = id - BigInt(SLOTS);
    assert.deepEqual(s.peekPending().filter((t) => t.type === TxType.CANCEL).map((t) => t.type === TxType.CANCEL && t.request.orderId), [last]);
    assert.equal(s.snapshot().deferredCancels, undefined);
    s.placeOrder(order(bob, { orderId: id, side: Side.SELL, priceTicks: 150n, sizeLots: 1n }));
    assert.ok(s.placeOrder(order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 150n, sizeLots: 1n })).some((e) => e.type === "fill"));
    assert.deepEqual(s.peekPending().map((t) => t.type), [TxType.CANCEL, TxType.TRADE], "one cancel pulled ahead of the fill");
    await s.drain();
    assert.equal(s.state.orderSlot(bob.accountId, id).storedId, id, "the slot holds the newest order: no older one fills");
  });

  it("a self-trade sweep (one crossing order of the same account) queues at most the cap of its resting-side cancels", async () => {
    const { s } = await setup(QUEUED_CANCELS_PER_ACCOUNT);
    s.acceptRequest({ type: TxType.DEPOSIT, accountId: bob.accountId, tokenId: 0, amount: 10_000_000n }); // quote to buy with
    await s.drain();
    restSells(s);
    const events = s.placeOrder(order(bob, { orderId: BigInt(SLOTS), side: Side.BUY, priceTicks: 10_000n, sizeLots: 1n, timeInForce: TimeInForce.IOC, expiry: 1_700_000_300 }));
    assert.equal(events.filter((e) => e.type === "cancelled" && e.reason === CancelReason.SELF_TRADE).length, Number(ORDERS));
    assert.equal(queuedCancels(s), QUEUED_CANCELS_PER_ACCOUNT);
    await s.drain();
    assert.equal(cancelledInState(s), Number(ORDERS));
  });

  it("a key rotation with signed cancels still waiting outside the queue proves them as the operator's cancels (the new key could not check their signatures); nothing is rejected", async () => {
    const { s, rejected } = await setup(1_000);
    restSells(s);
    for (let id = 1n; id <= ORDERS; id++) s.cancelOrder(signCancel(bob.key, { accountId: bob.accountId, orderId: id }));
    const rotated = testTrader(9);
    s.acceptRequest({ type: TxType.REGISTER_KEY, accountId: bob.accountId, pubKey: rotated.pubKey });
    const deferred = s.snapshot().deferredCancels?.[0]?.[1] ?? [];
    assert.ok(deferred.length > 0 && deferred.every((e) => e.tx.type === TxType.OPERATOR_CANCEL));
    await s.drain();
    assert.deepEqual(rejected, []);
    assert.equal(cancelledInState(s), Number(ORDERS));
  });
});
