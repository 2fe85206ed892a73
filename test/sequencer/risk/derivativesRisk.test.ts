/** The derivatives RiskHook: acceptance by the margin rule, fills as the circuit applies them, liquidation and settlement. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { INSTRUMENT_MARKET_BASE, OrderType, Side, TimeInForce } from "../../../sequencer/protocol/constants.ts";
import { lotRisk, type InstrumentState } from "../../../sequencer/derivatives/formulas.ts";
import { DerivativesRisk, instrumentOf } from "../../../sequencer/risk/derivativesRisk.ts";
import { RejectCode, type FillEvent, type MarketParams, type OrderView } from "../../../sequencer/matching/types.ts";
import { EXPIRY, INSTRUMENTS, MARKET_VOLS, NOW, PRICE, VOL, volSlices } from "../../helpers/derivatives.ts";

const table: InstrumentState[] = INSTRUMENTS.map((s) => ({ ...s, fundingIndex: 0n, settlePrice: 0n, holders: 0, generation: 0 }));
const market = {} as MarketParams;
const view = (accountId: number, orderId: bigint, side: 0 | 1, lots: bigint, priceTicks = 300_000n, instrument = 0): OrderView => ({
  accountId, orderId, marketId: INSTRUMENT_MARKET_BASE + instrument, side, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC,
  priceTicks, sizeLots: lots, maxFeePpm: 0, expiry: 2 ** 31, seq: 1, remainingLots: lots, filledLots: 0n,
});

/** Instruments 0..3 marked at PRICE; accounts 1 and 2 with 3,000 quote of collateral; `positionSlots` per account (4: no limit). */
function risk(positionSlots = 4): DerivativesRisk {
  const r = new DerivativesRisk(4, positionSlots);
  r.setMarket(table, table.map((i) => lotRisk(i, PRICE, VOL, NOW)), { time: NOW, prices: [PRICE], vols: MARKET_VOLS });
  r.creditCollateral(1, 3_000_000_000n); // 3,000 quote: 1,000 lots of IM at 3 quote per lot
  r.creditCollateral(2, 3_000_000_000n);
  return r;
}

/** A fill of `lots` of instrument `id` at `priceTicks`, `buyer` taking `seller`'s resting order (no fees), applied as the engine reports it. */
function trade(r: DerivativesRisk, buyer: number, seller: number, id: number, lots: bigint, priceTicks: bigint): void {
  const maker = { ...view(seller, 100n, Side.SELL, lots, priceTicks, id), remainingLots: 0n, filledLots: lots };
  const taker = { ...view(buyer, 100n, Side.BUY, lots, priceTicks, id), remainingLots: 0n, filledLots: lots };
  r.onFill({
    type: "fill", makerAccount: seller, makerOrderId: 100n, takerAccount: buyer, takerOrderId: 100n, marketId: INSTRUMENT_MARKET_BASE + id,
    priceTicks, lots, makerSide: Side.SELL, makerFeePpm: 0, takerFeePpm: 0,
  }, maker, taker, market);
}

