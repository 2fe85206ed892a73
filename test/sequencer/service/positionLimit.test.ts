/**
 * Position slots (sequencer/risk/positionLimit.ts), through the sequencer at TEST_PARAMS (4 instruments, 3 position
 * slots per account; a fake custodian, every batch built by the batch witness): open orders take no slot, so a market
 * maker quotes all 4 instruments; takers fill it on 3, and the next taker on the 4th finds its quote cancelled
 * (position-slots, proven by an OPERATOR_CANCEL) rather than a fill the builder would refuse. An order that could not
 * fill at once (its account holds 3 other instruments) is refused TOO_MANY_POSITIONS and changes nothing; orders on
 * the account's own instruments are accepted, and once a position closes the refused order is accepted; the
 * liquidator is not given a 4th position either; a rejected closing trade leaves the orders that counted on its slot
 * in the book, judged when they fill. Every batch is accepted and the risk view equals the proven state.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { IMMEDIATE_ORDER_TTL, Side, TimeInForce, TxType, INSTRUMENT_MARKET_BASE } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { signTransfer } from "../../../sequencer/protocol/signing.ts";
import { CancelReason, type EngineEvent } from "../../../sequencer/matching/types.ts";
import type { Sequencer, SequencerOptions, TxRejection } from "../../../sequencer/service/sequencer.ts";
import { refusingVerifier } from "../../helpers/sequencerProvers.ts";
import { dave, derivOrder, INSTRUMENTS, NOW, oracleUpdate, traders } from "../../helpers/derivatives.ts";
import { derivativesSequencer, DEPOSIT, fundDave } from "../../helpers/derivativesSequencer.ts";

const { alice, bob, carol } = traders;
const [PERP, FUTURE, CALL, PUT] = [0, 1, 2, 3];
const AT = 300_000n; // 3,000 per unit
const PREMIUM = 20_000n; // 200 per unit: 2 quote per option lot

const codes = (ev: readonly EngineEvent[]) => ev.flatMap((e) => (e.type === "rejected" ? [`rejected:${e.code}`] : e.type === "fill" ? [`fill:${e.lots}`] : e.type === "done" ? [] : [e.type]));

/** The risk engine's view of each account equals the proven state. */
function assertInSync(seq: Sequencer): void {
  for (const t of Object.values(traders)) {
    assert.deepEqual(seq.derivatives.risk.account(t.accountId), seq.state.account(t.accountId).deriv, `account ${t.accountId}`);
  }
}

/** The instruments in which `accountId` holds a non-zero position in the proven state. */
const provenHeld = (seq: Sequencer, accountId: number) => seq.state.account(accountId).deriv.positions.flatMap((p, id) => (p.size !== 0n ? [id] : []));

/** `buyer` buys `lots` of each instrument `[id, orderId, priceTicks]` from `seller`'s ask (each id a market of its own): every buy fills in full. */
function buyFrom(seq: Sequencer, seller: Parameters<typeof derivOrder>[0], buyer: Parameters<typeof derivOrder>[0], buys: readonly (readonly [number, bigint, bigint])[], lots = 10n): void {
  for (const [id, orderId, priceTicks] of buys) {
    seq.placeOrder(derivOrder(seller, id, { orderId, side: Side.SELL, priceTicks, sizeLots: lots }));
    assert.deepEqual(codes(seq.placeOrder(derivOrder(buyer, id, { orderId, side: Side.BUY, priceTicks, sizeLots: lots }))), ["accepted", `fill:${lots}`], `instrument ${id}`);
  }
}

/** The sequencer with all four test instruments tradable and alice, bob and carol's deposits in collateral; `log` collects its log lines. */
async function fourInstruments(options: Partial<SequencerOptions> = {}) {
  const log: string[] = [];
  const env = derivativesSequencer(NOW, { log: (line) => log.push(line), ...options });
  const { seq } = env;
  INSTRUMENTS.slice(2).forEach((spec, k) => seq.acceptRequest({ type: TxType.REGISTER_INSTRUMENT, instrumentId: 2 + k, ...spec }));
  await seq.acceptOracleUpdate(oracleUpdate({ time: NOW }));
  await seq.drain();
  for (const t of [alice, bob, carol]) seq.requestTransfer(signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount: DEPOSIT, nonce: 0 }));
  await seq.drain();
  assert.equal(seq.derivatives.risk.positionSlots, TEST_PARAMS.positionSlots);
  assert.equal(TEST_PARAMS.positionSlots, 3);
  return { ...env, log };
}

