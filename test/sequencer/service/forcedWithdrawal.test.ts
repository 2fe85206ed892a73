/**
 * Forced withdrawals in the sequencer (issue 12), on an in-memory custodian: a queued forced request enters
 * the core like a deposit, intake predicts its outcome with the rule the batch proves, it is served ahead of
 * the trading that waits (within the custodian's deadline however much trading there is), an honoured one
 * takes reserved balance and cancels the orders it no longer covers, and a refused one is proven as refused
 * without blocking settlement.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { IMMEDIATE_ORDER_TTL, Side, TimeInForce, TxType } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import type { EngineEvent } from "../../../sequencer/matching/index.ts";
import { forcedPosition } from "../../../sequencer/service/exchangeCore.ts";
import type { PendingEntry } from "../../../sequencer/service/batchSelection.ts";
import type { BatchTx } from "../../../sequencer/protocol/transactions.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { countingProver, FakeCustodian } from "../../helpers/fakeCustodian.ts";
import { alice, bob, durableSequencer, offlineSequencer, removeDurableSequencers } from "../../helpers/sequencer.ts";
import { order, testTrader } from "../../helpers/traders.ts";
import { derivativesSequencer, DEPOSIT, fundCollateral } from "../../helpers/derivativesSequencer.ts";
import { derivOrder, NOW, oracleUpdate, traders } from "../../helpers/derivatives.ts";
import { signTransfer } from "../../../sequencer/protocol/signing.ts";
import type { SequencerOptions } from "../../../sequencer/service/sequencer.ts";
import { refusingVerifier } from "../../helpers/sequencerProvers.ts";
import { ORACLE_FRESHNESS } from "../../../sequencer/service/derivatives.ts";

afterEach(removeDurableSequencers);

const T0 = 1_700_000_000;
/** The expiry of alice's IOC buys: as far as intake allows (the clock stays at T0). */
const IOC_EXPIRY = T0 + IMMEDIATE_ORDER_TTL;
const carol = testTrader(3);
const CAROL_BASE = 70_000n;

/** An offline sequencer (fixture requests, and carol with CAROL_BASE of token 1) on a fake custodian, every setup batch posted. */
async function onChain(overrides: Partial<SequencerOptions> = {}) {
  const clock = { now: T0 };
  const chain = new FakeCustodian(new ExchangeState(TEST_PARAMS).root);
  chain.blockTime = () => clock.now;
  const s = offlineSequencer({ chain: chain.context(), prover: countingProver(), clock: () => clock.now, ...overrides });
  s.acceptRequest({ type: TxType.REGISTER_KEY, accountId: carol.accountId, pubKey: carol.pubKey });
  s.acceptRequest({ type: TxType.DEPOSIT, accountId: carol.accountId, tokenId: 1, amount: CAROL_BASE });
  await s.drain();
  return { s, chain, clock };
}

/** `n` one-lot trades between alice (buyer, IOC) and bob's resting sell order: n pending TRADE transactions. */
function heavyTrading(s: Awaited<ReturnType<typeof onChain>>["s"], n: number, firstId = 1n): void {
  s.placeOrder(order(bob, { orderId: firstId, side: Side.SELL, priceTicks: 90n, sizeLots: BigInt(n) }));
  for (let i = 0; i < n; i++) {
    s.placeOrder(order(alice, { orderId: firstId + BigInt(i), side: Side.BUY, priceTicks: 90n, sizeLots: 1n, timeInForce: TimeInForce.IOC, expiry: IOC_EXPIRY }));
  }
}

const forced = (accountId: number, tokenId: number, amount: bigint): BatchTx => ({ type: TxType.FORCED_WITHDRAW, accountId, tokenId, amount });

/** A derivatives sequencer after an oracle update, with alice's DEPOSIT moved into collateral and proven; `before` is that collateral. */
async function aliceWithCollateral() {
  const { alice: a } = traders;
  const { seq, chain } = derivativesSequencer(NOW);
  await seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5 }));
  await seq.drain();
  seq.requestTransfer(signTransfer(a.key, { accountId: a.accountId, toCollateral: true, amount: DEPOSIT, nonce: 0 }));
  await seq.drain();
  return { seq, chain, before: seq.state.account(a.accountId).deriv.collateral };
}

