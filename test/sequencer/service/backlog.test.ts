/**
 * Backpressure (sequencer/service/backlog.ts): intake matches in microseconds and batches are proven in seconds, so at
 * `maxBacklog` transactions waiting for batches the sequencer refuses new orders, withdrawals and transfers with
 * BACKLOG_FULL, changing nothing, while cancels and oracle updates are still taken; once batches catch up it takes
 * them again. The attack it answers: one trader's flood of crossing orders (free at a tick's price) queuing hours of
 * proving ahead of everyone's deposits, forced requests and derivatives fills.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { INSTRUMENT_MARKET_BASE, Side, TimeInForce } from "../../../sequencer/protocol/constants.ts";
import { signCancel, signTransfer, signWithdrawal } from "../../../sequencer/protocol/signing.ts";
import { RequestRejected } from "../../../sequencer/service/sequencer.ts";
import { BACKLOG_BATCHES, defaultMaxBacklog, PENDING_REQUESTS_PER_ACCOUNT } from "../../../sequencer/service/backlog.ts";
import { rejectedError } from "../../../sequencer/api/errors.ts";
import { PRODUCTION_PARAMS, TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { derivativesSequencer, DEPOSIT } from "../../helpers/derivativesSequencer.ts";
import { derivOrder, NOW, oracleUpdate, traders } from "../../helpers/derivatives.ts";

const { alice, bob } = traders;
const PERP = 0;
const BOUND = 3;

function backlogged(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof RequestRejected && e.code === "BACKLOG_FULL");
}

/** A sequencer bounded at 3 waiting transactions, alice and bob funded with collateral (proven), bob resting 100 lots. */
async function resting() {
  const { seq, chain } = derivativesSequencer(NOW, { maxBacklog: BOUND });
  await seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5 }));
  await seq.drain();
  for (const t of [alice, bob]) seq.requestTransfer(signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount: DEPOSIT, nonce: 0 }));
  await seq.drain();
  assert.equal(seq.pendingTransactions, 0);
  seq.placeOrder(derivOrder(bob, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 100n }));
  return { seq, chain };
}

const buyOne = (orderId: bigint) => derivOrder(alice, PERP, { orderId, side: Side.BUY, priceTicks: 300_000n, sizeLots: 1n, timeInForce: TimeInForce.IOC, expiry: NOW + 300 });

describe("settlement backlog (backpressure)", () => {
  it("at the bound refuses orders (crossing or resting, one by one or in a group), withdrawals and transfers with BACKLOG_FULL and changes nothing", async () => {
    const { seq } = await resting();
    for (let i = 1n; i <= BOUND; i++) seq.placeOrder(buyOne(i));
    assert.equal(seq.pendingTransactions, BOUND);
    const depth = seq.engine.depth(INSTRUMENT_MARKET_BASE + PERP);
    const risk = structuredClone(seq.derivatives.risk.account(alice.accountId));
    backlogged(() => seq.placeOrder(buyOne(4n)));
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
    for (let i = 1n; i <= BOUND; i++) seq.placeOrder(buyOne(i));
    backlogged(() => seq.placeOrder(buyOne(4n)));
    assert.ok(seq.cancelOrder(signCancel(bob.key, { accountId: bob.accountId, orderId: 1n })).some((e) => e.type === "cancelled"), "bob's resting order is cancelled");
    await seq.acceptOracleUpdate(oracleUpdate({ time: chain.now - 1 }));
    await seq.drain();
    assert.equal(seq.pendingTransactions, 0);
    assert.equal(seq.state.account(alice.accountId).deriv.positions[PERP].size, BigInt(BOUND), "the backlog was proven");
    seq.requestTransfer(signTransfer(alice.key, { accountId: alice.accountId, toCollateral: false, amount: 1n, nonce: 1 }));
    assert.equal(seq.placeOrder(derivOrder(alice, PERP, { orderId: 4n, side: Side.BUY, priceTicks: 290_000n, sizeLots: 1n }))[0]!.type, "accepted");
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
    assert.equal(defaultMaxBacklog(PRODUCTION_PARAMS), 16 * 23);
    assert.equal(defaultMaxBacklog(TEST_PARAMS), 16 * (TEST_PARAMS.slots + TEST_PARAMS.derivSlots));
  });
});
