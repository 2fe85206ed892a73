/**
 * The batch circuit's derivatives rules (circuits/DERIVATIVES.md). Honest batches are accepted; each
 * dishonest one is built the way an operator would build it (enforceRules: false, the TypeScript checks
 * skipped, public data hashed consistently) and the circuit must refuse it at the rule's own gadget.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch } from "../../sequencer/batch/batchWitness.ts";
import type { BatchTx } from "../../sequencer/protocol/transactions.ts";
import { accountRisk } from "../../sequencer/derivatives/formulas.ts";
import { applyOracleStep } from "../../sequencer/derivatives/oracleStep.ts";
import { Side, TxType } from "../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { signTransfer } from "../../sequencer/protocol/signing.ts";
import { ExchangeState } from "../../sequencer/state/exchangeState.ts";
import { encodePublicData, publicInputsOf } from "../../sequencer/protocol/publicData.ts";
import { inputFailure, loadBatchCircuit, refuses, rule, witnessFailure } from "../helpers/circuitRules.ts";
import { aliceLongPerpetual, derivativesState, derivOrder, derivTrade, liquidateAlice, EXPIRY, INSTRUMENTS, NOW, oracleUpdate, traders, setInsuranceFund } from "../helpers/derivatives.ts";

const { alice, bob, carol } = traders;
const PERP = 0;
const CALL = 2;
/** A trade of `lots` on `instrument` at `priceTicks` (tick value 0.01 quote per lot). */
describe("batch circuit: derivatives", { timeout: 600_000 }, () => {
  before(async () => {
    await loadBatchCircuit(TEST_PARAMS);
  });

  it("accepts the registration of every kind of instrument, dated ones included (the expiry field spans the record's two chunks)", async () => {
    const state = new ExchangeState(TEST_PARAMS);
    for (const [id, spec] of INSTRUMENTS.entries()) {
      assert.equal(await witnessFailure(state, [{ type: TxType.REGISTER_INSTRUMENT, instrumentId: id, ...spec }], { oracle: null }), null, `instrument ${id}`);
    }
  });

  it("accepts a perpetual trade, moving cash, fees and positions exactly", async () => {
    const state = derivativesState();
    const before = [state.account(1).deriv.collateral, state.account(2).deriv.collateral, state.feePool];
    assert.equal(await witnessFailure(state, [derivTrade(PERP, 10n, 300_000n)]), null);
    const cash = 10n * 300_000n * INSTRUMENTS[PERP].tickValue;
    assert.equal(state.account(1).deriv.collateral, before[0] - cash - (cash * 500n + 999_999n) / 1_000_000n);
    assert.equal(state.account(2).deriv.collateral, before[1] + cash - (cash * 100n + 999_999n) / 1_000_000n);
    assert.deepEqual([state.account(1).deriv.positions[PERP].size, state.account(2).deriv.positions[PERP].size], [10n, -10n]);
  });

  it("accepts an option trade whose premium is price x quantity x contract size", async () => {
    const state = derivativesState();
    const c0 = state.account(1).deriv.collateral;
    assert.equal(await witnessFailure(state, [derivTrade(CALL, 3n, 12_345n)]), null);
    const premium = 3n * 12_345n * INSTRUMENTS[CALL].tickValue; // lots x priceTicks x tickValue (= tick size x lot size)
    assert.equal(state.account(1).deriv.collateral, c0 - premium - (premium * 500n + 999_999n) / 1_000_000n);
  });

  it("refuses a trade that leaves a party under initial margin", async () => {
    const state = derivativesState();
    // 50,000 quote of collateral, 10% initial margin on 30 quote per lot: 17,000 lots need 51,000 quote.
    await refuses(state, [derivTrade(PERP, 17_000n, 300_000n)], rule("DerivSlot", "aIM.b <== aPost.req"));
  });

  it("refuses the liquidation of a healthy account", async () => {
    const state = derivativesStateWithPosition();
    const { risks } = applyOracleStepOn(state);
    const bobRisk = accountRisk(state.account(2).deriv, risks);
    assert.ok(bobRisk.equity >= bobRisk.mm, "bob is healthy");
    const liquidator = derivOrder(carol, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 10n });
    await refuses(state, [{ type: TxType.LIQUIDATE, liquidatedAccountId: 2, liquidator, lots: 10n, priceTicks: 300_000n, liquidatorFeePpm: 0 }], rule("Liquidate", "belowMM.b <== aPre.equity + 1"));
  });

  it("refuses a funding rate above the instrument's cap", async () => {
    const state = derivativesState();
    await refuses(state, [], rule("InstrumentMarks", "capHi.in <== inst[I_CAP()] - rate"), { oracle: oracleUpdate({ fundingEpoch: 1, rates: [5_000n, 0n, 0n, 0n] }) });
  });

  it("refuses a stale oracle update and one signed by another key", async () => {
    await refuses(derivativesState(), [derivTrade(PERP, 1n, 300_000n)], rule("OracleStep", "notStale.in <=="), { oracle: oracleUpdate({ time: NOW - 301 }) });
    const forged = oracleUpdate({}, new Uint8Array(32).fill(7));
    await refuses(derivativesState(), [derivTrade(PERP, 1n, 300_000n)], rule("OracleStep", "sig.msg <== msg.out"), {}, (input) => {
      input.oracleSig = [forged.signature.r8x, forged.signature.r8y, forged.signature.s].map(String);
    });
  });

  it("refuses a settlement price other than the signed one", async () => {
    // The operator keeps the signed update but claims another price: the oracle signature no longer holds.
    await refuses(derivativesState(), [], rule("OracleStep", "sig.msg <== msg.out"), {}, (input) => {
      input.prices = [String(300_000_000_001n)];
    });
  });

  it("refuses a trade whose premium uses another contract size than the registered one", async () => {
    // The operator builds the trade (fees, paths and all) against an instrument table with twice the
    // tick value, and claims the real state's root: the table is bound to that root, so the proof fails.
    const honestRoot = derivativesState().root;
    const state = derivativesState();
    state.setInstrument(CALL, { ...state.instruments[CALL], tickValue: 2n * INSTRUMENTS[CALL].tickValue });
    const batch = buildBatch(state, [derivTrade(CALL, 3n, 12_345n)], { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate(), enforceRules: false });
    const claimed = encodePublicData({ ...batch.header, oldRoot: honestRoot }, batch.oracle, batch.records);
    batch.circuitInput.publicInput = publicInputsOf(claimed).map(String);
    const failure = await inputFailure(batch.circuitInput);
    assert.ok(failure?.includes(rule("Batch", "pub.chunks <== publicInput")), `refused at ${failure?.join(" < ")}`);
  });

  it("accepts a collateral withdrawal above initial margin and refuses one below it", async () => {
    const state = derivativesState();
    const out = (amount: bigint) => ({
      type: TxType.TRANSFER,
      request: signTransfer(alice.key, { accountId: 1, toCollateral: false, amount, nonce: state.account(1).nonce }),
    }) as BatchTx;
    await refuses(derivativesStateWithPosition(), [{
      type: TxType.TRANSFER,
      request: signTransfer(alice.key, { accountId: 1, toCollateral: false, amount: 49_999_000_000n, nonce: 1 }),
    }], rule("DerivSlot", "aIM.b <== aPost.req"));
    assert.equal(await witnessFailure(state, [out(1_000_000n)]), null);
  });
});