describe("position slots at intake", () => {
  it("accepts a market maker's quotes on all 4 instruments (3 slots); fills it on 3; cancels its quote on the 4th when a taker crosses it (position-slots, proven), the builder refusing nothing", async () => {
    const { seq } = await fourInstruments();
    const seen: TxRejection[] = [];
    seq.events.on("rejected", (r) => seen.push(r));
    const cancelled: EngineEvent[] = [];
    seq.events.on("engine", (events) => cancelled.push(...events.filter((e) => e.type === "cancelled")));
    // carol, the market maker, offers 10 lots of every instrument: 4 instruments, one more than her slots
    const quotes = [PERP, FUTURE, CALL, PUT].map((id) => derivOrder(carol, id, { orderId: BigInt(1 + id), side: Side.SELL, priceTicks: id >= CALL ? PREMIUM : AT, sizeLots: 10n }));
    for (const q of quotes) assert.deepEqual(codes(seq.placeOrder(q)), ["accepted"], `quote on market ${q.marketId}`);
    assert.deepEqual(seq.engine.openOrders(carol.accountId).map((o) => o.marketId), quotes.map((q) => q.marketId));
    // alice takes the perpetual, the future and the calls: carol holds 3 positions
    for (const id of [PERP, FUTURE, CALL]) {
      const take = derivOrder(alice, id, { orderId: BigInt(1 + id), side: Side.BUY, priceTicks: id >= CALL ? PREMIUM : AT, sizeLots: 10n });
      assert.deepEqual(codes(seq.placeOrder(take)), ["accepted", "fill:10"], `instrument ${id}`);
    }
    assert.deepEqual(seq.derivatives.risk.held(carol.accountId), new Set([PERP, FUTURE, CALL]));
    // bob bids for the put: carol's ask would be her 4th position, so it goes (proven); bob's bid rests
    const pending = seq.peekPending().length;
    assert.deepEqual(codes(seq.placeOrder(derivOrder(bob, PUT, { orderId: 1n, side: Side.BUY, priceTicks: PREMIUM, sizeLots: 10n }))), ["accepted", "cancelled"]);
    assert.deepEqual(cancelled.map((e) => e.type === "cancelled" && [e.accountId, e.orderId, e.reason, e.remainingLots]), [[carol.accountId, quotes[PUT].orderId, CancelReason.POSITION_SLOTS, 10n]]);
    assert.deepEqual(seq.peekPending().slice(pending), [{ type: TxType.OPERATOR_CANCEL, accountId: carol.accountId, orderId: quotes[PUT].orderId }], "an OPERATOR_CANCEL queued: it rested, the circuit would fill it once she has a slot");
    assert.equal(seq.engine.order(bob.accountId, 1n)?.remainingLots, 10n, "the taker's bid rests");
    assert.deepEqual(seq.derivatives.risk.account(carol.accountId).positions[PUT].size, 0n);
    await seq.drain();
    assert.deepEqual(seen, [], "the batch builder refused nothing (no TOO_MANY_POSITIONS)");
    assert.deepEqual(provenHeld(seq, carol.accountId), [PERP, FUTURE, CALL]);
    assert.deepEqual(seq.state.orderSlot(carol.accountId, quotes[PUT].orderId), { storedId: quotes[PUT].orderId, filled: 0n, cancelled: true }, "proven cancelled");
    assertInSync(seq);
    assert.equal(seq.pendingTransactions, 0, "every batch was accepted");
  });

  it("refuses an order on a 4th instrument once the account holds 3 (TOO_MANY_POSITIONS) and changes nothing, accepts orders on its 3, and the 4th once a position closed", async () => {
    const { seq } = await fourInstruments();
    // alice: long the perpetual, the future and calls (from bob)
    buyFrom(seq, bob, alice, [[PERP, 1n, AT], [FUTURE, 2n, AT]], 100n);
    // positions in 2 instruments and orders on the 3rd and 4th: open orders take no slot
    assert.deepEqual(codes(seq.placeOrder(derivOrder(alice, CALL, { orderId: 3n, side: Side.BUY, priceTicks: PREMIUM, sizeLots: 10n }))), ["accepted"]);
    assert.deepEqual(codes(seq.placeOrder(derivOrder(alice, PUT, { orderId: 8n, side: Side.BUY, priceTicks: PREMIUM - 1n, sizeLots: 10n }))), ["accepted"], "the old rule refused it: positions and orders spanned 3");
    assert.deepEqual(codes(seq.placeOrder(derivOrder(bob, CALL, { orderId: 3n, side: Side.SELL, priceTicks: PREMIUM, sizeLots: 10n }))), ["accepted", "fill:10"]);

    // positions in 3 instruments: a put is a 4th
    const put = derivOrder(alice, PUT, { orderId: 4n, side: Side.BUY, priceTicks: PREMIUM, sizeLots: 10n });
    const before = { orders: seq.engine.openOrders(alice.accountId), reserved: seq.derivatives.risk.openOrders(alice.accountId), margin: seq.derivatives.risk.margin(alice.accountId), pending: seq.peekPending().length };
    const refused = seq.placeOrder(put);
    assert.deepEqual(codes(refused), ["rejected:TOO_MANY_POSITIONS"]);
    assert.deepEqual(seq.engine.openOrders(alice.accountId), before.orders, "no book entry");
    assert.deepEqual(seq.derivatives.risk.openOrders(alice.accountId), before.reserved, "nothing reserved");
    assert.deepEqual(seq.derivatives.risk.margin(alice.accountId), before.margin);
    assert.deepEqual(seq.engine.depth(INSTRUMENT_MARKET_BASE + PUT, 10).bids, [{ priceTicks: PREMIUM - 1n, lots: 10n, orders: 1 }], "her earlier bid only");
    assert.equal(seq.engine.isOrderIdUsed(alice.accountId, 4n), false, "a refused order does not use its id");
    assert.equal(seq.peekPending().length, before.pending);

    // her own instruments: accepted (a resting perpetual ask; a reduce-only sell of the future)
    assert.deepEqual(codes(seq.placeOrder(derivOrder(alice, PERP, { orderId: 5n, side: Side.SELL, priceTicks: 310_000n, sizeLots: 10n }))), ["accepted"]);
    assert.deepEqual(codes(seq.placeOrder(derivOrder(alice, FUTURE, { orderId: 6n, side: Side.SELL, priceTicks: 310_000n, sizeLots: 10n, reduceOnly: true }))), ["accepted"]);
    await seq.drain();
    assert.deepEqual(provenHeld(seq, alice.accountId), [PERP, FUTURE, CALL]);

    // she closes the future (bob's bid takes her reduce-only ask and an IOC sell of the rest): the put is accepted now
    assert.deepEqual(codes(seq.placeOrder(derivOrder(bob, FUTURE, { orderId: 4n, side: Side.BUY, priceTicks: 310_000n, sizeLots: 100n }))), ["accepted", "fill:10"]);
    assert.deepEqual(codes(seq.placeOrder(derivOrder(alice, FUTURE, { orderId: 7n, side: Side.SELL, priceTicks: 310_000n, sizeLots: 90n, timeInForce: TimeInForce.IOC, expiry: NOW + IMMEDIATE_ORDER_TTL }))), ["accepted", "fill:90"]);
    assert.equal(seq.derivatives.risk.account(alice.accountId).positions[FUTURE].size, 0n);
    assert.deepEqual(codes(seq.placeOrder(put)), ["accepted"], "the same signed order, refused before");
    await seq.drain();
    assert.deepEqual(provenHeld(seq, alice.accountId), [PERP, CALL]);
    assertInSync(seq);
    assert.equal(seq.pendingTransactions, 0, "every batch was accepted");
  });

  it("liquidates nothing to a liquidator whose positions span its 3 position slots, and liquidates once it closed one", async () => {
    const { seq, chain, log } = await fourInstruments();
    // dave (account 4) with 50,000 quote of collateral: the liquidator's counterparty
    await fundDave(seq);
    seq.placeOrder(derivOrder(bob, PERP, { orderId: 1n, side: Side.SELL, priceTicks: AT, sizeLots: 15_000n }));
    assert.deepEqual(codes(seq.placeOrder(derivOrder(alice, PERP, { orderId: 1n, side: Side.BUY, priceTicks: AT, sizeLots: 15_000n }))), ["accepted", "fill:15000"]);
    // carol, the liquidator, buys the future, a call and a put from dave
    buyFrom(seq, dave, carol, [[FUTURE, 2n, AT], [CALL, 3n, PREMIUM], [PUT, 4n, PREMIUM]]);
    await seq.drain();
    assert.deepEqual(provenHeld(seq, carol.accountId), [FUTURE, CALL, PUT]);

    // a drop to 2,800 puts alice below maintenance margin: her perpetual long would be carol's 4th position
    chain.now = NOW + 20;
    const drop = await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 20, prices: [280_000_000_000n] }));
    assert.deepEqual(drop.liquidations, []);
    assert.equal(seq.derivatives.risk.belowMaintenance(alice.accountId), true);
    assert.ok(log.some((l) => /liquidator cannot take account 1's position in instrument 0: .*3 position slots/.test(l)), "the operator's log says why");
    await seq.drain();

    // carol sells her future back to dave (he holds it): the next update liquidates alice to her
    seq.placeOrder(derivOrder(dave, FUTURE, { orderId: 5n, side: Side.BUY, priceTicks: 280_000n, sizeLots: 10n }));
    assert.deepEqual(codes(seq.placeOrder(derivOrder(carol, FUTURE, { orderId: 5n, side: Side.SELL, priceTicks: 280_000n, sizeLots: 10n }))), ["accepted", "fill:10"]);
    chain.now = NOW + 30;
    const next = await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 30, prices: [280_000_000_000n] }));
    assert.deepEqual(next.liquidations.map(([victim, id]) => [victim, id]), [[alice.accountId, PERP]]);
    await seq.drain();
    assert.deepEqual(provenHeld(seq, carol.accountId), [PERP, CALL, PUT]);
    assertInSync(seq);
    assert.equal(seq.pendingTransactions, 0, "every batch was accepted");
  });

  it("keeps the orders on a 4th instrument when a closing trade is rejected (the position it closed is back), and cancels one when it would fill (position-slots, proven)", async () => {
    const verifier = refusingVerifier();
    const { seq } = await fourInstruments({ verifier });
    // alice long the perpetual, the future and calls, from bob
    buyFrom(seq, bob, alice, [[PERP, 1n, AT], [FUTURE, 2n, AT], [CALL, 3n, PREMIUM]]);
    await seq.drain();
    // she sells her calls back to bob, and bids for puts on the slot that frees
    seq.placeOrder(derivOrder(bob, CALL, { orderId: 4n, side: Side.BUY, priceTicks: PREMIUM, sizeLots: 10n }));
    const closing = derivOrder(alice, CALL, { orderId: 4n, side: Side.SELL, priceTicks: PREMIUM, sizeLots: 10n, timeInForce: TimeInForce.IOC, expiry: NOW + IMMEDIATE_ORDER_TTL });
    assert.deepEqual(codes(seq.placeOrder(closing)), ["accepted", "fill:10"]);
    assert.deepEqual(codes(seq.placeOrder(derivOrder(alice, PUT, { orderId: 5n, side: Side.BUY, priceTicks: PREMIUM, sizeLots: 10n }))), ["accepted"]);

    // the closing trade cannot be proven: alice holds the calls again, her put bid stays (judged when it fills)
    verifier.refuse = closing.signature.s;
    const seen: TxRejection[] = [];
    seq.events.on("rejected", (r) => seen.push(r));
    const cancelled: EngineEvent[] = [];
    seq.events.on("engine", (events) => cancelled.push(...events.filter((e) => e.type === "cancelled")));
    await seq.drain();
    assert.deepEqual(seen.map((r) => [r.code, r.tx.type]), [["BAD_SIGNATURE", TxType.DERIV_TRADE]]);
    assert.equal(cancelled.length, 0, "no order cancelled by the put-back");
    assert.deepEqual(provenHeld(seq, alice.accountId), [PERP, FUTURE, CALL]);
    assert.deepEqual(seq.engine.openOrders(alice.accountId).map((o) => o.orderId), [5n]);
    assertInSync(seq);

    // carol sells puts into it: the bid would be alice's 4th position, so it is cancelled (proven) and carol's ask rests
    assert.deepEqual(codes(seq.placeOrder(derivOrder(carol, PUT, { orderId: 1n, side: Side.SELL, priceTicks: PREMIUM, sizeLots: 10n }))), ["accepted", "cancelled"]);
    assert.deepEqual(cancelled.map((e) => e.type === "cancelled" && [e.accountId, e.orderId, e.reason]), [[alice.accountId, 5n, CancelReason.POSITION_SLOTS]]);
    assert.deepEqual(seq.engine.openOrders(alice.accountId), []);
    assert.deepEqual(seq.derivatives.risk.openOrders(alice.accountId), []);
    assert.equal(seq.engine.order(carol.accountId, 1n)?.remainingLots, 10n);
    await seq.drain();
    assert.equal(seen.length, 1, "nothing else rejected");
    assert.deepEqual(seq.state.orderSlot(alice.accountId, 5n), { storedId: 5n, filled: 0n, cancelled: true }, "proven cancelled: no batch may fill it");
    assert.deepEqual(provenHeld(seq, alice.accountId), [PERP, FUTURE, CALL]);
    assertInSync(seq);
    assert.equal(seq.pendingTransactions, 0);
  });

  it("frees the slot of a rejected opening trade at once, while the rebase is still owed: an order on a third instrument is accepted and fills, and the builder refuses nothing (review finding 1 of stop 54)", async () => {
    const verifier = refusingVerifier();
    const { seq } = await fourInstruments({ verifier });
    // alice long the perpetual and the future, from bob: 2 of her 3 slots
    buyFrom(seq, bob, alice, [[PERP, 1n, AT], [FUTURE, 2n, AT]]);
    await seq.drain();
    await fundDave(seq);
    // she buys calls (her 3rd slot): a trade no batch will prove; two more tagged trades (carol and dave) queue behind
    // it, and a batch takes one derivatives trade, so after the first batch one is still waiting and the rebase is owed
    seq.placeOrder(derivOrder(bob, CALL, { orderId: 3n, side: Side.SELL, priceTicks: PREMIUM, sizeLots: 10n }));
    const opening = derivOrder(alice, CALL, { orderId: 3n, side: Side.BUY, priceTicks: PREMIUM, sizeLots: 10n, timeInForce: TimeInForce.IOC, expiry: NOW + IMMEDIATE_ORDER_TTL });
    assert.deepEqual(codes(seq.placeOrder(opening)), ["accepted", "fill:10"]);
    for (const orderId of [4n, 5n]) {
      seq.placeOrder(derivOrder(dave, PERP, { orderId, side: Side.SELL, priceTicks: AT, sizeLots: 1n }));
      assert.deepEqual(codes(seq.placeOrder(derivOrder(carol, PERP, { orderId, side: Side.BUY, priceTicks: AT, sizeLots: 1n }))), ["accepted", "fill:1"]);
    }
    verifier.refuse = opening.signature.s;
    const seen: TxRejection[] = [];
    seq.events.on("rejected", (r) => seen.push(r));
    await seq.runBatch();
    assert.deepEqual(seen.map((r) => [r.code, r.tx.type]), [["BAD_SIGNATURE", TxType.DERIV_TRADE]]);
    assert.equal(seq.peekPending().filter((tx) => tx.type === TxType.DERIV_TRADE).length, 1, "a tagged trade still waits: no rebase yet");

    // the view gave the calls back already: alice holds 2 instruments, her collateral is what it was before the calls
    assert.deepEqual(seq.derivatives.risk.held(alice.accountId), new Set([PERP, FUTURE]));
    assert.deepEqual(seq.derivatives.risk.held(bob.accountId), new Set([PERP, FUTURE]), "bob's short calls went too");
    for (const t of [alice, bob]) assert.deepEqual(seq.derivatives.risk.account(t.accountId), seq.state.account(t.accountId).deriv, `account ${t.accountId}'s view is its proven account`);
    // so a bid for puts (her 3rd instrument) is accepted (it was refused TOO_MANY_POSITIONS), and carol's ask fills it
    assert.deepEqual(codes(seq.placeOrder(derivOrder(alice, PUT, { orderId: 6n, side: Side.BUY, priceTicks: PREMIUM, sizeLots: 10n }))), ["accepted"]);
    assert.deepEqual(codes(seq.placeOrder(derivOrder(carol, PUT, { orderId: 6n, side: Side.SELL, priceTicks: PREMIUM, sizeLots: 10n }))), ["accepted", "fill:10"]);
    await seq.drain();
    assert.equal(seen.length, 1, "the builder refused nothing else (no TOO_MANY_POSITIONS)");
    assert.deepEqual(provenHeld(seq, alice.accountId), [PERP, FUTURE, PUT]);
    assertInSync(seq);
    assert.equal(seq.pendingTransactions, 0);
  });
});
