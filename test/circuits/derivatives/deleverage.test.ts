/**
 * DELEVERAGE (issue 15: a loss the insurance fund cannot cover is socialised by a proven rule). alice holds
 * 15,000 perpetual lots bought from bob at 3,000; a gap to 2,600 leaves her 10,225 quote under water with an
 * empty fund. The honest close passes her position to bob (the short on the other side) at the mark with
 * her deficit paid, and leaves claims exactly at deposits; each attack is built the way a dishonest operator would build it (the TypeScript checks
 * off, public data hashed consistently) and is refused at the rule's own constraint; the witness builder's
 * refusal code is checked on the honest path, and a refused batch changes nothing.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import { TxRejected } from "../../../sequencer/batch/slotWitness.ts";
import { accountRisk, deleverageAmount } from "../../../sequencer/derivatives/formulas.ts";
import { Side, TxType } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import type { BatchTx, DeleverageTx } from "../../../sequencer/protocol/transactions.ts";
import type { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { terminateSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";
import { loadBatchCircuit, refuses, rule, witnessFailure } from "../../helpers/circuitRules.ts";
import {
  aliceLongFutureLarge, aliceLongPerpetual, apply, claims, dave, DEPOSITS, derivativesState, derivOrder, EXPIRY_GAP, GAP_UPDATE, INSTRUMENTS, NOW, openDebtState, oracleRisks, registerDave, registerTrader, traders, setInsuranceFund,
} from "../../helpers/derivatives.ts";
import { testTrader } from "../../helpers/traders.ts";

after(terminateSnarkjsCurve);
const { alice, bob, carol } = traders;
const PERP = 0;
const GAP = { oracle: GAP_UPDATE() };

const deleverage = (fields: Partial<DeleverageTx> = {}): DeleverageTx => ({
  type: TxType.DELEVERAGE, deleveragedAccountId: alice.accountId, counterpartyAccountId: bob.accountId, instrumentId: PERP,
  lots: 15_000n, amount: 0n, ...fields,
});

/** An account's equity at the gap's marks. */
function equityAfterGap(state: ExchangeState, accountId: number): bigint {
  return accountRisk(state.account(accountId).deriv, oracleRisks(state, GAP_UPDATE())).equity;
}

/**
 * What everyone can claim at the gap's marks: the fee pool, the insurance fund and, per account, its spot quote
 * plus its equity when positive (test/property/custody.test.ts's measure). Custody holds when it is at most DEPOSITS.
 */
function claimsAtGap(state: ExchangeState): bigint {
  let total = state.feePool + state.globals.insuranceFund;
  for (let id = 0; id < 4 ** state.params.accountLevels; id++) {
    const equity = equityAfterGap(state, id);
    total += state.balance(id, 0) + (equity > 0n ? equity : 0n);
  }
  return total;
}

/** The sequencer's amount (formulas.ts deleverageAmount) for deleveraging alice against `counterparty` after the gap. */
function fairAmount(state: ExchangeState, counterparty: number): bigint {
  return deleverageAmount(state.account(alice.accountId).deriv, state.account(counterparty).deriv, oracleRisks(state, GAP_UPDATE()), state.globals.insuranceFund);
}

/** The witness builder (rules on) refuses `tx` with `code` after the gap, leaving the state as it was. */
function builderRefuses(state: ExchangeState, tx: BatchTx, code: string): void {
  const root = state.root;
  assert.throws(
    () => buildBatch(state, [tx], { batchNumber: 50, timestamp: NOW, ...GAP }),
    (e: unknown) => e instanceof TxRejected && e.code === code,
    `the builder did not refuse with ${code}`,
  );
  assert.equal(state.root, root, "a refused batch changes nothing");
}