describe("batch circuit: derivatives lifecycle (liquidation, funding, expiry)", { timeout: 600_000 }, () => {
  before(async () => {
    await loadBatchCircuit(TEST_PARAMS);
  });

  it("liquidates an account below maintenance margin against a liquidator's order, penalty to the insurance fund", async () => {
    // alice bought 15,000 lots (450,000 quote notional, 45,000 of initial margin on 50,000 of collateral)
    const state = aliceLongPerpetual();
    const dropped = oracleUpdate({ prices: [280_000_000_000n] }); // 2800: alice's equity ~19,775 < MM 21,000
    const liquidation = liquidateAlice(1_000n, 280_000n);
    assert.equal(await witnessFailure(state, [liquidation], { oracle: dropped }), null);
    assert.equal(state.account(1).deriv.positions[PERP].size, 14_000n);
    assert.equal(state.account(3).deriv.positions[PERP].size, 1_000n);
    assert.equal(state.globals.insuranceFund, 280_000_000n); // 1% of 1,000 lots x 28 quote
  });

  it("covers the bad debt of a liquidated account left flat with negative equity from the insurance fund, up to what it holds", async () => {
    for (const fund of [4_000_000_000n, 20_000_000_000n]) {
      // alice bought 15,000 lots at 3,000 on 50,000 of collateral; a gap to 2,600 costs her 60,000
      const state = aliceLongPerpetual();
      setInsuranceFund(state, fund);
      const before = state.account(1).deriv.collateral;
      const deficit = -(before + 15_000n * 26_000_000n);
      assert.ok(deficit > 0n);
      const liquidation = liquidateAlice(15_000n, 260_000n);
      assert.equal(await witnessFailure(state, [liquidation], { oracle: oracleUpdate({ prices: [260_000_000_000n] }) }), null);
      const cover = deficit < fund ? deficit : fund;
      assert.equal(state.account(1).deriv.positions[PERP].size, 0n);
      assert.equal(state.account(1).deriv.collateral, cover - deficit, "covered up to the fund; no penalty on negative equity");
      assert.equal(state.globals.insuranceFund, fund - cover);
    }
  });

  it("refuses a batch that leaves a flat account's bad debt uncovered while the fund holds enough", async () => {
    const state = aliceLongPerpetual();
    setInsuranceFund(state, 20_000_000_000n);
    const batch = buildBatch(state, [liquidateAlice(15_000n, 260_000n)],
      { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate({ prices: [260_000_000_000n] }) });
    // The operator's claim: the same batch, but alice keeps her deficit and the fund keeps its money.
    const covered = state.account(1).deriv;
    const cover = 20_000_000_000n - state.globals.insuranceFund;
    assert.ok(cover > 0n);
    state.setDeriv(1, { ...covered, collateral: covered.collateral - cover });
    state.commitAccount(1);
    setInsuranceFund(state, 20_000_000_000n);
    const claimed = encodePublicData({ ...batch.header, newRoot: state.root }, batch.oracle, batch.records);
    batch.circuitInput.publicInput = publicInputsOf(claimed).map(String);
    const failure = await inputFailure(batch.circuitInput);
    assert.ok(failure?.includes(rule("Batch", "pub.chunks <== publicInput")), `refused at ${failure?.join(" < ")}`);
  });

  it("does not cover the negative equity of an account that keeps a position", async () => {
    const state = aliceLongPerpetual();
    setInsuranceFund(state, 20_000_000_000n);
    const before = state.account(1).deriv.collateral;
    const liquidation = liquidateAlice(14_000n, 260_000n);
    assert.equal(await witnessFailure(state, [liquidation], { oracle: oracleUpdate({ prices: [260_000_000_000n] }) }), null);
    assert.equal(state.account(1).deriv.collateral, before + 14_000n * 26_000_000n);
    assert.equal(state.globals.insuranceFund, 20_000_000_000n);
  });

  it("refuses a liquidation at a price outside the band around the mark", async () => {
    const state = aliceLongPerpetual();
    await refuses(state, [liquidateAlice(1_000n, 250_000n)],
      rule("Liquidate", "bandLo.b <== instrumentMark"), { oracle: oracleUpdate({ prices: [280_000_000_000n] }) });
  });

  it("applies a funding tick to the index and settles it lazily when an account is touched", async () => {
    const state = derivativesState();
    buildBatch(state, [derivTrade(PERP, 10n, 300_000n)], { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate() });
    const [a0, b0] = [state.account(1).deriv.collateral, state.account(2).deriv.collateral];
    const tick = oracleUpdate({ fundingEpoch: 1, rates: [100n, 0n, 0n, 0n] });
    const touch = (t: typeof alice, nonce: number): BatchTx => ({
      type: TxType.TRANSFER, request: signTransfer(t.key, { accountId: t.accountId, toCollateral: false, amount: 1n, nonce }),
    });
    assert.equal(await witnessFailure(state, [touch(alice, 1)], { oracle: tick }), null);
    const step = 100n * 30_000_000n / 1_000_000n; // rate x mark per lot
    assert.equal(state.instruments[PERP].fundingIndex, step);
    assert.equal(state.account(1).deriv.collateral, a0 - 10n * step - 1n); // alice (long) paid, at her touch
    assert.equal(state.account(2).deriv.collateral, b0); // bob not touched yet: lazy
    assert.equal(await witnessFailure(state, [touch(bob, 1)], { oracle: oracleUpdate({ fundingEpoch: 1 }) }), null);
    assert.equal(state.account(2).deriv.collateral, b0 + 10n * step - 1n); // bob (short) received
  });

  it("settles a future and both options at the signed price at expiry; SETTLE pays the payoff and closes the position", async () => {
    const state = derivativesState();
    buildBatch(state, [derivTrade(1, 10n, 300_000n)], { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate() });
    buildBatch(state, [derivTrade(CALL, 3n, 5_000n, { buy: { orderId: 2n }, sell: { orderId: 2n } })], { batchNumber: 10, timestamp: NOW, oracle: oracleUpdate() });
    const atExpiry = oracleUpdate({ time: EXPIRY + 5, prices: [310_000_000_000n] });
    const c0 = state.account(1).deriv.collateral;
    const settle = (instrumentId: number): BatchTx => ({ type: TxType.SETTLE, accountId: 1, instrumentId });
    assert.equal(await witnessFailure(state, [settle(1)], { oracle: atExpiry, timestamp: EXPIRY + 10 }), null);
    assert.equal(state.instruments[1].settlePrice, 310_000_000_000n);
    assert.equal(state.instruments[CALL].settlePrice, 310_000_000_000n);
    assert.equal(state.account(1).deriv.positions[1].size, 0n);
    assert.equal(state.account(1).deriv.collateral, c0 + 10n * 31_000_000n); // 10 lots x 31 quote
    assert.equal(await witnessFailure(state, [settle(CALL)], { oracle: atExpiry, timestamp: EXPIRY + 10 }), null);
    assert.equal(state.account(1).deriv.collateral, c0 + 10n * 31_000_000n + 3n * 1_000_000n); // 3 calls x (3100 - 3000) x 0.01
  });

  it("covers bad debt left by an expiry settlement from the insurance fund, up to what it holds", async () => {
    const state = derivativesState();
    // bob sells 15,000 future lots at 3,000 on 50,000 of collateral; the future settles at 3,500
    buildBatch(state, [derivTrade(1, 15_000n, 300_000n)], { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate() });
    setInsuranceFund(state, 20_000_000_000n);
    const paid = state.account(2).deriv.collateral - 15_000n * 35_000_000n;
    assert.ok(paid < -20_000_000_000n, "the loss exceeds collateral and fund");
    const atExpiry = oracleUpdate({ time: EXPIRY + 5, prices: [350_000_000_000n] });
    assert.equal(await witnessFailure(state, [{ type: TxType.SETTLE, accountId: 2, instrumentId: 1 }], { oracle: atExpiry, timestamp: EXPIRY + 10 }), null);
    assert.equal(state.account(2).deriv.positions[1].size, 0n);
    assert.equal(state.account(2).deriv.collateral, paid + 20_000_000_000n);
    assert.equal(state.globals.insuranceFund, 0n);
  });

  it("refuses a liquidation larger than the position (it would flip it)", async () => {
    const state = aliceLongPerpetual();
    await refuses(state, [liquidateAlice(15_001n, 280_000n)],
      rule("Liquidate", "absLots.in <=="), { oracle: oracleUpdate({ prices: [280_000_000_000n] }) });
  });

  it("refuses SETTLE of an instrument that has not settled", async () => {
    const state = derivativesStateWithPosition();
    await refuses(state, [{ type: TxType.SETTLE, accountId: 1, instrumentId: 1 }], rule("Settle", "isSettle * notSettled === 0"));
  });

  it("refuses a derivatives transaction in a batch without an oracle update", async () => {
    await refuses(derivativesState(), [derivTrade(PERP, 1n, 300_000n)], rule("DerivSlot", "(1 - oracleUsed) * activeA === 0"), { oracle: null });
  });

  it("refuses a skipped funding epoch and an oracle update older than the last one", async () => {
    await refuses(derivativesState(), [], rule("OracleStep", "tick * (tick - 1) === 0"), { oracle: oracleUpdate({ fundingEpoch: 2 }) });
    await refuses(derivativesState(), [], rule("OracleStep", "notBack.in <=="), { oracle: oracleUpdate({ time: NOW - 10 }) });
  });

  it("refuses an instrument registration with maintenance margin above initial margin", async () => {
    const state = new ExchangeState(TEST_PARAMS);
    await refuses(state, [{ type: TxType.REGISTER_INSTRUMENT, instrumentId: 0, ...INSTRUMENTS[0], mmPpm: 200_000n }],
      rule("RegisterInstrument", "imAboveMm.in <=="), { oracle: null });
  });

  it("refuses a trade in an instrument that has settled", async () => {
    const state = derivativesState();
    await refuses(state, [derivTrade(1, 1n, 300_000n)], rule("Fill", "fills * (1 - notSettled) === 0"), {
      oracle: oracleUpdate({ time: EXPIRY + 5 }), timestamp: EXPIRY + 10,
    });
  });
});

/** The oracle step's marks for `state`, computed on a transaction that is rolled back. */
function applyOracleStepOn(state: ExchangeState) {
  const t = state.begin();
  try {
    return applyOracleStep(state, oracleUpdate(), NOW);
  } finally {
    t.rollback();
  }
}

/** derivativesState() after alice bought and bob sold 1,000 perpetual lots at 3000 (30,000 quote notional, 3,000 of initial margin each). */
function derivativesStateWithPosition(): ExchangeState {
  const state = derivativesState();
  buildBatch(state, [derivTrade(PERP, 1_000n, 300_000n)], { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate() });
  return state;
}
