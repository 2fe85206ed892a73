/**
 * The exodus exit rule (sequencer/exit/exitRule.ts) on hand-made states: every figure below is worked
 * out by hand from the rule's text (circuits/exit/EXIT.md), not by the rule's own helpers.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { exitClaim, exitValuation } from "../../../sequencer/exit/exitRule.ts";
import { EMPTY_INSTRUMENT } from "../../../sequencer/derivatives/formulas.ts";
import { CALL, FUTURE, handMade, P, PERP, PUT, px } from "../../../scripts/fixtures/exitStates.ts";

describe("exit rule (exitRule.ts)", () => {
  it("spot only: every token's balance, nothing else", () => {
    const state = handMade({ spot: [5_000_000n, 0n, 7n, 9n] });
    const v = exitValuation(state, 5, [P]);
    assert.deepEqual(v.amounts, [5_000_000n, 0n, 7n, 9n]);
    assert.equal(v.equity, 0n);
    assert.equal(v.derivativesClaim, 0n);
  });

  it("perpetual long with unsettled funding: collateral - size * (index - snapshot) + size * lotValue(P)", () => {
    // index moved 500 since the snapshot of 100: the long pays 10 * 400 = 4,000
    const state = handMade({ instruments: [{ ...PERP, fundingIndex: 500n }, FUTURE, CALL, PUT], spot: [1n, 2n], collateral: 1_000_000_000n, sizes: [10n], snaps: [100n] });
    const v = exitValuation(state, 5, [px(3_100n)]);
    // lotValue(3,100) = 31,000,000 per lot
    assert.equal(v.positions[0].mark, 31_000_000n);
    assert.equal(v.positions[0].funding, -4_000n);
    assert.equal(v.funding, -4_000n);
    assert.equal(v.equity, 1_000_000_000n - 4_000n + 310_000_000n);
    // the spot balances as they are, the equity apart
    assert.deepEqual(v.amounts, [1n, 2n, 0n, 0n]);
    assert.equal(v.derivativesClaim, 1_309_996_000n);
  });

  it("perpetual short with unsettled funding: receives the funding, owes the position's value", () => {
    const state = handMade({ instruments: [{ ...PERP, fundingIndex: 500n }, FUTURE, CALL, PUT], collateral: 1_000_000_000n, sizes: [-10n], snaps: [100n] });
    const v = exitValuation(state, 5, [px(3_100n)]);
    assert.equal(v.funding, 4_000n);
    assert.equal(v.equity, 1_000_000_000n + 4_000n - 310_000_000n);
    assert.equal(v.derivativesClaim, 690_004_000n);
    assert.equal(v.amounts[0], 0n);
  });

  it("settled future: valued at its settlement price, whatever the claim's price", () => {
    const state = handMade({ instruments: [PERP, { ...FUTURE, settlePrice: px(3_150n) }, CALL, PUT], collateral: 100n, sizes: [0n, 4n] });
    const v = exitValuation(state, 5, [px(2_000n)]);
    assert.equal(v.positions[1].mark, 31_500_000n);
    assert.equal(v.positions[1].settled, true);
    assert.equal(v.derivativesClaim, 100n + 126_000_000n);
    // an unsettled future is valued at the claim's price
    const open = exitValuation(handMade({ collateral: 100n, sizes: [0n, 4n] }), 5, [px(2_000n)]);
    assert.equal(open.derivativesClaim, 100n + 80_000_000n);
  });

  it("open call and put: intrinsic value at the claim's price, in and out of the money", () => {
    const state = handMade({ collateral: 0n, sizes: [0n, 0n, 3n, 2n] });
    // at 3,100 the call (strike 3,000) is worth lotValue(100) = 1,000,000 per lot, the put nothing
    const up = exitValuation(state, 5, [px(3_100n)]);
    assert.deepEqual([up.positions[2].mark, up.positions[3].mark], [1_000_000n, 0n]);
    assert.equal(up.derivativesClaim, 3_000_000n);
    // at 2,900 the put is worth 1,000,000 per lot, the call nothing
    const down = exitValuation(state, 5, [px(2_900n)]);
    assert.deepEqual([down.positions[2].mark, down.positions[3].mark], [0n, 1_000_000n]);
    assert.equal(down.derivativesClaim, 2_000_000n);
    // at the strike both are worth 0
    assert.equal(exitValuation(state, 5, [P]).derivativesClaim, 0n);
  });

  it("a settled option pays its payoff at the settlement price, not at the claim's price", () => {
    const state = handMade({ instruments: [PERP, FUTURE, { ...CALL, settlePrice: px(3_200n) }, { ...PUT, settlePrice: px(3_200n) }], sizes: [0n, 0n, 1n, 1n] });
    const v = exitValuation(state, 5, [px(2_000n)]);
    assert.deepEqual([v.positions[2].mark, v.positions[3].mark], [2_000_000n, 0n]);
  });

  it("an option writer's liability is the intrinsic value too", () => {
    const state = handMade({ collateral: 10_000_000n, sizes: [0n, 0n, -3n] });
    assert.equal(exitValuation(state, 5, [px(3_100n)]).derivativesClaim, 7_000_000n);
  });

  it("negative equity gives nothing, the spot balances are still paid in full", () => {
    const state = handMade({ spot: [50n, 60n], collateral: -400_000_000n, sizes: [10n] });
    const v = exitValuation(state, 5, [P]);
    assert.equal(v.equity, -100_000_000n);
    assert.equal(v.derivativesClaim, 0n);
    assert.deepEqual(v.amounts, [50n, 60n, 0n, 0n]);
  });

  it("an account that never existed claims zero for every token", () => {
    const state = handMade({ spot: [1n], collateral: 1n });
    const v = exitValuation(state, 11, [P]);
    assert.deepEqual(v.amounts, [0n, 0n, 0n, 0n]);
    assert.equal(v.equity, 0n);
    assert.deepEqual(exitClaim(state, 11, [P]), {
      root: state.root, accountId: 11, prices: [P], pooledQuote: state.globals.pooledQuote, derivativesClaim: 0n, amounts: [0n, 0n, 0n, 0n],
    });
  });

  it("an unregistered instrument is worth nothing", () => {
    const state = handMade({ instruments: [PERP, EMPTY_INSTRUMENT, CALL, PUT], collateral: 5n });
    const v = exitValuation(state, 5, [P]);
    assert.equal(v.positions[1].mark, 0n);
    assert.equal(v.derivativesClaim, 5n);
  });

  it("bad input: a clear error and the state unchanged", () => {
    const state = handMade({ spot: [1n], collateral: 1n });
    const root = state.root;
    assert.throws(() => exitValuation(state, 5, []), /1 prices/);
    assert.throws(() => exitValuation(state, 5, [1n << 50n]), /price\[0\]/);
    assert.throws(() => exitValuation(state, 5, [-1n]), /price\[0\]/);
    assert.throws(() => exitValuation(state, 16, [P]), /outside the account tree/);
    assert.throws(() => exitValuation(state, 1.5, [P]), /outside the account tree/);
    assert.equal(state.root, root);
  });

  it("an amount that does not fit a claim (>= 2^128) is refused, not truncated; the spot balance and the equity are no longer summed", () => {
    // each fits on its own: the claim carries them apart
    const fits = exitValuation(handMade({ spot: [(1n << 128n) - 1n], collateral: 1n }), 5, [P]);
    assert.deepEqual([fits.amounts[0], fits.derivativesClaim], [(1n << 128n) - 1n, 1n]);
    assert.throws(() => exitValuation(handMade({ spot: [1n << 128n] }), 5, [P]), /amount\[0\]/);
    assert.throws(() => exitValuation(handMade({ collateral: 1n << 128n }), 5, [P]), /derivativesClaim/);
  });

  it("the claim carries the state's pooled quote, the same for every account of the state", () => {
    const state = handMade({ spot: [7n], collateral: 1_000n, sizes: [1n] });
    state.setGlobals({ ...state.globals, pooledQuote: 123_456n });
    for (const id of [5, 9, 11]) {
      const c = exitClaim(state, id, [P]);
      assert.equal(c.pooledQuote, 123_456n);
      assert.equal(c.derivativesClaim, exitValuation(state, id, [P]).derivativesClaim);
    }
    assert.equal(exitClaim(state, 5, [P]).amounts[0], 7n);
  });
});