describe("DELEVERAGE: a loss beyond the insurance fund goes to the other side, by a proven rule", { timeout: 900_000 }, () => {
  before(async () => {
    await loadBatchCircuit(TEST_PARAMS);
  });

  it("proves the honest close: bob takes alice's position at the mark and pays her whole deficit; nothing is left as bad debt", async () => {
    const state = aliceLongPerpetual();
    const deficit = -equityAfterGap(state, alice.accountId);
    assert.ok(deficit > 10_000_000_000n, `alice is more than 10,000 quote under water (${deficit})`);
    const bobBefore = equityAfterGap(state, bob.accountId);
    const amount = fairAmount(state, bob.accountId);
    assert.equal(amount, deficit, "the fund is empty: bob pays all of it");
    assert.equal(await witnessFailure(state, [deleverage({ amount })], GAP), null);
    assert.deepEqual([state.account(alice.accountId).deriv.positions[PERP].size, state.account(bob.accountId).deriv.positions[PERP].size], [0n, 0n]);
    assert.equal(state.account(alice.accountId).deriv.collateral, 0n, "alice is made whole, exactly");
    assert.equal(state.account(bob.accountId).deriv.collateral, bobBefore - deficit, "bob paid it");
    assert.equal(state.globals.badDebt, 0n);
    assert.equal(claims(state), DEPOSITS, "what can be claimed is what was deposited");
  });

  it("lets the insurance fund pay first: the counterparty pays only what the fund cannot cover, then the fund pays the rest", async () => {
    const fund = 4_000_000_000n;
    const withFund = (): ExchangeState => {
      const state = aliceLongPerpetual();
      setInsuranceFund(state, fund);
      return state;
    };
    const state = withFund();
    const deficit = -equityAfterGap(state, alice.accountId);
    const whole = deleverage({ amount: deficit });
    builderRefuses(withFund(), whole, "ABOVE_SHORTFALL");
    await refuses(withFund(), [whole], rule("Deleverage", "withinShortfall.b <== amount"), GAP);
    assert.equal(fairAmount(state, bob.accountId), deficit - fund);
    assert.equal(await witnessFailure(state, [deleverage({ amount: deficit - fund })], GAP), null);
    assert.equal(state.account(alice.accountId).deriv.collateral, 0n);
    assert.equal(state.globals.insuranceFund, 0n, "the fund paid its 4,000 first");
  });

  it("refuses to deleverage an account the insurance fund can make whole (liquidate it instead)", async () => {
    const state = aliceLongPerpetual();
    setInsuranceFund(state, 20_000_000_000n);
    const tx = deleverage({ amount: 1n });
    builderRefuses(state, tx, "NOT_BANKRUPT");
    await refuses(state, [tx], rule("Deleverage", "bankrupt.b <== 1"), GAP);
  });

  it("refuses a counterparty without the opposite position, a close larger than the position or of no lots while the account still holds one, and a self-deleverage", async () => {
    const noPosition = deleverage({ counterpartyAccountId: carol.accountId });
    builderRefuses(aliceLongPerpetual(), noPosition, "BAD_DELEVERAGE_SIZE");
    await refuses(aliceLongPerpetual(), [noPosition], rule("Deleverage", "withinB.b <== lots"), GAP);
    await refuses(aliceLongPerpetual(), [deleverage({ lots: 15_001n })], rule("Deleverage", "withinA.b <== lots"), GAP);
    // no lots (the socialised form) while alice still holds her long: bob, or carol with no position at all, would
    // pay her deficit and leave her position to grow it; only an account that holds nothing may be socialised
    const early = deleverage({ lots: 0n, counterpartyAccountId: carol.accountId, amount: 1_000_000_000n });
    builderRefuses(aliceLongPerpetual(), early, "BAD_DELEVERAGE_SIZE");
    await refuses(aliceLongPerpetual(), [early], rule("Deleverage", "socialised * (1 - aFlat) === 0"), GAP);
    await refuses(aliceLongPerpetual(), [deleverage({ lots: 0n })], rule("Deleverage", "socialised * (1 - aFlat) === 0"), GAP);
    const self = deleverage({ counterpartyAccountId: alice.accountId, lots: 1n });
    builderRefuses(aliceLongPerpetual(), self, "SELF_DELEVERAGE");
    await refuses(aliceLongPerpetual(), [self], rule("Deleverage", "isDel * same.out === 0"), GAP);
  });

  it("refuses a deleverage on an instrument that is not registered", async () => {
    const threeInstruments = (): ExchangeState => derivativesState(undefined, INSTRUMENTS.slice(0, 3));
    const unregistered = deleverage({ instrumentId: 3, lots: 1n });
    builderRefuses(threeInstruments(), unregistered, "UNKNOWN_INSTRUMENT");
    await refuses(threeInstruments(), [unregistered], rule("Deleverage", "isDel * kindNone === 0"), GAP);
  });

  it("deleverages at expiry: a settled future's bankrupt holder passes its position to the other side at the payoff before SETTLE; no bad debt is left", async () => {
    // alice bought 15,000 future lots from bob at 3,000; the future settles at 2,600 (the update signed 5 s
    // after its expiry), 10,225 quote beyond what she holds, with an empty fund. SETTLE alone would leave that
    // as open bad debt; DELEVERAGE in the settling batch closes her position against bob's at the payoff.
    const FUTURE = 1;
    const state = aliceLongFutureLarge();
    const expiry = EXPIRY_GAP();
    const risks = oracleRisks(state, expiry.oracle);
    const [alicePre, bobPre] = [alice, bob].map((t) => state.account(t.accountId).deriv);
    const deficit = -accountRisk(alicePre, risks).equity;
    assert.ok(deficit > 10_000_000_000n, `alice is more than 10,000 quote under water at the settlement price (${deficit})`);
    const amount = deleverageAmount(alicePre, bobPre, risks, state.globals.insuranceFund);
    assert.equal(amount, deficit, "the fund is empty: bob pays all of it");
    const bobBefore = accountRisk(bobPre, risks).equity;
    assert.equal(await witnessFailure(state, [deleverage({ instrumentId: FUTURE, amount })], expiry), null);
    assert.equal(state.instruments[FUTURE].settlePrice, 260_000_000_000n, "the same batch settled the future");
    assert.deepEqual([alice, bob].map((t) => state.account(t.accountId).deriv.positions[FUTURE].size), [0n, 0n], "nothing is left for SETTLE");
    assert.equal(state.account(alice.accountId).deriv.collateral, 0n, "alice is made whole, exactly");
    assert.equal(state.account(bob.accountId).deriv.collateral, bobBefore - deficit, "bob received his payoff less her deficit");
    assert.equal(state.globals.badDebt, 0n);
    assert.equal(claims(state), DEPOSITS, "what can be claimed is what was deposited");
  });

  it("socialises what nobody on the other side is left to pay: alice, flat after her liquidation with open bad debt, is paid up by any solvent account (no lots)", async () => {
    // openDebtState: carol liquidated alice's whole long at the gap's 2,600 while the fund held 4,000 quote; alice
    // holds nothing and still owes about 6,225 quote, so what everyone can claim exceeds what was deposited by that.
    // A DELEVERAGE of no lots lets bob (the most equity) pay it; the fund, empty, pays nothing.
    const state = openDebtState();
    const debt = state.globals.badDebt;
    assert.ok(debt > 6_000_000_000n, `alice is left with more than 6,000 quote of open bad debt (${debt})`);
    const held = DEPOSITS + 4_000_000_000n; // openDebtState put 4,000 quote in the fund before the liquidation, which paid it to alice
    assert.equal(claimsAtGap(state), held + debt, "before: claims exceed what is held by the open bad debt");
    const amount = fairAmount(state, bob.accountId);
    assert.equal(amount, debt, "bob's equity covers all of it");
    const bobCollateral = state.account(bob.accountId).deriv.collateral;
    const socialised = deleverage({ lots: 0n, amount });
    assert.equal(await witnessFailure(state, [socialised], GAP), null);
    assert.equal(state.account(alice.accountId).deriv.collateral, 0n, "alice's debt is paid, exactly");
    assert.equal(state.account(bob.accountId).deriv.collateral, bobCollateral - amount, "bob paid it");
    assert.equal(state.account(bob.accountId).deriv.positions[PERP].size, -15_000n, "no position moved");
    assert.equal(state.globals.badDebt, 0n);
    assert.equal(claimsAtGap(state), held, "after: what can be claimed is what is held");
  });

  it("socialised: the payer may hold either side of the named instrument (carol, long the perpetual she took from alice, pays)", async () => {
    // with no lots nobody takes a position, so the rule that B holds the other side (withinB) is off: carol is long
    // the perpetual alice was long, the side withinB would refuse; the sequencer names an instrument the payer holds
    const state = openDebtState();
    const debt = state.globals.badDebt;
    assert.ok(state.account(carol.accountId).deriv.positions[PERP].size > 0n, "carol holds the long she liquidated");
    const amount = fairAmount(state, carol.accountId);
    assert.equal(amount, debt);
    assert.equal(await witnessFailure(state, [deleverage({ lots: 0n, counterpartyAccountId: carol.accountId, amount })], GAP), null);
    assert.equal(state.account(alice.accountId).deriv.collateral, 0n);
    assert.equal(state.globals.badDebt, 0n);
  });

  it("socialised: a payer whose every position slot holds another instrument pays too (none of its positions moves, so it needs no slot for the named one)", async () => {
    // dave holds one lot of each of the future, the call and the put (bought from erin): his TEST_PARAMS.positionSlots
    // (3) slots are full, none holds the perpetual named. Until 2026-12-06 the slot still wrote a position of dave's in
    // it (no lots, but the slot rule wants the instrument's slot or an empty one): no witness existed, so the debt
    // stayed open while the sequencer named an instrument the payer did not hold
    const daveFull = (): ExchangeState => {
      const state = openDebtState();
      const erin = testTrader(5);
      registerTrader(state, dave, 20_000_000_000n, GAP_UPDATE());
      registerTrader(state, erin, 20_000_000_000n, GAP_UPDATE());
      apply(state, [1, 2, 3].map((id): BatchTx => ({
        type: TxType.DERIV_TRADE, lots: 1n, priceTicks: 10_000n, buyFeePpm: 0, sellFeePpm: 0,
        buy: derivOrder(dave, id, { orderId: BigInt(id), side: Side.BUY, priceTicks: 10_000n, sizeLots: 1n }),
        sell: derivOrder(erin, id, { orderId: BigInt(id), side: Side.SELL, priceTicks: 10_000n, sizeLots: 1n }),
      })), GAP_UPDATE());
      return state;
    };
    const state = daveFull();
    assert.deepEqual(state.account(dave.accountId).positionSlots, [1, 2, 3], "dave's slots hold the future, the call and the put");
    const debt = state.globals.badDebt;
    const amount = fairAmount(state, dave.accountId);
    assert.ok(amount > 0n && amount <= debt, `dave can pay ${amount} of ${debt}`);
    const daveBefore = state.account(dave.accountId).deriv;
    const socialised = deleverage({ lots: 0n, counterpartyAccountId: dave.accountId, instrumentId: PERP, amount });
    // the slot index the operator names for dave is free now, and frees nothing: any in range proves the same new root
    // (his leaf unchanged), one out of range is refused
    const bTarget = (slot: number) => (input: Record<string, unknown>) => { input.d_bPosTarget = [String(slot)]; };
    assert.equal(await witnessFailure(daveFull(), [socialised], GAP, bTarget(2)), null);
    await refuses(daveFull(), [socialised], rule("OneHot", "sum === 1"), GAP, bTarget(3));
    assert.equal(await witnessFailure(state, [socialised], GAP), null);
    const daveAfter = state.account(dave.accountId);
    assert.deepEqual(daveAfter.positionSlots, [1, 2, 3], "no slot of dave's moved");
    assert.deepEqual(daveAfter.deriv.positions.map((p) => p.size), daveBefore.positions.map((p) => p.size), "none of his positions moved");
    assert.ok(daveAfter.deriv.collateral < daveBefore.collateral, "he paid");
    assert.equal(state.globals.badDebt, debt - amount);
  });

  it("socialised: refuses a payer pushed under water, more than the debt beyond the fund, and a debt the fund can cover", async () => {
    const tooMuch = (fund: bigint, fields: Partial<DeleverageTx>) => ({ state: openDebtState(fund), tx: deleverage({ lots: 0n, ...fields }) });
    const debt = openDebtState().globals.badDebt;
    const above = tooMuch(0n, { amount: debt + 1n });
    builderRefuses(above.state, above.tx, "ABOVE_SHORTFALL");
    await refuses(tooMuch(0n, { amount: debt + 1n }).state, [above.tx], rule("Deleverage", "withinShortfall.b <== amount"), GAP);
    // dave holds 3,100 quote and no position: he may pay up to 3,100, not the whole debt
    const withDave = (): ExchangeState => {
      const state = openDebtState();
      registerDave(state, 3_100_000_000n);
      return state;
    };
    const greedy = deleverage({ lots: 0n, counterpartyAccountId: dave.accountId, amount: debt });
    builderRefuses(withDave(), greedy, "COUNTERPARTY_INSOLVENT");
    await refuses(withDave(), [greedy], rule("Deleverage", "bSolvent.b <== 0"), GAP);
    const fair = withDave();
    assert.equal(await witnessFailure(fair, [deleverage({ lots: 0n, counterpartyAccountId: dave.accountId, amount: 3_100_000_000n })], GAP), null);
    assert.equal(fair.globals.badDebt, debt - 3_100_000_000n, "dave paid what he held; the rest stays open for the next payer");
    // a fund that can pay the whole debt: nobody is socialised
    const covered = tooMuch(debt, { amount: 1n });
    builderRefuses(covered.state, covered.tx, "NOT_BANKRUPT");
    await refuses(tooMuch(debt, { amount: 1n }).state, [covered.tx], rule("Deleverage", "bankrupt.b <== 1"), GAP);
  });

  it("never pushes the counterparty under water: a small short pays what its equity holds, not the whole deficit", async () => {
    // dave (3,100 quote) sells alice 1,000 more lots at 3,000; after the gap alice is about 14,225 quote under
    // water and dave holds about 7,100: making dave pay 10,000 is refused, the fair amount (all he holds) passes.
    const setup = (): ExchangeState => {
      const state = aliceLongPerpetual();
      registerDave(state, 3_100_000_000n);
      const buy = derivOrder(alice, PERP, { orderId: 2n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 1_000n });
      const sell = derivOrder(dave, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 1_000n });
      apply(state, [{ type: TxType.DERIV_TRADE, buy, sell, lots: 1_000n, priceTicks: 300_000n, buyFeePpm: 0, sellFeePpm: 0 }]);
      return state;
    };
    const greedy = deleverage({ counterpartyAccountId: dave.accountId, lots: 1_000n, amount: 10_000_000_000n });
    builderRefuses(setup(), greedy, "COUNTERPARTY_INSOLVENT");
    await refuses(setup(), [greedy], rule("Deleverage", "bSolvent.b <== 0"), GAP);
    const state = setup();
    const daveEquity = equityAfterGap(state, dave.accountId);
    const amount = fairAmount(state, dave.accountId);
    assert.equal(amount, daveEquity, "dave pays all his equity, less than alice's deficit");
    assert.equal(await witnessFailure(state, [deleverage({ counterpartyAccountId: dave.accountId, lots: 1_000n, amount })], GAP), null);
    assert.equal(state.account(dave.accountId).deriv.collateral, 0n, "dave is left flat at zero, not under water");
    assert.equal(state.account(alice.accountId).deriv.positions[PERP].size, 15_000n, "alice keeps the rest of her position for the next counterparty");
  });
});