describe("forced withdrawals in the sequencer", () => {
  it("serves a forced withdrawal queued behind heavy trading in the very next batch, honoured, and the trades after it", async () => {
    const { s, chain } = await onChain();
    heavyTrading(s, 12);
    assert.equal(s.pendingTransactions, 12, "twelve trades wait: six batches of two spot slots");
    s.acceptRequest(forced(carol.accountId, 1, CAROL_BASE));
    assert.equal(s.peekPending()[0].type, TxType.FORCED_WITHDRAW, "queued ahead of the trading");
    assert.equal(s.risk.balance(carol.accountId, 1), 0n, "intake took it at once");
    assert.ok(await s.runBatch());
    assert.equal(s.state.balance(carol.accountId, 1), 0n, "the next batch paid it");
    assert.equal(s.pendingTransactions, 11, "the batch's other slot took one trade");
    await s.drain();
    assert.equal(s.state.root, chain.root);
    assert.equal(s.state.balance(alice.accountId, 1), 12n * 1000n, "every trade settled after it");
  });

  it("a forced withdrawal arriving after trades whose orders expire before it came is dated with them: it passes them without pushing their batch's stamp past the expiry", async () => {
    const { s, clock } = await onChain();
    const rejected: string[] = [];
    s.events.on("rejected", (r: { code: string }) => rejected.push(r.code));
    const expiry = T0 + 30;
    s.placeOrder(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 3n }));
    for (let i = 0; i < 3; i++) {
      s.placeOrder(order(alice, { orderId: 1n + BigInt(i), side: Side.BUY, priceTicks: 90n, sizeLots: 1n, timeInForce: TimeInForce.IOC, expiry }));
    }
    clock.now = expiry + 30; // the forced request arrives after the IOC orders expired
    s.acceptRequest(forced(carol.accountId, 1, CAROL_BASE));
    assert.equal(s.peekPending()[0].type, TxType.FORCED_WITHDRAW, "queued ahead of the trading");
    await s.drain();
    assert.deepEqual(rejected, [], "no trade was pushed past its order's expiry");
    assert.equal(s.state.balance(alice.accountId, 1), 3n * 1000n, "every trade settled");
    assert.equal(s.state.balance(carol.accountId, 1), 0n, "and the forced withdrawal");
  });

  it("follows the proven outcome when a rejected transaction before it changed the account: predicted refused, proven honoured, intake's balance is the state's", async () => {
    const verifier = refusingVerifier();
    const logged: string[] = [];
    const { s, chain } = await onChain({ verifier, log: (line) => logged.push(line) });
    // alice rests a buy of 30 lots; bob sells into it (a pending trade: bob's 1,000,000 of token 1 go to 970,000 at intake)
    s.placeOrder(order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 90n, sizeLots: 30n }));
    const sell = order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 30n, timeInForce: TimeInForce.IOC, expiry: IOC_EXPIRY });
    assert.ok(s.placeOrder(sell).some((e) => e.type === "fill"));
    // bob forces out 980,000: above intake's 970,000, so intake predicts a refusal and moves nothing
    s.acceptRequest(forced(bob.accountId, 1, 980_000n));
    assert.equal(s.risk.balance(bob.accountId, 1), 970_000n);
    // the trade cannot be proven (its signature is refused at batch time): it leaves, bob's 30,000 come back, and the
    // batch applies the forced withdrawal to 1,000,000, so it proves it honoured
    verifier.refuse = sell.signature.s;
    await s.drain();
    assert.equal(s.state.root, chain.root);
    assert.equal(s.state.balance(bob.accountId, 1), 20_000n, "the batch paid 980,000");
    assert.equal(s.risk.balance(bob.accountId, 1), 20_000n, "intake follows the proof: no phantom 980,000");
    assert.equal(s.pendingTransactions, 0);
    assert.ok(logged.some((l) => /proves it honoured, not as intake predicted/.test(l)), logged.join("\n"));
  });

  it("proves a forced withdrawal above the balance as refused: nothing moves and settlement goes on", async () => {
    const { s, chain } = await onChain();
    heavyTrading(s, 5);
    s.acceptRequest(forced(carol.accountId, 1, CAROL_BASE + 1n));
    assert.equal(s.risk.balance(carol.accountId, 1), CAROL_BASE, "intake predicts the refusal");
    const posted = await s.drain();
    assert.ok(posted.length >= 3);
    assert.equal(s.state.root, chain.root);
    assert.equal(s.state.balance(carol.accountId, 1), CAROL_BASE, "refused: the balance is unchanged");
    assert.equal(s.pendingTransactions, 0);
  });

  it("takes balance reserved by open orders and cancels the orders it no longer covers (events as a cancel), so no later fill is unprovable", async () => {
    const { s, chain } = await onChain();
    // bob rests a sell of 50 lots of token 1 (50,000 units reserved) and withdraws all of his 1,000,000 by force.
    s.placeOrder(order(bob, { orderId: 7n, side: Side.SELL, priceTicks: 95n, sizeLots: 50n }));
    const events: EngineEvent[] = [];
    s.events.on("engine", (e: readonly EngineEvent[]) => events.push(...e));
    s.acceptRequest(forced(bob.accountId, 1, 1_000_000n));
    assert.deepEqual(
      events.filter((e) => e.type === "cancelled").map((e) => e.type === "cancelled" && [e.accountId, e.orderId, e.reason]),
      [[bob.accountId, 7n, "uncovered"]],
    );
    assert.equal(s.engine.openOrders(bob.accountId).length, 0);
    // alice's buy at bob's price finds nothing to fill
    s.placeOrder(order(alice, { orderId: 3n, side: Side.BUY, priceTicks: 95n, sizeLots: 5n, timeInForce: TimeInForce.IOC, expiry: IOC_EXPIRY }));
    await s.drain();
    assert.equal(s.state.root, chain.root);
    assert.equal(s.state.balance(bob.accountId, 1), 0n);
    assert.equal(s.risk.balance(bob.accountId, 1), 0n);
    assert.equal(s.state.balance(alice.accountId, 1), 0n, "no fill of the cancelled order");
    // the cancel is proven (the state above is the chain's root): the order's storage slot says cancelled, so no later batch may fill it
    assert.deepEqual(s.state.orderSlot(bob.accountId, 7n), { storedId: 7n, filled: 0n, cancelled: true });
  });

  it("a forced collateral withdrawal arriving without a fresh oracle update waits for one, with the requests queued after it; the next update judges it and a batch with that update serves it", async () => {
    const { alice: a, bob: b } = traders;
    const { seq, chain, before } = await aliceWithCollateral();
    const bobQuote = seq.state.balance(b.accountId, 0);
    chain.now += ORACLE_FRESHNESS + 1; // the oracle went quiet: its latest update is no longer fresh
    seq.acceptRequest({ type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId: a.accountId, tokenId: 0, amount: 1_000_000n });
    seq.acceptRequest({ type: TxType.DEPOSIT, accountId: b.accountId, tokenId: 0, amount: 7n }); // queued after it on chain
    assert.deepEqual(seq.peekPending().map((tx) => tx.type), [TxType.FORCED_COLLATERAL_WITHDRAW, TxType.DEPOSIT], "held, in the custodian's order");
    assert.equal(seq.derivatives.risk.account(a.accountId).collateral, before, "not judged without marks");
    assert.equal(seq.pendingTransactions, 2);
    await seq.drain();
    assert.equal(seq.state.account(a.accountId).deriv.collateral, before, "never proven refused for want of marks");
    assert.equal(seq.state.balance(b.accountId, 0), bobQuote, "the deposit waits behind it");
    await seq.acceptOracleUpdate(oracleUpdate({ time: chain.now - 5 }));
    assert.equal(seq.derivatives.risk.account(a.accountId).collateral, before - 1_000_000n, "judged honoured at the fresh update");
    await seq.drain();
    assert.equal(seq.pendingTransactions, 0);
    assert.equal(seq.state.account(a.accountId).deriv.collateral, before - 1_000_000n, "proven honoured");
    assert.equal(seq.state.balance(b.accountId, 0), bobQuote + 7n);
  });

  it("a restart replays a forced request from the log: the same queue position, outcome and cancels", () => {
    const d = durableSequencer();
    d.sequencer.placeOrder(order(bob, { orderId: 7n, side: Side.SELL, priceTicks: 95n, sizeLots: 50n }));
    d.sequencer.placeOrder(order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 95n, sizeLots: 2n }));
    d.sequencer.acceptRequest(forced(bob.accountId, 1, 990_000n)); // honoured: 8,000 left, the 48 lots still resting reserve 48,000
    const queue = d.sequencer.peekPending().map((t) => t.type);
    const reopened = d.reopen();
    assert.deepEqual(reopened.peekPending().map((t) => t.type), queue);
    assert.equal(d.sequencer.engine.openOrders(bob.accountId).length, 0);
    assert.equal(reopened.risk.balance(bob.accountId, 1), 1_000_000n - 2_000n - 990_000n);
    assert.equal(reopened.engine.openOrders(bob.accountId).length, 0, "bob's order, no longer covered, is cancelled again");
  });

  it("a restart replays the proven outcome of a forced withdrawal (the log's `forced` record): intake's balance stays the state's", async () => {
    const verifier = refusingVerifier();
    const chain = new FakeCustodian(new ExchangeState(TEST_PARAMS).root);
    chain.blockTime = () => T0;
    const d = durableSequencer({ chain: chain.context(), prover: countingProver(), verifier, clock: () => T0 });
    const s = d.sequencer;
    s.placeOrder(order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 90n, sizeLots: 30n }));
    const sell = order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 30n, timeInForce: TimeInForce.IOC, expiry: IOC_EXPIRY });
    assert.ok(s.placeOrder(sell).some((e) => e.type === "fill"));
    s.acceptRequest(forced(bob.accountId, 1, 980_000n)); // intake: 970,000 < 980,000, predicted refused
    verifier.refuse = sell.signature.s; // the trade leaves the batch, so the batch proves the withdrawal honoured
    await s.drain();
    assert.equal(s.state.root, chain.root);
    assert.equal(s.risk.balance(bob.accountId, 1), 20_000n);
    const reopened = d.reopen();
    assert.equal(reopened.state.root, chain.root, "the recovered state is the chain's");
    assert.equal(reopened.risk.balance(bob.accountId, 1), 20_000n, "replay applies the forced record where it was logged: no phantom 980,000");
    assert.equal(reopened.pendingTransactions, 0);
  });

  it("a forced request keeps its place behind on-chain requests, its account's pending entries, and (collateral) oracle-tagged ones", () => {
    const trade = (buyer: number, seller: number): PendingEntry => ({
      tx: { type: TxType.TRADE, buy: order(testTrader(buyer), { orderId: 1n, side: Side.BUY }), sell: order(testTrader(seller), { orderId: 1n, side: Side.SELL }), lots: 1n, priceTicks: 100n, buyFeePpm: 0, sellFeePpm: 0 },
      time: T0,
    });
    const deposit: PendingEntry = { tx: { type: TxType.DEPOSIT, accountId: 5, tokenId: 0, amount: 1n }, time: T0 };
    const pending = [trade(1, 2), deposit, trade(1, 2), trade(3, 2), trade(1, 2)];
    assert.equal(forcedPosition(pending, { type: TxType.FORCED_WITHDRAW, accountId: 9, tokenId: 0, amount: 1n }), 2, "after the deposit");
    assert.equal(forcedPosition(pending, { type: TxType.FORCED_WITHDRAW, accountId: 3, tokenId: 0, amount: 1n }), 4, "after account 3's trade");
    const tagged = { ...trade(1, 2), oracle: {} as NonNullable<PendingEntry["oracle"]> };
    assert.equal(forcedPosition([...pending, tagged, trade(1, 2)], { type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId: 9, tokenId: 0, amount: 1n }), 6);
  });

  it("a forced collateral withdrawal: refused past initial margin, honoured within it, orders it no longer covers cancelled, the risk view equal to the proven state", async () => {
    const { alice: a, bob: b } = traders;
    const { seq } = derivativesSequencer(NOW);
    await fundCollateral(seq, [a, b]);
    // alice long 15,000 perpetual lots at 3,000 (45,000 of initial margin on 50,000) and a resting buy that needs more margin
    seq.placeOrder(derivOrder(b, 0, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 15_000n }));
    seq.placeOrder(derivOrder(a, 0, { orderId: 2n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 15_000n }));
    seq.placeOrder(derivOrder(a, 0, { orderId: 3n, side: Side.BUY, priceTicks: 290_000n, sizeLots: 100n }));
    await seq.drain();
    const events: EngineEvent[] = [];
    seq.events.on("engine", (e: readonly EngineEvent[]) => events.push(...e));
    const collateral = () => seq.state.account(a.accountId).deriv.collateral;
    const before = collateral();
    const forcedC = (amount: bigint): BatchTx => ({ type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId: a.accountId, tokenId: 0, amount });
    seq.acceptRequest(forcedC(6_000_000_000n)); // past initial margin: refused, nothing cancelled
    assert.equal(events.length, 0);
    await seq.drain();
    assert.equal(collateral(), before, "refused: proven, nothing moved");
    seq.acceptRequest(forcedC(4_600_000_000n)); // equity 49,775 on 45,000 of IM: honoured; the resting buy needs 302.9 more: cancelled
    assert.deepEqual(events.filter((e) => e.type === "cancelled").map((e) => e.type === "cancelled" && [e.orderId, e.reason]), [[3n, "uncovered"]]);
    await seq.drain();
    assert.equal(collateral(), before - 4_600_000_000n);
    assert.deepEqual(seq.derivatives.risk.account(a.accountId), seq.state.account(a.accountId).deriv, "intake predicted the proven outcome");
    assert.equal(seq.pendingTransactions, 0);
  });

  it("a forced collateral withdrawal whose oracle update grows too old before any batch proves it keeps its place, untagged: intake's debit goes back and the next fresh update judges it again", async () => {
    const { alice: a } = traders;
    const { seq, chain, before } = await aliceWithCollateral();
    seq.acceptRequest({ type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId: a.accountId, tokenId: 0, amount: 1_000_000n });
    assert.equal(seq.derivatives.risk.account(a.accountId).collateral, before - 1_000_000n, "intake judged it honoured at the fresh update");
    chain.now += 3_600; // an hour of backlog: the update is too old for any stamp the custodian still accepts
    await seq.drain();
    assert.equal(seq.pendingTransactions, 1, "waiting for marks, not proven refused");
    assert.equal(seq.state.account(a.accountId).deriv.collateral, before);
    assert.deepEqual(seq.derivatives.risk.account(a.accountId), seq.state.account(a.accountId).deriv, "intake's view is the proven one again");
    await seq.acceptOracleUpdate(oracleUpdate({ time: chain.now - 5 }));
    await seq.drain();
    assert.equal(seq.pendingTransactions, 0);
    assert.equal(seq.state.account(a.accountId).deriv.collateral, before - 1_000_000n, "proven honoured at the new update");
    seq.requestTransfer(signTransfer(a.key, { accountId: a.accountId, toCollateral: false, amount: 1_000_000n, nonce: 1 }));
    await seq.drain();
    assert.equal(seq.state.account(a.accountId).deriv.collateral, before - 2_000_000n, "settlement goes on");
  });
});