describe("derivatives risk", () => {
  it("an option the latest update has no vol slice for (listed after it was signed) is untradable (NO_VOL_SLICE) until an update prices it", () => {
    const r = new DerivativesRisk(4, 4);
    const stray = volSlices(VOL, 0n, EXPIRY + 86_400); // a slice for another expiry only
    r.setMarket(table, table.map((i) => lotRisk(i, PRICE, VOL, NOW)), { time: NOW, prices: [PRICE], vols: MARKET_VOLS, slices: stray });
    assert.deepEqual([0, 1, 2, 3].map((id) => r.untradable(id)), [null, null, "NO_VOL_SLICE", "NO_VOL_SLICE"], "the perpetual and the future need no vol");
    assert.equal(r.reserve(view(1, 1n, Side.BUY, 1n, 100n, 2), market), false, "no order on the unpriced call rests");
    r.setMarket(table, null, { time: NOW + 1, prices: [PRICE], vols: MARKET_VOLS, slices: volSlices() });
    assert.deepEqual([2, 3].map((id) => r.untradable(id)), [null, null], "priced by the next update");
  });

  it("maps market ids to instruments, of any generation (a reused id's market ids step by the number of ids)", () => {
    assert.equal(instrumentOf(INSTRUMENT_MARKET_BASE + 3, 4), 3);
    assert.equal(instrumentOf(INSTRUMENT_MARKET_BASE + 3 + 2 * 4, 4), 3);
    assert.equal(instrumentOf(5, 4), null);
  });

  it("accepts orders while equity covers the worst case and refuses the next, changing nothing", () => {
    const r = risk();
    assert.equal(r.reserve(view(1, 1n, Side.BUY, 600n), market), true);
    assert.equal(r.reserve(view(1, 2n, Side.BUY, 401n), market), false, "1,001 lots of buys need 3,003 quote");
    assert.equal(r.openOrders(1).length, 1);
    assert.equal(r.reserve(view(1, 3n, Side.BUY, 400n), market), true);
    r.release(view(1, 3n, Side.BUY, 400n), 400n, market);
    assert.equal(r.openOrders(1).length, 1);
  });

  it("refuses orders on unregistered or settled instruments and before any oracle update", () => {
    const r = risk();
    const unregistered = new DerivativesRisk(4);
    assert.equal(unregistered.reserve(view(1, 1n, Side.BUY, 1n), market), false);
    r.setMarket(table.map((t, i) => (i === 1 ? { ...t, settlePrice: PRICE } : t)), null, null);
    assert.equal(r.untradable(1), "INSTRUMENT_SETTLED");
    assert.equal(r.reserve(view(1, 1n, Side.BUY, 1n, 300_000n, 1), market), false);
  });

  it("refuses orders signed for an earlier instrument of a reused id (STALE_MARKET) and accepts the id's current market", () => {
    const r = risk();
    const relisted = table.map((t, i) => (i === 1 ? { ...t, generation: 1 } : t));
    r.setMarket(relisted, relisted.map((i) => lotRisk(i, PRICE, VOL, NOW)), null);
    const current = INSTRUMENT_MARKET_BASE + 1 + 4;
    assert.equal(r.marketUntradable(INSTRUMENT_MARKET_BASE + 1), "STALE_MARKET");
    assert.equal(r.marketUntradable(INSTRUMENT_MARKET_BASE + 1 + 2 * 4), "STALE_MARKET", "a generation not listed yet");
    assert.equal(r.marketUntradable(current), null);
    assert.equal(r.marketUntradable(5), "UNKNOWN_INSTRUMENT", "a spot market id");
    assert.equal(r.reserve(view(1, 1n, Side.BUY, 1n, 300_000n, 1), market), false, "the old market: nothing reserved");
    assert.equal(r.reserve({ ...view(1, 2n, Side.BUY, 1n, 300_000n, 1), marketId: current }, market), true);
  });

  it("applies a fill exactly as DERIV_TRADE: cash, fees, sizes; and tracks the remaining open lots", () => {
    const r = risk();
    const maker = view(2, 1n, Side.SELL, 100n);
    r.reserve(maker, market);
    const taker = { ...view(1, 1n, Side.BUY, 40n), remainingLots: 0n, filledLots: 40n };
    const makerAfter = { ...maker, remainingLots: 60n, filledLots: 40n };
    const fill: FillEvent = {
      type: "fill", makerAccount: 2, makerOrderId: 1n, takerAccount: 1, takerOrderId: 1n, marketId: INSTRUMENT_MARKET_BASE,
      priceTicks: 300_000n, lots: 40n, makerSide: Side.SELL, makerFeePpm: 100, takerFeePpm: 500,
    };
    r.onFill(fill, makerAfter, taker, market);
    const cash = 40n * 300_000n * 100n;
    assert.equal(r.account(1).collateral, 3_000_000_000n - cash - cash * 500n / 1_000_000n);
    assert.equal(r.account(2).collateral, 3_000_000_000n + cash - cash * 100n / 1_000_000n);
    assert.equal(r.account(1).positions[0].size, 40n);
    assert.equal(r.openOrders(2)[0].lots, 60n);
    assert.equal(r.ledger.entry(1, 0).costBasis, cash);
  });

  it("liquidates only what keeps the liquidator above initial margin, with the circuit's penalty", () => {
    const r = risk();
    r.creditCollateral(3, 300_000_000n); // 300 quote: the liquidator can carry 100 lots
    r.setMarket(table, table.map((i) => lotRisk(i, PRICE, VOL, NOW)), null);
    const maker = view(2, 1n, Side.SELL, 900n);
    r.reserve(maker, market);
    r.onFill({
      type: "fill", makerAccount: 2, makerOrderId: 1n, takerAccount: 1, takerOrderId: 1n, marketId: INSTRUMENT_MARKET_BASE,
      priceTicks: 300_000n, lots: 900n, makerSide: Side.SELL, makerFeePpm: 0, takerFeePpm: 0,
    }, { ...maker, remainingLots: 0n }, view(1, 1n, Side.BUY, 0n), market);
    const low = 280_000_000_000n;
    r.setMarket(table, table.map((i) => lotRisk(i, low, VOL, NOW)), null);
    assert.equal(r.belowMaintenance(1), true);
    assert.equal(r.liquidate(1, 3, 0, 900n, 280_000n, false), null, "900 lots need 2,520 quote of the liquidator's IM");
    assert.equal(r.account(1).positions[0].size, 900n, "a refused probe changes nothing");
    const penalty = r.liquidate(1, 3, 0, 100n, 280_000n, true);
    assert.equal(penalty, 28_000_000n); // 1% of 100 lots x 28 quote
    assert.equal(r.account(1).positions[0].size, 800n);
    assert.equal(r.account(3).positions[0].size, 100n);
  });

  it("refuses a call buy that is not paid for out of collateral, and a perpetual bought against the calls' value (issue 11, finding 2)", () => {
    const r = risk();
    const CALL = 2;
    const call = (orderId: bigint, lots: bigint, priceTicks: bigint) => view(4, orderId, Side.BUY, lots, priceTicks, CALL);
    assert.equal(r.reserve(call(1n, 10n, 20_000n), market), false, "no collateral: no calls");
    assert.equal(r.openOrders(4).length, 0, "a refused order is not reserved");
    // 10 lots at the mark (2.056182 quote, above the 2.0 limit: no credit for buying below it), no fee.
    const mark = lotRisk(table[CALL], PRICE, VOL, NOW).mark;
    r.creditCollateral(4, 10n * mark - 1n);
    assert.equal(r.reserve(call(1n, 10n, 20_000n), market), false, "one unit short of the premium");
    r.creditCollateral(4, 1n);
    assert.equal(r.reserve(call(1n, 10n, 20_000n), market), true);
    // The calls fill (the maker, bob, writes them): dave's collateral pays the premium...
    const maker = view(2, 7n, Side.SELL, 10n, 20_000n, CALL);
    assert.equal(r.reserve(maker, market), true);
    r.onFill({
      type: "fill", makerAccount: 2, makerOrderId: 7n, takerAccount: 4, takerOrderId: 1n, marketId: INSTRUMENT_MARKET_BASE + CALL,
      priceTicks: 20_000n, lots: 10n, makerSide: Side.SELL, makerFeePpm: 0, takerFeePpm: 0,
    }, { ...maker, remainingLots: 0n }, { ...call(1n, 10n, 20_000n), remainingLots: 0n }, market);
    r.release(call(1n, 10n, 20_000n), 0n, market);
    assert.equal(r.account(4).collateral, 10n * mark - 10n * 20_000n * 100n);
    // ...and the calls' value lends nothing: one perpetual lot needs 3 quote of IM dave does not have.
    assert.equal(r.reserve(view(4, 2n, Side.BUY, 1n), market), false);
    assert.equal(r.belowMaintenance(4), false, "paid-for calls never put their holder below maintenance margin");
  });

  it("refuses an order that could take a position past the circuit's 48-bit range, however much margin backs it", () => {
    const r = risk();
    const SIZE = 1n << 47n;
    r.creditCollateral(2, 1n << 100n);
    r.creditCollateral(1, 1n << 100n);
    const maker = view(2, 1n, Side.SELL, SIZE - 10n);
    r.onFill({
      type: "fill", makerAccount: 2, makerOrderId: 1n, takerAccount: 1, takerOrderId: 1n, marketId: INSTRUMENT_MARKET_BASE,
      priceTicks: 300_000n, lots: SIZE - 10n, makerSide: Side.SELL, makerFeePpm: 0, takerFeePpm: 0,
    }, { ...maker, remainingLots: 0n }, view(1, 1n, Side.BUY, 0n), market);
    assert.equal(r.reserve(view(2, 2n, Side.SELL, 10n), market), false, "a short of 2^47 lots is outside the circuit's range");
    assert.equal(r.reserve(view(2, 2n, Side.SELL, 9n), market), true);
    assert.equal(r.reserve(view(2, 3n, Side.SELL, 1n), market), false, "the open order counts towards the worst end");
  });

  it("counts no open orders toward the 3 position slots: accepts orders on all 4 instruments while it holds fewer than 3, changing nothing in refusal", () => {
    const r = risk(3);
    assert.equal(r.positionSlots, 3);
    // orders on 0, 1 and 3 and a position in 2: the old |held ∪ ordered| <= K refused the order on 3
    assert.equal(r.reserve(view(1, 1n, Side.BUY, 10n, 300_000n, 0), market), true);
    assert.equal(r.reserve(view(1, 2n, Side.SELL, 10n, 300_000n, 1), market), true);
    trade(r, 2, 1, 2, 10n, 20_000n); // account 1 buys 10 calls from account 2: a position in 2
    assert.deepEqual(r.held(1), new Set([2]));
    const fourth = view(1, 3n, Side.BUY, 1n, 20_000n, 3);
    assert.equal(r.refusal(fourth, market), null, "one instrument held: a slot is free");
    assert.equal(r.canFill(fourth, market), true);
    assert.equal(r.positionSlotsFault(1, 3), null);
    assert.equal(r.reserve(fourth, market), true);
    assert.deepEqual(r.openOrders(1).map((o) => o.instrumentId), [0, 1, 3]);
    assert.equal(r.canFill({ ...view(1, 9n, Side.BUY, 1n), marketId: 5 }, market), true, "a spot order always may fill");
  });

  it("refuses an order (TOO_MANY_POSITIONS) and a fill (canFill false) on a 4th instrument once the account holds 3, changing nothing; allows its held ones; a closed position frees a slot", () => {
    const r = risk(3);
    for (const id of [0, 1, 2]) trade(r, 1, 2, id, 10n, id === 2 ? 20_000n : 300_000n); // account 1 holds 0, 1 and 2
    assert.deepEqual(r.held(1), new Set([0, 1, 2]));
    const fourth = view(1, 3n, Side.BUY, 1n, 20_000n, 3);
    assert.equal(r.refusal(fourth, market), RejectCode.TOO_MANY_POSITIONS);
    assert.equal(r.canFill(fourth, market), false);
    assert.equal(r.positionSlotsFault(1, 3)?.code, "TOO_MANY_POSITIONS");
    assert.deepEqual(r.openOrders(1), [], "nothing reserved");
    assert.equal(r.refusal(view(3, 9n, Side.BUY, 1n, 20_000n, 3), market), null, "account 3 holds nothing");
    // its own three instruments: still accepted and fillable (a reduce-only sell of the calls too)
    for (const [id, orderId] of [[0, 4n], [1, 5n], [2, 6n]] as const) {
      const o = { ...view(1, orderId, Side.SELL, 1n, id === 2 ? 20_000n : 300_000n, id), reduceOnly: id === 2 };
      assert.equal(r.refusal(o, market), null, `instrument ${id}`);
      assert.equal(r.canFill(o, market), true, `instrument ${id}`);
      assert.equal(r.reserve(o, market), true, `instrument ${id}`);
    }
    // the position in 1 closes: a slot is free
    trade(r, 2, 1, 1, 10n, 300_000n);
    assert.deepEqual(r.held(1), new Set([0, 2]));
    assert.equal(r.refusal(fourth, market), null);
    assert.equal(r.canFill(fourth, market), true);
  });

  it("does not liquidate to a liquidator holding positions in all its position slots, until one closes; its open orders do not count", () => {
    const r = risk(3);
    r.creditCollateral(3, 3_000_000_000n);
    trade(r, 1, 2, 0, 900n, 300_000n); // account 1 long 900 perpetual lots
    for (const id of [1, 2, 3]) trade(r, 3, 4, id, 10n, id === 1 ? 300_000n : 20_000n); // the liquidator (3) holds 1, 2 and 3
    r.setMarket(table, table.map((i) => lotRisk(i, 280_000_000_000n, VOL, NOW)), null);
    assert.equal(r.belowMaintenance(1), true);
    assert.equal(r.liquidate(1, 3, 0, 100n, 280_000n, false), null, "a 4th position for the liquidator");
    assert.equal(r.liquidate(1, 3, 0, 100n, 280_000n, true), null);
    assert.deepEqual([r.account(1).positions[0].size, r.account(3).positions[0].size], [900n, 0n], "nothing applied");
    trade(r, 4, 3, 3, 10n, 20_000n); // the liquidator closes its put position
    assert.equal(r.reserve(view(3, 1n, Side.BUY, 1n, 20_000n, 3), market), true, "and bids for puts again: an order takes no slot");
    assert.equal(r.liquidate(1, 3, 0, 100n, 280_000n, true), 28_000_000n);
    assert.equal(r.account(3).positions[0].size, 100n);
  });

  it("takes a fill no batch proved out (unwindFill): both accounts back on their proven ones (here: as before the fill), open interest, collateral side and ledger with them; a fill in another generation's market leaves the ledger alone", () => {
    const r = risk();
    trade(r, 1, 2, 0, 10n, 300_000n);
    const before = { a: r.account(1), b: r.account(2), oi: r.openInterest.map((o) => ({ ...o })), side: r.collateralSide, ledger: r.ledger.entries() };
    const t = { marketId: INSTRUMENT_MARKET_BASE, buyAccount: 1, sellAccount: 2, lots: 40n, priceTicks: 310_000n, buyFeePpm: 500, sellFeePpm: 100 };
    const fill = () => r.onFill({
      type: "fill", makerAccount: 2, makerOrderId: 1n, takerAccount: 1, takerOrderId: 1n, marketId: t.marketId, priceTicks: t.priceTicks, lots: t.lots,
      makerSide: Side.SELL, makerFeePpm: t.sellFeePpm, takerFeePpm: t.buyFeePpm,
    }, { ...view(2, 1n, Side.SELL, 0n), remainingLots: 0n }, { ...view(1, 1n, Side.BUY, 0n), remainingLots: 0n }, market);
    fill();
    assert.equal(r.account(1).positions[0].size, 50n);
    const proven = (a: number) => (a === 1 ? before.a : before.b);
    r.unwindFill(t, proven);
    assert.deepEqual([r.account(1), r.account(2), r.openInterest, r.collateralSide, r.ledger.entries()], [before.a, before.b, before.oi, before.side, before.ledger]);
    fill();
    const ledger = r.ledger.entries();
    r.unwindFill({ ...t, marketId: INSTRUMENT_MARKET_BASE + 4 }, proven); // id 0's next generation: its ledger was cleared at the listing
    assert.deepEqual([r.account(1), r.account(2)], [before.a, before.b]);
    assert.deepEqual(r.ledger.entries(), ledger, "the ledger left alone");
  });

  it("settles a position at the settled mark", () => {
    const r = risk();
    r.setMarket(table, table.map((i) => lotRisk(i, PRICE, VOL, NOW)), null);
    const maker = view(2, 1n, Side.SELL, 10n, 300_000n, 1);
    r.reserve(maker, market);
    r.onFill({
      type: "fill", makerAccount: 2, makerOrderId: 1n, takerAccount: 1, takerOrderId: 1n, marketId: INSTRUMENT_MARKET_BASE + 1,
      priceTicks: 300_000n, lots: 10n, makerSide: Side.SELL, makerFeePpm: 0, takerFeePpm: 0,
    }, { ...maker, remainingLots: 0n }, view(1, 1n, Side.BUY, 0n, 300_000n, 1), market);
    const settled = table.map((t, i) => (i === 1 ? { ...t, settlePrice: 310_000_000_000n } : t));
    const side = r.collateralSide;
    r.setMarket(settled, settled.map((i) => lotRisk(i, 310_000_000_000n, VOL, NOW)), null);
    assert.equal(r.collateralSide, side, "the expiry moves value between the two holders only");
    const before = r.account(1).collateral;
    r.settle(1, 1);
    assert.equal(r.collateralSide, side, "one holder settled, the other still owed its payoff: the side is the same");
    assert.equal(r.account(1).collateral, before + 10n * 31_000_000n);
    assert.equal(r.account(1).positions[1].size, 0n);
    assert.equal(r.ledger.entry(1, 1).realisedPnl, 10n * 1_000_000n);
  });

  it("keeps each instrument's open interest and holders as fills and settlements change accounts, and after a restore", () => {
    const r = risk();
    r.creditCollateral(3, 3_000_000_000n);
    const recount = (x: DerivativesRisk) => Array.from({ length: 4 }, (_, i) => {
      const sizes = x.accountIds().map((a) => x.account(a).positions[i].size).filter((v) => v !== 0n);
      return { openInterestLots: sizes.filter((v) => v > 0n).reduce((a, b) => a + b, 0n), holders: sizes.length };
    });
    assert.deepEqual(r.openInterest, recount(r));
    trade(r, 1, 2, 0, 300n, 300_000n);
    trade(r, 3, 2, 0, 200n, 300_000n);
    trade(r, 1, 3, 1, 50n, 300_000n);
    assert.deepEqual(r.openInterest.map((o) => [o.openInterestLots, o.holders]), [[500n, 3], [50n, 2], [0n, 0], [0n, 0]]);
    trade(r, 2, 1, 0, 300n, 300_000n); // alice sells her 300 back: she no longer holds the perpetual
    assert.deepEqual(r.openInterest.map((o) => [o.openInterestLots, o.holders]), [[200n, 2], [50n, 2], [0n, 0], [0n, 0]]);
    const settled = table.map((t, i) => (i === 1 ? { ...t, settlePrice: 310_000_000_000n } : t));
    r.setMarket(settled, settled.map((i) => lotRisk(i, 310_000_000_000n, VOL, NOW)), null);
    r.settle(1, 1);
    r.settle(3, 1);
    assert.deepEqual(r.openInterest, recount(r));
    assert.deepEqual(r.openInterest[1], { openInterestLots: 0n, holders: 0 }, "settled: nobody holds the future");
    const restored = new DerivativesRisk(4, 4);
    restored.restore(r.snapshot());
    assert.deepEqual(restored.openInterest, r.openInterest, "a restored engine counts what the snapshot holds");
  });

  it("keeps the collateral side through a gap, funding and a restore, and takes out of it only what it holds (DERIVATIVES_SHORTFALL's rule)", () => {
    const r = risk();
    assert.equal(r.collateralSide, 6_000_000_000n, "two accounts' 3,000 quote");
    trade(r, 1, 2, 0, 1_000n, 300_000n);
    assert.equal(r.collateralSide, 6_000_000_000n, "a fill without fees moves cash between the two");
    // A gap to 2,000: account 1's long is 7,000 quote under water, account 2's short 10,000 up (13,000 of equity, 2,000 of IM).
    const gap = 200_000_000_000n;
    r.setMarket(table, table.map((i) => lotRisk(i, gap, VOL, NOW)), null);
    assert.equal(r.debitCollateral(2, 11_000_000_001n), "margin", "beyond account 2's own margin");
    assert.equal(r.debitCollateral(2, 6_000_000_001n), "side", "its margin allows it, the side does not hold it");
    assert.equal(r.collateralSide, 6_000_000_000n, "a refusal changes nothing");
    // Funding moves collateral between the accounts only: ticking the index leaves the side as it is.
    const ticked = table.map((i, id) => (id === 0 ? { ...i, fundingIndex: 12_345n } : i));
    r.setMarket(ticked, ticked.map((i) => lotRisk(i, gap, VOL, NOW)), null);
    assert.equal(r.collateralSide, 6_000_000_000n);
    assert.equal(r.debitCollateral(2, 1_000_000_000n), null);
    assert.equal(r.collateralSide, 5_000_000_000n, "account 2 settled its funding and took 1,000 out");
    const restored = new DerivativesRisk(4, 4);
    restored.restore(r.snapshot());
    assert.equal(restored.collateralSide, 5_000_000_000n, "a restore counts it again");
    assert.equal(r.forceDebitCollateral(2, 5_000_000_001n), "side", "a forced collateral withdrawal its margin allows waits for the side");
    assert.equal(r.forceDebitCollateral(2, 20_000_000_000n), "refused", "one its margin does not allow is refused");
    assert.equal(r.collateralSide, 5_000_000_000n, "neither changes anything");
    assert.equal(r.forceDebitCollateral(2, 5_000_000_000n), "honoured");
    assert.equal(r.collateralSide, 0n);
  });
});
