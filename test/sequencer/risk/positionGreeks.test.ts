/** Greeks of positions: options through the fixed-point Black-Scholes greeks, linear instruments delta only. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { InstrumentState } from "../../../sequencer/derivatives/formulas.ts";
import { addGreeks, NO_GREEKS, positionGreeks } from "../../../sequencer/risk/positionGreeks.ts";
import { INSTRUMENTS, NOW, PRICE, VOL } from "../../helpers/derivatives.ts";

const table: InstrumentState[] = INSTRUMENTS.map((s) => ({ ...s, fundingIndex: 0n, settlePrice: 0n, holders: 0, generation: 0 }));

describe("position greeks", () => {
  it("a perpetual's delta is its size in underlying units, nothing else", () => {
    assert.deepEqual(positionGreeks(table[0], 150n, PRICE, VOL, NOW), { delta: 1.5, gamma: 0, vega: 0, theta: 0 });
    assert.deepEqual(positionGreeks(table[1], -100n, PRICE, VOL, NOW), { delta: -1, gamma: 0, vega: 0, theta: 0 });
  });

  it("an at-the-money call has delta a little above one half per unit, positive gamma and vega, negative theta", () => {
    const g = positionGreeks(table[2], 100n, PRICE, VOL, NOW); // one unit of underlying
    assert.ok(g.delta > 0.5 && g.delta < 0.6, `delta ${g.delta}`);
    assert.ok(g.gamma > 0 && g.vega > 0 && g.theta < 0);
    const put = positionGreeks(table[3], 100n, PRICE, VOL, NOW);
    assert.ok(Math.abs(g.delta - put.delta - 1) < 1e-6, "put-call parity of deltas");
    const short = positionGreeks(table[2], -100n, PRICE, VOL, NOW);
    assert.equal(short.delta, -g.delta);
  });

  it("flat and settled positions have no Greeks; sums add component-wise", () => {
    assert.deepEqual(positionGreeks(table[2], 0n, PRICE, VOL, NOW), NO_GREEKS);
    assert.deepEqual(positionGreeks({ ...table[2], settlePrice: PRICE }, 5n, PRICE, VOL, NOW), NO_GREEKS);
    assert.deepEqual(addGreeks({ delta: 1, gamma: 2, vega: 3, theta: 4 }, { delta: 1, gamma: 1, vega: 1, theta: 1 }), { delta: 2, gamma: 3, vega: 4, theta: 5 });
  });
});
