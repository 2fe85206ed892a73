/**
 * Issue 11's attacks on the derivatives half of the batch circuit, each written before its fix and
 * kept as a regression test named after what it tries. Each is built the way a dishonest operator
 * would build it (the TypeScript checks off, public data hashed consistently) and must be refused at
 * the rule's own constraint (test/helpers/circuitRules.ts).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { BatchTx, InstrumentSpec } from "../../../sequencer/batch/transactions.ts";
import { Side, TxType } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { terminateSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";
import { loadBatchCircuit, refuses, rule, witnessFailure } from "../../helpers/circuitRules.ts";
import {
  claims, dave, DEPOSITS, derivativesState, derivOrder, derivTrade, EXPIRY, INSTRUMENTS, oracleUpdate, registerDave, traders,
} from "../../helpers/derivatives.ts";

after(terminateSnarkjsCurve);
const { alice, bob } = traders;
const [PERP, FUTURE, CALL] = [0, 1, 2];

/** dave (no collateral) buys `lots` calls from bob at `priceTicks` (2.0 quote per lot at 20,000; the call's mark is 2.056 quote). */
function daveBuysCalls(lots = 10_000n, priceTicks = 20_000n): BatchTx {
  const buy = derivOrder(dave, CALL, { orderId: 1n, side: Side.BUY, priceTicks, sizeLots: lots });
  const sell = derivOrder(bob, CALL, { orderId: 1n, side: Side.SELL, priceTicks, sizeLots: lots });
  return { type: TxType.DERIV_TRADE, buy, sell, lots, priceTicks, buyFeePpm: 500, sellFeePpm: 100 };
}
const settle = (accountId: number, instrumentId: number): BatchTx => ({ type: TxType.SETTLE, accountId, instrumentId });

describe("issue 11 attacks: derivatives", { timeout: 900_000 }, () => {
  before(async () => {
    await loadBatchCircuit(TEST_PARAMS);
  });

  describe("2: options bought on credit", () => {
    it("an account with no collateral buys calls paid by their own mark; they expire worthless and claims exceed deposits", async () => {
      const state = derivativesState();
      registerDave(state);
      assert.equal(state.account(dave.accountId).deriv.collateral, 0n);
      assert.equal(await witnessFailure(state, [daveBuysCalls()]), null, "the circuit accepts the option bought on credit");
      const atExpiry = { oracle: oracleUpdate({ time: EXPIRY + 5, prices: [290_000_000_000n] }), timestamp: EXPIRY + 10 };
      assert.equal(await witnessFailure(state, [settle(dave.accountId, CALL)], atExpiry), null);
      assert.equal(await witnessFailure(state, [settle(bob.accountId, CALL)], atExpiry), null);
      assert.ok(claims(state) > DEPOSITS, `claims ${claims(state)} exceed deposits ${DEPOSITS}`);
    });
  });

  describe("3: self-liquidation", () => {
    it("an account below maintenance margin liquidates itself: buys its position straight back while the insurance fund pays its deficit", async () => {
      // A perpetual with 4% / 2% margins. alice buys 15,000 lots at 3,000 (collateral -400,225 quote),
      // the price falls to 2,600 (equity -10,225): she sells them to herself at 2,470 (the band's low end).
      const specs: InstrumentSpec[] = [{ ...INSTRUMENTS[PERP], imPpm: 40_000n, mmPpm: 20_000n }, ...INSTRUMENTS.slice(1)];
      const state = derivativesState(undefined, specs);
      assert.equal(await witnessFailure(state, [derivTrade(PERP, 15_000n, 300_000n)]), null);
      state.setGlobals({ ...state.globals, insuranceFund: 40_000_000_000n });
      const order = derivOrder(alice, PERP, { orderId: 2n, side: Side.BUY, priceTicks: 247_000n, sizeLots: 15_000n });
      const self: BatchTx = { type: TxType.LIQUIDATE, liquidatedAccountId: alice.accountId, liquidator: order, lots: 15_000n, priceTicks: 247_000n, liquidatorFeePpm: 0 };
      const dropped = { oracle: oracleUpdate({ prices: [260_000_000_000n] }) };
      const before = state.account(alice.accountId).deriv;
      assert.equal(await witnessFailure(state, [self], { ...dropped, enforceRules: false, verifySignatures: false }), null, "the circuit accepts the self-liquidation");
      const after = state.account(alice.accountId).deriv;
      assert.equal(after.positions[PERP].size, 15_000n, "the position is bought straight back");
      assert.ok(state.globals.insuranceFund < 40_000_000_000n, "the fund paid");
      assert.equal(after.collateral - before.collateral, 40_000_000_000n - state.globals.insuranceFund, "what the fund paid went to alice");
    });
  });

  describe("4: settlement at a late oracle update", () => {
    it("the operator settles a future at an update signed two days after expiry, at the price of its choice", async () => {
      const state = derivativesState();
      assert.equal(await witnessFailure(state, [derivTrade(FUTURE, 10n, 300_000n)]), null);
      const late = EXPIRY + 2 * 86_400;
      assert.equal(await witnessFailure(state, [settle(alice.accountId, FUTURE)], { oracle: oracleUpdate({ time: late, prices: [350_000_000_000n] }), timestamp: late + 10 }), null);
      assert.equal(state.instruments[FUTURE].settlePrice, 350_000_000_000n);
    });
  });

  describe("5: liveness traps", () => {
    it("a perpetual registered with a funding cap whose worst step exceeds the 64-bit index makes funding ticks unprovable", async () => {
      const state = new ExchangeState(TEST_PARAMS);
      const big: InstrumentSpec = { ...INSTRUMENTS[PERP], lotSizeE6: (1n << 48n) - 1n, tickValue: 1n, fundingCapPpm: 1_000_000n };
      assert.equal(await witnessFailure(state, [{ type: TxType.REGISTER_INSTRUMENT, instrumentId: PERP, ...big }], { oracle: null }), null, "the circuit accepts the registration");
      const tick = oracleUpdate({ fundingEpoch: 1, prices: [(1n << 50n) - 1n], rates: [1_000_000n, 0n, 0n, 0n] });
      await refuses(state, [], rule("InstrumentMarks", "fundingRange.in <== fundingOut"), { oracle: tick });
    });
  });
});

