/**
 * Issue 11's attacks on the derivatives half of the batch circuit, each written before its fix and
 * kept as a regression test named after what it tries. Each is built the way a dishonest operator
 * would build it (the TypeScript checks off, public data hashed consistently) and must be refused at
 * the rule's own constraint (test/helpers/circuitRules.ts).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { BatchTx, InstrumentSpec } from "../../../sequencer/protocol/transactions.ts";
import { MIN_ORACLE_PRICE, SETTLEMENT_WINDOW, Side, TxType } from "../../../sequencer/protocol/constants.ts";
import { accountRisk } from "../../../sequencer/derivatives/formulas.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { terminateSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";
import { loadBatchCircuit, refuses, rule, witnessFailure } from "../../helpers/circuitRules.ts";
import {
  aliceLongPerpetual, claims, dave, oracleRisks, DEPOSITS, derivativesState, derivOrder, derivTrade, EXPIRY, INSTRUMENTS, oracleUpdate, registerDave, traders, setInsuranceFund,
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
    it("refuses an option bought on credit: no collateral, the premium paid by the option's own mark (claims would exceed deposits)", async () => {
      // Before the fix the circuit accepted this trade (dave's equity -20,010 + 10,000 x 2.056 >= IM 0), the
      // calls expired worthless, dave was left at -20,010 and bob could claim the premium: 170,010 quote
      // claimable on 150,000 deposited.
      const state = derivativesState();
      registerDave(state);
      await refuses(state, [daveBuysCalls()], rule("DerivSlot", "aIM.b <== aPost.req"));
    });

    it("pays a premium out of collateral: exactly premium plus fee passes, one unit less is refused; expiring worthless keeps claims within deposits", async () => {
      const premiumAndFee = 10_000n * 20_000n * INSTRUMENTS[CALL].tickValue + 10_000_000n; // 20,000 quote + 500 ppm
      const short = derivativesState();
      registerDave(short, premiumAndFee - 1n);
      await refuses(short, [daveBuysCalls()], rule("DerivSlot", "aIM.b <== aPost.req"));
      const state = derivativesState();
      registerDave(state, premiumAndFee);
      assert.equal(await witnessFailure(state, [daveBuysCalls()]), null);
      assert.equal(state.account(dave.accountId).deriv.collateral, 0n, "the premium and the fee came out of his collateral");
      const atExpiry = { oracle: oracleUpdate({ time: EXPIRY + 5, prices: [290_000_000_000n] }), timestamp: EXPIRY + 10 };
      assert.equal(await witnessFailure(state, [settle(dave.accountId, CALL)], atExpiry), null);
      assert.equal(await witnessFailure(state, [settle(bob.accountId, CALL)], atExpiry), null);
      assert.equal(claims(state), DEPOSITS + premiumAndFee, "what can be claimed is what was deposited");
    });

    it("refuses to lend a long option's value to another position: a perpetual bought against the calls' mark", async () => {
      const state = derivativesState();
      registerDave(state, 10_000n * 20_000n * INSTRUMENTS[CALL].tickValue + 10_000_000n);
      assert.equal(await witnessFailure(state, [daveBuysCalls()]), null);
      const buy = derivOrder(dave, PERP, { orderId: 2n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 1n });
      const sell = derivOrder(bob, PERP, { orderId: 2n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 1n });
      await refuses(state, [{ type: TxType.DERIV_TRADE, buy, sell, lots: 1n, priceTicks: 300_000n, buyFeePpm: 500, sellFeePpm: 100 }], rule("DerivSlot", "aIM.b <== aPost.req"));
    });

    it("never liquidates an account whose only positions are paid-for long options, however far their mark falls", async () => {
      const state = derivativesState();
      registerDave(state, 10_000n * 20_000n * INSTRUMENTS[CALL].tickValue + 10_000_000n);
      assert.equal(await witnessFailure(state, [daveBuysCalls()]), null);
      const crash = oracleUpdate({ prices: [200_000_000_000n] });
      const priceTicks = (oracleRisks(state, crash)[CALL].mark + 50n) / 100n; // at the mark: inside the band
      const liquidator = derivOrder(traders.carol, CALL, { orderId: 1n, side: Side.BUY, priceTicks, sizeLots: 10_000n });
      await refuses(state, [{ type: TxType.LIQUIDATE, liquidatedAccountId: dave.accountId, liquidator, lots: 10_000n, priceTicks, liquidatorFeePpm: 0 }],
        rule("Liquidate", "belowMM.b <== aPre.equity + 1"), { oracle: crash });
    });

    it("liquidates the long calls of an account below maintenance margin within the band around their mark, releasing their whole mark of margin", async () => {
      // alice: 15,000 perpetual lots long from bob (collateral -400,225, IM 45,000 of equity 49,775), then
      // 2,000 calls from carol; at 2,800 bob (short the perpetual, in profit) buys her calls as liquidator.
      const state = aliceLongPerpetual();
      const buy = derivOrder(alice, CALL, { orderId: 2n, side: Side.BUY, priceTicks: 20_000n, sizeLots: 2_000n });
      const sell = derivOrder(traders.carol, CALL, { orderId: 2n, side: Side.SELL, priceTicks: 20_000n, sizeLots: 2_000n });
      assert.equal(await witnessFailure(state, [{ type: TxType.DERIV_TRADE, buy, sell, lots: 2_000n, priceTicks: 20_000n, buyFeePpm: 500, sellFeePpm: 100 }]), null);
      const update = oracleUpdate({ prices: [280_000_000_000n] });
      const risks = oracleRisks(state, update);
      const callMark = risks[CALL].mark;
      const before = accountRisk(state.account(alice.accountId).deriv, risks);
      assert.ok(before.equity < before.mm, "alice is below maintenance margin at 2,800");
      const priceTicks = (callMark + 50n) / 100n;
      const liquidator = derivOrder(bob, CALL, { orderId: 3n, side: Side.BUY, priceTicks, sizeLots: 2_000n });
      const tx: BatchTx = { type: TxType.LIQUIDATE, liquidatedAccountId: alice.accountId, liquidator, lots: 2_000n, priceTicks, liquidatorFeePpm: 0 };
      assert.equal(await witnessFailure(state, [tx], { oracle: update }), null);
      const after = accountRisk(state.account(alice.accountId).deriv, risks);
      assert.equal(before.mm - after.mm, 2_000n * callMark, "the calls' margin was their mark");
      assert.equal(state.account(alice.accountId).deriv.positions[CALL].size, 0n);
    });
  });

  describe("3: self-liquidation", () => {
    it("refuses an account below maintenance margin liquidating itself (buying its position straight back while the insurance fund pays its deficit)", async () => {
      // A perpetual with 4% / 2% margins. alice buys 15,000 lots at 3,000 (collateral -400,225 quote),
      // the price falls to 2,600 (equity -10,225): she sells them to herself at 2,470 (the band's low end).
      // Before the fix the circuit accepted it: the fund covered the -29,725 of the flat state in between
      // and alice kept her 15,000 lots with equity +19,500.
      const specs: InstrumentSpec[] = [{ ...INSTRUMENTS[PERP], imPpm: 40_000n, mmPpm: 20_000n }, ...INSTRUMENTS.slice(1)];
      const state = derivativesState(undefined, specs);
      assert.equal(await witnessFailure(state, [derivTrade(PERP, 15_000n, 300_000n)]), null);
      setInsuranceFund(state, 40_000_000_000n);
      const order = derivOrder(alice, PERP, { orderId: 2n, side: Side.BUY, priceTicks: 247_000n, sizeLots: 15_000n });
      const self: BatchTx = { type: TxType.LIQUIDATE, liquidatedAccountId: alice.accountId, liquidator: order, lots: 15_000n, priceTicks: 247_000n, liquidatorFeePpm: 0 };
      await refuses(state, [self], rule("Liquidate", "isLiq * selfLiquidation.out === 0"), { oracle: oracleUpdate({ prices: [260_000_000_000n] }) });
    });
  });

  describe("hunt: a liquidation priced into bad debt", () => {
    // Found by the dishonest-operator generator (test/circuits/dishonest/derivatives.test.ts, LIQUIDATE,
    // "the whole position liquidated at the band's low edge"). alice holds 15,000 perpetual lots bought at
    // 3,000; at 2,800 her equity is 19,775 quote, below her maintenance margin of 21,000. The band (5%) is
    // as wide as the maintenance rate, so the operator could sell her whole position to carol at 2,660,
    // its low edge: 21,000 quote lower, alice is left flat at -1,225 with an empty insurance fund, and carol
    // keeps the 1,225 nobody paid (claims exceed what the custodian holds). Before the fix the circuit
    // accepted it.
    const dropped = { oracle: oracleUpdate({ prices: [280_000_000_000n] }) };
    const liquidation = (lots: bigint, priceTicks: bigint): BatchTx => ({
      type: TxType.LIQUIDATE, liquidatedAccountId: alice.accountId, lots, priceTicks, liquidatorFeePpm: 0,
      liquidator: derivOrder(traders.carol, PERP, { orderId: 1n, side: Side.BUY, priceTicks, sizeLots: lots }),
    });

    it("refuses a liquidation at the band's edge that pushes the account under water (the liquidator pockets its debt)", async () => {
      await refuses(aliceLongPerpetual(), [liquidation(15_000n, 266_000n)], rule("Liquidate", "noNewDebt.b <== aPre.equity"), dropped);
    });

    it("still sells a solvent account's position at the band's edge when it stays solvent, and at the mark when it does not", async () => {
      const state = aliceLongPerpetual();
      const c0 = state.account(alice.accountId).deriv.collateral;
      assert.equal(await witnessFailure(state, [liquidation(1_000n, 266_000n)], dropped), null);
      assert.ok(state.account(alice.accountId).deriv.collateral > c0, "alice sold 1,000 lots at 2,660");
      const under = aliceLongPerpetual();
      // at 2,660 alice is under water (49,775 - 51,000): at the mark exactly, or one tick per lot below it (rounding), passes; two ticks do not
      const fall = { oracle: oracleUpdate({ prices: [266_000_000_000n] }) };
      assert.equal(await witnessFailure(under, [liquidation(15_000n, 266_000n)], fall), null);
      assert.equal(await witnessFailure(aliceLongPerpetual(), [liquidation(15_000n, 265_999n)], fall), null);
      await refuses(aliceLongPerpetual(), [liquidation(15_000n, 265_998n)], rule("Liquidate", "noNewDebt.b <== aPre.equity"), fall);
    });
  });

  describe("4: settlement at a late oracle update", () => {
    const window = (extra: number) => ({ oracle: oracleUpdate({ time: EXPIRY + SETTLEMENT_WINDOW + extra, prices: [350_000_000_000n] }), timestamp: EXPIRY + SETTLEMENT_WINDOW + extra + 10 });

    it("refuses to pay out a future at an update signed after the settlement window (the operator's pick of a later price): it has not settled", async () => {
      // Before the window rule the circuit settled it at an update signed two days after expiry.
      for (const extra of [2 * 86_400, 1]) {
        const state = derivativesState();
        assert.equal(await witnessFailure(state, [derivTrade(FUTURE, 10n, 300_000n)]), null);
        await refuses(state, [settle(alice.accountId, FUTURE)], rule("Settle", "isSettle * notSettled === 0"), window(extra));
      }
    });

    it("accepts a batch whose update is past the window of an unsettled instrument (liveness): the instrument stays unsettled", async () => {
      // Before the named expiry the circuit refused every such batch: one missed window stopped every later oracle update.
      const state = derivativesState();
      assert.equal(await witnessFailure(state, [], window(1)), null);
      assert.equal(state.instruments[FUTURE].settlePrice, 0n);
    });

    it("settles at an update signed in the window's last second, and afterwards accepts later updates", async () => {
      const state = derivativesState();
      assert.equal(await witnessFailure(state, [], window(0)), null);
      assert.equal(state.instruments[FUTURE].settlePrice, 350_000_000_000n);
      assert.equal(await witnessFailure(state, [settle(alice.accountId, FUTURE)], window(2 * 86_400)), null);
    });

    it("settles at the named expiry's signed prices after the window; a settlement price or expiry the oracle did not sign is refused at the signature, a signed one below 2^16 at its range check", async () => {
      const time = EXPIRY + 2 * 86_400;
      const named = oracleUpdate({ time, settlement: { expiry: EXPIRY, prices: [310_000_000_000n] } });
      const traded = async () => {
        const state = derivativesState();
        assert.equal(await witnessFailure(state, [derivTrade(FUTURE, 10n, 300_000n)]), null);
        return state;
      };
      const forged = [
        { ...named, settlement: { expiry: EXPIRY, prices: [350_000_000_000n] } },
        { ...oracleUpdate({ time }), settlement: { expiry: EXPIRY, prices: [310_000_000_000n] } },
      ];
      for (const oracle of forged) await refuses(await traded(), [settle(alice.accountId, FUTURE)], rule("EdDSAPoseidonVerifier", "eqCheckX.in[1] <== addRight.xout"), { oracle, timestamp: time });
      // a price below the Black-Scholes domain, signed as it is: refused at its range check, not only by the builder
      const low = oracleUpdate({ time, settlement: { expiry: EXPIRY, prices: [MIN_ORACLE_PRICE - 1n] } });
      await refuses(await traded(), [], rule("OracleStep", "settleLo[u].in <== settlePrices[u] - settleUsed * MIN_ORACLE_PRICE()"), { oracle: low, timestamp: time });
      const state = await traded();
      assert.equal(await witnessFailure(state, [settle(alice.accountId, FUTURE)], { oracle: named, timestamp: time }), null);
      assert.equal(state.instruments[FUTURE].settlePrice, 310_000_000_000n);
    });
  });

  describe("5: liveness traps", () => {
    it("refuses a perpetual whose funding cap lets a tick overflow the 64-bit index (registration accepted, every tick at high prices unprovable)", async () => {
      // Before the fix the circuit registered it, and a tick at rate 10^6 ppm and price 2^50 - 1 then
      // failed the index's range check (InstrumentMarks' fundingRange): funding could never move again.
      const big: InstrumentSpec = { ...INSTRUMENTS[PERP], lotSizeE6: (1n << 40n) - 1n, tickValue: 1n, fundingCapPpm: 1_000_000n };
      await refuses(new ExchangeState(TEST_PARAMS), [{ type: TxType.REGISTER_INSTRUMENT, instrumentId: PERP, ...big }], rule("RegisterInstrument", "fundingHorizon.in <=="), { oracle: null });
    });
  });
});

