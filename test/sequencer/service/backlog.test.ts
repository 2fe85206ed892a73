/**
 * Backpressure (sequencer/service/backlog.ts): intake matches in microseconds and batches are proven in seconds, so at
 * `maxBacklog` transactions waiting for batches the sequencer refuses new orders, withdrawals and transfers with
 * BACKLOG_FULL, changing nothing, while cancels and oracle updates are still taken; once batches catch up it takes
 * them again. The attack it answers: one trader's flood of crossing orders (free at a tick's price) queuing hours of
 * proving ahead of everyone's deposits, forced requests and derivatives fills. From half the bound on, fair queueing:
 * only accounts with nothing of their own waiting are taken, so a few accounts trading with each other cannot keep
 * everyone else out.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { INSTRUMENT_MARKET_BASE, Side, TimeInForce } from "../../../sequencer/protocol/constants.ts";
import { signCancel, signTransfer, signWithdrawal } from "../../../sequencer/protocol/signing.ts";
import { RequestRejected } from "../../../sequencer/service/sequencer.ts";
import { BACKLOG_BATCHES, defaultMaxBacklog, fairQueueFrom, PENDING_REQUESTS_PER_ACCOUNT } from "../../../sequencer/service/backlog.ts";
import { rejectedError } from "../../../sequencer/api/errors.ts";
import { PRODUCTION_PARAMS, TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { derivativesSequencer, DEPOSIT } from "../../helpers/derivativesSequencer.ts";
import { derivOrder, NOW, oracleUpdate, traders } from "../../helpers/derivatives.ts";

const { alice, bob, carol } = traders;
const PERP = 0;
const BOUND = 3;

function backlogged(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof RequestRejected && e.code === "BACKLOG_FULL");
}

/**
 * A sequencer bounded at `bound` waiting transactions, alice, bob and carol funded with collateral (proven), bob resting
 * `bound` sell orders of 1 lot and one of 100 lots at the same price.
 */
async function resting(bound = BOUND) {
  const { seq, chain } = derivativesSequencer(NOW, { maxBacklog: bound });
  await seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5 }));
  await seq.drain();
  for (const t of [alice, bob, carol]) seq.requestTransfer(signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount: DEPOSIT, nonce: 0 }));
  await seq.drain();
  assert.equal(seq.pendingTransactions, 0);
  for (let i = 1; i <= bound; i++) seq.placeOrder(derivOrder(bob, PERP, { orderId: BigInt(i), side: Side.SELL, priceTicks: 300_000n, sizeLots: 1n }));
  seq.placeOrder(derivOrder(bob, PERP, { orderId: BigInt(bound + 1), side: Side.SELL, priceTicks: 300_000n, sizeLots: 100n }));
  return { seq, chain };
}

const buy = (t: typeof alice, orderId: bigint, sizeLots = 1n) =>
  derivOrder(t, PERP, { orderId, side: Side.BUY, priceTicks: 300_000n, sizeLots, timeInForce: TimeInForce.IOC, expiry: NOW + 300 });
const buyOne = (orderId: bigint) => buy(alice, orderId);
/** Fills the bound at once: one order of alice's takes bob's `bound` 1-lot orders. */
const sweep = (seq: Awaited<ReturnType<typeof resting>>["seq"], bound = BOUND) => seq.placeOrder(buy(alice, 3n, BigInt(bound)));

