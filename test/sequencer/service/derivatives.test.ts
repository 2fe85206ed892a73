/**
 * The sequencer's derivatives service without chain or prover (a fake custodian; every batch is
 * still built by the batch witness, so every circuit rule is checked): instruments tradable only once
 * their registration is proven, oracle updates checked, transfers, a perpetual trade, a funding tick,
 * a liquidation after a price drop and a settlement at expiry, with the risk engine's running view of
 * every account equal to the proven state after each batch.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TxType, Side, TriggerType } from "../../../sequencer/protocol/constants.ts";
import { RequestRejected } from "../../../sequencer/service/sequencer.ts";
import { signTransfer } from "../../../sequencer/protocol/signing.ts";
import { derivOrder, EXPIRY, INSTRUMENTS, NOW, oracleUpdate, PRICE, traders } from "../../helpers/derivatives.ts";
import { assertInSync, derivativesSequencer, DEPOSIT } from "../../helpers/derivativesSequencer.ts";
import type { Sequencer } from "../../../sequencer/service/sequencer.ts";
import { refusingVerifier } from "../../helpers/sequencerProvers.ts";

const { alice, bob, carol } = traders;
const PERP = 0;
const FUTURE = 1;

function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof RequestRejected && e.code === code);
}

const transfer = (t: typeof alice, amount: bigint, nonce: number, toCollateral = true) =>
  signTransfer(t.key, { accountId: t.accountId, toCollateral, amount, nonce });

/** A sequencer where alice, bob and carol moved their deposits to collateral and alice bought 15,000 lots of `instrument` from bob at 3,000. */
async function aliceBuysFromBob(instrument: number, options: Parameters<typeof derivativesSequencer>[1] = {}) {
  const env = derivativesSequencer(NOW, options);
  const { seq } = env;
  await seq.acceptOracleUpdate(oracleUpdate({ time: NOW }));
  await seq.drain();
  for (const t of [alice, bob, carol]) seq.requestTransfer(transfer(t, DEPOSIT, 0));
  seq.placeOrder(derivOrder(bob, instrument, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 15_000n }));
  seq.placeOrder(derivOrder(alice, instrument, { orderId: 1n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 15_000n }));
  return env;
}

/** PUT (instrument 3) listed and priced (a second update after its registration), `funded` with their deposits in collateral. */
const PUT = 3;
async function withPut(funded: (typeof alice)[]) {
  const env = derivativesSequencer(NOW);
  const { seq, chain } = env;
  seq.acceptRequest({ type: TxType.REGISTER_INSTRUMENT, instrumentId: PUT, ...INSTRUMENTS[PUT] });
  await seq.acceptOracleUpdate(oracleUpdate({ time: NOW }));
  await seq.drain();
  chain.now = NOW + 1;
  await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 1 })); // prices the put listed after the first
  for (const t of funded) seq.requestTransfer(transfer(t, DEPOSIT, 0));
  return env;
}

