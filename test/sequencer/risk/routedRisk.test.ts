/** The routed RiskHook sends instrument markets to derivatives risk and the others to spot risk. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { INSTRUMENT_MARKET_BASE } from "../../../sequencer/protocol/constants.ts";
import type { RiskHook } from "../../../sequencer/matching/riskHook.ts";
import type { MarketParams, OrderView } from "../../../sequencer/matching/types.ts";
import { RoutedRisk } from "../../../sequencer/risk/routedRisk.ts";

function recorder(name: string, calls: string[], answer: boolean): RiskHook {
  return {
    reserve: () => (calls.push(`${name}.reserve`), answer),
    onFill: () => void calls.push(`${name}.onFill`),
    release: () => void calls.push(`${name}.release`),
  };
}

describe("routed risk", () => {
  it("routes by market id: below INSTRUMENT_MARKET_BASE spot, from it derivatives", () => {
    const calls: string[] = [];
    const r = new RoutedRisk(recorder("spot", calls, true), recorder("deriv", calls, false));
    const o = (marketId: number) => ({ marketId }) as OrderView;
    assert.equal(r.reserve(o(3), {} as MarketParams), true);
    assert.equal(r.reserve(o(INSTRUMENT_MARKET_BASE), {} as MarketParams), false);
    r.release(o(INSTRUMENT_MARKET_BASE + 1), 0n, {} as MarketParams);
    r.onFill({ marketId: 0 } as never, o(0), o(0), {} as MarketParams);
    assert.deepEqual(calls, ["spot.reserve", "deriv.reserve", "deriv.release", "spot.onFill"]);
  });
});