describe("settlement backlog (backpressure)", () => {
  it("at the bound refuses orders (crossing or resting, one by one or in a group), withdrawals and transfers with BACKLOG_FULL and changes nothing", async () => {
    const { seq } = await resting();
    sweep(seq);
    assert.equal(seq.pendingTransactions, BOUND);
    const depth = seq.engine.depth(INSTRUMENT_MARKET_BASE + PERP);
    const risk = structuredClone(seq.derivatives.risk.account(alice.accountId));
    backlogged(() => seq.placeOrder(buyOne(4n)));
    // at the bound itself even an account with nothing of its own waiting: carol, and bob, whose quotes alice took
    backlogged(() => seq.placeOrder(buy(carol, 1n)));
    backlogged(() => seq.placeOrder(derivOrder(bob, PERP, { orderId: 50n, side: Side.SELL, priceTicks: 310_000n, sizeLots: 1n })));
    backlogged(() => seq.placeOrder(derivOrder(alice, PERP, { orderId: 5n, side: Side.BUY, priceTicks: 290_000n, sizeLots: 1n })));
    const grouped = await seq.placeOrders([buyOne(6n), buyOne(7n)]);
    assert.deepEqual(grouped.map((o) => "rejected" in o && o.rejected.code), ["BACKLOG_FULL", "BACKLOG_FULL"]);
    backlogged(() => seq.requestTransfer(signTransfer(alice.key, { accountId: alice.accountId, toCollateral: false, amount: 1n, nonce: 1 })));
    backlogged(() => seq.requestWithdrawal(signWithdrawal(alice.key, { accountId: alice.accountId, tokenId: 0, amount: 1n, nonce: 1 })));
    assert.equal(seq.pendingTransactions, BOUND);
    assert.deepEqual(seq.engine.depth(INSTRUMENT_MARKET_BASE + PERP), depth, "the book is as it was");
    assert.deepEqual(seq.derivatives.risk.account(alice.accountId), risk, "alice's position and collateral are as they were");
  });

  it("still takes cancels and oracle updates at the bound, and takes orders, withdrawals and transfers again once batches catch up", async () => {
    const { seq, chain } = await resting();
    sweep(seq);
    backlogged(() => seq.placeOrder(buyOne(4n)));
    assert.ok(seq.cancelOrder(signCancel(bob.key, { accountId: bob.accountId, orderId: BigInt(BOUND + 1) })).some((e) => e.type === "cancelled"), "bob's resting order is cancelled");
    await seq.acceptOracleUpdate(oracleUpdate({ time: chain.now - 1 }));
    await seq.drain();
    assert.equal(seq.pendingTransactions, 0);
    assert.equal(seq.state.account(alice.accountId).deriv.positions[PERP].size, BigInt(BOUND), "the backlog was proven");
    seq.requestTransfer(signTransfer(alice.key, { accountId: alice.accountId, toCollateral: false, amount: 1n, nonce: 1 }));
    assert.equal(seq.placeOrder(derivOrder(alice, PERP, { orderId: 4n, side: Side.BUY, priceTicks: 290_000n, sizeLots: 1n }))[0]!.type, "accepted");
  });

  it("fair queueing: past half the bound, an account with its own transactions waiting is refused (a reduce-only order too) while one with nothing waiting is still taken, the maker whose quotes were taken included; each is taken again once its own are proven", async () => {
    const BOUND4 = 4;
    const { seq, chain } = await resting(BOUND4);
    assert.equal(fairQueueFrom(BOUND4), 2);
    // alice, trading as fast as she likes, takes two of bob's quotes: half the bound
    seq.placeOrder(buy(alice, 1n));
    seq.placeOrder(buy(alice, 2n));
    assert.equal(seq.pendingTransactions, 2);
    const depth = seq.engine.depth(INSTRUMENT_MARKET_BASE + PERP);
    assert.throws(() => seq.placeOrder(buy(alice, 3n)), (e: unknown) => e instanceof RequestRejected && e.code === "BACKLOG_FULL" && /2 of them account 1's own/.test(e.message));
    backlogged(() => seq.requestTransfer(signTransfer(alice.key, { accountId: alice.accountId, toCollateral: false, amount: 1n, nonce: 1 })));
    backlogged(() => seq.requestWithdrawal(signWithdrawal(alice.key, { accountId: alice.accountId, tokenId: 0, amount: 1n, nonce: 1 })));
    assert.deepEqual(seq.engine.depth(INSTRUMENT_MARKET_BASE + PERP), depth, "alice's refused order changed nothing");
    // a reduce-only order is not spared: it too may take 64 fills, again and again while the position lasts
    backlogged(() => seq.placeOrder(derivOrder(alice, PERP, { orderId: 10n, side: Side.SELL, priceTicks: 310_000n, sizeLots: 1n, reduceOnly: true })));
    // bob requotes: taken (his quotes were taken by others, nothing of his own waits)
    assert.equal(seq.placeOrder(derivOrder(bob, PERP, { orderId: 50n, side: Side.SELL, priceTicks: 310_000n, sizeLots: 1n }))[0]!.type, "accepted");
    // carol, with nothing waiting, trades once; then she has one of her own waiting and is refused too
    assert.ok(seq.placeOrder(buy(carol, 1n)).some((e) => e.type === "fill"));
    assert.equal(seq.pendingTransactions, 3);
    backlogged(() => seq.placeOrder(buy(carol, 2n)));
    // once batches prove them, both trade again
    await seq.acceptOracleUpdate(oracleUpdate({ time: chain.now - 1 }));
    await seq.drain();
    assert.equal(seq.pendingTransactions, 0);
    assert.ok(seq.placeOrder(buy(alice, 3n)).some((e) => e.type === "fill"));
    assert.ok(seq.placeOrder(buy(carol, 2n)).some((e) => e.type === "fill"));
  });

  it("one account's withdrawals and transfers: at most PENDING_REQUESTS_PER_ACCOUNT wait, below the global bound (dust withdrawals pay no fee: one account filled the whole bound); another account's are still taken", async () => {
    const { seq } = derivativesSequencer(NOW, { maxBacklog: 1_000 });
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5 }));
    await seq.drain();
    const dust = (t: typeof alice, nonce: number) => signWithdrawal(t.key, { accountId: t.accountId, tokenId: 0, amount: 1n, nonce });
    for (let n = 0; n < PENDING_REQUESTS_PER_ACCOUNT; n++) seq.requestWithdrawal(dust(alice, n));
    const pending = seq.pendingTransactions;
    backlogged(() => seq.requestWithdrawal(dust(alice, PENDING_REQUESTS_PER_ACCOUNT)));
    backlogged(() => seq.requestTransfer(signTransfer(alice.key, { accountId: alice.accountId, toCollateral: true, amount: 1n, nonce: PENDING_REQUESTS_PER_ACCOUNT })));
    assert.equal(seq.pendingTransactions, pending, "nothing changed");
    seq.requestWithdrawal(dust(bob, 0));
    await seq.drain();
    assert.equal(seq.state.account(alice.accountId).nonce, PENDING_REQUESTS_PER_ACCOUNT);
    seq.requestWithdrawal(dust(alice, PENDING_REQUESTS_PER_ACCOUNT)); // taken again once they are proven
  });

  it("the API answers it 503 (the request was fine: retry); the process's bound is 16 full batches", () => {
    const e = rejectedError(new RequestRejected("BACKLOG_FULL", "busy"));
    assert.equal(e.statusCode, 503);
    assert.equal(e.body().code, "BACKLOG_FULL");
    assert.equal(BACKLOG_BATCHES, 16);
    assert.equal(defaultMaxBacklog(PRODUCTION_PARAMS), 16 * 22);
    assert.equal(defaultMaxBacklog(TEST_PARAMS), 16 * (TEST_PARAMS.slots + TEST_PARAMS.derivSlots));
  });
});
