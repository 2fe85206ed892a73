/**
 * A derivatives trade the batch builder rejects (here: its signature fails in the batch) leaves intake's derivatives
 * view at once where that is exact (exchangeCore.ts #tradeKept, DerivativesRisk.unwindFill: its two accounts put back
 * on the proven state): no earlier rejection's effect is kept, and nothing else of either account that moves
 * derivatives state waits in the queue. Otherwise it stays in the view until the owed rebase puts every account back on
 * the proven state, as before the undo existed. The cases are those of the two reviews of 2026-12-07, where an undo
 * left the view in a state no order of events produces; each test ends with every batch proven and the view equal to
 * the proven state.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { IMMEDIATE_ORDER_TTL, Side, TimeInForce, TxType } from "../../../sequencer/protocol/constants.ts";
import { signTransfer } from "../../../sequencer/protocol/signing.ts";
import { RequestRejected, type Sequencer, type TxRejection } from "../../../sequencer/service/sequencer.ts";
import type { EngineEvent } from "../../../sequencer/matching/types.ts";
import { refusingVerifier } from "../../helpers/sequencerProvers.ts";
import { dave, derivOrder, EXPIRY, INSTRUMENTS, NOW, oracleUpdate, traders } from "../../helpers/derivatives.ts";
import { assertInSync, derivativesSequencer, fundCollateral, fundDave } from "../../helpers/derivativesSequencer.ts";

const { alice, bob, carol } = traders;
const [PERP, FUTURE] = [0, 1];
const AT = 300_000n;

/** The sequencer with alice, bob, carol and dave funded, and alice long 15,000 perpetual lots from bob: a trade no batch will prove. */
async function refusedLong() {
  const verifier = refusingVerifier();
  const log: string[] = [];
  const env = derivativesSequencer(NOW, { verifier, log: (l) => log.push(l) });
  const { seq } = env;
  await fundCollateral(seq, [alice, bob, carol]);
  await fundDave(seq);
  seq.placeOrder(derivOrder(bob, PERP, { orderId: 1n, side: Side.SELL, priceTicks: AT, sizeLots: 15_000n }));
  const take = derivOrder(alice, PERP, { orderId: 1n, side: Side.BUY, priceTicks: AT, sizeLots: 15_000n });
  assert.equal(seq.placeOrder(take).filter((e) => e.type === "fill").length, 1);
  verifier.refuse = take.signature.s;
  const rejected: TxRejection[] = [];
  seq.events.on("rejected", (r) => rejected.push(r));
  const cancelled: EngineEvent[] = [];
  seq.events.on("engine", (events) => cancelled.push(...events.filter((e) => e.type === "cancelled")));
  return { ...env, verifier, rejected, cancelled, log };
}

/** Two more tagged trades between dave and carol in the future, so one still waits after the next batch and the rebase stays owed. */
function keepRebaseOwed(seq: Sequencer, price = AT): void {
  for (const orderId of [2n, 3n]) {
    seq.placeOrder(derivOrder(dave, FUTURE, { orderId, side: Side.SELL, priceTicks: price, sizeLots: 1n }));
    seq.placeOrder(derivOrder(carol, FUTURE, { orderId, side: Side.BUY, priceTicks: price, sizeLots: 1n }));
  }
}

