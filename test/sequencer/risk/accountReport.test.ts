/**
 * The account report and its summary: the liquidation prices (a search over the price, milliseconds per
 * options account) are computed for the full report only (GET /v1/accounts/:id/derivatives); the summary,
 * which the private stream sends every account after each oracle update, is the same report without them
 * and never runs the search.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { INSTRUMENT_MARKET_BASE, OrderType, Side, TimeInForce } from "../../../sequencer/protocol/constants.ts";
import { lotRisk, type InstrumentState } from "../../../sequencer/derivatives/formulas.ts";
import { DerivativesRisk } from "../../../sequencer/risk/derivativesRisk.ts";
import { accountReport, accountSummary } from "../../../sequencer/risk/accountReport.ts";
import { liquidationPrices } from "../../../sequencer/risk/liquidationPrice.ts";
import type { MarketParams, OrderView } from "../../../sequencer/matching/types.ts";
import { INSTRUMENTS, MARKET_VOLS, NOW, PRICE, VOL } from "../../helpers/derivatives.ts";

const table: InstrumentState[] = INSTRUMENTS.map((s) => ({ ...s, fundingIndex: 0n, settlePrice: 0n, holders: 0, generation: 0 }));
const CALL = 2;
const inputs = { time: NOW, prices: [PRICE], vols: MARKET_VOLS };

/** Account 1 wrote 500 calls to account 2 (a short option position: liquidation prices above), each with 3,000 quote of collateral. */
function shortCalls(): DerivativesRisk {
  const r = new DerivativesRisk(4);
  r.setMarket(table, table.map((i) => lotRisk(i, PRICE, VOL, NOW)), inputs);
  r.creditCollateral(1, 3_000_000_000n);
  r.creditCollateral(2, 3_000_000_000n);
  const order = (accountId: number, side: Side, filled: bigint): OrderView => ({
    accountId, orderId: 1n, marketId: INSTRUMENT_MARKET_BASE + CALL, side, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC,
    priceTicks: 1_000n, sizeLots: 500n, maxFeePpm: 0, expiry: 2 ** 31, seq: 1, remainingLots: 500n - filled, filledLots: filled,
  });
  const market = {} as MarketParams;
  assert.equal(r.reserve(order(1, Side.SELL, 0n), market), true);
  r.onFill({
    type: "fill", makerAccount: 1, makerOrderId: 1n, takerAccount: 2, takerOrderId: 1n, marketId: INSTRUMENT_MARKET_BASE + CALL,
    priceTicks: 1_000n, lots: 500n, makerSide: Side.SELL, makerFeePpm: 0, takerFeePpm: 0,
  }, order(1, Side.SELL, 500n), order(2, Side.BUY, 500n), market);
  assert.equal(r.account(1).positions[CALL].size, -500n);
  return r;
}

describe("account report", () => {
  it("the full report carries the liquidation prices of the account's portfolio", () => {
    const r = shortCalls();
    const report = accountReport(r, 1);
    assert.deepEqual(report.liquidation, liquidationPrices(r.account(1), table, inputs));
    assert.equal(report.liquidation.length, 1);
    assert.ok(report.liquidation[0].above !== null && report.liquidation[0].above > PRICE, "a short call is liquidated on a rise");
  });

  it("the summary (the stream's report) is the full report without the liquidation prices, and does not compute them", () => {
    const r = shortCalls();
    const { liquidation: _l, ...rest } = accountReport(r, 1);
    const summary = accountSummary(r, 1);
    assert.deepEqual(summary, rest);
    assert.equal("liquidation" in summary, false);
    // the search revalues every instrument at each price it tries, reading the underlying's volatility each time;
    // the summary reads it once per position (its Greeks)
    let volReads = 0;
    const vols = new Proxy(inputs.vols, { get: (t, k, rcv) => (typeof k === "string" && /^\d+$/.test(k) && volReads++, Reflect.get(t, k, rcv)) });
    r.setMarket(table, table.map((i) => lotRisk(i, PRICE, VOL, NOW)), { ...inputs, vols });
    accountSummary(r, 1);
    assert.equal(volReads, 1, "the summary: the call position's Greeks only");
    volReads = 0;
    accountReport(r, 1);
    assert.ok(volReads > 100, `the full report searched the price (${volReads} volatility reads)`);
  });
});
