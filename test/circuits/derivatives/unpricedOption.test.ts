/**
 * An option the batch's oracle update has no vol slice for (DERIVATIVES.md "Vol slices", RULES.md O14): listed after
 * the update was signed, it is marked at the floor vol 2^13 until an update prices it. Review of 2026-12-06 (High):
 * only intake kept trades off it (NO_VOL_SLICE), so a dishonest operator could reuse an update signed just before
 * the listing (still within MAX_ORACLE_AGE) and have its own account write one-year calls margined at the floor mark
 * (0.098 quote a lot against 7.07 at the oracle's 60%), then, at the next update, close them onto the writer at the
 * real mark and take the difference out of the other traders' collateral. Now the circuit refuses a fill on such an
 * option (Fill) and an update that misses the slice of an option somebody holds (OracleStep), and the honest
 * builder refuses both first; an update that misses an option nobody holds still serves every other trade.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Side, TxType } from "../../../sequencer/protocol/constants.ts";
import type { BatchTx, InstrumentSpec } from "../../../sequencer/protocol/transactions.ts";
import { derivativesState, derivOrder, derivTrade, EXPIRY, INSTRUMENTS, NOW, oracleRisks, oracleUpdate, traders, VOL } from "../../helpers/derivatives.ts";
import { builderRefuses, loadBatchCircuit, refuses, rule, witnessFailure } from "../../helpers/circuitRules.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";

const { alice, bob } = traders;
const CALL = 2;
const PERP = 0;
/** A one-year call, listed after the default update (which has a slice for EXPIRY only) was signed. */
const LONG = NOW + 365 * 86_400;
const instruments: InstrumentSpec[] = INSTRUMENTS.map((s, i) => (i === CALL ? { ...s, expiry: LONG } : s));
/** The next update: it prices the call too, at 60%. */
const PRICED = () => oracleUpdate({ volSlices: [{ underlying: 0, expiry: EXPIRY, levelPpm: VOL, slopePpm: 0n }, { underlying: 0, expiry: LONG, levelPpm: VOL, slopePpm: 0n }] });

/** bob writes `lots` calls to alice at `priceTicks` (their orders `orderId`). */
function callTrade(lots: bigint, priceTicks: bigint, orderId = 1n): BatchTx {
  const buy = derivOrder(alice, CALL, { orderId, side: Side.BUY, priceTicks, sizeLots: lots });
  const sell = derivOrder(bob, CALL, { orderId, side: Side.SELL, priceTicks, sizeLots: lots });
  return { type: TxType.DERIV_TRADE, buy, sell, lots, priceTicks, buyFeePpm: 0, sellFeePpm: 0 };
}

describe("an option the batch's update has no vol slice for", { timeout: 900_000 }, () => {
  before(async () => {
    await loadBatchCircuit(TEST_PARAMS);
  });

  it("is not filled: writing 15,000 one-year calls at the floor mark is refused by the builder (NO_VOL_SLICE) and at Fill's rule, though margined at that mark it passes every other check", async () => {
    const state = derivativesState(undefined, instruments);
    const floor = oracleRisks(state, oracleUpdate())[CALL];
    const priced = oracleRisks(state, PRICED())[CALL];
    assert.ok(priced.mark > 50n * floor.mark, `the floor mark ${floor.mark} is far below the priced one ${priced.mark}`);
    const trade = callTrade(15_000n, floor.mark / 100n + 1n);
    builderRefuses(state, [trade], "NO_VOL_SLICE");
    await refuses(state, [trade], rule("Fill", "fills * unpriced === 0"));
    // at the update that prices the call, the same trade breaks bob's initial margin: the floor mark was the hole
    await refuses(derivativesState(undefined, instruments), [trade], rule("DerivSlot", "bIM.b <== bPost.req"), { oracle: PRICED() });
  });

  it("an update that misses the slice of an option somebody holds is refused (builder: NO_VOL_SLICE; circuit: OracleStep), one that misses an option nobody holds serves the other trades", async () => {
    const state = derivativesState(undefined, instruments);
    // liveness: the default update has no slice for the call, which nobody holds: a perpetual trade is proven under it
    assert.equal(await witnessFailure(state, [derivTrade(PERP, 1n, 300_000n)]), null);
    // bob writes one call, priced
    const mark = oracleRisks(state, PRICED())[CALL].mark;
    assert.equal(await witnessFailure(state, [callTrade(1n, mark / 100n, 2n)], { oracle: PRICED(), batchNumber: 10 }), null);
    assert.equal(state.instruments[CALL].holders, 2);
    // the next batch under an update without the call's slice would value both positions at the floor vol
    builderRefuses(state, [], "NO_VOL_SLICE", { batchNumber: 11 });
    await refuses(state, [], rule("OracleStep", "unpriced[i] * (1 - notHeld[k].out) === 0"), { batchNumber: 11 });
    assert.equal(await witnessFailure(state, [], { oracle: PRICED(), batchNumber: 11 }), null, "the update that prices it is taken");
  });
});