describe("a rejected derivatives trade in intake's view", () => {
  it("stays until the rebase when a liquidation of the position it opened is queued: no short the account never held, no order cancelled on it", async () => {
    const { seq, chain, rejected, cancelled, log } = await refusedLong();
    chain.now = NOW + 10;
    const drop = await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 10, prices: [280_000_000_000n] }));
    assert.deepEqual(drop.liquidations.map(([victim, id]) => [victim, id]), [[alice.accountId, PERP]]);
    const size = seq.derivatives.risk.account(alice.accountId).positions[PERP].size;
    assert.deepEqual(seq.placeOrder(derivOrder(alice, FUTURE, { orderId: 9n, side: Side.BUY, priceTicks: 250_000n, sizeLots: 1n })).map((e) => e.type), ["accepted", "done"]);
    keepRebaseOwed(seq, 280_000n);
    await seq.runBatch();
    assert.deepEqual(rejected.map((r) => r.code), ["BAD_SIGNATURE", "NOT_LIQUIDATABLE"], "the trade, then the liquidation of the position it never made");
    assert.equal(seq.derivatives.risk.account(alice.accountId).positions[PERP].size, size, "the view keeps what the liquidation left (an undo would make her short 15,000 lots)");
    assert.ok(log.some((l) => /keeps a rejected trade in market \d+ until the rebase \(a queued transaction of type 8 touches account 1\)/.test(l)));
    assert.deepEqual(cancelled, [], "her order stays");
    await seq.drain();
    assert.equal(rejected.length, 2, "nothing else rejected");
    assert.equal(seq.pendingTransactions, 0);
    assertInSync(seq);
    assert.deepEqual(seq.engine.openOrders(alice.accountId).map((o) => o.orderId), [9n]);
  });

  it("leaves at once across a funding tick since (two updates signed in the same second included): both accounts are their proven ones, funding settles on the proven sizes, and a transfer of bob's whole equity is accepted and proven", async () => {
    const { seq, rejected } = await refusedLong();
    // a funding tick signed in the same second as the update the trade was judged at (the oracle step takes an equal time)
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5, fundingEpoch: 1, rates: [1_000n, 0n, 0n, 0n] }));
    keepRebaseOwed(seq);
    await seq.runBatch();
    assert.deepEqual(rejected.map((r) => r.code), ["BAD_SIGNATURE"]);
    assert.ok(seq.peekPending().length > 0, "the rebase is still owed");
    for (const t of [alice, bob]) assert.deepEqual(seq.derivatives.risk.account(t.accountId), seq.state.account(t.accountId).deriv, `account ${t.accountId}: no funding on lots it never held`);
    const equity = seq.derivatives.risk.margin(bob.accountId)!.equity;
    assert.equal(equity, seq.state.account(bob.accountId).deriv.collateral);
    seq.requestTransfer(signTransfer(bob.key, { accountId: bob.accountId, toCollateral: false, amount: equity, nonce: 1 }));
    await seq.drain();
    assert.equal(rejected.length, 1, "the builder refused nothing else (the review's probe: BELOW_INITIAL_MARGIN)");
    assert.equal(seq.state.account(bob.accountId).deriv.collateral, 0n, "bob's collateral moved out");
    assert.equal(seq.pendingTransactions, 0);
    assertInSync(seq);
  });

  it("stays until the rebase when a transfer judged on the margin it left is queued", async () => {
    const { seq, rejected, log } = await refusedLong();
    // bob moves out part of the quote he was paid for the perpetual: judged on the view holding the trade
    seq.requestTransfer(signTransfer(bob.key, { accountId: bob.accountId, toCollateral: false, amount: 1_000_000n, nonce: 1 }));
    keepRebaseOwed(seq);
    await seq.runBatch();
    assert.deepEqual(rejected.map((r) => r.code), ["BAD_SIGNATURE"]);
    assert.equal(seq.derivatives.risk.account(alice.accountId).positions[PERP].size, 15_000n, "kept");
    assert.ok(log.some((l) => /keeps a rejected trade in market \d+ until the rebase \(a queued transaction of type 10 touches account 2\)/.test(l)));
    await seq.drain();
    assert.equal(seq.pendingTransactions, 0);
    assertInSync(seq);
  });

  it("leaves at once, with the ledger, when nothing else of either account waits and no rejection is kept", async () => {
    const { seq, rejected } = await refusedLong();
    const before = seq.derivatives.risk.ledger.entry(bob.accountId, PERP);
    keepRebaseOwed(seq);
    await seq.runBatch();
    assert.deepEqual(rejected.map((r) => r.code), ["BAD_SIGNATURE"]);
    assert.ok(seq.peekPending().length > 0, "the rebase is still owed");
    for (const t of [alice, bob]) assert.equal(seq.derivatives.risk.account(t.accountId).positions[PERP].size, 0n, `account ${t.accountId}'s position undone`);
    assert.deepEqual(seq.derivatives.risk.account(alice.accountId), seq.state.account(alice.accountId).deriv, "alice's view is the proven account");
    assert.deepEqual(seq.derivatives.risk.ledger.entry(alice.accountId, PERP), { size: 0n, costBasis: 0n, realisedPnl: 0n, feesPaid: 0n, fundingPaid: 0n }, "her ledger as before the fill");
    assert.equal(before.size, -15_000n);
    assert.deepEqual(seq.derivatives.risk.ledger.entry(bob.accountId, PERP).size, 0n);
    await seq.drain();
    assert.equal(seq.pendingTransactions, 0);
    assertInSync(seq);
  });

  it("stays until the rebase when a later trade of the same account waits (a reduce-only close judged on its position): her covered order is not cancelled", async () => {
    const { seq, rejected, cancelled, log } = await refusedLong();
    seq.placeOrder(derivOrder(carol, PERP, { orderId: 1n, side: Side.BUY, priceTicks: AT, sizeLots: 15_000n }));
    const close = derivOrder(alice, PERP, { orderId: 2n, side: Side.SELL, priceTicks: AT, sizeLots: 15_000n, reduceOnly: true, timeInForce: TimeInForce.IOC, expiry: NOW + IMMEDIATE_ORDER_TTL });
    assert.equal(seq.placeOrder(close).filter((e) => e.type === "fill").length, 1);
    assert.deepEqual(seq.placeOrder(derivOrder(alice, FUTURE, { orderId: 3n, side: Side.SELL, priceTicks: 400_000n, sizeLots: 2_000n })).map((e) => e.type), ["accepted", "done"]);
    await seq.runBatch();
    assert.deepEqual(rejected.map((r) => r.code), ["BAD_SIGNATURE", "REDUCE_ONLY_INCREASES"], "the trade, then the close of the position it never made");
    assert.ok(log.some((l) => /keeps a rejected trade in market \d+ until the rebase \(a queued transaction of type 7 touches account 1\)/.test(l)));
    assert.deepEqual(cancelled, [], "an undo here left her short 15,000 lots and cancelled her ask, proven and for good");
    await seq.drain();
    assert.equal(seq.pendingTransactions, 0);
    assertInSync(seq);
    assert.deepEqual(seq.engine.openOrders(alice.accountId).map((o) => o.orderId), [3n]);
  });

  it("stays until the rebase when an earlier rejection's effect is kept in the view (a kept trade and a later one of the same account, both rejected)", async () => {
    const { seq, verifier, rejected, log } = await refusedLong();
    // alice opens 1,000 future lots from carol, on the margin the long left: no batch proves this either, and it queues behind
    seq.placeOrder(derivOrder(carol, FUTURE, { orderId: 1n, side: Side.SELL, priceTicks: AT, sizeLots: 1_000n }));
    const open = derivOrder(alice, FUTURE, { orderId: 3n, side: Side.BUY, priceTicks: AT, sizeLots: 1_000n, timeInForce: TimeInForce.IOC, expiry: NOW + IMMEDIATE_ORDER_TTL });
    assert.equal(seq.placeOrder(open).filter((e) => e.type === "fill").length, 1);
    verifier.refused.add(open.signature.s);
    keepRebaseOwed(seq);
    await seq.runBatch();
    assert.deepEqual(rejected.map((r) => r.code), ["BAD_SIGNATURE", "BAD_SIGNATURE"]);
    assert.ok(seq.peekPending().length > 0, "the rebase is still owed");
    // the long was kept (her future trade waited), so the future trade is kept too: putting her back on the proven state
    // then would take the kept long out of her account but not out of bob's, its other side
    assert.ok(log.some((l) => /keeps a rejected trade in market \d+ until the rebase \(a queued transaction of type 7 touches account 1\)/.test(l)));
    assert.ok(log.some((l) => /keeps a rejected trade in market \d+ until the rebase \(an earlier rejection's effects wait for it\)/.test(l)));
    assert.deepEqual([PERP, FUTURE].map((id) => seq.derivatives.risk.account(alice.accountId).positions[id].size), [15_000n, 1_000n]);
    await seq.drain();
    assert.equal(seq.pendingTransactions, 0);
    assertInSync(seq);
  });

  it("a rejected closing trade whose instrument settled since: both proven positions are paid out (SETTLE queued at the put-back), and the id can be listed again", async () => {
    const { seq, chain, rejected, log } = await refusedLong();
    // alice long 10 futures from bob, proven (the perpetual long above waits, refused, and leaves first)
    seq.placeOrder(derivOrder(bob, FUTURE, { orderId: 11n, side: Side.SELL, priceTicks: AT, sizeLots: 10n }));
    seq.placeOrder(derivOrder(alice, FUTURE, { orderId: 11n, side: Side.BUY, priceTicks: AT, sizeLots: 10n }));
    await seq.drain();
    assert.deepEqual(rejected.map((r) => r.code), ["BAD_SIGNATURE"]);
    assert.equal(seq.state.account(alice.accountId).deriv.positions[FUTURE].size, 10n);
    // she sells them back to bob (both flat in the view); the future expires and settles before a batch takes the sale,
    // whose update is then too old for any batch (STALE_ORACLE)
    seq.placeOrder(derivOrder(bob, FUTURE, { orderId: 12n, side: Side.BUY, priceTicks: AT, sizeLots: 10n }));
    const close = derivOrder(alice, FUTURE, { orderId: 12n, side: Side.SELL, priceTicks: AT, sizeLots: 10n });
    assert.equal(seq.placeOrder(close).filter((e) => e.type === "fill").length, 1);
    chain.now = EXPIRY + 10;
    const out = await seq.acceptOracleUpdate(oracleUpdate({ time: EXPIRY + 5, prices: [290_000_000_000n] }));
    assert.deepEqual(out.settled, [FUTURE]);
    assert.equal(seq.peekPending().filter((tx) => tx.type === TxType.SETTLE).length, 0, "nobody holds it in the view");
    await seq.drain();
    assert.deepEqual(rejected.map((r) => r.code), ["BAD_SIGNATURE", "STALE_ORACLE"]);
    assert.ok(log.some((l) => /account 1's position in settled instrument 1 paid out/.test(l)));
    for (const t of [alice, bob]) assert.equal(seq.state.account(t.accountId).deriv.positions[FUTURE].size, 0n, `account ${t.accountId} paid out, proven`);
    assert.equal(seq.state.instruments[FUTURE].holders, 0);
    assert.equal(seq.pendingTransactions, 0);
    assertInSync(seq);
    // the id is free: listed again, the registration is proven (before, its builder refused it while two accounts held it,
    // and an on-chain request cannot leave the queue: batching stopped)
    seq.acceptRequest({ type: TxType.REGISTER_INSTRUMENT, instrumentId: FUTURE, ...INSTRUMENTS[FUTURE], expiry: EXPIRY + 30 * 86_400 });
    await seq.drain();
    assert.equal(seq.state.instruments[FUTURE].generation, 1);
    assert.equal(seq.pendingTransactions, 0);
  });

  it("counts the funding on a proven position once in the ledger across a put-back (the undone trade's touch had counted it)", async () => {
    const { seq, chain, verifier } = await refusedLong();
    await seq.drain(); // the refused long leaves; alice then buys 1,000 lots from bob, proven
    verifier.refuse = null;
    seq.placeOrder(derivOrder(bob, PERP, { orderId: 21n, side: Side.SELL, priceTicks: AT, sizeLots: 1_000n }));
    seq.placeOrder(derivOrder(alice, PERP, { orderId: 21n, side: Side.BUY, priceTicks: AT, sizeLots: 1_000n }));
    await seq.drain();
    chain.now = NOW + 10;
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 10, fundingEpoch: 1, rates: [1_000n, 0n, 0n, 0n] }));
    // she buys 10 more (its touch settles the funding on her 1,000 lots, and the ledger counts it): no batch proves it
    seq.placeOrder(derivOrder(bob, PERP, { orderId: 22n, side: Side.SELL, priceTicks: AT, sizeLots: 10n }));
    const more = derivOrder(alice, PERP, { orderId: 22n, side: Side.BUY, priceTicks: AT, sizeLots: 10n });
    assert.equal(seq.placeOrder(more).filter((e) => e.type === "fill").length, 1);
    verifier.refuse = more.signature.s;
    keepRebaseOwed(seq);
    await seq.runBatch();
    // put back; her next trade settles the same funding again, now on the proven account
    seq.placeOrder(derivOrder(carol, PERP, { orderId: 25n, side: Side.SELL, priceTicks: AT, sizeLots: 1n }));
    assert.equal(seq.placeOrder(derivOrder(alice, PERP, { orderId: 25n, side: Side.BUY, priceTicks: AT, sizeLots: 1n })).filter((e) => e.type === "fill").length, 1);
    await seq.drain();
    assert.equal(seq.pendingTransactions, 0);
    assertInSync(seq);
    assert.notEqual(seq.state.instruments[PERP].fundingIndex, 0n);
    assert.equal(seq.derivatives.risk.ledger.entry(alice.accountId, PERP).fundingPaid, 1_000n * seq.state.instruments[PERP].fundingIndex, "paid on her 1,000 lots, once");
  });

  it("queues no SETTLE for a stranded position at an update no batch can use any more: batching goes on, and the next update pays it out (review of 2026-12-07: it looped the builder)", async () => {
    const { seq, chain, rejected } = await refusedLong();
    await seq.drain(); // the refused long leaves
    seq.placeOrder(derivOrder(bob, FUTURE, { orderId: 11n, side: Side.SELL, priceTicks: AT, sizeLots: 10n }));
    seq.placeOrder(derivOrder(alice, FUTURE, { orderId: 11n, side: Side.BUY, priceTicks: AT, sizeLots: 10n }));
    await seq.drain();
    // alice sells back to bob, and bob buys a perpetual from carol behind it (so the sale is kept until the rebase)
    seq.placeOrder(derivOrder(bob, FUTURE, { orderId: 12n, side: Side.BUY, priceTicks: AT, sizeLots: 10n }));
    seq.placeOrder(derivOrder(alice, FUTURE, { orderId: 12n, side: Side.SELL, priceTicks: AT, sizeLots: 10n }));
    seq.placeOrder(derivOrder(carol, PERP, { orderId: 13n, side: Side.SELL, priceTicks: AT, sizeLots: 1n }));
    seq.placeOrder(derivOrder(bob, PERP, { orderId: 13n, side: Side.BUY, priceTicks: AT, sizeLots: 1n }));
    chain.now = EXPIRY + 10;
    assert.deepEqual((await seq.acceptOracleUpdate(oracleUpdate({ time: EXPIRY + 5, prices: [290_000_000_000n] }))).settled, [FUTURE]);
    await seq.runBatch(); // both trades rejected (their update too old); the expiry's batch proven; the rebase queues the SETTLEs
    // the oracle goes quiet past MAX_ORACLE_AGE of the expiry update: the SETTLEs are rejected, and not queued again
    chain.now = EXPIRY + 5 + 2_000;
    const before = rejected.length;
    await seq.runBatch();
    assert.ok(rejected.length - before <= 2, `${rejected.length - before} rejections (the builder looped before)`);
    assert.ok(rejected.slice(before).every((r) => r.code === "STALE_ORACLE" && r.tx.type === TxType.SETTLE));
    await seq.acceptOracleUpdate(oracleUpdate({ time: chain.now - 10, prices: [290_000_000_000n] }));
    await seq.drain();
    for (const t of [alice, bob]) assert.equal(seq.state.account(t.accountId).deriv.positions[FUTURE].size, 0n, `account ${t.accountId} paid out at the fresh update`);
    assert.equal(seq.pendingTransactions, 0);
    assertInSync(seq);
  });
});