describe("derivatives service", () => {
  it("liquidates a writer of deep out-of-the-money puts (a mark below one tick a lot) at one tick: before, no price fitted the band and the account stayed below maintenance margin (review of 2026-12-06)", async () => {
    const { seq, chain } = await withPut([alice, bob, carol]);
    seq.placeOrder(derivOrder(bob, PUT, { orderId: 1n, side: Side.SELL, priceTicks: 20_000n, sizeLots: 10_000n }));
    seq.placeOrder(derivOrder(alice, PUT, { orderId: 1n, side: Side.BUY, priceTicks: 20_000n, sizeLots: 10_000n }));
    await seq.drain();
    assert.equal(seq.state.account(bob.accountId).deriv.positions[PUT].size, -10_000n);
    // the index goes to 30,000: the puts are worth nothing, bob's margin on the underlying (5% of 300 a lot) is 150,000
    chain.now = NOW + 10;
    const rally = await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 10, prices: [3_000_000_000_000n] }));
    assert.equal(seq.derivatives.risk.risks![PUT].mark, 0n);
    const taken = rally.liquidations.find(([a, i]) => a === bob.accountId && i === PUT);
    assert.ok(taken, String(rally.liquidations));
    await seq.drain();
    assert.equal(seq.state.account(bob.accountId).deriv.positions[PUT].size, -10_000n + taken[2], "proven, at one tick");
    assertInSync(seq);
  });

  it("a put worth nothing (mark 0) still trades, and stop and take-profit orders on it fire: alice's stop sell and bob's take-profit buy at one tick close both sides (review of 2026-12-06: a mark of 0 read as no mark held them for good)", async () => {
    const { seq, chain } = await withPut([alice, bob]);
    seq.placeOrder(derivOrder(bob, PUT, { orderId: 1n, side: Side.SELL, priceTicks: 20_000n, sizeLots: 100n }));
    seq.placeOrder(derivOrder(alice, PUT, { orderId: 1n, side: Side.BUY, priceTicks: 20_000n, sizeLots: 100n }));
    await seq.drain();
    chain.now = NOW + 10;
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 10, prices: [3_000_000_000_000n] }));
    assert.equal(seq.derivatives.risk.risks![PUT].mark, 0n);
    const stop = seq.placeOrder(derivOrder(alice, PUT, { orderId: 2n, side: Side.SELL, priceTicks: 1n, sizeLots: 100n, triggerType: TriggerType.STOP, triggerPriceTicks: 1n }));
    const takeProfit = seq.placeOrder(derivOrder(bob, PUT, { orderId: 2n, side: Side.BUY, priceTicks: 1n, sizeLots: 100n, triggerType: TriggerType.TAKE_PROFIT, triggerPriceTicks: 1n }));
    assert.ok(stop.some((e) => e.type === "triggered"), "the stop fires at once");
    assert.ok(takeProfit.some((e) => e.type === "fill"), "the take-profit fires and fills the stop");
    await seq.drain();
    for (const t of [alice, bob]) assert.equal(seq.state.account(t.accountId).deriv.positions[PUT].size, 0n, `account ${t.accountId} flat, proven`);
    assertInSync(seq);
  });

  it("trades, funds, liquidates and settles, every batch accepted and the risk view equal to the proven state", async () => {
    const { seq, chain } = derivativesSequencer(NOW);
    rejects(() => seq.placeOrder(derivOrder(alice, PERP, { orderId: 1n, side: Side.BUY })), "NO_ORACLE");
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5 }));
    rejects(() => seq.placeOrder(derivOrder(alice, PERP, { orderId: 1n, side: Side.BUY })), "UNKNOWN_INSTRUMENT");
    assert.equal((await seq.drain()).length, 4, "keys and deposits in 3 batches; the second instrument after the spot requests");
    assert.ok(seq.markets.get(0x8000) && seq.markets.get(0x8001), "instruments are markets once proven");

    // Bad updates change nothing.
    await assert.rejects(seq.acceptOracleUpdate(oracleUpdate({ time: NOW }, new Uint8Array(32).fill(5))), (e: unknown) => (e as RequestRejected).code === "BAD_ORACLE_KEY");
    await assert.rejects(seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 10 })), (e: unknown) => (e as RequestRejected).code === "ORACLE_WENT_BACK");
    await assert.rejects(seq.acceptOracleUpdate(oracleUpdate({ time: NOW, fundingEpoch: 2 })), (e: unknown) => (e as RequestRejected).code === "BAD_FUNDING_EPOCH");
    await assert.rejects(seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 100 })), (e: unknown) => (e as RequestRejected).code === "ORACLE_FROM_FUTURE");
    assert.equal(seq.derivatives.latest!.time, NOW - 5);

    rejects(() => seq.requestTransfer(transfer(alice, DEPOSIT + 1n, 0)), "INSUFFICIENT_BALANCE");
    for (const t of [alice, bob, carol]) seq.requestTransfer(transfer(t, DEPOSIT, 0));
    rejects(() => seq.requestTransfer(transfer(alice, 1n, 0)), "BAD_NONCE");
    await seq.drain();
    assert.equal(seq.state.account(1).deriv.collateral, DEPOSIT);
    assert.equal(seq.state.balance(1, 0), 0n);

    // 17,000 lots need 51,000 quote of initial margin: refused. 15,000 fit.
    const big = seq.placeOrder(derivOrder(alice, PERP, { orderId: 1n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 17_000n }));
    assert.equal(big.find((e) => e.type === "rejected")?.type === "rejected" && (big[0] as { code: string }).code, "RISK_REJECTED");
    assert.equal(seq.placeOrder(derivOrder(bob, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 15_000n }))[0].type, "accepted");
    const fills = seq.placeOrder(derivOrder(alice, PERP, { orderId: 2n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 15_000n })).filter((e) => e.type === "fill");
    assert.equal(fills.length, 1);
    assert.deepEqual(seq.peekPending().map((t) => t.type), [TxType.DERIV_TRADE]);
    await seq.drain();
    assert.equal(seq.state.account(1).deriv.positions[PERP].size, 15_000n);
    assert.equal(seq.state.account(2).deriv.positions[PERP].size, -15_000n);
    assertInSync(seq);

    // A funding tick is applied by a batch of its own (a marker), longs pay.
    chain.now = NOW + 10;
    const tick = await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 10, fundingEpoch: 1, rates: [100n, 0n, 0n, 0n] }));
    assert.equal(tick.fundingTick, true);
    assert.equal((await seq.drain()).length, 1);
    assert.equal(seq.state.instruments[PERP].fundingIndex, 3_000n); // 100 ppm of 30 quote per lot
    assertInSync(seq);
    const aliceMargin = seq.derivatives.risk.margin(1)!;

    // A drop to 2,800 puts alice below maintenance margin: carol (the liquidator) takes her position.
    chain.now = NOW + 20;
    const drop = await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 20, fundingEpoch: 1, prices: [280_000_000_000n] }));
    assert.deepEqual(drop.liquidations, [[1, PERP, 15_000n]]);
    assert.ok(seq.derivatives.risk.margin(1)!.equity < aliceMargin.equity);
    await seq.drain();
    assert.equal(seq.state.account(1).deriv.positions[PERP].size, 0n);
    assert.equal(seq.state.account(3).deriv.positions[PERP].size, 15_000n);
    assert.equal(seq.state.globals.insuranceFund, 4_200_000_000n); // 1% of 15,000 lots x 28 quote
    assertInSync(seq);

    // A future trade, then expiry: both positions are settled at the signed price.
    chain.now = NOW + 30;
    seq.placeOrder(derivOrder(alice, FUTURE, { orderId: 3n, side: Side.SELL, priceTicks: 280_000n, sizeLots: 10n }));
    assert.equal(seq.placeOrder(derivOrder(bob, FUTURE, { orderId: 2n, side: Side.BUY, priceTicks: 280_000n, sizeLots: 10n })).filter((e) => e.type === "fill").length, 1);
    await seq.drain();
    const bobBefore = seq.state.account(2).deriv.collateral;
    chain.now = EXPIRY;
    rejects(() => seq.placeOrder(derivOrder(bob, FUTURE, { orderId: 3n, side: Side.BUY, priceTicks: 280_000n, sizeLots: 1n })), "STALE_ORACLE");
    const expiry = await seq.acceptOracleUpdate(oracleUpdate({ time: EXPIRY, fundingEpoch: 1, prices: [290_000_000_000n] }));
    assert.deepEqual(expiry.settled, [FUTURE]);
    rejects(() => seq.placeOrder(derivOrder(bob, FUTURE, { orderId: 3n, side: Side.BUY, priceTicks: 280_000n, sizeLots: 1n })), "INSTRUMENT_SETTLED");
    assert.deepEqual(seq.peekPending().filter((t) => t.type === TxType.SETTLE).length, 2);
    await seq.drain();
    assert.equal(seq.state.instruments[FUTURE].settlePrice, 290_000_000_000n);
    assert.equal(seq.state.account(2).deriv.positions[FUTURE].size, 0n);
    // bob's collateral: + 10 lots x 29 quote, less the short perpetual's funding (lazy, settled at this touch: 0 since the tick was applied before)
    assert.equal(seq.state.account(2).deriv.collateral, bobBefore + 10n * 29_000_000n);
    assertInSync(seq);
    assert.equal(seq.pendingTransactions, 0);
    void PRICE;
  });

  it("does not liquidate a position in a future whose expiry passed before the update arrived (signed a second before it): no batch could prove it", async () => {
    const { seq, chain } = await aliceBuysFromBob(FUTURE);
    await seq.drain();
    assert.equal(seq.state.account(alice.accountId).deriv.positions[FUTURE].size, 15_000n);
    const rejections: unknown[] = [];
    seq.events.on("rejected", (r) => rejections.push(r));
    chain.now = EXPIRY + 5;
    // at 2,800 alice is below maintenance, as the perpetual's liquidation above shows
    const late = await seq.acceptOracleUpdate(oracleUpdate({ time: EXPIRY - 1, prices: [280_000_000_000n] }));
    assert.ok(seq.derivatives.risk.belowMaintenance(alice.accountId));
    assert.deepEqual(late.liquidations, [], "the future expired by the record's clock: nothing to liquidate it into");
    assert.deepEqual(seq.peekPending().filter((t) => t.type === TxType.LIQUIDATE), []);
    await seq.drain();
    assert.deepEqual(rejections, []);
    assert.equal(seq.state.account(alice.accountId).deriv.positions[FUTURE].size, 15_000n, "left for the expiry's settlement");
  });

  it("covers a bankrupt account's deficit from the insurance fund first and deleverages the rest onto the other side (DELEVERAGE): no bad debt is left", async () => {
    const { seq, chain } = await aliceBuysFromBob(PERP);
    chain.now = NOW + 10;
    assert.deepEqual((await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 10, prices: [280_000_000_000n] }))).liquidations, [[1, PERP, 15_000n]]);
    await seq.drain();
    const fund = seq.state.globals.insuranceFund;
    assert.equal(fund, 4_200_000_000n, "alice's penalty funds the insurance fund");

    // A gap to 3,400 leaves bob (short 150 ETH) under water by more than the fund holds: carol, the liquidator
    // who took alice's long, is on the other side. She takes bob's short at the mark and pays what the fund
    // cannot cover; the fund pays the rest. No liquidation is needed, and no bad debt is left.
    chain.now = NOW + 20;
    const bobBefore = seq.state.account(2).deriv.collateral;
    const carolBefore = seq.state.account(3).deriv.collateral;
    const outcome = await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 20, prices: [340_000_000_000n] }));
    assert.deepEqual([outcome.deleveraged, outcome.liquidations], [[[2, 3, PERP, 15_000n]], []]);
    assert.equal(seq.peekPending().filter((t) => t.type === TxType.DELEVERAGE).length, 1);
    await seq.drain();
    const deficit = -(bobBefore - 15_000n * 34_000_000n); // his short valued at 34 quote per lot
    assert.ok(deficit > fund, "the loss exceeds the fund");
    assert.deepEqual([seq.state.account(2).deriv.positions[PERP].size, seq.state.account(3).deriv.positions[PERP].size], [0n, 0n]);
    assert.equal(seq.state.globals.insuranceFund, 0n, "the fund paid all it held, first");
    assert.equal(seq.state.account(2).deriv.collateral, 0n, "bob is made whole");
    assert.equal(seq.state.account(3).deriv.collateral, carolBefore + 15_000n * 34_000_000n - (deficit - fund), "carol sold her long to bob at the mark and paid the rest");
    assert.equal(seq.state.globals.badDebt, 0n);
    assertInSync(seq);
  });

  it("deleverages an expiry's deficit beyond the fund before SETTLE pays the positions out: no bad debt is left", async () => {
    const { seq, chain } = await aliceBuysFromBob(FUTURE);
    await seq.drain();
    assert.equal(seq.state.account(1).deriv.positions[FUTURE].size, 15_000n);

    // The future settles at 2,600: alice's 15,000 lots lose 60,000 quote on 50,000 of collateral, with an empty
    // fund. Before SETTLE pays bob, he takes her position back at the payoff and pays her deficit out of it.
    chain.now = EXPIRY + 10;
    const aliceBefore = seq.state.account(1).deriv.collateral;
    const bobBefore = seq.state.account(2).deriv.collateral;
    const outcome = await seq.acceptOracleUpdate(oracleUpdate({ time: EXPIRY + 5, prices: [260_000_000_000n] }));
    assert.deepEqual([outcome.settled, outcome.deleveraged, outcome.liquidations], [[FUTURE], [[1, 2, FUTURE, 15_000n]], []]);
    assert.deepEqual(seq.peekPending().filter((t) => t.type === TxType.DELEVERAGE || t.type === TxType.SETTLE).map((t) => t.type), [TxType.DELEVERAGE], "both are flat: nothing to SETTLE");
    await seq.drain();
    const payoff = 15_000n * 26_000_000n; // 26 quote per lot
    const deficit = -(aliceBefore + payoff);
    assert.ok(deficit > 10_000_000_000n, `alice owed more than 10,000 quote (${deficit})`);
    assert.deepEqual([1, 2].map((a) => seq.state.account(a).deriv.positions[FUTURE].size), [0n, 0n]);
    assert.equal(seq.state.account(1).deriv.collateral, 0n, "alice is made whole");
    assert.equal(seq.state.account(2).deriv.collateral, bobBefore - payoff - deficit, "bob bought back at the payoff and paid her deficit");
    assert.equal(seq.state.globals.badDebt, 0n);
    assertInSync(seq);
  });

  it("socialises a deficit nobody on the other side can pay: the account with the most equity pays it (DELEVERAGE of no lots), no bad debt is left", async () => {
    // alice (3,500 quote of collateral) buys 1,000 perpetual lots from bob, who also buys 14,000 future lots from
    // carol: at 2,600 bob's future loses more than his perpetual gains and his collateral, so he cannot pay
    // alice's deficit. carol takes bob's future back and pays his, liquidates alice's long at the mark, and then,
    // alice being flat with nobody on the other side, pays what is left of alice's deficit too.
    const env = derivativesSequencer(NOW);
    const { seq, chain } = env;
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW }));
    await seq.drain();
    seq.requestTransfer(transfer(alice, 3_500_000_000n, 0));
    for (const t of [bob, carol]) seq.requestTransfer(transfer(t, DEPOSIT, 0));
    seq.placeOrder(derivOrder(bob, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 1_000n }));
    seq.placeOrder(derivOrder(alice, PERP, { orderId: 1n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 1_000n }));
    seq.placeOrder(derivOrder(carol, FUTURE, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 14_000n }));
    seq.placeOrder(derivOrder(bob, FUTURE, { orderId: 2n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 14_000n }));
    await seq.drain();
    assert.deepEqual([1, 2].map((a) => seq.state.account(a).deriv.positions.slice(0, 2).map((p) => p.size)), [[1_000n, 0n], [-1_000n, 14_000n]]);

    chain.now = NOW + 20;
    const outcome = await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 20, prices: [260_000_000_000n] }));
    const socialised = outcome.deleveraged.filter(([, , , lots]) => lots === 0n);
    assert.deepEqual(socialised.map(([victim, payer]) => [victim, payer]), [[1, 3]], "carol pays what is left of alice's deficit");
    assert.ok(outcome.liquidations.some(([victim, id]) => victim === 1 && id === PERP), "alice's long was liquidated first: nobody on the other side could take it");
    const pending = seq.peekPending().filter((t) => t.type === TxType.DELEVERAGE);
    assert.equal(pending.at(-1)?.type === TxType.DELEVERAGE && pending.at(-1)!.lots, 0n, "queued after the liquidation that leaves alice flat");
    await seq.drain();
    assert.equal(seq.state.account(1).deriv.collateral, 0n, "alice's deficit is paid, exactly");
    assert.ok(seq.state.account(1).deriv.positions.every((p) => p.size === 0n));
    assert.equal(seq.state.globals.badDebt, 0n, "no open bad debt");
    for (const t of [alice, bob, carol]) assert.ok((seq.derivatives.risk.margin(t.accountId)?.equity ?? 0n) >= 0n, `account ${t.accountId} is not under water`);
    assertInSync(seq);
  });

  it("cancels the open orders margin no longer covers after an oracle update, in the proven state too (OPERATOR_CANCEL)", async () => {
    const { seq, chain } = derivativesSequencer(NOW);
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW }));
    await seq.drain();
    seq.requestTransfer(transfer(alice, 5_000_000_000n, 0)); // 5,000 quote
    await seq.drain();
    // 1,500 lots at 3,000: 4,500 quote of initial margin plus fees, just covered.
    assert.equal(seq.placeOrder(derivOrder(alice, PERP, { orderId: 1n, side: Side.BUY, priceTicks: 290_000n, sizeLots: 1_500n }))[0].type, "accepted");
    chain.now = NOW + 5;
    const out = await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 5, prices: [340_000_000_000n] }));
    assert.deepEqual(out.cancelled, [1]);
    assert.equal(seq.engine.openOrders(1).length, 0);
    assert.deepEqual(seq.derivatives.risk.openOrders(1), []);
    assert.deepEqual(seq.peekPending().filter((t) => t.type === TxType.OPERATOR_CANCEL), [{ type: TxType.OPERATOR_CANCEL, accountId: 1, orderId: 1n }]);
    await seq.drain();
    assert.deepEqual(seq.state.orderSlot(1, 1n), { storedId: 1n, filled: 0n, cancelled: true }, "no later batch may fill it");
    assertInSync(seq);
  });

  it("deleverages its own liquidator when a gap puts it under water beyond the fund: the collateral side then holds every other account's withdrawal", async () => {
    const { seq, chain } = await aliceBuysFromBob(PERP);
    chain.now = NOW + 10;
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 10, prices: [280_000_000_000n] })); // carol takes alice's long
    await seq.drain();
    assert.equal(seq.state.account(carol.accountId).deriv.positions[PERP].size, 15_000n);
    // A gap to 2,000: carol (the liquidator, whom nobody liquidates) is about 70,000 quote under water, far beyond the
    // 4,200 fund. Left open, her deficit would keep the collateral side short: bob could take it all, and alice's
    // collateral (she is flat) could never leave. She is deleveraged onto bob, the other side.
    chain.now = NOW + 20;
    const gap = await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 20, prices: [200_000_000_000n] }));
    assert.ok(gap.deleveraged.some(([victim, cp]) => victim === carol.accountId && cp === bob.accountId), JSON.stringify(gap.deleveraged, (_, v) => (typeof v === "bigint" ? String(v) : v)));
    await seq.drain();
    const risk = seq.derivatives.risk;
    assert.ok(risk.margin(carol.accountId)!.equity + risk.insuranceFund >= 0n, "no deficit beyond the fund is left");
    assertInSync(seq);
    const bob_ = risk.margin(bob.accountId)!;
    assert.ok(bob_.equity - bob_.required <= risk.collateralSide, "bob's free margin fits the side");
    const aliceC = risk.account(alice.accountId).collateral;
    assert.ok(aliceC > 0n);
    seq.requestTransfer(transfer(alice, aliceC, 1, false));
    await seq.drain();
    assert.equal(seq.state.account(alice.accountId).deriv.collateral, 0n, "alice's leftover collateral left, proven");
    assertInSync(seq);
  });

  it("a rejected trade's rebase keeps intake's fund (an insurance withdrawal still pending), collateral side and open interest equal to the proven state", async () => {
    const verifier = refusingVerifier();
    const { seq, chain } = await aliceBuysFromBob(PERP, { verifier });
    chain.now = NOW + 10;
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 10, prices: [280_000_000_000n] })); // carol takes alice's long: the fund holds 4,200
    await seq.drain();
    const interest = seq.derivatives.risk.openInterest.map((oi) => ({ ...oi }));
    // a trade the batch's signature check refuses (its rejection puts intake back on the proven state: a rebase), and
    // the treasury's insurance withdrawal behind it, which intake pays at once
    const refused = derivOrder(bob, PERP, { orderId: 2n, side: Side.BUY, priceTicks: 280_000n, sizeLots: 1n, expiry: chain.now + 3600 });
    seq.placeOrder(derivOrder(carol, PERP, { orderId: 2n, side: Side.SELL, priceTicks: 280_000n, sizeLots: 1n, expiry: chain.now + 3600 }));
    seq.placeOrder(refused);
    seq.acceptRequest({ type: TxType.INSURANCE_WITHDRAW, amount: 4_000_000_000n });
    verifier.refuse = refused.signature.s;
    await seq.drain();
    assert.equal(seq.state.globals.insuranceFund, 200_000_000n, "the batch paid the withdrawal");
    assert.equal(seq.derivatives.risk.insuranceFund, 200_000_000n, "intake still counts it after the rebase");
    assertInSync(seq);
    assert.deepEqual(seq.derivatives.risk.openInterest, interest, "the open interest is counted once");
    assert.equal(interest[PERP].holders, 2);
  });

  it("refuses a collateral withdrawal the open orders need, changing nothing", async () => {
    const { seq } = derivativesSequencer(NOW);
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW }));
    await seq.drain();
    seq.requestTransfer(transfer(alice, 5_000_000_000n, 0));
    seq.placeOrder(derivOrder(alice, PERP, { orderId: 1n, side: Side.BUY, priceTicks: 290_000n, sizeLots: 1_000n }));
    rejects(() => seq.requestTransfer(transfer(alice, 4_000_000_000n, 1, false)), "INSUFFICIENT_MARGIN");
    assert.equal(seq.derivatives.risk.account(1).collateral, 5_000_000_000n);
    seq.requestTransfer(transfer(alice, 1_000_000_000n, 1, false));
    assert.equal(seq.risk.available(1, 0), DEPOSIT - 4_000_000_000n);
  });
});
