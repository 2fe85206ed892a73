/**
 * A derivatives trade the batch builder rejects (here: its signature fails in the batch) leaves intake's derivatives
 * view at once only where undoing it is exact (exchangeCore.ts #tradeKept, DerivativesRisk.unwindFill): judged at the
 * latest oracle update, with nothing queued that was judged on the positions or margin it left. Otherwise it stays in
 * the view until the owed rebase puts every account back on the proven state, as before the undo existed. Each test
 * is a case from the review of 2026-12-07, where an undo would have left the view in a state no order of events
 * produces; each ends with every batch proven and the view equal to the proven state.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Side } from "../../../sequencer/protocol/constants.ts";
import { signTransfer } from "../../../sequencer/protocol/signing.ts";
import { RequestRejected, type Sequencer, type TxRejection } from "../../../sequencer/service/sequencer.ts";
import type { EngineEvent } from "../../../sequencer/matching/types.ts";
import { refusingVerifier } from "../../helpers/sequencerProvers.ts";
import { derivOrder, NOW, oracleUpdate, traders } from "../../helpers/derivatives.ts";
import { assertInSync, derivativesSequencer, fundCollateral } from "../../helpers/derivativesSequencer.ts";

const { alice, bob, carol } = traders;
const [PERP, FUTURE] = [0, 1];
const AT = 300_000n;

/** The sequencer with alice, bob and carol funded, and alice long 15,000 perpetual lots from bob: a trade no batch will prove. */
async function refusedLong() {
  const verifier = refusingVerifier();
  const log: string[] = [];
  const env = derivativesSequencer(NOW, { verifier, log: (l) => log.push(l) });
  const { seq } = env;
  await fundCollateral(seq, [alice, bob, carol]);
  seq.placeOrder(derivOrder(bob, PERP, { orderId: 1n, side: Side.SELL, priceTicks: AT, sizeLots: 15_000n }));
  const take = derivOrder(alice, PERP, { orderId: 1n, side: Side.BUY, priceTicks: AT, sizeLots: 15_000n });
  assert.equal(seq.placeOrder(take).filter((e) => e.type === "fill").length, 1);
  verifier.refuse = take.signature.s;
  const rejected: TxRejection[] = [];
  seq.events.on("rejected", (r) => rejected.push(r));
  const cancelled: EngineEvent[] = [];
  seq.events.on("engine", (events) => cancelled.push(...events.filter((e) => e.type === "cancelled")));
  return { ...env, rejected, cancelled, log };
}

/** Two more tagged trades between bob and carol in the future, so one still waits after the next batch and the rebase stays owed. */
function keepRebaseOwed(seq: Sequencer, price = AT): void {
  for (const orderId of [2n, 3n]) {
    seq.placeOrder(derivOrder(bob, FUTURE, { orderId, side: Side.SELL, priceTicks: price, sizeLots: 1n }));
    seq.placeOrder(derivOrder(carol, FUTURE, { orderId, side: Side.BUY, priceTicks: price, sizeLots: 1n }));
  }
}

describe("a rejected derivatives trade in intake's view", () => {
  it("stays until the rebase when an oracle update since liquidated the position it opened: no short the account never held, no order cancelled on it", async () => {
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
    assert.ok(log.some((l) => /keeps a rejected trade in market \d+ until the rebase \(an oracle update was applied since\)/.test(l)));
    assert.deepEqual(cancelled, [], "her order stays");
    await seq.drain();
    assert.equal(rejected.length, 2, "nothing else rejected");
    assert.equal(seq.pendingTransactions, 0);
    assertInSync(seq);
    assert.deepEqual(seq.engine.openOrders(alice.accountId).map((o) => o.orderId), [9n]);
  });

  it("stays until the rebase when a funding tick since paid on its lots: intake refuses a transfer of the funding received (an undo would accept one the batch refuses)", async () => {
    const { seq, chain, rejected } = await refusedLong();
    chain.now = NOW + 10;
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 10, fundingEpoch: 1, rates: [1_000n, 0n, 0n, 0n] }));
    keepRebaseOwed(seq);
    await seq.runBatch();
    assert.deepEqual(rejected.map((r) => r.code), ["BAD_SIGNATURE"]);
    assert.equal(seq.derivatives.risk.account(bob.accountId).positions[PERP].size, -15_000n, "bob's short stays in the view");
    const equity = seq.derivatives.risk.margin(bob.accountId)!.equity;
    assert.ok(equity > seq.state.account(bob.accountId).deriv.collateral, "the funding bob received on it");
    assert.throws(
      () => seq.requestTransfer(signTransfer(bob.key, { accountId: bob.accountId, toCollateral: false, amount: equity, nonce: 1 })),
      (e: unknown) => e instanceof RequestRejected && e.code === "INSUFFICIENT_MARGIN",
    );
    await seq.drain();
    assert.equal(rejected.length, 1, "nothing else rejected");
    assert.equal(seq.pendingTransactions, 0);
    assertInSync(seq);
  });

  it("stays until the rebase when a transfer judged on the margin it left is queued: undone at once when nothing is", async () => {
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

  it("is undone at once, with the ledger, when it was judged at the latest update and nothing queued depends on it", async () => {
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
});
